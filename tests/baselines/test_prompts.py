from agentgym.baselines import prompts
from agentgym.baselines.prompts import BENCHMARKS, GENERIC_INSTRUCTION, REACT_FORMAT, BenchmarkPrompts


def test_a_benchmark_is_one_entry(monkeypatch):
    assert prompts.instruction("no-such-bench") == f"{GENERIC_INSTRUCTION}\n\n{REACT_FORMAT}"
    assert prompts.task_group("no-such-bench", "a/b") is None
    assert prompts.demo_thought("no-such-bench", "", "jump") == "My next step toward the task is: jump."
    toy = BenchmarkPrompts("Stack the blocks.", demo_thought=lambda o, a: f"{a} because {o}", task_group=str.upper)
    monkeypatch.setitem(BENCHMARKS, "toy", toy)
    assert prompts.instruction("toy") == f"Stack the blocks.\n\n{REACT_FORMAT}"
    assert prompts.task_group("toy", "red") == "RED"
    assert prompts.demo_thought("toy", "it is late", "stack") == "stack because it is late"


def test_demonstration_thoughts_read_the_envs_grammars():
    thought = prompts.demo_thought
    assert thought("game24", "", "4 + 8 = 12 (left: 8 12 14)") == (
        "4 + 8 gives 12, and 24 can still be made from 8 12 14."
    )
    assert thought("game24", "", "Answer: (4 + 8) * (14 - 12) = 24").startswith("The steps reach 24")
    assert thought("game24", "", "4 + 8 = 12\n12 * 2 = 24\nAnswer: (4 + 8) * 2 = 24").startswith("I solve the whole")
    assert thought("webshop", "", "search[red shoes]") == "I search for the product described in the instruction."
    assert thought("webshop", "[SEP] Buy Now", "click[Buy Now]").endswith("so I buy it.")
    assert (
        thought("webshop", "[SEP] Buy Now", "click[large]")
        == "The instruction asks for this option, so I select large."
    )
    assert (
        thought("webshop", "results", "click[b0123]")
        == "b0123 looks like the product the instruction asks for; I open it."
    )
    assert prompts.task_group("alfworld", "valid_seen/pick_heat_then_place_in_recep-Egg-None-Fridge-1/trial_T1") == (
        "pick_heat_then_place_in_recep"
    )
