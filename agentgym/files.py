"""Files written whole or not at all, and JSON Lines read without changing them.

:func:`atomic_write` is the one way agentgym replaces a file (caches, a run's ``run.json``): readers see the old
content or the new, never a half-written file, even when several processes write the same path at once.
:func:`scan_jsonl` reads a JSON Lines file line by line and says what each line is; :func:`read_jsonl` is its
strict form for files that must be whole. Neither modifies the file (repairing a torn last line is the job of
whoever appends to it, e.g. a run's :class:`~agentgym.runner.store.EpisodeStore`).
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentgym.error import Error


class BadJsonLine(Error, ValueError):
    """A line of a JSON Lines file is not JSON (the message names the file and the line)."""


def atomic_write(path: str | Path, data: str | bytes) -> None:
    """Replace ``path`` by ``data`` (text is written as UTF-8), all at once.

    ``data`` goes to a new temporary file in the same folder (``.NAME.PID.XXXX.tmp``: created exclusively, never
    through a link), is flushed to disk, and is renamed over ``path``. A failure leaves ``path`` as it was and
    removes the temporary file. If ``path`` is a symbolic link, the link itself is replaced: what it points to
    is never written. The new file has the permissions a plain ``open`` would give it (``0o666`` less the umask).

    Raises:
        OSError: the folder is missing, read-only or full (``path`` unchanged).

    Example:
        >>> import pathlib, tempfile
        >>> target = pathlib.Path(tempfile.mkdtemp()) / "settings.json"
        >>> atomic_write(target, '{"seed": 0}')
        >>> target.read_text()
        '{"seed": 0}'
    """
    path = Path(path)
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    _sync_folder(path.parent)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _sync_folder(folder: Path) -> None:
    """Flush the folder's entry of a renamed file to disk (best effort: not every file system allows it)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@dataclass(frozen=True)
class JsonLine:
    """One line of a JSON Lines file as :func:`scan_jsonl` read it.

    Attributes:
        number: its line number (from 1).
        offset: the byte offset where it starts.
        size: its length in bytes, newline included.
        value: the parsed JSON value (``None`` when ``problem`` is set, or for a JSON ``null``).
        problem: why the line is not JSON (``None`` if it is).
        complete: whether it ends with a newline (a last line without one was cut short, or is being written).
    """

    number: int
    offset: int
    size: int
    value: Any
    problem: str | None
    complete: bool


def parse_json_line(line: bytes) -> tuple[Any, str | None]:
    r"""``(value, None)`` for a line of JSON, ``(None, why)`` otherwise; never raises.

    Example:
        >>> parse_json_line(b'{"a": 1}\n'), parse_json_line(b"{oops")
        (({'a': 1}, None), (None, 'invalid JSON: Expecting property name enclosed in double quotes, column 2'))
    """
    try:
        return json.loads(line.decode("utf-8")), None
    except UnicodeDecodeError:
        return None, "invalid UTF-8"
    except json.JSONDecodeError as e:
        return None, f"invalid JSON: {e.msg}, column {e.colno}"
    except ValueError:  # an integer of thousands of digits
        return None, "invalid JSON: a number too large"
    except RecursionError:
        return None, "JSON nested too deeply"


#: The ``problem`` of a last line without its newline that holds only white space.
BLANK_TAIL = "a last line of white space without its newline"


def scan_jsonl(lines: Iterable[bytes]) -> Iterator[JsonLine]:
    """Each line of ``lines`` (an open binary file, say), parsed; blank lines are skipped but a last one cut short."""
    offset = 0
    for number, line in enumerate(lines, 1):
        start, offset = offset, offset + len(line)
        complete = line.endswith(b"\n")
        if line.strip():
            value, problem = parse_json_line(line)
            yield JsonLine(number, start, len(line), value, problem, complete)
        elif not complete:
            yield JsonLine(number, start, len(line), None, BLANK_TAIL, complete)


def read_jsonl(path: str | Path) -> list[Any]:
    r"""Every value of a JSON Lines file, in order (blank lines skipped); the file is only read.

    Raises:
        BadJsonLine: a line is not JSON (a last line without its newline counts, if it is whole JSON).
        OSError: the file cannot be read.

    Example:
        >>> import pathlib, tempfile
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "log.jsonl"
        >>> _ = path.write_text('{"step": 1}\n\n{"step": 2}\n')
        >>> read_jsonl(path)
        [{'step': 1}, {'step': 2}]
    """
    with open(path, "rb") as f:
        return [_value(path, line) for line in scan_jsonl(f) if line.problem != BLANK_TAIL]


def _value(path: str | Path, line: JsonLine) -> Any:
    if line.problem is not None:
        raise BadJsonLine(f"{path} line {line.number}: {line.problem}")
    return line.value
