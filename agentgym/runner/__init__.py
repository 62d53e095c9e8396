"""The runner: many episodes in parallel, trajectories on disk, resumable runs.

``evaluate``/``aevaluate`` are the Python API; executors (``LocalExecutor``, ``InProcessExecutor``) decide
where envs run; ``EpisodeStore`` is a run's output folder.
"""

from agentgym.runner.executor import EnvHandle, Executor, InProcessExecutor, LocalExecutor
from agentgym.runner.records import EpisodeStore, summarize
from agentgym.runner.run import RunResult, aevaluate, episode_seed, evaluate

__all__ = [
    "EnvHandle",
    "EpisodeStore",
    "Executor",
    "InProcessExecutor",
    "LocalExecutor",
    "RunResult",
    "aevaluate",
    "episode_seed",
    "evaluate",
    "summarize",
]
