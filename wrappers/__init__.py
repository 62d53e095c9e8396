"""Gymnasium wrappers any agentgym env can take (installed as ``agentgym.wrappers``).

They compose with gymnasium's own (``TimeLimit``, ``RecordEpisodeStatistics``).

# --- Action wrappers ---
- :class:`ParseReActAction`: ReAct ``Thought: ... / Action: ...`` text in, the action out (:class:`ReActFormat`,
  which agents compose too).

# --- Observation wrappers ---
- :class:`TruncateObservation`: caps observation length (:class:`Truncation`, which agents compose too).

# --- Recording ---
- :class:`RecordTrajectory`: records episodes (in memory and/or to JSONL) as the runner's episode records.
"""

from agentgym.wrappers.react import ParseReActAction, ReActFormat
from agentgym.wrappers.record import RecordTrajectory
from agentgym.wrappers.truncate import TruncateObservation, Truncation, truncate_text

__all__ = [
    "ParseReActAction",
    "ReActFormat",
    "RecordTrajectory",
    "TruncateObservation",
    "Truncation",
    "truncate_text",
]
