"""The papers' prompt files: pinned, verified on read, parsed without being executed."""

import hashlib
import json
import shutil

import pytest

from agentgym import data
from agentgym.baselines import paper_prompts
from agentgym.error import ChecksumMismatch, DataNotFound

NAMES = [remote.path.removeprefix("prompts/") for remote in data.DATASETS["prompts"].files]


@pytest.fixture
def prompts_dir(shared_data):
    folder = shared_data / "prompts"
    if not folder.is_dir():
        pytest.skip("the prompts dataset is not in AGENTGYM_DATA")
    return folder


@pytest.mark.parametrize("name", NAMES)
def test_every_pinned_file_verifies(prompts_dir, name):
    expected = hashlib.sha256((prompts_dir / name).read_bytes()).hexdigest()
    assert paper_prompts.source(name).sha256 == expected
    assert paper_prompts.path(name) == (prompts_dir / name).resolve()


def test_urls_name_repository_commit_and_path():
    tot = paper_prompts.source("tot/game24.py")
    assert tot.url == (
        "https://raw.githubusercontent.com/princeton-nlp/tree-of-thought-llm/"
        "ab400345c5ea39d28ea6d7d3be0e417b11113c87/src/tot/prompts/game24.py"
    )
    assert tot.as_card() == {"file": "tot/game24.py", "url": tot.url, "sha256": tot.sha256}


def test_python_constants_are_read_without_running_the_file(prompts_dir):
    strings = paper_prompts.python_strings("tot/game24.py")
    assert set(strings) == {"standard_prompt", "cot_prompt", "propose_prompt", "value_prompt", "value_last_step_prompt"}
    assert "{input}" in strings["propose_prompt"]


def test_react_webshop_prompt_comes_from_the_notebook_cell(prompts_dir):
    notebook = json.loads((prompts_dir / "react/WebShop.ipynb").read_text())
    cell = next(c for c in notebook["cells"] if "".join(c["source"]).lstrip("# \n").count("prompt1 = ") == 1)
    source_text = "".join(cell["source"])
    body = source_text.split('prompt1 = """', 1)[1].rsplit('"""', 1)[0]
    assert paper_prompts.notebook_strings("react/WebShop.ipynb")["prompt1"] == body


def test_missing_file_names_the_command(tmp_path, monkeypatch):
    monkeypatch.setenv("AGENTGYM_DATA", str(tmp_path))
    with pytest.raises(DataNotFound, match=r"agentgym data download prompts"):
        paper_prompts.text("tot/game24.py")
    with pytest.raises(DataNotFound, match=r"no paper prompt file named .tot/nope.py."):
        paper_prompts.source("tot/nope.py")


def test_an_edited_file_is_refused(prompts_dir, tmp_path, monkeypatch):
    copy = tmp_path / "prompts" / "tot"
    copy.mkdir(parents=True)
    shutil.copy(prompts_dir / "tot/game24.py", copy / "game24.py")
    with (copy / "game24.py").open("a") as f:
        f.write("\n# edited\n")
    monkeypatch.setenv("AGENTGYM_DATA", str(tmp_path))
    with pytest.raises(ChecksumMismatch, match="agentgym data download prompts --force"):
        paper_prompts.python_strings("tot/game24.py")


def test_download_from_a_local_copy_installs_every_file(prompts_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("AGENTGYM_DATA", str(tmp_path / "data"))
    written = data.download("prompts", source=prompts_dir.parent)
    assert len(written) == len(NAMES)
    assert (
        paper_prompts.text("reflexion/webshop_base_prompt.txt")
        == (prompts_dir / "reflexion/webshop_base_prompt.txt").read_text()
    )
