"""The native ALFWorld engine against TextWorld's engine + ALFWorld's demangler (the references, run unmodified)."""

import json
import shutil
import subprocess
import sys
import warnings

import gymnasium
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("alfworld")

import agentgym  # noqa: F401
from agentgym.envs.alfworld import engines, equivalence
from agentgym.envs.alfworld.dataset import GameStore
from agentgym.envs.alfworld.games import SPLITS, TASK_TYPES, GameInfo
from agentgym.envs.alfworld.native import ENGINE_VERSION, NativeGame, UnsupportedGame
from agentgym.envs.alfworld.native.grammar import Conditional, Eval, Listed, Ref, Text, parse_document, parse_rhs
from agentgym.envs.alfworld.native.names import display_names

LOOK = "valid_unseen/look_at_obj_in_light-AlarmClock-None-DeskLamp-308/trial_T20190908_222917_366542"


@pytest.fixture(scope="module")
def store(request):
    store = GameStore(None)
    try:
        store.task_ids("valid_unseen")
    except FileNotFoundError as e:
        pytest.skip(str(e))
    return store


def sample(store, split, per_type):
    chosen = {t: [] for t in TASK_TYPES}
    ids = store.task_ids(split)
    for task_id in ids[::7] + ids:  # spread over scenes first, then fill up
        picked = chosen[GameInfo.parse(task_id).task_type]
        if len(picked) < per_type and task_id not in picked:
            picked.append(task_id)
    return [task_id for picked in chosen.values() for task_id in picked]


def textworld_tree(symbols):
    """TextWorld's parsed symbols as comparable tuples."""
    from textworld.envs.pddl import textgen

    def walk(symbol):
        if isinstance(symbol, textgen.TerminalSymbol):
            return ("text", symbol.symbol)
        if isinstance(symbol, textgen.NonterminalSymbol):
            return ("ref", symbol.symbol)
        if isinstance(symbol, textgen.EvalSymbol):
            return ("eval", symbol.expression)
        if isinstance(symbol, textgen.ConditionalSymbol):
            return ("cond", walk(symbol.expression), symbol.given)
        if isinstance(symbol, textgen.ListSymbol):
            return ("list", walk(symbol.symbol))
        raise AssertionError(symbol)

    return [walk(s) for s in symbols]


def native_tree(symbols):
    def walk(symbol):
        if isinstance(symbol, Text):
            return ("text", symbol.text)
        if isinstance(symbol, Ref):
            return ("ref", symbol.symbol)
        if isinstance(symbol, Eval):
            return ("eval", symbol.expression)
        if isinstance(symbol, Conditional):
            return ("cond", walk(symbol.item), symbol.query)
        if isinstance(symbol, Listed):
            return ("list", walk(symbol.item))
        raise AssertionError(symbol)

    return [walk(s) for s in symbols]


def textworld_parse(text):
    from tatsu.exceptions import FailedParse
    from textworld.envs.pddl.textgen import _parse_and_convert

    try:
        return textworld_tree(_parse_and_convert(text, rule_name="symbols"))
    except FailedParse:  # nothing parses
        return []


def test_every_grammar_text_of_a_split_parses_as_textworld_parses_it(store):
    texts = set()
    for task_id in store.task_ids("valid_unseen"):
        data = json.loads(store.game_file(task_id).read_text())
        actions, grammar = parse_document(data["grammar"])
        texts.update(rule["rhs"] for rules in grammar.values() for rule in rules)
        texts.update(t for action in actions.values() for t in (action.template, action.feedback))
    assert len(texts) > 100
    for text in texts:
        assert native_tree(parse_rhs(text)) == textworld_parse(text), text


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=" \t\n#{}[]|\"'<>;.,:()&/!-_abc", max_size=30))
def test_any_text_parses_as_textworld_parses_it(text):
    assert native_tree(parse_rhs(text)) == textworld_parse(text)


def test_display_names_are_alfworlds(store):
    from alfworld.agents.utils.misc import Demangler
    from textworld.generator.game import EntityInfo

    for task_id in sample(store, "valid_seen", 1):
        data = NativeGame.load(store.game_file(task_id)).data
        infos = {i: EntityInfo(i, e.type) for i, e in data.entities.items()}
        demangler = Demangler(game_infos=infos, shuffle=False)
        assert display_names(infos) == {i: demangler.demangle_alfred_name(i) for i in infos}


def test_a_sample_of_every_task_type_plays_identically(store):
    """Walkthrough + a seeded random walk with junk commands: the same text, commands and wins at every step."""
    results = [
        equivalence.compare_game(store.game_file(t), t, walks=1, steps=8) for t in sample(store, "valid_unseen", 1)
    ]
    assert [(r.task_id, r.difference) for r in results if not r.identical] == []
    assert all(r.walkthrough_won for r in results)


def test_the_harness_reports_a_difference(store, monkeypatch):
    """A native engine that answers one feedback wrongly is caught, with the commands that led there."""
    original = NativeGame.step
    monkeypatch.setattr(NativeGame, "step", lambda self, c: original(self, c).replace("desk 2", "desk 3"))
    result = equivalence.compare_game(store.game_file(LOOK), LOOK, walks=0)
    assert not result.identical
    assert result.difference["what"] == "feedback" and result.difference["history"] == ["reset", "go to desk 2"]


def test_native_engine_imports_neither_textworld_nor_the_planner(store):
    code = (
        "import sys, gymnasium, agentgym\n"
        "env = gymnasium.make('agentgym/ALFWorld-v0', admissible_actions=True, engine='native')\n"
        f"obs, info = env.reset(options={{'task_id': {LOOK!r}}})\n"
        "obs, *_, info = env.step('go to desk 2')\n"
        "assert obs.startswith('You arrive at desk 2.'), obs\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('textworld', 'fast_downward', 'alfworld', 'tatsu')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_card_names_the_engine():
    native = gymnasium.make("agentgym/ALFWorld-v0")
    reference = gymnasium.make("agentgym/ALFWorld-v0", engine="textworld")
    try:
        card = native.unwrapped.protocol()
        assert card["engine"] == "native" and card["engine_version"] == ENGINE_VERSION
        assert card["textworld_fallback_games"] == sorted(engines.fallback_games())
        assert reference.unwrapped.protocol()["engine"] == "textworld"
        assert reference.unwrapped.protocol()["textworld"] == "1.7.0"
    finally:
        native.close()
        reference.close()
    with pytest.raises(ValueError, match="engine must be one of"):
        gymnasium.make("agentgym/ALFWorld-v0", engine="fast")


def test_a_listed_game_is_played_by_textworld_and_named(store, monkeypatch):
    monkeypatch.setattr(engines, "fallback_games", lambda: frozenset({LOOK}))
    env = gymnasium.make("agentgym/ALFWorld-v0", admissible_actions=True, engine="native")
    try:
        with pytest.warns(UserWarning, match="played by TextWorld's engine: it is listed"):
            obs, info = env.reset(options={"task_id": LOOK})
        assert type(env.unwrapped.task._game).__name__ == "AlfredGame"
        assert env.unwrapped.protocol()["textworld_fallback_games"] == [LOOK]
        assert env.step("go to desk 2")[0] == "You arrive at desk 2. On the desk 2, you see a alarmclock 1."
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            other = store.task_ids("valid_unseen")[5]
            env.reset(options={"task_id": other})  # not listed: native, no warning
        assert type(env.unwrapped.task._game).__name__ == "NativeEngine"
    finally:
        env.close()


def test_a_game_the_native_engine_refuses_is_played_by_textworld(store, tmp_path):
    task_id = store.task_ids("valid_unseen")[0]
    data = json.loads(store.game_file(task_id).read_text())
    data["pddl_domain"] = data["pddl_domain"].replace(
        "(:action help",
        "(:action wave :parameters (?a - agent) :precondition (forall (?x - object) (holds ?a ?x))"
        " :effect (and (checked ?a)))\n(:action help",
    )
    data["grammar"] += '\naction wave {\n    template :: "wave";\n    feedback :: "You wave.";\n}\n'
    with pytest.raises(UnsupportedGame, match="forall"):
        NativeGame.load_data(data)
    target = tmp_path / "json_2.1.1" / task_id / "game.tw-pddl"
    target.parent.mkdir(parents=True)
    target.write_text(json.dumps(data))
    env = gymnasium.make("agentgym/ALFWorld-v0", data_dir=tmp_path, engine="native")
    try:
        with pytest.warns(UserWarning, match="cannot play it"):
            obs, _ = env.reset(options={"task_id": task_id})
        assert obs.startswith("You are in the middle of a room.")
        assert env.unwrapped.protocol()["textworld_fallback_games"] == sorted(engines.fallback_games() | {task_id})
    finally:
        env.close()


def test_the_fallback_list_names_real_games(store):
    for task_id in engines.fallback_games():
        assert task_id.split("/", 1)[0] in SPLITS and GameInfo.parse(task_id)


@pytest.mark.slow
@pytest.mark.parametrize("split", SPLITS)
def test_the_walkthrough_wins_every_game_natively(store, split):
    lost = []
    for task_id in store.task_ids(split):
        game = NativeGame.load(store.game_file(task_id))
        game.reset()
        for command in game.data.walkthrough:
            game.step(command)
        if not game.won:
            lost.append(task_id)
    assert lost == []


@pytest.mark.slow
@pytest.mark.parametrize("split", SPLITS)
def test_every_game_plays_identically(store, split, tmp_path):
    """The full sweep (hours for train); the report lands in $AGENTGYM_ALFWORLD_REPORT_DIR or tmp."""
    import os

    folder = os.environ.get("AGENTGYM_ALFWORLD_REPORT_DIR", str(tmp_path))
    report = f"{folder}/alfworld-native-{split}.json"
    fallback = engines.fallback_games()
    assert equivalence.main(["--split", split, "--report", report]) in (0, 1)
    with open(report, encoding="utf-8") as f:
        differing = {d["task_id"] for d in json.load(f)["splits"][split]["differing"]}
    assert differing <= fallback, sorted(differing - fallback)[:10]
    shutil.rmtree(tmp_path, ignore_errors=True)
