"""Hostile actions on every registered env: nothing escapes, the contracts hold, the env stays usable.

Each env gets every string of :data:`HOSTILE`, then random ones from hypothesis (any unicode, surrogates and
control characters included, alone or inside an action template). After each action: no exception, the
observation is in ``observation_space``, the shared info keys are there, and the expert's next action is
accepted (from the current state, or after a reset when the expert has lost its way, as ScienceWorld's gold
path does after any other action), and the observation quotes at most ``QUOTE_CHARS`` characters of the action.
``pytest -m slow`` throws 10,000 random actions at each env. Once an episode has ended, a further step pays
nothing and changes nothing.
"""

from __future__ import annotations

from typing import Any

import gymnasium
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import agentgym  # noqa: F401  (registers the ids)
from agentgym.core import EPISODE_OVER, INFO_KEYS, QUOTE_CHARS
from agentgym.registry import ENVS

HOSTILE = [
    "",
    " ",
    "\t\n\r \x0b\x0c",
    "x" * 1_000_000,  # 1 MB
    "A" * 100_000,  # one very long token
    "go to " + "kitchen " * 5_000,
    "\x00",
    "look\x00around",
    "\x1b[2J\x1b[31mred\x07\x08\x7f",
    "\ud800",  # lone surrogates
    "\udfff look around",
    "\u202eevil\u202c \u2066x\u2069",  # right-to-left override, isolates
    "\ufeff\u200b\u200d",  # BOM, zero-width space and joiner
    "𝕳𝖊𝖑𝖑𝖔 😀👩‍👩‍👧 中文 ﷽ Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫǧ̗͚̚o̙̔ͮ̇͐̇",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(document.cookie)>",
    "javascript:alert(1)",
    "click[../../etc/passwd]",
    "search[../../etc/passwd]",
    "click[<script>alert(1)</script>]",
    "click[]",
    "search[]",
    "click[[[[]]]]",
    "search[" + "y" * 10_000 + "]",
    "%s%n{0}%x%d",
    "{__class__.__mro__}{0!r:>{1}}",
    "'; DROP TABLE products; --",
    '" OR 1=1 --',
    "$(rm -rf /)",
    "`reboot`; ls | cat && echo $HOME > /tmp/x",
    "look around\nfocus on agent\nquit",
    "Thought: I will cheat.\nAction: click[Buy Now]",
    "answer: 24",
    "1 + 1 = 24 (left: 24)",
    "Answer: " + "1+" * 500_000 + "1 = 24",  # a 1 MB wrong answer
    "4 + 8 = 12" + " " * 300 + "z" * 100_000,  # a valid step, then a long tail on its line
    "2 * 3 = 6\n" + "w" * 100_000 + "\nAnswer: 24 = 24",  # a long line amid short ones
    "look around " + "\u00e9\u4e2d" * 50_000,  # long non-ASCII text
]

#: The HOSTILE strings the default run gives the slow envs (``-m slow`` gives them all).
SHORT_LIST = [HOSTILE[i] for i in (0, 3, 6, 9, 13, 14, 17, 23, 24, 28, 30, 34)]
SLOW_ENVS = ("agentgym/WebShopBrowser-v0", "agentgym/ALFWorld-v0", "agentgym/ScienceWorld-v0")

TEMPLATES = ["{}", "search[{}]", "click[{}]", "go to {}", "take {} from {}", "focus on {}", "Answer: {}"]

#: Random examples per env in the default run; slow envs get fewer.
DEFAULT_EXAMPLES = {"agentgym/WebShopBrowser-v0": 3, "agentgym/ALFWorld-v0": 6, "agentgym/ScienceWorld-v0": 3}
SLOW_EXAMPLES = 10_000

#: Markers of envs that need more than Python packages.
ENV_MARKS = {"agentgym/ScienceWorld-v0": [pytest.mark.java], "agentgym/WebShopBrowser-v0": [pytest.mark.browser]}


def actions() -> st.SearchStrategy[str]:
    """Any text (surrogates and control characters too), or a hostile string, alone or inside a template."""
    text = st.text(st.characters(exclude_categories=()), max_size=300)
    part = st.one_of(text, st.sampled_from(HOSTILE[4:]), st.sampled_from(HOSTILE[:4]).map(lambda s: s[:2_000]))
    return st.one_of(part, st.builds(lambda template, x: template.replace("{}", x), st.sampled_from(TEMPLATES), part))


def quotable_parts(action: str) -> set[str]:
    """Pieces of ``action`` one character longer than an observation may quote (its start, end, and lines')."""
    size = QUOTE_CHARS + 1
    pieces = [action, action.strip(), *action.splitlines()[:20]]
    parts = {piece[:size] for piece in pieces} | {piece.strip()[:size] for piece in pieces} | {action[-size:]}
    return {part for part in parts if len(part) == size}


class Driver:
    """Drives one env through hostile actions, checking the contracts after each one."""

    def __init__(self, env: Any) -> None:
        self.env = env
        _, info = self.reset()
        self.task_id = info["task_id"]

    def check(self, observation: Any, info: dict[str, Any], action: str = "") -> None:
        assert isinstance(observation, str)
        assert self.env.observation_space.contains(observation), repr(observation[:200])
        missing = [key for key in INFO_KEYS if key not in info]
        assert not missing, f"info lacks {missing}"
        assert len(observation) < 50_000, f"a {len(observation):,}-character observation after {action[:80]!r}"
        quoted = [part for part in quotable_parts(action) if part in observation]
        assert not quoted, f"the observation quotes more than {QUOTE_CHARS} characters of the action: {quoted[0]!r}"

    def reset(self) -> tuple[str, dict[str, Any]]:
        options = {"task_id": self.task_id} if hasattr(self, "task_id") else None
        observation, info = self.env.reset(seed=0, options=options)
        self.check(observation, info)
        self.done = False
        return observation, info

    def step(self, action: str) -> dict[str, Any]:
        if self.done:
            self.reset()
        observation, reward, terminated, truncated, info = self.env.step(action)
        self.check(observation, info, action)
        assert isinstance(reward, float | int)
        self.done = terminated or truncated
        return info

    def hostile(self, action: str) -> None:
        """Take ``action``, then show that the env still works: the expert's next action is accepted."""
        self.step(action)
        if self.done:
            self.reset()
        expert = self.env.unwrapped.expert_action()
        if expert is None:  # the expert lost its way (or the task is over): start the task again
            self.reset()
            expert = self.env.unwrapped.expert_action()
        assert isinstance(expert, str)
        info = self.step(expert)
        assert not info["invalid_action"], f"the expert's {expert!r} was refused after {action[:80]!r}"


@pytest.fixture(
    scope="module", params=[pytest.param(e.env_id, marks=ENV_MARKS.get(e.env_id, [])) for e in ENVS.values()], ids=str
)
def driver(request):
    env_id = request.param
    try:
        env = gymnasium.make(env_id)
        driver = Driver(env)
    except (ImportError, FileNotFoundError) as e:  # DependencyNotInstalled, DataNotFound
        pytest.skip(f"{env_id}: {e}")
    yield driver
    env.close()


def _throw(driver: Driver, examples: int) -> None:
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=examples <= 100,  # the default run is reproducible; the long one explores
        suppress_health_check=list(HealthCheck),
    )
    @given(action=actions())
    def throw(action: str) -> None:
        driver.hostile(action)

    throw()


def _throw_all(driver: Driver, strings: list[str]) -> None:
    for action in strings:
        try:
            driver.hostile(action)
        except Exception as e:
            raise AssertionError(f"after {action[:80]!r}: {e!r}") from e


def test_hostile_strings(driver):
    _throw_all(driver, SHORT_LIST if driver.env.spec.id in SLOW_ENVS else HOSTILE)


def test_random_actions(driver):
    _throw(driver, DEFAULT_EXAMPLES.get(driver.env.spec.id, 50))


@pytest.mark.slow
def test_every_hostile_string_and_ten_thousand_random_actions(driver):
    _throw_all(driver, HOSTILE)
    _throw(driver, SLOW_EXAMPLES)


def test_a_step_after_the_episode_ended_pays_nothing(driver):
    """The expert plays the task to its end (then has no action); its last action again, and others, pay 0."""
    observation, info = driver.reset()
    action = None
    for _ in range(200):
        action = driver.env.unwrapped.expert_action()
        assert action is not None, f"the expert has no action in {info['task_id']}"
        observation, reward, terminated, truncated, info = driver.env.step(action)
        if terminated:
            break
    assert terminated and info["won"], "the expert did not finish its task"
    final_score, steps = info["score"], info["step"]
    assert driver.env.unwrapped.expert_action() is None  # an agent looping on the expert stops
    for again in (action, "look around", "click[buy now]", "Answer: (10 - 6) * 5 + 4 = 24", ""):
        observation, reward, terminated, _, info = driver.env.step(again)  # (TimeLimit may say truncated)
        assert (observation, reward, terminated) == (EPISODE_OVER, 0.0, True), again
        assert info["score"] == final_score and info["won"] and info["step"] == steps and info["invalid_action"]
    driver.done = True  # the next hostile action starts with a reset
