"""SGLang: the choice regex everywhere; a real engine and server only on a GPU machine with SGLang."""

from __future__ import annotations

import importlib.util
import os
import re

import pytest

from agentgym.error import DependencyNotInstalled
from agentgym.policies import Request, Sampling
from agentgym.policies.sglang import choices_regex

HAS_SGLANG = importlib.util.find_spec("sglang") is not None


def test_choices_regex_matches_exactly_the_choices():
    choices = ["go to desk 1", "go to desk 10", "put mug 1 in/on shelf (2)", "look"]
    pattern = re.compile(choices_regex(choices))
    for choice in choices:
        assert pattern.fullmatch(choice)
    for other in ["go to desk", "go to desk 100", "put mug 1 in/on shelf 2", "look around"]:
        assert not pattern.fullmatch(other)


@pytest.mark.skipif(HAS_SGLANG, reason="sglang is installed")
def test_missing_sglang_names_the_extra():
    from agentgym.policies.sglang import SGLangEnginePolicy, launch_server

    with pytest.raises(DependencyNotInstalled, match=r"agentgym\[sglang\]"):
        launch_server("/models/any")
    with pytest.raises(DependencyNotInstalled, match=r"agentgym\[sglang\]"):
        SGLangEnginePolicy("/models/any")


@pytest.mark.gpu
@pytest.mark.skipif(not HAS_SGLANG or not os.environ.get("AGENTGYM_SGLANG_MODEL"), reason="needs sglang and a model")
def test_server_and_engine_generate_with_choices():
    from agentgym.policies.sglang import SGLangEnginePolicy, SGLangServerPolicy

    model = os.environ["AGENTGYM_SGLANG_MODEL"]
    request = Request(
        [{"role": "user", "content": "Pick an action."}],
        Sampling(max_tokens=16),
        choices=["look", "inventory"],
    )
    policy = SGLangServerPolicy.launch(model, mem_fraction_static=0.5)
    try:
        assert policy.generate([request] * 4)[0].text in ("look", "inventory")
    finally:
        policy.close()
    engine = SGLangEnginePolicy(model, mem_fraction_static=0.5)
    try:
        assert engine.generate([request])[0].text in ("look", "inventory")
    finally:
        engine.close()
