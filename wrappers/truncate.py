"""Cutting long texts: :class:`Truncation` (agents compose it) and :class:`TruncateObservation` (an env wrapper)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import gymnasium

#: Which part of a text a cut keeps.
Keep = Literal["head", "tail", "both"]


def truncate_text(text: str, max_chars: int, keep: Keep = "head") -> str:
    """Shorten ``text`` to at most ``max_chars`` characters, saying how much was cut.

    Example:
        >>> truncate_text("abcdefghijklmnopqrstuvwxyz" * 4, 40)
        'abcdefghijklmnop […88 characters cut…]'
        >>> len(truncate_text("x" * 1000, 40, keep="both")) <= 40
        True
    """
    if len(text) <= max_chars:
        return text
    room = max(0, max_chars - len(f" […{len(text)} characters cut…] "))  # an upper bound on the marker
    marker = f"[…{len(text) - room} characters cut…]"
    if keep == "head":
        result = f"{text[:room]} {marker}"
    elif keep == "tail":
        result = f"{marker} {text[len(text) - room :]}"
    else:
        head = room // 2
        result = f"{text[:head]} {marker} {text[len(text) - (room - head) :]}"
    return result.strip()[:max_chars]


@dataclass(frozen=True)
class Truncation:
    """A cut of texts to at most ``max_chars`` characters (:func:`truncate_text`), its settings checked once.

    Agents compose one for what they show a policy (the ReAct agent's observations); :class:`TruncateObservation`
    applies one to an env's observations.

    Args:
        max_chars: the cap (at least 1).
        keep: which part to keep: the start (``"head"``), the end (``"tail"``) or both ends (``"both"``).

    Example:
        >>> Truncation(40, keep="tail")("abcdefghijklmnopqrstuvwxyz" * 4)
        '[…88 characters cut…] klmnopqrstuvwxyz'
        >>> Truncation(0)
        Traceback (most recent call last):
        ValueError: max_chars must be >= 1, got 0
    """

    max_chars: int
    keep: Keep = "head"

    def __post_init__(self) -> None:
        """Refuse a cap under 1 and an unknown ``keep``."""
        if self.max_chars < 1:
            raise ValueError(f"max_chars must be >= 1, got {self.max_chars}")
        if self.keep not in ("head", "tail", "both"):
            raise ValueError(f"keep must be 'head', 'tail' or 'both', got {self.keep!r}")

    def __call__(self, text: str) -> str:
        """``text`` cut to the cap."""
        return truncate_text(text, self.max_chars, self.keep)


class TruncateObservation(gymnasium.ObservationWrapper[str, str, str]):
    """Shortens every observation to at most ``max_chars`` characters.

    Args:
        env: any agentgym env.
        max_chars: the cap.
        keep: which part to keep: the start (``"head"``), the end (``"tail"``) or both ends (``"both"``).

    Example:
        >>> import gymnasium, agentgym
        >>> env = TruncateObservation(gymnasium.make("agentgym/Game24-v0"), max_chars=30)
        >>> obs, _ = env.reset(seed=0)
        >>> len(obs) <= 30
        True

    Change logs:
        v0.1.0: initial version.
    """

    def __init__(self, env: gymnasium.Env[str, str], max_chars: int, keep: Keep = "head") -> None:
        """Wrap ``env``."""
        self.truncation = Truncation(max_chars, keep)
        super().__init__(env)

    def observation(self, observation: str) -> str:
        """Truncate one observation."""
        return self.truncation(observation)
