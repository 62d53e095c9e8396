"""agentgym: the standard LLM-agent benchmarks as one Gymnasium suite, and the baseline agents.

``import agentgym`` registers every env id the installed plugins declare (``agentgym list`` shows them)::

    import gymnasium, agentgym
    env = gymnasium.make("agentgym/<Name>-v0")

(``gymnasium.register_envs(agentgym)`` and ``gymnasium.make("agentgym:agentgym/<Name>-v0")`` work too.)
Heavy modules load lazily: :func:`evaluate` (and :func:`aevaluate`, its coroutine, for a running event loop such
as Jupyter's) imports the runner on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agentgym.registry import register_envs

__version__ = "0.1.0"
__all__ = ["__version__", "aevaluate", "evaluate", "register_envs"]

if TYPE_CHECKING:
    from agentgym.runner import aevaluate, evaluate

register_envs()


def __getattr__(name: str) -> Any:
    if name in ("evaluate", "aevaluate"):
        import agentgym.runner

        return getattr(agentgym.runner, name)
    raise AttributeError(f"module 'agentgym' has no attribute {name!r}")
