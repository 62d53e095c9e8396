"""``ServerProcess``: start, health, crash during start, stop (with real processes)."""

from __future__ import annotations

import sys
import time

import pytest

from agentgym.error import PolicyError
from agentgym.policies.server import ServerProcess, free_port


def test_healthy_server_starts_and_stops(tmp_path):
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "http.server",
        str(port),
        "--bind",
        "127.0.0.1",
        "--directory",
        str(tmp_path),
    ]
    with ServerProcess(command, f"http://127.0.0.1:{port}", health_path="/", startup_timeout_s=30) as server:
        assert server.alive and server.healthy()
    assert not server.alive
    assert not server.healthy()


def test_crash_during_start_fails_fast_with_the_log():
    command = [sys.executable, "-c", "import sys; print('no GPU here'); sys.exit(3)"]
    server = ServerProcess(command, f"http://127.0.0.1:{free_port()}", startup_timeout_s=60)
    start = time.monotonic()
    with pytest.raises(PolicyError, match=r"(?s)exited with code 3.*no GPU here"):
        server.start()
    assert time.monotonic() - start < 10


def test_unhealthy_server_times_out_and_is_killed():
    command = [sys.executable, "-c", "import time; time.sleep(60)"]
    server = ServerProcess(command, f"http://127.0.0.1:{free_port()}", startup_timeout_s=1)
    with pytest.raises(PolicyError, match="not healthy"):
        server.start()
    assert not server.alive


def test_a_temporary_log_is_removed_on_stop_and_recreated_on_restart(tmp_path):
    port = free_port()
    command = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(tmp_path)]
    server = ServerProcess(command, f"http://127.0.0.1:{port}", health_path="/", startup_timeout_s=30)
    for _ in range(2):
        with server:
            first_log = server.log_path
            assert first_log.exists() and server.healthy()
        assert not first_log.exists()


def test_a_failed_start_leaves_no_temporary_log_but_keeps_a_named_one(tmp_path):
    command = [sys.executable, "-c", "import sys; print('no GPU here'); sys.exit(3)"]
    server = ServerProcess(command, f"http://127.0.0.1:{free_port()}", startup_timeout_s=60)
    with pytest.raises(PolicyError, match="no GPU here"):
        server.start()
    assert not server.log_path.exists()
    named = tmp_path / "server.log"
    server = ServerProcess(command, f"http://127.0.0.1:{free_port()}", startup_timeout_s=60, log_path=named)
    with pytest.raises(PolicyError, match="no GPU here"):
        server.start()
    assert "no GPU here" in named.read_text()
