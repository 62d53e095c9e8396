"""The one observation and action space of every agentgym env: free text.

:class:`FreeText` is a :class:`gymnasium.spaces.Text` that admits any ``str`` (non-ASCII too) up to
``max_length`` characters. Gymnasium's own ``Text`` admits only the characters of its charset (alphanumeric by
default, so ``"go to desk 1"`` is not in it) and its shared-memory codec for ``AsyncVectorEnv`` maps every
character through that charset: observations come back as strings of ``'0'``. This module registers a
codec that stores Unicode code points instead, so ``gymnasium.make_vec(..., vectorization_mode="async")``
returns the real observations with the default ``shared_memory=True``.
"""

from __future__ import annotations

import ctypes
import multiprocessing as mp
from collections.abc import Sequence
from types import ModuleType
from typing import Any, overload

import numpy as np
from gymnasium.spaces import Text
from gymnasium.vector.utils import shared_memory as _shm

#: Longer than any observation the bundled benchmarks produce (a web-shop HTML page is ~100k characters).
MAX_TEXT_LENGTH = 1 << 20

# Characters for `sample()`: printable ASCII plus some non-ASCII, so random actions exercise unicode paths.
_SAMPLE_CHARSET = "".join(chr(c) for c in range(32, 127)) + "éüßçñ—“”…中文日本語😀"
_SAMPLE_MAX_LENGTH = 64


class FreeText(Text):
    """A text space that admits any string of at most ``max_length`` characters.

    Example:
        >>> space = FreeText()
        >>> space.contains("click[Buy Now] — 中文 ✓")
        True
        >>> space.contains(b"bytes")
        False
    """

    def __init__(self, max_length: int = MAX_TEXT_LENGTH, *, seed: int | None = None) -> None:
        """Create the space; ``max_length`` bounds both ``contains`` and the shared-memory buffer."""
        super().__init__(max_length=max_length, min_length=0, charset=_SAMPLE_CHARSET, seed=seed)

    def contains(self, x: Any) -> bool:
        """Return whether ``x`` is a ``str`` no longer than ``max_length``."""
        return isinstance(x, str) and len(x) <= self.max_length

    def sample(self, mask: Any = None, probability: Any = None) -> str:
        """Sample a short random string (at most 64 characters; the space itself admits longer ones)."""
        if mask is not None or probability is not None:
            return super().sample(mask=mask, probability=probability)
        length = int(self.np_random.integers(0, min(self.max_length, _SAMPLE_MAX_LENGTH) + 1))
        chars = self.np_random.choice(len(_SAMPLE_CHARSET), size=length)
        return "".join(_SAMPLE_CHARSET[i] for i in chars)

    def __repr__(self) -> str:
        """Return a short description, without the sampling charset."""
        return f"FreeText(max_length={self.max_length})"

    def __eq__(self, other: object) -> bool:
        """Two FreeText spaces are equal when their length bounds are."""
        return isinstance(other, FreeText) and other.max_length == self.max_length

    __hash__ = Text.__hash__


# --- Shared-memory codec for AsyncVectorEnv: slot = [length, code point, code point, ...] -------------


@_shm.create_shared_memory.register(FreeText)
def _create_free_text_memory(space: FreeText, n: int = 1, ctx: ModuleType = mp) -> Any:
    return ctx.Array(ctypes.c_int32, n * (space.max_length + 1), lock=True)


class SharedTextBatch(Sequence[str]):
    """A live view of the strings in a shared-memory buffer, one per sub-env.

    ``AsyncVectorEnv`` reads its observation buffer once, at construction, and returns that object (a
    deep copy of it, by default) after every reset and step: numeric spaces get a live numpy view, and
    this class is the same for text. ``copy.deepcopy`` gives a plain tuple of the current strings.
    """

    def __init__(self, slots: np.ndarray) -> None:
        """Wrap ``slots``, an ``(n, max_length + 1)`` int32 view of the shared buffer."""
        self._slots = slots

    def __len__(self) -> int:
        """Return the number of sub-envs."""
        return len(self._slots)

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[str, ...]: ...
    def __getitem__(self, index: int | slice) -> str | tuple[str, ...]:
        """Decode the current string(s) at ``index``."""
        if isinstance(index, slice):
            return tuple(self[i] for i in range(*index.indices(len(self))))
        slot = self._slots[index]
        return slot[1 : 1 + slot[0]].tobytes().decode("utf-32-le", errors="surrogatepass")

    def __deepcopy__(self, memo: dict) -> tuple[str, ...]:
        """Return the current strings as a tuple."""
        return tuple(self)

    def __eq__(self, other: object) -> bool:
        """Compare element-wise with any sequence of strings."""
        return isinstance(other, Sequence) and tuple(self) == tuple(other)

    __hash__ = None  # type: ignore[assignment]  # a live view is mutable

    def __repr__(self) -> str:
        """Show the current strings."""
        return f"SharedTextBatch({tuple(self)!r})"


@_shm.read_from_shared_memory.register(FreeText)
def _read_free_text_memory(space: FreeText, shared_memory: Any, n: int = 1) -> SharedTextBatch:
    return SharedTextBatch(np.frombuffer(shared_memory.get_obj(), dtype=np.int32).reshape(n, -1))


@_shm.write_to_shared_memory.register(FreeText)
def _write_free_text_memory(space: FreeText, index: int, values: str, shared_memory: Any) -> None:
    codes = np.frombuffer(values.encode("utf-32-le", errors="surrogatepass"), dtype=np.int32)
    slot = np.frombuffer(shared_memory.get_obj(), dtype=np.int32)[index * (space.max_length + 1) :]
    slot[0] = len(codes)
    slot[1 : 1 + len(codes)] = codes
