"""``TruncateObservation``: caps the length of observations (long pages, long admissible-action lists)."""

from __future__ import annotations

from typing import Literal

import gymnasium


def truncate_text(text: str, max_chars: int, keep: Literal["head", "tail", "both"] = "head") -> str:
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

    def __init__(
        self, env: gymnasium.Env[str, str], max_chars: int, keep: Literal["head", "tail", "both"] = "head"
    ) -> None:
        """Wrap ``env``."""
        if max_chars < 1:
            raise ValueError(f"max_chars must be >= 1, got {max_chars}")
        if keep not in ("head", "tail", "both"):
            raise ValueError(f"keep must be 'head', 'tail' or 'both', got {keep!r}")
        super().__init__(env)
        self.max_chars = max_chars
        self.keep = keep

    def observation(self, observation: str) -> str:
        """Truncate one observation."""
        return truncate_text(observation, self.max_chars, self.keep)
