"""Paper presets: each paper's evaluation setting as one name, and the numbers the paper published for it.

``agentgym run --preset reflexion-alfworld --policy ...`` plays the paper's split with its step cap, trials
and agent settings; ``agentgym report`` puts a run's numbers next to the published ones of its preset.
Published numbers come from the papers' tables, or the authors' committed run logs where marked; numbers that
could not be checked against either are left out rather than quoted from memory.
"""

from __future__ import annotations

from agentgym.presets import Preset, Published

__all__ = ["PRESETS"]

_REFLEXION_LOG = "Reflexion repository run logs (noahshinn/reflexion, alfworld_runs/*_run_logs)"
_ETO_TABLE = "ETO paper (Song et al., ACL 2024), Table 2"
_TOT_TABLE = "ToT paper (Yao et al., 2023), Table 2"
_TOT_LOG = (
    "tree-of-thought-llm logs/game24/gpt-4_0.7_propose1_value3_greedy5_start900_end1000.json (the README's rerun; "
    "counted from its per-output r)"
)
#: ToT's run.py with scripts/game24/bfs.sh: propose, value with 3 samples, greedy; gpt() at 0.7, 1000 tokens.
_TOT_SEARCH = {
    "proposals": None,
    "value_samples": 3,
    "temperature": 0.7,
    "max_tokens": 1000,
    "outputs": "all",
    "prompts": "tot",
}
_RAFA_NOTES = (
    "RAFA_code's Game24 run.py: 10 proposals, 3 value samples at 0.3, lessons after every step, replanning every "
    "step; its loop ends after the 21st action (done once the step counter exceeds max_step=20). RAFA's "
    "Game-of-24 numbers could not be verified, so none are quoted."
)
_REACT_TABLE = "ReAct paper (Yao et al., ICLR 2023), Table 4 (WebShop, 500 test instructions)"
_REFLEXION_WEBSHOP_LOG = "Reflexion repository run logs (webshop_runs/reflexion_run_logs_1, base_run_logs_2)"
#: ReAct's WebShop client: its pages and its action rules (agentgym/WebShop-v0's react mode).
_REACT_CLIENT = {"observation_mode": "react", "client_rules": True}

#: The baselines' presets (declared to agentgym by :mod:`agentgym.baselines.plugin`).
PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            "reflexion-alfworld",
            "agentgym/ALFWorld-v0",
            "valid_unseen",
            "reflexion-alfworld",
            max_steps=49,
            trials=11,
            agent_kwargs={"prompts": "paper", "rewrites": ["alfworld-put-as-move"]},
            published=(
                Published(
                    "ReAct + Reflexion",
                    "text-davinci-003",
                    "success_rate",
                    130 / 134,
                    _REFLEXION_LOG,
                    by_trial=tuple(n / 134 for n in (84, 103, 111, 113, 117, 118, 123, 126, 128, 129, 130)),
                ),
            ),
            notes=(
                "Trials 0-10 (the paper's 130/134 is after trial 10). The code caps episodes at 49 steps (the "
                "paper's runs used 30); success counts `won`, not the episode ending."
            ),
        ),
        Preset(
            "react-alfworld",
            "agentgym/ALFWorld-v0",
            "valid_unseen",
            "react-alfworld",
            max_steps=49,
            trials=7,
            agent_kwargs={"prompts": "paper", "rewrites": ["alfworld-put-as-move"]},
            published=(
                Published("ReAct only", "text-davinci-003", "success_rate", 84 / 134, _REFLEXION_LOG, trial=0),
                Published("ReAct only", "text-davinci-003", "success_rate", 101 / 134, _REFLEXION_LOG, trial=6),
            ),
            notes="Reflexion's baseline: the same trial loop without reflections (trials 0-6 in its logs).",
        ),
        Preset(
            "cops-alfworld",
            "agentgym/ALFWorld-v0",
            "valid_unseen",
            "cops-alfworld",
            max_steps=49,
            trials=10,
            agent_kwargs={"prompts": "paper", "k": 5, "c": 5.0, "rewrites": ["alfworld-put-as-move"]},
            notes=(
                "uclaml/COPS's ALFWorld actor (Llama-3.1-8B/70B-Instruct in the paper) and knn selection; the paper "
                "embedded with gte-Qwen1.5-7B-instruct at /v1/embeddings (--agent-arg embedder=openai:MODEL@URL), "
                "the default is all-MiniLM-L6-v2 on CPU. Trials are barriers. Published numbers not verified yet."
            ),
        ),
        Preset(
            "react-webshop",
            "agentgym/WebShop-v0",
            "test",
            "react-webshop",
            max_steps=14,
            limit=500,
            agent_kwargs={"prompts": "paper"},
            env_kwargs={"goals": "human", "catalog": "full", **_REACT_CLIENT},
            published=(
                Published("ReAct", "PaLM-540B", "mean_score", 0.666, _REACT_TABLE),
                Published("ReAct", "PaLM-540B", "success_rate", 0.40, _REACT_TABLE),
            ),
            notes=(
                "ReAct's WebShop.ipynb: prompt1, ReAct's client (pages, OK. for think, Invalid action!, no paging), "
                "15 iterations with the reset counted (14 actions), sessions fixed_0..499; the paper's model was "
                "PaLM-540B (the notebook calls text-davinci-002)."
            ),
        ),
        Preset(
            "reflexion-webshop",
            "agentgym/WebShop-v0",
            "test",
            "reflexion-webshop",
            max_steps=14,
            trials=10,
            limit=100,
            agent_kwargs={"prompts": "paper"},
            env_kwargs={"goals": "human", "catalog": "full", **_REACT_CLIENT},
            published=(
                Published("ReAct only", "text-davinci-002", "success_rate", 0.33, _REFLEXION_WEBSHOP_LOG, trial=0),
                Published(
                    "ReAct + Reflexion", "text-davinci-002", "success_rate", 0.35, _REFLEXION_WEBSHOP_LOG, trial=3
                ),
            ),
            notes=(
                "Reflexion's webshop_runs: sessions fixed_0..99, run_reflexion.sh's 10 trials (its logs stop after "
                "4: 33, 33, 34, 35 of 100), success = reward 1. AS IN THE ORIGINAL CODE, THE ACTOR NEVER SEES THE "
                "REFLECTIONS (made after each failed trial, kept for the trial log only): only llm()'s retries "
                "differ from ReAct."
            ),
        ),
        Preset(
            "eto-webshop",
            "agentgym/WebShop-v0",
            "eto_test",
            "eto",
            max_steps=10,
            env_kwargs={"goals": "human", "catalog": "full"},
            published=(
                Published("ETO", "Llama-2-7B-Chat", "mean_score", 0.674, _ETO_TABLE),
                Published("SFT", "Llama-2-7B-Chat", "mean_score", 0.631, _ETO_TABLE),
                Published("1-shot ReAct", "GPT-4", "mean_score", 0.632, _ETO_TABLE),
            ),
        ),
        Preset(
            "eto-sciworld-seen",
            "agentgym/ScienceWorld-v0",
            "eto_seen",
            "eto",
            max_steps=120,
            published=(
                Published("ETO", "Llama-2-7B-Chat", "mean_score", 0.738, _ETO_TABLE),
                Published("SFT", "Llama-2-7B-Chat", "mean_score", 0.674, _ETO_TABLE),
                Published("1-shot ReAct", "GPT-4", "mean_score", 0.648, _ETO_TABLE),
            ),
            notes="ETO caps steps per task (10-120) and scores the best score reached in the episode.",
        ),
        Preset(
            "eto-sciworld-unseen",
            "agentgym/ScienceWorld-v0",
            "eto_unseen",
            "eto",
            max_steps=120,
            published=(
                Published("ETO", "Llama-2-7B-Chat", "mean_score", 0.650, _ETO_TABLE),
                Published("SFT", "Llama-2-7B-Chat", "mean_score", 0.530, _ETO_TABLE),
                Published("1-shot ReAct", "GPT-4", "mean_score", 0.644, _ETO_TABLE),
            ),
            notes="ETO caps steps per task (10-120) and scores the best score reached in the episode.",
        ),
        Preset(
            "eto-alfworld-seen",
            "agentgym/ALFWorld-v0",
            "valid_seen",
            "eto",
            max_steps=40,
            published=(
                Published("ETO", "Llama-2-7B-Chat", "success_rate", 0.686, _ETO_TABLE),
                Published("SFT", "Llama-2-7B-Chat", "success_rate", 0.600, _ETO_TABLE),
                Published("1-shot ReAct", "GPT-4", "success_rate", 0.429, _ETO_TABLE),
            ),
        ),
        Preset(
            "eto-alfworld-unseen",
            "agentgym/ALFWorld-v0",
            "valid_unseen",
            "eto",
            max_steps=40,
            published=(
                Published("ETO", "Llama-2-7B-Chat", "success_rate", 0.724, _ETO_TABLE),
                Published("SFT", "Llama-2-7B-Chat", "success_rate", 0.672, _ETO_TABLE),
                Published("1-shot ReAct", "GPT-4", "success_rate", 0.381, _ETO_TABLE),
            ),
        ),
        Preset(
            "tot-game24",
            "agentgym/Game24OneShot-v0",
            "test",
            "tot",
            max_steps=1,
            agent_kwargs={**_TOT_SEARCH, "breadth": 5},
            env_kwargs={"judge": "answer"},
            published=(
                Published("ToT (b=5), any of 5 outputs", "GPT-4", "success_rate", 0.74, _TOT_TABLE),
                Published("ToT (b=5) rerun, any of 5 outputs", "GPT-4", "success_rate", 0.69, _TOT_LOG),
                Published("ToT (b=5) rerun, first output", "GPT-4", "mean_score", 0.62, _TOT_LOG),
            ),
            notes=(
                "ToT's bfs.py: 4 steps (the answer searched and valued too), every proposal kept, 3 value samples, "
                "the 5 final outputs sent at once; success = any of the 5 correct (the paper's metric), score = the "
                "first output correct. The paper's prompts (`agentgym data download prompts`)."
            ),
        ),
        Preset(
            "tot-b1-game24",
            "agentgym/Game24OneShot-v0",
            "test",
            "tot",
            max_steps=1,
            agent_kwargs={**_TOT_SEARCH, "breadth": 1},
            env_kwargs={"judge": "answer"},
            published=(
                Published("ToT (b=1)", "GPT-4", "success_rate", 0.45, _TOT_TABLE),
                Published("ToT (b=1), its one output", "GPT-4", "mean_score", 0.45, _TOT_TABLE),
            ),
            notes="As tot-game24 with one state kept per step: one output, so both metrics are the same.",
        ),
        Preset(
            "rafa-game24",
            "agentgym/Game24-v0",
            "test",
            "rafa",
            max_steps=21,
            agent_kwargs={"breadth": 1, "prompts": "rafa"},
            notes=_RAFA_NOTES,
        ),
        Preset(
            "rafa-b2-game24",
            "agentgym/Game24-v0",
            "test",
            "rafa",
            max_steps=21,
            agent_kwargs={"breadth": 2, "prompts": "rafa"},
            notes=_RAFA_NOTES,
        ),
    )
}
