"""Fixtures of the ALFWorld tests: the shared archives, and a local stand-in for the release download."""

import dataclasses
import functools
import http.server
import threading

import pytest

from agentgym import data


@pytest.fixture
def archives(shared_data):
    folder = shared_data / "alfworld"
    if not (folder / "valid_unseen.tar.xz").is_file():
        pytest.skip("no ALFWorld archives under AGENTGYM_DATA")
    return folder


@pytest.fixture
def release_server(tmp_path, monkeypatch):
    """A real HTTP server on 127.0.0.1 standing in for GitHub's release URL; AGENTGYM_DATA points to tmp."""
    served = tmp_path / "served"
    served.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    [official] = data.DATASETS["alfworld"].files
    local = dataclasses.replace(official, url=f"http://127.0.0.1:{server.server_address[1]}/release.zip")
    monkeypatch.setitem(data.DATASETS, "alfworld", dataclasses.replace(data.DATASETS["alfworld"], files=(local,)))
    monkeypatch.setenv("AGENTGYM_DATA", str(tmp_path / "data"))
    yield served / "release.zip"
    server.shutdown()
