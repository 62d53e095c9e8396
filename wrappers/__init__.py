"""Gymnasium wrappers any agentgym env can take (installed as ``agentgym.wrappers``).

They compose with gymnasium's own (``TimeLimit``, ``RecordEpisodeStatistics``).

# --- Action wrappers ---
- :class:`ParseReActAction`: ReAct ``Thought: ... / Action: ...`` text in, the action out.

# --- Observation wrappers ---
- :class:`TruncateObservation`: caps observation length.

# --- Recording ---
- :class:`RecordTrajectory`: records episodes (in memory and/or to JSONL) as the runner's episode records.
"""

from agentgym.wrappers.react import ParseReActAction, parse_react
from agentgym.wrappers.record import RecordTrajectory
from agentgym.wrappers.truncate import TruncateObservation, truncate_text

__all__ = [
    "ParseReActAction",
    "RecordTrajectory",
    "TruncateObservation",
    "parse_react",
    "truncate_text",
]
