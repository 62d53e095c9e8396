import hashlib
import http.server
import threading
from pathlib import Path

import pytest

from agentgym import data
from agentgym.error import ChecksumMismatch, DataNotFound


@pytest.fixture
def file_server(tmp_path):
    """A real HTTP server on 127.0.0.1 serving tmp_path/served."""
    served = tmp_path / "served"
    served.mkdir()
    handler = lambda *a: http.server.SimpleHTTPRequestHandler(*a, directory=str(served))  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield served, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture
def data_root(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "data"
    monkeypatch.setenv("AGENTGYM_DATA", str(root))
    return root


def register(monkeypatch, url: str, sha256: str) -> None:
    remote = data.RemoteFile(url=url, path="demo/puzzles.csv", sha256=sha256)
    monkeypatch.setitem(data.DATASETS, "demo", data.Dataset("demo", "test data", (remote,)))


def test_data_root_follows_the_variable_then_the_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("AGENTGYM_DATA", str(tmp_path))
    assert data.data_root() == tmp_path.resolve()
    monkeypatch.delenv("AGENTGYM_DATA")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert data.data_root() == tmp_path / "xdg" / "agentgym" / "data"


def test_require_says_how_to_get_missing_data(data_root):
    with pytest.raises(DataNotFound, match=r"run `agentgym data download game24`"):
        data.require("game24/24.csv", "game24")


def test_download_verifies_and_installs(file_server, data_root, monkeypatch):
    served, url = file_server
    (served / "p.csv").write_bytes(b"Rank,Puzzles\n1,1 1 4 6\n")
    register(monkeypatch, f"{url}/p.csv", hashlib.sha256(b"Rank,Puzzles\n1,1 1 4 6\n").hexdigest())
    [path] = data.download("demo")
    assert path == data_root / "demo" / "puzzles.csv"
    assert path.read_bytes().startswith(b"Rank")
    (served / "p.csv").write_bytes(b"changed upstream")
    assert data.download("demo") == [path]  # present and valid: not fetched again
    assert path.read_bytes().startswith(b"Rank")


def test_download_refuses_a_corrupted_file(file_server, data_root, monkeypatch):
    served, url = file_server
    (served / "p.csv").write_bytes(b"tampered")
    register(monkeypatch, f"{url}/p.csv", "0" * 64)
    with pytest.raises(ChecksumMismatch, match="expected 0000"):
        data.download("demo")
    assert not (data_root / "demo" / "puzzles.csv").exists()
    assert not list((data_root / "demo").glob("*.part"))


def test_download_unknown_dataset():
    with pytest.raises(KeyError, match="unknown dataset 'nope'"):
        data.download("nope")


def test_official_game24_checksum_matches_the_shared_copy(shared_data):
    [remote] = data.DATASETS["game24"].files
    assert data.sha256_of(shared_data / remote.path) == remote.sha256


def test_download_from_a_file_fetched_by_hand(tmp_path, data_root, monkeypatch):
    content = b"Rank,Puzzles\n1,1 1 4 6\n"
    register(monkeypatch, "http://127.0.0.1:9/unreachable.csv", hashlib.sha256(content).hexdigest())
    (tmp_path / "fetched.csv").write_bytes(content)
    assert data.download("demo", source=tmp_path / "fetched.csv") == [data_root / "demo" / "puzzles.csv"]
    assert (data_root / "demo" / "puzzles.csv").read_bytes() == content
    folder = tmp_path / "folder" / "deep"
    folder.mkdir(parents=True)
    (folder / "puzzles.csv").write_bytes(content)
    assert data.download("demo", source=tmp_path / "folder")[0].read_bytes() == content


def test_download_from_a_corrupted_file_is_refused(tmp_path, data_root, monkeypatch):
    register(monkeypatch, "http://127.0.0.1:9/unreachable.csv", "1" * 64)
    (tmp_path / "puzzles.csv").write_bytes(b"not the official file")
    with pytest.raises(ChecksumMismatch, match=r"puzzles.csv in .* has sha256 .*, expected 1111"):
        data.download("demo", source=tmp_path / "puzzles.csv")
    assert not (data_root / "demo" / "puzzles.csv").exists()
    with pytest.raises(DataNotFound, match=r"puzzles\.csv is not in"):
        data.download("demo", source=tmp_path / "empty-folder-that-does-not-exist")


def test_an_unreachable_host_says_what_to_fetch_and_how_to_install_it(data_root, monkeypatch):
    register(monkeypatch, "http://127.0.0.1:9/puzzles.csv", "2" * 64)
    with pytest.raises(DataNotFound) as excinfo:
        data.download("demo")
    message = str(excinfo.value)
    assert "could not fetch http://127.0.0.1:9/puzzles.csv" in message
    assert f"sha256 {'2' * 64}" in message and "agentgym data download demo --from PATH" in message
    assert not list((data_root / "demo").glob("*.part"))
