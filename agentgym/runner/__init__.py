"""The runner: many episodes in parallel, trajectories on disk, resumable runs.

``evaluate``/``aevaluate`` are the Python API; executors (``LocalExecutor``, ``InProcessExecutor``) decide
where envs run; ``EpisodeStore`` is a run's output folder (``folder`` opens its files safely and locks it).

What a fault costs (``tests/runner/test_faults.py`` produces each one with real processes):

- An env worker that dies (SIGKILL, a segfault) or exceeds ``timeout_s`` on a call is killed with its whole
  process group and restarted; its episode is played again from the start, up to ``max_retries`` times, and
  recorded once (``attempts`` counts the tries). A simulator that dies under a worker (a JVM, a
  browser) makes the env raise, which is handled the same way.
- An env that keeps failing, an agent bug, or a policy error the server meant (HTTP 4xx) ends that episode with
  an ``error`` record; the run goes on, and a rerun plays error records again.
- An LLM server that cannot be reached (or answers 5xx/429) is retried with exponential backoff for the
  policy's ``retry_timeout_s``; if it returns in time, the run simply goes on. If not, ``PolicyUnavailable``
  stops the run: the episodes in flight are dropped (not recorded), every finished one is on disk.
- A record that cannot be written (a full disk) raises ``OutputError`` and stops the run; the records file is
  cut back to its last whole line and ``run.json``/``summary.json`` are replaced atomically.
- A killed runner leaves at most a half-written last line, which the next run cuts off, and a ``run.lock``
  that blocks nothing (the kernel drops a dead process's ``flock``).
- A second run in the same output folder raises ``RunLocked`` (naming the first's process id and host) before
  it writes anything; a folder that holds something other than a run (records without ``run.json``, links,
  FIFOs or folders where records files belong) raises ``NotARunFolder`` and is left unchanged
  (``agentgym/runner/folder.py``).
- A line of ``episodes.jsonl`` that is not a valid record is skipped with a warning naming the file and line;
  its episode is played again.

In every case, running the same command again resumes: finished episodes are never played twice.
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
