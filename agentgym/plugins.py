"""Plugins: what each benchmark and each agent package declares about itself, collected through entry points.

A plugin is a module holding ``PLUGIN = Plugin(...)``, named by an entry point of the group ``agentgym.plugins``
(in setup.cfg: ``[options.entry_points] agentgym.plugins = my-bench = my_package.plugin``). agentgym's own
benchmarks and agents are plugins like any other, so a third-party package adds a benchmark, an agent, a
preset or a dataset the same way. A plugin module is imported when ``agentgym`` is (to register its env ids):
it must stay import-light (no simulator, model or web framework at module level; declare code by
``"module:attr"`` strings).

A plugin that fails to import is left out with a one-line warning; a name it would have declared then fails
with :class:`~agentgym.error.NameNotFound`, whose message says which plugin failed and why.
"""

from __future__ import annotations

import functools
import importlib.metadata
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any

from agentgym.error import PluginError

if TYPE_CHECKING:
    from agentgym.data import Dataset
    from agentgym.registry import EnvEntry

logger = logging.getLogger(__name__)

#: The entry-point group plugins are declared in.
ENTRY_POINT_GROUP = "agentgym.plugins"


@dataclass(frozen=True)
class Command:
    """A command a plugin adds to the ``agentgym`` command line.

    Attributes:
        name: the command's name (``agentgym [GROUP] NAME``).
        target: ``"module:function"`` of a typer command function (its parameters are the options, its
            docstring the help); imported when the command line starts.
        group: ``None`` for a top-level command, else the group it joins (``"serve"``).
    """

    name: str
    target: str
    group: str | None = None


@dataclass(frozen=True)
class Plugin:
    """Everything a benchmark or an agent package declares to agentgym.

    Attributes:
        name: the plugin's name (in error messages).
        envs: its env ids with their registry rows: entry point, step cap, short name, extra, resource hints
            (``worker_episodes``, ``worker_memory_mb``).
        datasets: the data ``agentgym data download NAME`` installs.
        agents: agent names (``--agent NAME``) -> ``"module:Class"`` of an :class:`agentgym.agent.Agent`.
        presets: ``"module:attr"`` paths, each to a mapping of preset names to :class:`agentgym.presets.Preset`
            (imported when a preset is first looked up).
        packages: distributions whose installed versions go into every run's protocol card.
        commands: command-line extras.
    """

    name: str
    envs: tuple[EnvEntry, ...] = ()
    datasets: tuple[Dataset, ...] = ()
    agents: Mapping[str, str] = field(default_factory=dict)
    presets: tuple[str, ...] = ()
    packages: tuple[str, ...] = ()
    commands: tuple[Command, ...] = ()


def _plugin_of(loaded: Any, name: str) -> Plugin:
    plugin = getattr(loaded, "PLUGIN", None) if isinstance(loaded, ModuleType) else loaded
    if not isinstance(plugin, Plugin):
        raise PluginError(f"plugin {name!r}: {loaded!r} holds no PLUGIN = agentgym.plugins.Plugin(...)")
    return plugin


@functools.cache
def _collected() -> tuple[tuple[Plugin, ...], tuple[str, ...]]:
    """The plugins that loaded, in entry-point name order, and a one-line message per plugin that did not."""
    plugins, failures = [], []
    points = sorted(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda point: point.name)
    for point in dict((point.name, point) for point in points).values():  # one per name (duplicate installs)
        try:
            plugins.append(_plugin_of(point.load(), point.name))
        except Exception as e:  # noqa: BLE001  (any error of a plugin's import is reported, not raised)
            message = f"plugin {point.name!r} ({point.value}) failed to load: {type(e).__name__}: {e}"
            failures.append(" ".join(message.splitlines()))
            logger.warning("%s", failures[-1])
    return tuple(plugins), tuple(failures)


def collect() -> tuple[Plugin, ...]:
    """The installed plugins (collected once per process; :func:`refresh` collects them again)."""
    return _collected()[0]


def failures() -> tuple[str, ...]:
    """One line per installed plugin that failed to load."""
    return _collected()[1]


def failure_note() -> str:
    """``" (plugin 'x' ... failed to load: ...)"`` for error messages about unknown names; empty if none failed."""
    return "".join(f" ({line})" for line in failures())


def refresh() -> None:
    """Collect the plugins again (after installing one in a running process) and register their env ids."""
    from agentgym.registry import _FROM_PLUGINS, register_envs

    _collected.cache_clear()
    for registry in _FROM_PLUGINS:
        registry.forget()
    register_envs()


def merge(what: str, declared: Iterable[tuple[str, Mapping[str, Any]]]) -> dict[str, Any]:
    """Merge ``(plugin name, its name -> entry mapping)`` pairs of ``what`` (agents, envs...) into one mapping.

    Raises:
        PluginError: two plugins declare the same name.
    """
    merged: dict[str, Any] = {}
    owner: dict[str, str] = {}
    for plugin, entries in declared:
        for name, entry in entries.items():
            if name in merged:
                raise PluginError(f"{what} {name!r} is declared by two plugins: {owner[name]!r} and {plugin!r}")
            merged[name], owner[name] = entry, plugin
    return merged


def packages() -> tuple[str, ...]:
    """The distributions every plugin names for the protocol card, in order, each once."""
    return tuple(dict.fromkeys(name for plugin in collect() for name in plugin.packages))
