"""agentgym.files: whole-or-nothing writes, and JSON Lines read without changing the file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agentgym.files import BLANK_TAIL, BadJsonLine, atomic_write, read_jsonl, scan_jsonl


def test_atomic_write_text_and_bytes(tmp_path: Path) -> None:
    target = tmp_path / "a.json"
    atomic_write(target, "héllo")
    assert target.read_bytes() == "héllo".encode()
    atomic_write(target, b"\x00\xff")
    assert target.read_bytes() == b"\x00\xff"
    assert os.listdir(tmp_path) == ["a.json"]  # no temporary file left


def test_atomic_write_temporary_name_carries_the_pid_and_stays_in_the_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    renamed: list[tuple[str, str]] = []
    real_replace = os.replace

    def spy(src: str, dst: str) -> None:
        renamed.append((str(src), str(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    atomic_write(tmp_path / "cache.txt", "x")
    (src, dst) = renamed[0]
    assert Path(src).parent == tmp_path and dst == str(tmp_path / "cache.txt")
    assert Path(src).name.startswith(f".cache.txt.{os.getpid()}.") and src.endswith(".tmp")


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "run.json"
    target.write_text("old")

    def full_disk(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space left"):
        atomic_write(target, "new")
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["run.json"]


def test_a_link_at_the_destination_is_replaced_never_written_through(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("precious")
    link = tmp_path / "folder" / "summary.json"
    link.parent.mkdir()
    link.symlink_to(outside)
    atomic_write(link, "{}")
    assert outside.read_text() == "precious"
    assert not link.is_symlink() and link.read_text() == "{}"


def test_permissions_follow_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        atomic_write(tmp_path / "f", "x")
    finally:
        os.umask(old)
    assert (tmp_path / "f").stat().st_mode & 0o777 == 0o640


def test_a_missing_folder_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        atomic_write(tmp_path / "nowhere" / "f", "x")


def test_read_jsonl_values_blank_lines_and_a_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    path.write_bytes(b'{"a": 1}\n\n  \n[2]\n"three"')
    assert read_jsonl(path) == [{"a": 1}, [2], "three"]
    path.write_bytes(b'{"a": 1}\n{"a": \n')
    with pytest.raises(BadJsonLine, match=r"log.jsonl line 2: invalid JSON") as caught:
        read_jsonl(path)
    assert isinstance(caught.value, ValueError)


def test_read_jsonl_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "episodes.jsonl"
    content = b'{"a": 1}\n{"a": 2'  # a torn last line: only an appender may repair it
    path.write_bytes(content)
    before = path.stat()
    with pytest.raises(BadJsonLine, match="line 2"):
        read_jsonl(path)
    after = path.stat()
    assert path.read_bytes() == content and (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)


def test_scan_jsonl_offsets_and_torn_tail() -> None:
    lines = [b'{"a": 1}\n', b"\n", b"\xff\n", b"  "]
    scanned = list(scan_jsonl(lines))
    assert [(s.number, s.offset, s.size, s.complete) for s in scanned] == [
        (1, 0, 9, True),
        (3, 10, 2, True),
        (4, 12, 2, False),
    ]
    assert scanned[0].value == {"a": 1} and scanned[0].problem is None
    assert scanned[1].problem == "invalid UTF-8"
    assert scanned[2].problem == BLANK_TAIL
