"""Policy specs carry server URLs: parsed as URLs, and no request ever leaves for a host the user did not name."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from agentgym.cli import app
from agentgym.error import SettingError
from agentgym.policies import make_policy
from agentgym.policies.urls import api_root, split_model_url
from tests.support.recording_server import RecordingServer

pytest.importorskip("httpx")


@pytest.mark.parametrize(
    ("url", "root"),
    [
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000/v1"),
        ("http://127.0.0.1:8000/", "http://127.0.0.1:8000/v1"),
        ("HTTP://127.0.0.1:8000", "http://127.0.0.1:8000/v1"),
        ("Https://api.openai.com/v1", "https://api.openai.com/v1"),
        ("http://[::1]:30000/v1/", "http://[::1]:30000/v1"),
        ("http://gpu-node:8000/proxy/v1", "http://gpu-node:8000/proxy/v1"),
    ],
)
def test_server_urls_are_normalized(url, root):
    assert api_root(url) == root


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("127.0.0.1:8000", "has no scheme: write http://127.0.0.1:8000"),
        ("localhost:8000/v1", "has no scheme: write http://localhost:8000/v1"),
        ("http://user:pw@127.0.0.1:8000", "holds credentials"),
        ("http://:pw@127.0.0.1:8000", "holds credentials"),
        ("ftp://127.0.0.1/v1", "scheme must be http or https"),
        ("file:///etc/passwd", "scheme must be http or https"),
        ("http://127.0.0.1:99999", "bad port"),
        ("http://127.0.0.1:port", "bad port"),
        ("http://127.0.0.1:0", "names no host"),
        ("http://", "names no host"),
        ("http:///v1", "names no host"),
        ("http://[::1", "is not a URL"),
        ("http://h:8000/v1?key=x", "query or fragment"),
        ("http://h:8000/v1#x", "query or fragment"),
        ("http://h:8000/v1?", "query or fragment"),
        ("http://h :8000", "spaces or control characters"),
        ("http://h:8000\n", "spaces or control characters"),
        ("", "empty"),
    ],
)
def test_malformed_server_urls_are_errors(url, message):
    with pytest.raises(SettingError, match=message.replace("?", r"\?")):
        api_root(url)


def test_credentials_are_never_echoed():
    with pytest.raises(SettingError) as caught:
        split_model_url("openai:m@http://alice:s3cret@127.0.0.1:8000", "m@http://alice:s3cret@127.0.0.1:8000")
    assert "s3cret" not in str(caught.value) and "alice" not in str(caught.value)


def test_the_model_is_what_precedes_the_first_at_sign():
    assert split_model_url("openai:org/model-7b@http://h:1", "org/model-7b@http://h:1") == (
        "org/model-7b",
        "http://h:1/v1",
    )
    assert split_model_url("openai:m", "m") == ("m", None)
    with pytest.raises(SettingError, match="a URL where the model name goes"):
        split_model_url("openai:http://127.0.0.1:8000", "http://127.0.0.1:8000")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("openai:MODEL@127.0.0.1:8000", "write openai:MODEL@http://127.0.0.1:8000"),
        ("sglang:MODEL@127.0.0.1:30000", "write sglang:MODEL@http://127.0.0.1:30000"),
        ("openai:MODEL@", "nothing after '@'"),
        ("openai:gpt-4o-mini", "no server URL"),
        ("ray:2:openai:MODEL@127.0.0.1:8000", "write openai:MODEL@http://127.0.0.1:8000"),
    ],
)
def test_policy_specs_with_a_malformed_url_are_errors(spec, message, monkeypatch):
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(SettingError, match=message):
        make_policy(spec)


def test_openai_base_url_is_checked_too(monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", "127.0.0.1:8000")
    with pytest.raises(SettingError, match=r"OPENAI_BASE_URL: .*has no scheme"):
        make_policy("openai:m")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:8000")
    assert make_policy("openai:m").config()["base_url"] == "http://127.0.0.1:8000/v1"


def test_openai_api_is_used_only_when_named(monkeypatch):
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    assert make_policy("openai:gpt-4o-mini@https://api.openai.com/v1").config()["base_url"] == (
        "https://api.openai.com/v1"
    )


@pytest.fixture
def recorder(monkeypatch):
    """A recording server that every HTTP request of this process goes through (as its proxy) or to."""
    with RecordingServer() as server:
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
            monkeypatch.setenv(name, server.url)
        for name in ("NO_PROXY", "no_proxy", "OPENAI_BASE_URL"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-must-not-leave")
        yield server


def _run(tmp_path, *args: str):
    out = tmp_path / "out"
    common = ["--limit", "1", "--max-steps", "1", "--workers", "0", "--no-progress", "--out", str(out)]
    return CliRunner().invoke(app, ["run", "game24", "--agent", "direct", *common, *args]), out


@pytest.mark.parametrize(
    "spec",
    [
        "openai:MODEL@127.0.0.1:{port}",
        "openai:MODEL@localhost:{port}",
        "openai:MODEL@http://user:pw@127.0.0.1:{port}",
        "openai:MODEL@ftp://127.0.0.1:{port}",
        "openai:MODEL@http//127.0.0.1:{port}",
        "openai:MODEL",
        "openai:http://127.0.0.1:{port}",
        "sglang:MODEL@127.0.0.1:{port}",
        "ray:1:openai:MODEL@127.0.0.1:{port}",
    ],
)
def test_a_malformed_spec_sends_nothing_anywhere(spec, recorder, tmp_path):
    port = recorder.url.rsplit(":", 1)[1]
    result, out = _run(tmp_path, "--policy", spec.format(port=port))
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    assert recorder.requests == [] and not out.exists()


def test_a_malformed_embedder_spec_sends_nothing_anywhere(recorder, tmp_path):
    port = recorder.url.rsplit(":", 1)[1]
    result, out = _run(
        tmp_path, "--policy", "random", "--agent", "cops", "--agent-arg", f"embedder=openai:e@127.0.0.1:{port}"
    )
    assert result.exit_code == 2 and "write openai:e@http://127.0.0.1:" in result.stderr, result.output
    assert recorder.requests == [] and not out.exists()


def test_requests_go_only_to_the_named_server(recorder, tmp_path):
    result, out = _run(tmp_path, "--policy", f"openai:MODEL@HTTP://{recorder.url.removeprefix('http://')}")
    assert result.exit_code == 0, result.output
    assert recorder.requests and set(recorder.requests) == {f"POST {recorder.url}/v1/chat/completions"}
    assert {body["model"] for body in recorder.bodies} == {"MODEL"}
