"""Shared fixtures. Tests read benchmark data from $AGENTGYM_DATA (CI sets it to ../shared/data)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"

if "AGENTGYM_DATA" not in os.environ and SHARED_DATA.is_dir():
    os.environ["AGENTGYM_DATA"] = str(SHARED_DATA)


@pytest.fixture
def shared_data() -> Path:
    """The benchmark data folder; tests that need it skip when it is absent."""
    path = Path(os.environ.get("AGENTGYM_DATA", ""))
    if not path.is_dir():
        pytest.skip("AGENTGYM_DATA is not set to the benchmark data folder")
    return path


@pytest.fixture
def isolated_cache(tmp_path, monkeypatch) -> Path:
    """A private per-user cache (XDG_CACHE_HOME) for tests that write derived files."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache"
