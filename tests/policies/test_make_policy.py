"""``make_policy`` spellings, and that ``import agentgym`` loads no heavy backend."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

from agentgym.error import NameNotFound
from agentgym.policies import DEFAULT_POLICY, ExpertPolicy, RandomPolicy, make_policy


def test_scripted_and_unknown_specs():
    assert isinstance(make_policy("expert"), ExpertPolicy)
    assert isinstance(make_policy("random", seed=3), RandomPolicy)
    with pytest.raises(NameNotFound, match="known: embedded"):
        make_policy("gpt")
    assert DEFAULT_POLICY == "embedded"


@pytest.mark.skipif(importlib.util.find_spec("httpx") is None, reason="httpx is not installed")
def test_openai_spec_splits_model_and_url():
    policy = make_policy("openai:my-model@http://127.0.0.1:8000")
    assert policy.config() == {
        "backend": "openai",
        "model": "my-model",
        "base_url": "http://127.0.0.1:8000/v1",
    }
    with pytest.raises(ValueError, match="names no model"):
        make_policy("openai:@http://127.0.0.1:8000")


@pytest.mark.skipif(importlib.util.find_spec("httpx") is None, reason="httpx is not installed")
def test_sglang_spec_with_url_attaches_to_a_server():
    policy = make_policy("sglang:Qwen/Qwen3-8B@http://127.0.0.1:30000/v1")
    assert policy.config()["base_url"] == "http://127.0.0.1:30000/v1"
    assert policy.config()["backend"] == "sglang"


def test_import_agentgym_loads_no_backend():
    code = (
        "import sys, agentgym, agentgym.policies; "
        "heavy = {'torch', 'transformers', 'httpx', 'sglang', 'llama_cpp'} & set(sys.modules); "
        "print(sorted(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
