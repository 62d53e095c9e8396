import time
from types import MappingProxyType

import gymnasium
import pytest
from hypothesis import given
from hypothesis import strategies as st

import agentgym
from agentgym.actions import FREE_TEXT, ActionGrammar, MalformedAction, ParsedAction, grammar_of
from agentgym.envs.alfworld.actions import ALFWORLD_ACTIONS
from agentgym.envs.game24.actions import GAME24_ACTIONS
from agentgym.envs.webshop.actions import WEBSHOP_ACTIONS
from agentgym.error import Error


def test_every_env_exposes_a_grammar_that_describes_itself():
    ids = [env_id for env_id in gymnasium.registry if env_id.startswith("agentgym/")]
    assert len(ids) >= 5
    for env_id in ids:
        grammar = grammar_of(env_id)
        assert isinstance(grammar, ActionGrammar)
        description = grammar.describe()
        assert description and "\n" not in description
    assert grammar_of("agentgym/Game24-v0") is GAME24_ACTIONS
    assert grammar_of("agentgym/Game24OneShot-v0") is GAME24_ACTIONS
    assert grammar_of("agentgym/ALFWorld-v0") is ALFWORLD_ACTIONS
    assert grammar_of("agentgym/WebShop-v0") is WEBSHOP_ACTIONS
    assert grammar_of("agentgym/WebShopBrowser-v0") is WEBSHOP_ACTIONS
    assert grammar_of("agentgym/ScienceWorld-v0") is FREE_TEXT


GRAMMARS = (GAME24_ACTIONS, ALFWORLD_ACTIONS, WEBSHOP_ACTIONS, FREE_TEXT)


@given(st.text(max_size=500))
def test_parse_answers_or_says_why_on_any_text(action):
    for grammar in GRAMMARS:
        try:
            parsed = grammar.parse(action)
        except MalformedAction as e:
            assert str(e) and "\n" not in str(e) and len(str(e)) < 600
        else:
            assert parsed.text == action and parsed.kind


@pytest.mark.parametrize(
    "action",
    ["put " + "a in " * 40_000 + "\nx", "take " + "a from " * 40_000, "4 + " * 50_000, "[" * 200_000, "é" * 10**6],
)
def test_parse_is_fast_on_huge_actions(action):
    for grammar in GRAMMARS:
        start = time.perf_counter()
        grammar.is_valid(action)
        assert time.perf_counter() - start < 1, type(grammar).__name__


def test_free_text_takes_any_string():
    assert FREE_TEXT.parse("anything [at] all") == ParsedAction(
        "text", {"text": "anything [at] all"}, "anything [at] all"
    )
    assert FREE_TEXT.is_valid("") and FREE_TEXT.rewrites == {}


def test_malformed_action_is_an_agentgym_error_and_a_value_error():
    assert issubclass(MalformedAction, Error) and issubclass(MalformedAction, ValueError)


def test_rewrites_are_checked_by_name():
    class Shout(ActionGrammar):
        rewrites = MappingProxyType({"upper": str.upper, "strip": str.strip})

        def describe(self) -> str:
            return "Shout."

        def parse(self, action: str) -> ParsedAction:
            if not action.isupper():
                raise MalformedAction(f"{action!r} is not shouted")
            return ParsedAction("shout", {}, action)

    grammar = Shout()
    assert grammar.rewrite(" hi ", ["strip", "upper"]) == "HI"
    assert not grammar.is_valid("hi") and grammar.is_valid("HI")
    with pytest.raises(ValueError, match=r"unknown rewrites \['nope'\]; known: \['strip', 'upper'\]"):
        grammar.rewrite("hi", ["nope"])


def test_grammar_of_an_unknown_id_raises():
    with pytest.raises(gymnasium.error.Error):
        grammar_of("agentgym/NoSuchEnv-v0")
    assert agentgym  # registers the envs
