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
    if not (prompts_dir / name).is_file():
        pytest.skip(f"{name} is not in this copy of the prompts dataset")
    expected = hashlib.sha256((prompts_dir / name).read_bytes()).hexdigest()
    assert paper_prompts.source(name).sha256 == expected
    assert paper_prompts.path(name).resolve() == (prompts_dir / name).resolve()


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
    missing = [name for name in NAMES if not (prompts_dir / name).is_file()]
    if missing:
        pytest.skip(f"{missing} are not in this copy of the prompts dataset")
    monkeypatch.setenv("AGENTGYM_DATA", str(tmp_path / "data"))
    written = data.download("prompts", source=prompts_dir.parent)
    assert len(written) == len(NAMES)
    assert (
        paper_prompts.text("reflexion/webshop_base_prompt.txt")
        == (prompts_dir / "reflexion/webshop_base_prompt.txt").read_text()
    )


def test_an_fstring_is_read_as_a_format_template():
    source_text = 'def build(x, y):\n    """Doc."""\n    q = f"a {x} {{b}} {y}"\n    q += "c"\n'
    template = paper_prompts.fstring_template_from_source(source_text, "build", "q")
    assert template.format(x=1, y=2) == "a 1 {b} 2"
    with pytest.raises(ValueError, match="plain name"):
        paper_prompts.fstring_template_from_source('def f(x):\n    q = f"{x!r}"', "f", "q")
    with pytest.raises(ValueError, match="no function"):
        paper_prompts.fstring_template_from_source("x = 1", "f", "q")


def test_a_prompt_choice_records_its_files(prompts_dir, tmp_path, monkeypatch):
    choice = paper_prompts.PromptChoice("paper", ("tot/game24.py",))
    choice.require()
    assert choice.card() == {"prompts": "paper", "prompt_files": [paper_prompts.source("tot/game24.py").as_card()]}
    assert paper_prompts.provenance(choice.card()) == (
        "paper",
        (("tot/game24.py", choice.card()["prompt_files"][0]["sha256"]),),
    )
    ours = paper_prompts.PromptChoice("agentgym", ("tot/game24.py",))
    assert ours.card() == {"prompts": "agentgym", "prompt_files": []}
    assert paper_prompts.provenance({"name": "react"}) == ("agentgym", ())
    monkeypatch.setenv("AGENTGYM_DATA", str(tmp_path))
    ours.require()  # agentgym's prompts need no files
    with pytest.raises(DataNotFound, match="agentgym data download prompts"):
        choice.require()
    with pytest.raises(ValueError, match="prompts must be"):
        paper_prompts.PromptChoice("papers", ())
