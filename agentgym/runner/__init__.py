"""The runner: many episodes in parallel, trajectories on disk, resumable runs.

``evaluate``/``aevaluate`` (:mod:`.run`) are the Python API. A run goes plan -> schedule -> play one episode ->
record, one module each:

- :mod:`.plan`: settings, env, tasks, protocol card and output folder checked, then the agent prepares;
- :mod:`.schedule`: which episodes to play and in what order (episodes per task, trials, lockstep trials);
- :mod:`.episode`: one episode on an env from the executor, its retries and its error record;
- :mod:`.records`: the typed records (``EpisodeRecord``, ``StepRecord``), reading them without side effects;
- :mod:`.store`: ``EpisodeStore``, a run's output folder (:mod:`.folder` opens its files safely and locks it);
- :mod:`.executor`: where envs run: one pool (``PoolExecutor``) over backends (:mod:`.backend`'s
  ``EnvBackend``): worker processes (:mod:`.worker`, ``LocalExecutor``), this process (``InProcessExecutor``),
  Ray actors (:mod:`.ray_executor`);
- :mod:`.seeding` (episode and request seeds), :mod:`.progress` (the progress bar), :mod:`.run_settings`
  (the settings' checks).

What a fault costs (``tests/runner/test_faults.py`` produces each one with real processes):

- An env worker that dies (SIGKILL, a segfault) or exceeds ``timeout_s`` on a call is killed with its whole
  process group and restarted; its episode is played again from the start, up to ``max_retries`` times, and
  recorded once (``attempts`` counts the tries). A simulator that dies under a worker (a JVM, a browser)
  makes the env raise, which is handled the same way.
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

from agentgym.runner.backend import EnvBackend
from agentgym.runner.executor import EnvHandle, Executor, InProcessExecutor, LocalExecutor, PoolExecutor
from agentgym.runner.records import EpisodeRecord, StepRecord, summarize
from agentgym.runner.run import RunResult, aevaluate, episode_seed, evaluate
from agentgym.runner.store import EpisodeStore

__all__ = [
    "EnvBackend",
    "EnvHandle",
    "EpisodeRecord",
    "EpisodeStore",
    "Executor",
    "InProcessExecutor",
    "LocalExecutor",
    "PoolExecutor",
    "RunResult",
    "StepRecord",
    "aevaluate",
    "episode_seed",
    "evaluate",
    "summarize",
]
