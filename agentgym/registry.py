"""The registries of agentgym's names, and the gymnasium registration of every env id.

One type, :class:`Registry`, maps names to entries for envs, agents, policies, presets and datasets; an unknown
name raises :class:`~agentgym.error.NameNotFound` with the closest known names. ``import agentgym`` calls
:func:`register_envs`, which registers the env ids the plugins declare (:mod:`agentgym.plugins`). Entry points
are ``"module:Class"`` strings, so registering imports no env code: an env's dependencies load only when it is
made.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import gymnasium

from agentgym.error import NameNotFound

T = TypeVar("T")
#: Registries filled from the plugins, emptied by :func:`agentgym.plugins.refresh`.
_FROM_PLUGINS: list[Registry[Any]] = []


def load_attribute(path: str) -> Any:
    """Import ``"module:attr"`` (``attr`` may be dotted) and return the attribute.

    Raises:
        ImportError: the module cannot be imported.
        AttributeError: the module has no such attribute.
    """
    module_name, colon, attr = path.partition(":")
    if not colon or not module_name or module_name.startswith(".") or not attr:
        raise ImportError(f"{path!r} is not a 'module:attr' path")
    target: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        target = getattr(target, part)
    return target


class Registry(MutableMapping[str, T], Generic[T]):
    """Names of one kind mapped to their entries; looking up an unknown name raises :class:`NameNotFound`.

    Entries are given as a mapping, or as a function returning one, called on first use (so that the plugins
    are collected only when a name is looked up). With ``lazy=True`` entries may be ``"module:attr"`` strings,
    imported on first lookup.

    Example:
        >>> colors = Registry("color", {"red": 1, "green": 2})
        >>> colors["red"]
        1
        >>> colors["gren"]
        Traceback (most recent call last):
        agentgym.error.NameNotFound: unknown color 'gren'; did you mean 'green'? known: green, red
        >>> Registry("json function", {"dumps": "json:dumps"}, lazy=True)["dumps"]([1])
        '[1]'
    """

    def __init__(
        self,
        kind: str,
        entries: Mapping[str, T | str] | Callable[[], Mapping[str, T | str]] = (),  # type: ignore[assignment]
        *,
        lazy: bool = False,
        forms: Callable[[list[str]], list[str]] | None = None,
    ) -> None:
        """A registry of ``kind`` (the word its errors use).

        Args:
            kind: what the names name (``"env"``, ``"agent"``...).
            entries: the entries, or a function returning them (called once, on first use).
            lazy: string entries are ``"module:attr"`` paths, imported on first lookup.
            forms: turns the sorted names into the list an error message shows (to add accepted spellings).
        """
        self.kind = kind
        self.lazy = lazy
        self._forms = forms
        self._source = entries if callable(entries) else None
        self._entries: dict[str, T | str] | None = None if callable(entries) else dict(entries or {})
        if self._source is not None:
            _FROM_PLUGINS.append(self)

    def _all(self) -> dict[str, T | str]:
        if self._entries is None:
            assert self._source is not None
            self._entries = dict(self._source())
        return self._entries

    def forget(self) -> None:
        """Drop the entries of a registry filled by a function: the next lookup calls it again."""
        if self._source is not None:
            self._entries = None

    def __getitem__(self, name: str) -> T:
        """The entry of ``name`` (imported first, for a lazy ``"module:attr"`` entry).

        Raises:
            NameNotFound: no entry has this name (the message suggests the closest names).
            ImportError, AttributeError: a lazy entry's path cannot be imported.
        """
        entries = self._all()
        if name not in entries:
            raise self.not_found(name)
        value = entries[name]
        if self.lazy and isinstance(value, str):
            value = entries[name] = load_attribute(value)
        return value  # type: ignore[return-value]

    def not_found(self, name: str, **kwargs: Any) -> NameNotFound:
        """The error for ``name`` (``kwargs``: :class:`NameNotFound`'s ``message`` and ``note``)."""
        from agentgym.plugins import failure_note

        names = sorted(self._all())
        known = self._forms(names) if self._forms else names
        kwargs.setdefault("note", failure_note())
        return NameNotFound(self.kind, name, known, names=names, **kwargs)

    def __setitem__(self, name: str, value: T | str) -> None:
        self._all()[name] = value

    def __delitem__(self, name: str) -> None:
        del self._all()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())

    def __contains__(self, name: object) -> bool:
        return name in self._all()

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {sorted(self._all())})"


def plugin_entries(field_name: str, key: Callable[[Any], str]) -> dict[str, Any]:
    """The entries of every plugin's ``field_name`` (a tuple), by ``key``; a name declared twice is an error."""
    from agentgym.plugins import collect, merge

    declared = ((plugin.name, {key(item): item for item in getattr(plugin, field_name)}) for plugin in collect())
    return merge(field_name.rstrip("s"), declared)


@dataclass(frozen=True)
class EnvEntry:
    """One registered env id.

    Attributes:
        env_id: the gymnasium id, ``agentgym/<Name>-v<N>``.
        entry_point: ``"module:Class"`` of the env.
        max_episode_steps: the step cap the papers use (overridable in ``gymnasium.make``).
        short_name: the name the CLI accepts (``agentgym run NAME``).
        extra: the pip extra the env needs (``None`` for the core install).
        kwargs: default constructor arguments.
        worker_episodes: the runner recycles an env worker process after this many episodes (``None``: never),
            for envs whose dependencies leak memory per task.
        worker_memory_mb: the runner recycles a worker whose resident memory exceeds this (``None``: never),
            and a Ray actor of the env reserves this much memory (the env's Python process and any simulator it
            runs beside it: a JVM, a browser).
    """

    env_id: str
    entry_point: str
    max_episode_steps: int
    short_name: str
    extra: str | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)
    worker_episodes: int | None = None
    worker_memory_mb: int | None = None


#: Every agentgym env, by id, as the installed plugins declare them (``agentgym.plugins``).
ENVS: Registry[EnvEntry] = Registry("env", lambda: plugin_entries("envs", lambda entry: entry.env_id))


class RetryableReset(gymnasium.Wrapper, gymnasium.utils.RecordConstructorArgs):
    """The outermost wrapper of every agentgym env made by ``gymnasium.make``: a first reset that raised can be retried.

    Gymnasium's ``PassiveEnvChecker`` (which ``make`` applies) marks its first reset as checked before calling
    it. When that reset raises (an unknown task id, missing data), the checker keeps no reset data, and every
    later ``step`` fails inside the checker with a ``TypeError``: the env is unusable. On a reset that raises
    before any reset succeeded, this wrapper sets the checkers beneath it back to "first reset not checked", so
    the next reset is checked (and recorded) as the first one.
    """

    def __init__(self, env: gymnasium.Env) -> None:
        """Wrap ``env``."""
        gymnasium.utils.RecordConstructorArgs.__init__(self)
        gymnasium.Wrapper.__init__(self, env)
        self._reset_succeeded = False

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict]:
        """``env.reset``; if it raises before any reset succeeded, the env checker forgets its first reset."""
        try:
            result = self.env.reset(seed=seed, options=options)
        except BaseException:
            if not self._reset_succeeded:
                for checker in _env_checkers(self.env):
                    checker.checked_reset = False
            raise
        self._reset_succeeded = True
        return result


def _env_checkers(env: gymnasium.Env) -> list[gymnasium.wrappers.PassiveEnvChecker]:
    checkers = []
    while isinstance(env, gymnasium.Wrapper):
        if isinstance(env, gymnasium.wrappers.PassiveEnvChecker):
            checkers.append(env)
        env = env.env
    return checkers


def register_envs() -> None:
    """Register every env of :data:`ENVS` with gymnasium (idempotent), each wrapped in :class:`RetryableReset`."""
    guard = gymnasium.envs.registration.WrapperSpec(
        "RetryableReset", f"{__name__}:{RetryableReset.__name__}", kwargs={}
    )
    for entry in ENVS.values():
        if entry.env_id in gymnasium.registry:
            continue
        gymnasium.register(
            id=entry.env_id,
            entry_point=entry.entry_point,
            max_episode_steps=entry.max_episode_steps,
            kwargs=dict(entry.kwargs),
            additional_wrappers=(guard,),
        )


def resolve_env_id(name: str) -> str:
    """Map a CLI name (``my-env``, ``MyEnv-v0`` or a full id) to the id of one of agentgym's text envs.

    Raises:
        NameNotFound: naming the closest short names when nothing matches, or when ``name`` is another
            gymnasium env (``CartPole-v1``): the runner plays agentgym's text envs only.
    """
    by_name = {e.short_name: e.env_id for e in ENVS.values()}
    candidates = (name, by_name.get(name.lower(), ""), f"agentgym/{name}")
    found = next((candidate for candidate in candidates if candidate in ENVS), None)
    if found is not None:
        return found
    from agentgym.plugins import failure_note

    other = f"{name!r} is not one of agentgym's text envs" if name in gymnasium.registry else None
    raise NameNotFound("env", name, sorted(by_name), message=other, note=failure_note())


def entry_for(env_id: str) -> EnvEntry | None:
    """Return the registration entry of an agentgym env id, or ``None`` for other ids."""
    return ENVS.get(env_id)
