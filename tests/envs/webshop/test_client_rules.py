"""``client_rules=True``: the react mode accepts and refuses actions as ReAct's WebShop client does.

The reference is the client of ``test_react_mode`` (its pages read from the Flask site) with the assertions of
``webshopEnv.step`` in ReAct's ``WebShop.ipynb`` written back in, and ``webshop_run``'s handling of them: an
``AssertionError`` is ``Invalid action!`` with the state unchanged, an action starting ``think`` is ``OK.``.
"""

from __future__ import annotations

import pytest

pytest.importorskip("bs4")
pytest.importorskip("flask")

from agentgym.envs.webshop.env import WebShopEnv
from tests.envs.webshop.test_react_mode import SUB_PAGES, NotebookClient, site  # noqa: F401 (site: a fixture)


class StrictClient(NotebookClient):
    """The notebook's client with its assertions; ``webshop_run`` turns a failed one into ``Invalid action!``."""

    def step(self, action: str) -> str:
        if action.startswith("think"):
            return "OK."
        state, page = self.state, self.state["page_type"]
        try:
            if action.startswith("search["):
                assert page == "init"
            elif action.startswith("click["):
                button = action[6:-1]
                if button == "Buy Now":
                    assert page == "item"
                elif button == "Back to Search":
                    assert page in ["search", "item_sub", "item"]
                elif button == "Next >":
                    raise AssertionError  # ad hoc page limitation
                elif button == "< Prev":
                    assert page in ["search", "item_sub", "item"] and page != "search"
                elif button in SUB_PAGES:
                    assert page == "item"
                elif page == "search":
                    assert button in state.get("asins", [])
                elif page == "item":
                    assert "option_types" in state and button in state["option_types"]
                else:  # the client changes nothing and reads the page again
                    return self.read_again()
            elif action != "reset":
                raise AssertionError
        except AssertionError:
            return "Invalid action!"
        return super().step(action)

    def read_again(self) -> str:
        """The current page (the search page or a sub-page) read again, the state unchanged."""
        if self.state["page_type"] == "init":
            return super().step("reset")
        return super().step(f"click[{self.state['subpage']}]")


def test_client_rules_match_the_notebooks_client_step_by_step(site):  # noqa: F811
    env = WebShopEnv(observation_mode="react", client_rules=True)
    observation, _ = env.reset(options={"index": 6})
    client = StrictClient(site.url, "rules_fixed_6")
    assert observation == client.step("reset")
    goal = env.session.goal
    asin, color, size = goal["asin"], goal["goal_options"]["color"], goal["goal_options"]["size"]
    script = ["click[Next >]", "click[< Prev]", "click[Back to Search]", "click[Search]", "thinking about it"]
    script += ["jump[x]", "", "search[men shorts elastic waist]", "search[shorts]", "click[Next >]", "click[< Prev]"]
    script += [f"click[{asin.lower()}]", "click[Buy Now]", "click[Description]", f"click[{asin}]", "click[Next >]"]
    script += [f"click[{color.upper()}]", f"click[{color}]", "click[Features]", "click[Buy Now]", "click[zzz]"]
    script += ["click[< Prev]", "think[ok]", "click[< Prev]", f"click[{asin}]", f"click[{size}]", "reset"]
    script += ["search[men shorts elastic waist]", f"click[{asin}]", f"click[{color}]", f"click[{size}]"]
    script += ["click[Buy Now]"]
    invalid = 0
    for action in script:
        observation, reward, done, _, info = env.step(action)
        assert observation == client.step(action), action
        invalid += info["invalid_action"]
        assert info["invalid_action"] == (observation == "Invalid action!"), action
    assert done and reward == 1.0 and invalid == 14


def test_the_expert_clicks_as_the_page_shows_under_the_clients_rules(data_present):
    env = WebShopEnv(observation_mode="react", client_rules=True)
    env.reset(options={"split": "test", "index": 6})
    actions, done = [], False
    while not done:
        actions.append(env.unwrapped.expert_action())
        _, reward, done, _, info = env.step(actions[-1])
        assert not info["invalid_action"], actions[-1]
    assert reward == 1.0 and actions[1] == f"click[{env.session.goal['asin']}]"  # upper case, as shown


@pytest.mark.parametrize(
    ("action", "answer"),
    [
        ("search[", "Invalid action!"),
        ("click[", "the page"),
        ("\x00", "Invalid action!"),
        ("think", "OK."),
        ("ü" * 5000, "Invalid action!"),
        ("click[" + "ü" * 5000 + "]", "the page"),
    ],
)
def test_odd_actions_get_the_clients_answer(data_present, action, answer):
    env = WebShopEnv(observation_mode="react", client_rules=True)
    first, _ = env.reset(options={"index": 3})
    observation, _, done, _, _ = env.step(action)
    assert (
        observation == (first if answer == "the page" else answer) and not done
    )  # a click on the search page: shown again
