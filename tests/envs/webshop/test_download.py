"""``agentgym data download webshop``: the setup.sh files by Google Drive id through gdown, against a local host."""

from __future__ import annotations

import hashlib
import http.server
import threading
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

pytest.importorskip("gdown")

from typer.testing import CliRunner

from agentgym import data
from agentgym.cli import app
from agentgym.error import ChecksumMismatch, DataNotFound

SETUP_SH_IDS = {  # princeton-nlp/WebShop setup.sh: `gdown https://drive.google.com/uc?id=...` lines
    "1EgHdxQ_YxqIQlvvq5iKlCrkEKR6-j0Ib": "items_shuffle_1000.json",
    "1IduG0xl544V_A_jv3tHXC0kyFi7PnyBu": "items_ins_v2_1000.json",
    "14Kb5SPBk_jfdLZ_CDBNitW98QLDlKR5O": "items_human_ins.json",
    "1A2whVgOO0euk5O13n2iYDM0bQRkkRduB": "items_shuffle.json",
    "1s2j6NgHljiZzQNL3veZaAiyW_qDEgBNi": "items_ins_v2.json",
}


@pytest.fixture
def drive(data_present, tmp_path, monkeypatch):
    """A local host answering ``/uc?id=ID`` with the bytes in ``files[ID]``; records the ids asked for."""
    files = {file_id: f"[{name!r}]".encode() for file_id, name in SETUP_SH_IDS.items()}
    files["1IduG0xl544V_A_jv3tHXC0kyFi7PnyBu"] = data.find("webshop/items_ins_v2_1000.json").read_bytes()
    asked: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            file_id = parse_qs(url.query).get("id", [""])[0]
            asked.append(file_id)
            body = files.get(file_id)
            self.send_response(200 if url.path == "/uc" and body is not None else 404)
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args) -> None:
            """Quiet."""

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("AGENTGYM_DRIVE_URL", f"http://127.0.0.1:{server.server_address[1]}")
    monkeypatch.setenv("AGENTGYM_DATA", str(tmp_path / "data"))
    yield files, asked
    server.shutdown()
    server.server_close()


def digests(folder: Path) -> dict[str, str]:
    return {n: d for d, n in (line.split("  ") for line in (folder / "SHA256SUMS").read_text().splitlines())}


def test_webshop_downloads_by_drive_id_pins_and_records_digests(drive):
    files, asked = drive
    paths = data.download("webshop")
    root = data.data_root() / "webshop"
    assert paths == [root / n for n in ("items_shuffle_1000.json", "items_ins_v2_1000.json", "items_human_ins.json")]
    assert sorted(asked) == sorted(i for i, n in SETUP_SH_IDS.items() if n in {p.name for p in paths})
    for file_id, name in SETUP_SH_IDS.items():
        if (root / name).exists():
            assert (root / name).read_bytes() == files[file_id]
    recorded = digests(root)  # the unpinned files, recorded at the first download
    assert recorded == {
        name: hashlib.sha256((root / name).read_bytes()).hexdigest()
        for name in ("items_shuffle_1000.json", "items_human_ins.json")
    }
    data.download("webshop")
    assert len(asked) == 3  # present and matching: nothing fetched again

    files["1EgHdxQ_YxqIQlvvq5iKlCrkEKR6-j0Ib"] = b"changed on the host"
    with pytest.raises(ChecksumMismatch, match="recorded at its first download"):
        data.download("webshop", force=True)
    assert (root / "items_shuffle_1000.json").read_bytes() == b"['items_shuffle_1000.json']"
    assert not list(root.glob("*.part"))


def test_a_pinned_file_of_the_wrong_size_or_content_is_refused(drive):
    files, _ = drive
    files["1IduG0xl544V_A_jv3tHXC0kyFi7PnyBu"] = b"{}"
    with pytest.raises(ChecksumMismatch, match="gave 2 bytes, expected 147099"):
        data.download("webshop")
    pinned = data.find("webshop/items_ins_v2_1000.json")
    assert pinned is None


def test_unreachable_host_says_how_to_install_by_hand(drive, tmp_path, monkeypatch):
    files, _ = drive
    files.pop("14Kb5SPBk_jfdLZ_CDBNitW98QLDlKR5O")
    with pytest.raises(DataNotFound, match=r"--from PATH"):
        data.download("webshop")
    by_hand = tmp_path / "by_hand"
    by_hand.mkdir()
    (by_hand / "items_human_ins.json").write_bytes(b"{}")
    (by_hand / "items_shuffle_1000.json").write_bytes(b"[]")
    (by_hand / "items_ins_v2_1000.json").write_bytes(drive[0]["1IduG0xl544V_A_jv3tHXC0kyFi7PnyBu"])
    result = CliRunner().invoke(app, ["data", "download", "webshop", "--from", str(by_hand)])
    assert result.exit_code == 0, result.output
    assert digests(data.data_root() / "webshop")["items_human_ins.json"] == hashlib.sha256(b"{}").hexdigest()


def test_webshop_full_fetches_the_full_files(drive):
    files, asked = drive
    result = CliRunner().invoke(app, ["data", "download", "webshop-full"])
    assert result.exit_code == 0, result.output
    root = data.data_root() / "webshop"
    assert (root / "items_shuffle.json").read_bytes() == files["1A2whVgOO0euk5O13n2iYDM0bQRkkRduB"]
    assert set(digests(root)) == {"items_shuffle.json", "items_ins_v2.json", "items_human_ins.json"}
