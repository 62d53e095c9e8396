import fcntl
import hashlib
import http.server
import os
import stat
import subprocess
import sys
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


def register_files(monkeypatch, *contents: bytes, url: str = "http://127.0.0.1:9/unreachable") -> None:
    """A 'demo' dataset of files demo/f0.csv, demo/f1.csv, ... whose pinned sha256 are those of ``contents``."""
    files = tuple(
        data.RemoteFile(url=f"{url}/f{i}.csv", path=f"demo/f{i}.csv", sha256=hashlib.sha256(c).hexdigest())
        for i, c in enumerate(contents)
    )
    monkeypatch.setitem(data.DATASETS, "demo", data.Dataset("demo", "test data", files))


def test_from_a_folder_the_candidate_that_verifies_is_installed(tmp_path, data_root, monkeypatch):
    register_files(monkeypatch, b"the official file\n")
    source = tmp_path / "fetched"
    for folder, content in (("a", b"another paper's file of that name\n"), ("b", b"the official file\n")):
        (source / folder).mkdir(parents=True)
        (source / folder / "f0.csv").write_bytes(content)
    assert data.download("demo", source=source)[0].read_bytes() == b"the official file\n"
    (source / "b" / "f0.csv").write_bytes(b"tampered\n")
    (data_root / "demo" / "f0.csv").unlink()
    with pytest.raises(ChecksumMismatch, match=r"no f0\.csv in .* has sha256 [0-9a-f]{64} \(a/f0\.csv: .*b/f0\.csv: "):
        data.download("demo", source=source)
    assert list((data_root / "demo").iterdir()) == []  # nothing installed, no .part left


def test_the_first_file_that_fails_stops_the_download(tmp_path, data_root, monkeypatch):
    register_files(monkeypatch, b"one\n", b"two\n", b"three\n")
    source = tmp_path / "fetched"
    source.mkdir()
    for name, content in (("f0.csv", b"one\n"), ("f1.csv", b"not two\n"), ("f2.csv", b"three\n")):
        (source / name).write_bytes(content)
    with pytest.raises(ChecksumMismatch, match=r"f1\.csv in .* has sha256"):
        data.download("demo", source=source)
    assert sorted(p.name for p in (data_root / "demo").iterdir()) == ["f0.csv"]  # f2 was never copied


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_installed_files_get_the_mode_the_umask_gives_new_files(file_server, data_root, monkeypatch, umask, mode):
    served, url = file_server
    (served / "f0.csv").write_bytes(b"shared\n")
    register_files(monkeypatch, b"shared\n", url=url)
    previous = os.umask(umask)
    try:
        [path] = data.download("demo")
    finally:
        os.umask(previous)
    assert stat.S_IMODE(path.stat().st_mode) == mode  # not NamedTemporaryFile's 0600 under a shared umask


class SlowHandler(http.server.BaseHTTPRequestHandler):
    """Sends headers and a first chunk of a large file, then stalls until told to finish (or forever)."""

    body = b"x" * (4 << 20)
    release = threading.Event()
    requested = threading.Event()

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        SlowHandler.requested.set()
        self.wfile.write(self.body[:4096])
        self.wfile.flush()
        SlowHandler.release.wait(60)
        self.wfile.write(self.body[4096:])

    def log_message(self, *args):
        pass


def test_a_part_file_left_by_a_killed_download_is_removed_by_the_next_one(tmp_path, data_root, monkeypatch):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), SlowHandler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    SlowHandler.release.clear()
    SlowHandler.requested.clear()
    digest = hashlib.sha256(SlowHandler.body).hexdigest()
    code = (
        "from agentgym import data\n"
        f"remote = data.RemoteFile(url={url + '/f0.csv'!r}, path='demo/f0.csv', sha256={digest!r})\n"
        "data.DATASETS['demo'] = data.Dataset('demo', 'test data', (remote,))\n"
        "data.download('demo')\n"
    )
    env = {**os.environ, "AGENTGYM_DATA": str(data_root)}
    process = subprocess.Popen([sys.executable, "-c", code], env=env)
    try:
        assert SlowHandler.requested.wait(60), "the download never started"
        parts = list((data_root / "demo").glob("*.part"))
        assert len(parts) == 1
        process.kill()
        process.wait(30)
        assert parts[0].exists()  # what a killed download leaves
        # A .part file that a running download holds (locked) is left alone.
        held = data_root / "demo" / ".f0.csv.held.part"
        with held.open("wb") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            SlowHandler.release.set()
            monkeypatch.setitem(
                data.DATASETS,
                "demo",
                data.Dataset(
                    "demo", "test data", (data.RemoteFile(url=f"{url}/f0.csv", path="demo/f0.csv", sha256=digest),)
                ),
            )
            [path] = data.download("demo")
        assert path.read_bytes() == SlowHandler.body
        assert sorted(p.name for p in (data_root / "demo").iterdir()) == [held.name, "f0.csv"]
    finally:
        SlowHandler.release.set()
        process.kill()
        server.shutdown()
