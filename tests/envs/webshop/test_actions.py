import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentgym.actions import MalformedAction
from agentgym.envs.webshop.actions import WEBSHOP_ACTIONS, parse_action


def test_search_and_click():
    assert WEBSHOP_ACTIONS.parse("search[red shoes]").parts == {"query": "red shoes"}
    assert WEBSHOP_ACTIONS.parse("click[< Prev]").parts == {"target": "< Prev"}
    for bad in ("search[]", "buy[x]", "click", "", "think[hmm]"):
        with pytest.raises(MalformedAction, match=r"is neither search\[\.\.\.\] nor click\[\.\.\.\]"):
            WEBSHOP_ACTIONS.parse(bad)


@given(st.text(alphabet="abcilkhrse[]\n ", max_size=30))
def test_the_grammar_reads_what_the_env_reads(action):
    name, argument = parse_action(action)
    accepted = (name == "search" and bool(argument)) or (name == "click" and argument is not None)
    assert WEBSHOP_ACTIONS.is_valid(action) == accepted
