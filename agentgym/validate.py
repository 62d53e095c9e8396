"""Checks of the numbers a user sets (run options, policy and agent settings), where they enter.

Each check returns the value or raises :class:`~agentgym.error.SettingError` with a one-line message naming the
setting: a wrong type (a string, a bool, a float where an integer is needed), NaN, an infinity or a value out of
range never reaches the code that would hang or fail on it later.

Example:
    >>> integer("limit", 3, low=1)
    3
    >>> integer("limit", 0, low=1)
    Traceback (most recent call last):
    agentgym.error.SettingError: limit must be an integer >= 1, got 0
    >>> number("timeout_s", float("nan"), above=0)
    Traceback (most recent call last):
    agentgym.error.SettingError: timeout_s must be a finite number > 0, got nan
"""

from __future__ import annotations

import math
import numbers
import os
from pathlib import Path

from agentgym.error import SettingError


def _bounds(low: float | None, high: float | None, above: float | None = None) -> str:
    """`` from 1 to 10``, `` >= 0``, `` > 0 and <= 1``, ... (empty without bounds)."""
    if low is not None and high is not None:
        return f" from {_show(low)} to {_show(high)}"
    parts = [f"> {_show(above)}" if above is not None else "", f">= {_show(low)}" if low is not None else ""]
    parts.append(f"<= {_show(high)}" if high is not None else "")
    text = " and ".join(part for part in parts if part)
    return f" {text}" if text else ""


def _show(bound: float) -> str:
    return f"{bound:,}" if isinstance(bound, int) else f"{bound:g}"


def integer(name: str, value: object, *, low: int | None = None, high: int | None = None) -> int:
    """Return ``value`` if it is an integer (not a bool) within ``[low, high]``, else raise :class:`SettingError`."""
    wanted = f"{name} must be an integer{_bounds(low, high)}, got {value!r}"
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise SettingError(wanted)
    if (low is not None and value < low) or (high is not None and value > high):
        raise SettingError(wanted)
    return int(value)


def optional_integer(name: str, value: object, *, low: int | None = None, high: int | None = None) -> int | None:
    """:func:`integer`, or ``None``."""
    return None if value is None else integer(name, value, low=low, high=high)


def number(
    name: str, value: object, *, low: float | None = None, high: float | None = None, above: float | None = None
) -> float:
    """Return ``value`` as a float if it is a finite real number (not a bool) within the bounds.

    Args:
        name: the setting, for the message.
        value: what was given.
        low: smallest value allowed.
        high: largest value allowed.
        above: the value must be strictly greater than this.
    """
    wanted = f"{name} must be a finite number{_bounds(low, high, above)}, got {value!r}"
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise SettingError(wanted)
    if (low is not None and value < low) or (high is not None and value > high):
        raise SettingError(wanted)
    if above is not None and value <= above:
        raise SettingError(wanted)
    return float(value)


def optional_number(
    name: str, value: object, *, low: float | None = None, high: float | None = None, above: float | None = None
) -> float | None:
    """:func:`number`, or ``None``."""
    return None if value is None else number(name, value, low=low, high=high, above=above)


def flag(name: str, value: object) -> bool:
    """Return ``value`` if it is a bool (``prefix_cache=true``), else raise :class:`SettingError`."""
    if not isinstance(value, bool):
        raise SettingError(f"{name} must be true or false, got {value!r}")
    return value


def port(name: str, value: object) -> int:
    """Return ``value`` if it is a TCP port number (1 to 65535)."""
    return integer(name, value, low=1, high=65535)


def host(name: str, value: object) -> str:
    """Return ``value`` if it is a host name or address: not empty (an empty host binds every interface)."""
    if not isinstance(value, str) or not value or any(c.isspace() or not c.isprintable() for c in value):
        raise SettingError(f"{name} must be a host name or address (e.g. 127.0.0.1), got {value!r}")
    return value


def folder(name: str, value: object) -> Path:
    """Return ``value`` as a path if it names one: an empty name (which would mean the current folder) is refused."""
    if not isinstance(value, str | os.PathLike) or not str(value).strip():
        raise SettingError(f"{name} must name a folder, got {value!r}")
    return Path(value)
