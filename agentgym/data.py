"""Where benchmark data lives, and ``agentgym data download``: fetch official files, verify their sha256.

Data is looked for in ``$AGENTGYM_DATA`` when that is set (a folder laid out like the project's shared
test data: ``game24/24.csv``, ``alfworld/...``), else in a per-user cache (``$XDG_CACHE_HOME/agentgym/data``,
by default ``~/.cache/agentgym/data``). Nothing is downloaded implicitly: envs raise :class:`DataNotFound`
with the command to run.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import BinaryIO

from agentgym.error import ChecksumMismatch, DataNotFound, import_optional

DATA_ENV_VAR = "AGENTGYM_DATA"


@dataclass(frozen=True)
class RemoteFile:
    """One official file: where to fetch it, where it goes under the data root, and its sha256.

    ``sha256=None`` only for a file whose own checksum is not published and could not be computed here; its
    dataset's ``unpack`` step must then verify the content it installs (and raise :class:`ChecksumMismatch`).
    ``size``, when known, is checked too. A Google Drive file (``url`` from :func:`drive_file`) is fetched with
    ``gdown``.
    """

    url: str
    path: str
    sha256: str | None
    size: int | None = None


@dataclass(frozen=True)
class Dataset:
    """A benchmark's data: its files and an optional step that unpacks them after download."""

    name: str
    description: str
    files: tuple[RemoteFile, ...]
    unpack: Callable[[Path], None] | None = field(default=None, compare=False)


# ETO (github.com/Yifan-Song793/ETO) at the commit its released ScienceWorld splits come from.
_ETO_SCIWORLD = (
    "https://raw.githubusercontent.com/Yifan-Song793/ETO/9cd80875322d255db0c9e20600b22f88450ca0d6/"
    "eval_agent/data/sciworld/"
)


def _paper_prompt(name: str, repository: str, path: str, sha256: str) -> RemoteFile:
    """A paper's prompt file, fetched verbatim from ``repository`` (``OWNER/REPO/COMMIT``) into ``prompts/NAME``."""
    return RemoteFile(
        url=f"https://raw.githubusercontent.com/{repository}/{path}", path=f"prompts/{name}", sha256=sha256
    )


# The papers' prompt files, each at the commit its presets follow. Their text is their authors': it is downloaded
# and checked like benchmark data, never copied into agentgym's source.
_REACT = "ysymyth/ReAct/6bdb3a1fd38b8188fc7ba4102969fe483df8fdc9"
_REFLEXION = "noahshinn/reflexion/218cf0ef1df84b05ce379dd4a8e47f17766733a0"
_TOT = "princeton-nlp/tree-of-thought-llm/ab400345c5ea39d28ea6d7d3be0e417b11113c87"
_ETO = "Yifan-Song793/ETO/a2fc5da38f8d00cfaf3f9b6370d586eebaf72904"
_COPS = "uclaml/COPS/989b29882a4ee6cdca828c402268216e4c5f5d85"
_RAFA = "agentification/RAFA_code/07da5ecc1c19dde9cbacb8853175ab0c38de9892"
_PAPER_PROMPTS = (
    _paper_prompt(
        "react/alfworld_3prompts.json",
        _REACT,
        "prompts/alfworld_3prompts.json",
        "a10976b4ae99f4802aa9e621933bb71065ae103f2bd273a24466ab1005fbc45a",
    ),
    _paper_prompt(
        "react/WebShop.ipynb",
        _REACT,
        "WebShop.ipynb",
        "fb8704ec5528e43589924ab33d14eb7f97e82f7cd9da5c02b0295a9be30f9ca6",
    ),
    _paper_prompt(
        "reflexion/alfworld_3prompts.json",
        _REFLEXION,
        "alfworld_runs/prompts/alfworld_3prompts.json",
        "a10976b4ae99f4802aa9e621933bb71065ae103f2bd273a24466ab1005fbc45a",
    ),
    _paper_prompt(
        "reflexion/alfworld_reflexion_few_shot_examples.txt",
        _REFLEXION,
        "alfworld_runs/reflexion_few_shot_examples.txt",
        "5040995a3cdc88bce30fa26bec3ca4875ced8db98b7b2859f5c1614deec716e7",
    ),
    _paper_prompt(
        "reflexion/alfworld_generate_reflections.py",
        _REFLEXION,
        "alfworld_runs/generate_reflections.py",
        "d7fbe4af7ff21ce9bc73ad2bcf16bf265682d1fb3554dc62985f3ada09997ef7",
    ),
    _paper_prompt(
        "reflexion/webshop_base_prompt.txt",
        _REFLEXION,
        "webshop_runs/base_prompt.txt",
        "58e4164eb648db4f8f437ee8a7b3ce064d3661d929e4f0fe71155ea6b062c56a",
    ),
    _paper_prompt(
        "reflexion/webshop_generate_reflections.py",
        _REFLEXION,
        "webshop_runs/generate_reflections.py",
        "a01282c0e9079881e101aefbc249c540a8205d85817f1ca68b7d85e36a72498a",
    ),
    _paper_prompt(
        "reflexion/webshop_reflection_few_shot_examples.txt",
        _REFLEXION,
        "webshop_runs/reflection_few_shot_examples.txt",
        "c0bd69af24fecc4d0b30f92e58af1e4f86320eb227b7002584bb04a88e913621",
    ),
    _paper_prompt(
        "tot/game24.py",
        _TOT,
        "src/tot/prompts/game24.py",
        "27ad57c3ac066ad242babfb113125dac3adf91a58c2bb8ad23ab19e28e82dfeb",
    ),
    _paper_prompt(
        "eto/alfworld_icl.json",
        _ETO,
        "eval_agent/prompt/icl_examples/alfworld_icl.json",
        "06b00f15c320c484d86fffcfaedcd057eb7cca544b452683cac9f8b9a5d2ff55",
    ),
    _paper_prompt(
        "eto/sciworld_icl.json",
        _ETO,
        "eval_agent/prompt/icl_examples/sciworld_icl.json",
        "45afd7b75cfdc1a722c6d0904829a1e4d2153eb4ea33fb9a679d64452a71c268",
    ),
    _paper_prompt(
        "eto/webshop_icl.json",
        _ETO,
        "eval_agent/prompt/icl_examples/webshop_icl.json",
        "bb59e41bc6909d475919f9c77d1a7c552c1747f64eeb7b5835102713b9ffec7e",
    ),
    _paper_prompt(
        "eto/alfworld_inst.txt",
        _ETO,
        "eval_agent/prompt/instructions/alfworld_inst.txt",
        "ed99085b2fcef955363a031d274e9ffcc7a312c8350776f7464b4a8fb9ae85d7",
    ),
    _paper_prompt(
        "eto/sciworld_inst.txt",
        _ETO,
        "eval_agent/prompt/instructions/sciworld_inst.txt",
        "9c6d1204044df41803612dea173af4188f6f9aad09f20c9822dbe20006eac23c",
    ),
    _paper_prompt(
        "eto/webshop_inst.txt",
        _ETO,
        "eval_agent/prompt/instructions/webshop_inst.txt",
        "073c199aa1418863a4c5fd815d38db7cadaccc9697dd49a4f1accba406c70529",
    ),
    _paper_prompt(
        "cops/alfworld_3prompts.json",
        _COPS,
        "alfworld/prompts/alfworld_3prompts.json",
        "a10976b4ae99f4802aa9e621933bb71065ae103f2bd273a24466ab1005fbc45a",
    ),
    _paper_prompt(
        "cops/webshop_prompt.py",
        _COPS,
        "webshop/prompt.py",
        "e375d79d3bd35dd56da7b7b14defd6c2406411dc87788e3c28bc794e86cde5b9",
    ),
    _paper_prompt(
        "rafa/game24.py",
        _RAFA,
        "Game24/prompts/game24.py",
        "4436b9b0cd1d0c3ef6df4dc284bee595090ee8d1226c6e458af1553b93c66229",
    ),
    _paper_prompt(
        "rafa/alfworld_value.json",
        _RAFA,
        "ALFWorld/prompts/alfworld_value.json",
        "c583cf832c1bb5522cf30cd8a4110bb689f0fdb76be58de7b837b8fd90444959",
    ),
    _paper_prompt(
        "rafa/alfworld_transition.json",
        _RAFA,
        "ALFWorld/prompts/transition.json",
        "f86f842552d2f7ded3ea578fd7a959981c6030bf6f33452050017d1f4c59a203",
    ),
)


DRIVE_URL = "https://drive.google.com"
DRIVE_URL_ENV_VAR = "AGENTGYM_DRIVE_URL"  # another host serving /uc?id=ID (a mirror; the tests' local server)
RECORDED_DIGESTS = "SHA256SUMS"


def drive_file(file_id: str, path: str, sha256: str | None = None, size: int | None = None) -> RemoteFile:
    """A file on Google Drive, by id, fetched with ``gdown`` (as the original ``setup.sh`` scripts do)."""
    return RemoteFile(url=f"{DRIVE_URL}/uc?id={file_id}", path=path, sha256=sha256, size=size)


# WebShop's files as its setup.sh fetches them (princeton-nlp/WebShop). Only items_ins_v2_1000.json has a known
# digest; the others are recorded in webshop/SHA256SUMS at their first download and must match it afterwards.
_WEBSHOP_HUMAN = drive_file("14Kb5SPBk_jfdLZ_CDBNitW98QLDlKR5O", "webshop/items_human_ins.json")
_WEBSHOP_1K = (
    drive_file("1EgHdxQ_YxqIQlvvq5iKlCrkEKR6-j0Ib", "webshop/items_shuffle_1000.json"),
    drive_file(
        "1IduG0xl544V_A_jv3tHXC0kyFi7PnyBu",
        "webshop/items_ins_v2_1000.json",
        sha256="f88a36314a397b53b3d9c3fa5878e5f7b26d35019a51ec83fbedeca61a948f6f",
        size=147_099,
    ),
    _WEBSHOP_HUMAN,
)
_WEBSHOP_FULL = (
    drive_file("1A2whVgOO0euk5O13n2iYDM0bQRkkRduB", "webshop/items_shuffle.json"),
    drive_file("1s2j6NgHljiZzQNL3veZaAiyW_qDEgBNi", "webshop/items_ins_v2.json"),
    _WEBSHOP_HUMAN,
)


def _read_digests(folder: Path) -> dict[str, str]:
    """The ``sha256  name`` lines of ``folder/SHA256SUMS`` (empty when there is none)."""
    path = folder / RECORDED_DIGESTS
    if not path.is_file():
        return {}
    lines = (line.split(maxsplit=1) for line in path.read_text().splitlines())
    return {name.strip().lstrip("*"): digest for digest, name in (p for p in lines if len(p) == 2)}


def _record_digests(files: tuple[RemoteFile, ...], root: Path) -> None:
    """Record the sha256 of each installed file with no pinned digest, or check it against the recorded one.

    Raises:
        ChecksumMismatch: when an installed file differs from the digest recorded at its first download.
    """
    for remote in files:
        target = root / remote.path
        if remote.sha256 is not None or not target.is_file():
            continue
        recorded = _read_digests(target.parent)
        actual = sha256_of(target)
        if target.name not in recorded:
            with (target.parent / RECORDED_DIGESTS).open("a") as f:
                f.write(f"{actual}  {target.name}\n")
        elif recorded[target.name] != actual:
            raise ChecksumMismatch(
                f"{target} has sha256 {actual}, but {recorded[target.name]} was recorded in "
                f"{target.parent / RECORDED_DIGESTS} when it was first downloaded; remove that line to accept it"
            )


def _unpack_alfworld(root: Path) -> None:
    from agentgym.envs.alfworld.dataset import unpack_release  # stdlib-only module: no extra needed

    unpack_release(root)


DATASETS: dict[str, Dataset] = {
    "game24": Dataset(
        name="game24",
        description="The 1,362 Game-of-24 puzzles ranked by human solve time (Tree-of-Thoughts repository).",
        files=(
            RemoteFile(
                url="https://raw.githubusercontent.com/princeton-nlp/tree-of-thought-llm/master/src/tot/data/24/24.csv",
                path="game24/24.csv",
                sha256="b9f12b3e36d987a3c714c4cef17d89a137d7c59da26532fcfb93b4821d8111b5",
            ),
        ),
    ),
    "sciworld": Dataset(
        name="sciworld",
        description="ETO's ScienceWorld splits (train 1,483, seen 194, unseen 211) and per-task step limits; "
        "the simulator itself ships in the scienceworld wheel.",
        files=(
            RemoteFile(
                url=_ETO_SCIWORLD + "train_indices.json",
                path="sciworld/eto/train_indices.json",
                sha256="c79eea7858383b829269986ee83d0d9a504533e7b4b3a5bc76e5bdc1e6999cd0",
            ),
            RemoteFile(
                url=_ETO_SCIWORLD + "dev_indices.json",
                path="sciworld/eto/dev_indices.json",
                sha256="78084ef4393d2da87b21507451821e431daa1a70ab1a486fd1a964ab2404d741",
            ),
            RemoteFile(
                url=_ETO_SCIWORLD + "test_indices.json",
                path="sciworld/eto/test_indices.json",
                sha256="dfe4ab263824f04a49cf977b8f6d65af516ce13b8cfbef5736a97ed993da7152",
            ),
            RemoteFile(
                url=_ETO_SCIWORLD + "max_steps.json",
                path="sciworld/eto/max_steps.json",
                sha256="035592f47fbe1309b6ed1a260b392a50d94d3163de951508a74e985d93048f73",
            ),
        ),
    ),
    "alfworld": Dataset(
        name="alfworld",
        description="ALFWorld's text games (json_2.1.1 layout, game.tw-pddl files), the release that "
        "alfworld 0.4.2's `alfworld-download` fetches; each split is checked against pinned digests.",
        files=(
            RemoteFile(
                url="https://github.com/alfworld/alfworld/releases/download/0.4.0/json_2.1.2_tw-pddl.zip",
                path="alfworld/json_2.1.2_tw-pddl.zip",
                sha256=None,  # the zip's own sha256 is not published; unpack checks each split's game files
            ),
        ),
        unpack=_unpack_alfworld,
    ),
    "webshop": Dataset(
        name="webshop",
        description="WebShop's 1,000-product setting (products, attributes and synthetic instructions, human "
        "instructions), from the Google Drive files of its setup.sh.",
        files=_WEBSHOP_1K,
        unpack=partial(_record_digests, _WEBSHOP_1K),
    ),
    "webshop-full": Dataset(
        name="webshop-full",
        description="WebShop's full 1.18M-product catalog (about 5 GB) with its attributes and the human "
        "instructions, from the Google Drive files of its setup.sh.",
        files=_WEBSHOP_FULL,
        unpack=partial(_record_digests, _WEBSHOP_FULL),
    ),
    "prompts": Dataset(
        name="prompts",
        description="The papers' prompt files (ReAct, Reflexion, CoPS, ETO, Tree-of-Thoughts, RAFA) at pinned "
        "commits of their repositories, for the paper presets.",
        files=_PAPER_PROMPTS,
    ),
}


def data_root() -> Path:
    """Return the folder data is read from and downloaded to."""
    configured = os.environ.get(DATA_ENV_VAR)
    if configured:
        return Path(configured).expanduser().resolve()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "agentgym" / "data"


def cache_dir(*parts: str) -> Path:
    """Return (and create) a writable per-user cache folder for derived files (unpacked games, indexes)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    path = Path(base, "agentgym", "cache", *parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def find(relative_path: str) -> Path | None:
    """Return the path of a data file under :func:`data_root` if it exists, else ``None``."""
    path = data_root() / relative_path
    return path if path.exists() else None


def require(relative_path: str, dataset: str) -> Path:
    """Return the path of a data file, or raise :class:`DataNotFound` saying how to get it."""
    path = find(relative_path)
    if path is None:
        raise DataNotFound(
            f"{relative_path} was not found under {data_root()}: run `agentgym data download {dataset}` "
            f"(or set {DATA_ENV_VAR} to a folder that has it)"
        )
    return path


def sha256_of(path: Path) -> str:
    """Return the hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def download(name: str, *, force: bool = False, source: str | Path | None = None) -> list[Path]:
    """Fetch dataset ``name`` into :func:`data_root`, verifying every file's sha256.

    Files already present with the right checksum are kept unless ``force``. A file is written to a
    temporary ``.part`` file beside its target, hashed as it is written, and moved into place only once its
    checksum matches, so an interrupted or corrupted download never leaves a file that looks valid; a ``.part``
    file left by a killed download is removed by the next one. Installed files get the mode a new file gets
    under the umask (``0644`` under ``022``, ``0664`` under ``002``), so a shared data folder stays readable.

    Args:
        name: the dataset.
        force: fetch again files that are present and valid.
        source: a file or folder holding files the user fetched by hand (when the official host cannot be
            reached): they are verified and installed the same way, and nothing is downloaded. In a folder,
            a file is looked for at its data path, then by its name anywhere below; of several files of
            that name, the first that verifies is installed.

    Raises:
        KeyError: for an unknown dataset name.
        ChecksumMismatch: when a file's sha256 differs from the pinned one (nothing of it is installed).
        DataNotFound: when ``source`` lacks a file, or the official host cannot be reached (the message says
            which file to fetch by hand, its checksum, and the ``--from`` command that installs it).
    """
    if name not in DATASETS:
        raise KeyError(f"unknown dataset {name!r}; known: {', '.join(sorted(DATASETS))}")
    dataset = DATASETS[name]
    root = data_root()
    written = []
    for remote in dataset.files:
        target = root / remote.path
        present = source is None and target.exists() and not force
        if present and (remote.sha256 is None or sha256_of(target) == remote.sha256):
            written.append(target)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale_parts(target)
        with _part_file(target) as (part, part_path):
            _fetch(name, remote, part, None if source is None else Path(source))
            part_path.chmod(0o666 & ~current_umask())
            part_path.replace(target)
        written.append(target)
    if dataset.unpack is not None:
        dataset.unpack(root)
    return written


def current_umask() -> int:
    """The process's umask (read by setting it and setting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def _part_file(target: Path) -> Iterator[tuple[BinaryIO, Path]]:
    """A new ``.TARGET.XXXX.part`` file beside ``target``, locked while open, deleted if the block raises."""
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    path = Path(name)
    with os.fdopen(fd, "w+b") as part:
        fcntl.flock(part, fcntl.LOCK_EX)  # tells the next download this file is not stale
        try:
            yield part, path
        except BaseException:
            path.unlink(missing_ok=True)
            raise


def _remove_stale_parts(target: Path) -> None:
    """Delete ``.part`` files of ``target`` that no running download holds (left by a killed one)."""
    for stale in (*target.parent.glob(f".{target.name}.*.part"), *target.parent.glob("tmp*.part")):
        try:
            with stale.open("rb") as f:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                stale.unlink()
        except (BlockingIOError, FileNotFoundError):  # in use by another download, or already gone
            continue


def _copy_hashing(source: BinaryIO, out: BinaryIO) -> str:
    """Copy ``source`` into ``out`` in chunks, hashing as it goes; return the hex sha256 of what was copied."""
    digest = hashlib.sha256()
    for chunk in iter(lambda: source.read(1 << 20), b""):
        digest.update(chunk)
        out.write(chunk)
    out.flush()
    return digest.hexdigest()


def _local_candidates(source: Path, remote: RemoteFile) -> list[Path]:
    """The files under ``source`` that could be ``remote``: the one at its data path, then those of its name."""
    if source.is_file():
        return [source]
    found = [source / remote.path, *sorted(source.rglob(Path(remote.path).name))]
    return list(dict.fromkeys(p for p in found if p.is_file()))


def _fetch(name: str, remote: RemoteFile, out: BinaryIO, source: Path | None) -> None:
    """Write ``remote``'s content into ``out``, verified: from the user's ``source`` when given, else its URL.

    Raises:
        ChecksumMismatch: the content's sha256 is not the pinned one (from ``source``: no candidate's is).
    """
    if source is None and remote.url.startswith(f"{DRIVE_URL}/"):
        _fetch_drive(name, remote, out)
        return
    filename = Path(remote.path).name
    checksum = f"sha256 {remote.sha256}" if remote.sha256 else "its content is checked after download"
    if source is not None:
        candidates = _local_candidates(source, remote)
        if not candidates or (source.is_file() and len(DATASETS[name].files) > 1 and source.name != filename):
            raise DataNotFound(f"{filename} is not in {source}; fetch it from {remote.url} ({checksum})")
        mismatches = []
        for candidate in candidates:
            out.seek(0)
            out.truncate()
            with candidate.open("rb") as f:
                actual = _copy_hashing(f, out)
            if remote.sha256 is None or actual == remote.sha256:
                return
            mismatches.append(f"{candidate.relative_to(source) if candidate != source else candidate}: {actual}")
        if len(candidates) == 1:
            message = f"{filename} in {source} has sha256 {actual}, expected {remote.sha256}"
        else:
            message = f"no {filename} in {source} has sha256 {remote.sha256} ({'; '.join(mismatches)})"
        raise ChecksumMismatch(f"{message}; it was not installed")
    try:
        with urllib.request.urlopen(remote.url, timeout=60) as response:  # noqa: S310  (pinned URLs)
            actual = _copy_hashing(response, out)
    except (urllib.error.URLError, TimeoutError, ConnectionError) as e:
        raise DataNotFound(
            f"could not fetch {remote.url} ({e}). Fetch that file by hand ({checksum}) and install it with "
            f"`agentgym data download {name} --from PATH` (PATH: the file, or a folder holding {filename})"
        ) from e
    if remote.sha256 is not None and actual != remote.sha256:
        raise ChecksumMismatch(f"{remote.url} has sha256 {actual}, expected {remote.sha256}; it was not installed")


def _fetch_drive(name: str, remote: RemoteFile, out: BinaryIO) -> None:
    """Stream a Google Drive file into ``out`` with ``gdown``; check its size and any recorded digest.

    The host is ``$AGENTGYM_DRIVE_URL`` when set (a mirror serving ``/uc?id=ID``), else Google Drive.

    Raises:
        DataNotFound: when the host cannot be reached or refuses the file (the message gives the ``--from`` way).
        ChecksumMismatch: on a wrong size, or a digest other than the pinned one or the one recorded at the first
            download.
    """
    gdown = import_optional("gdown", "webshop")
    url = os.environ.get(DRIVE_URL_ENV_VAR, DRIVE_URL).rstrip("/") + remote.url[len(DRIVE_URL) :]
    digest = hashlib.sha256()
    try:
        gdown.download(
            url, output=out, quiet=not sys.stderr.isatty(), use_cookies=False, timeout=60, hasher=digest,
            log_messages={"output": f"To: {remote.path} under {data_root()}\n"},
        )  # fmt: skip
    except (gdown.exceptions.DownloadError, OSError, ValueError) as e:  # requests' errors are OSErrors
        raise DataNotFound(
            f"could not fetch {url} ({type(e).__name__}: {e}). Fetch {Path(remote.path).name} by hand and install "
            f"it with `agentgym data download {name} --from PATH` (PATH: the file, or a folder holding it)"
        ) from e
    size = out.tell()
    if remote.size is not None and size != remote.size:
        raise ChecksumMismatch(f"{url} gave {size} bytes, expected {remote.size}; it was not installed")
    if remote.sha256 is not None and digest.hexdigest() != remote.sha256:
        raise ChecksumMismatch(f"{url} has sha256 {digest.hexdigest()}, expected {remote.sha256}; it was not installed")
    recorded = _read_digests(data_root() / Path(remote.path).parent).get(Path(remote.path).name)
    if remote.sha256 is None and recorded is not None and digest.hexdigest() != recorded:
        raise ChecksumMismatch(
            f"{url} has sha256 {digest.hexdigest()}, but {recorded} was recorded at its first download; "
            "it was not installed"
        )
