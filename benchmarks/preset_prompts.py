"""Per ALFWorld and WebShop paper preset: the prompt's size in tokens and the protocol card the run records.

    python benchmarks/preset_prompts.py [--tokenizer FOLDER_OR_GGUF] [--prompts paper|agentgym] [--env alfworld|webshop]

For each preset (``react-alfworld``, ``reflexion-alfworld``, ``cops-alfworld``) and the first ``valid_unseen`` game of
each task type, the prompt of the first step (trial 0: no memory, no experiences; CoPS: its first user message, each
experience adds the length of a successful episode), and for Reflexion the reflection query after a one-step failure
(the expert's first action), are counted with a tokenizer (default: the embedded policy's SmolLM2 tokenizer, read
from its GGUF; the papers' GPT models used OpenAI's tokenizers, which cannot be loaded offline: counts differ by a
few percent). The agent card printed is the ``agent`` entry of the run's ``run.json``.

For the WebShop presets (``react-webshop``, ``reflexion-webshop``) the expert plays the first five ``test`` goals of
the 1k catalog (synthetic goals: the presets' full catalog is large) on ReAct's client pages: the first prompt, the
last one (the transcript grows until the 6,400-character window caps it), and for Reflexion the reflection query
of the episode taken as failed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

import gymnasium
from rich.console import Console
from rich.table import Table

import agentgym
from agentgym.agent import EpisodeContext
from agentgym.baselines.alfworld_harness import ALFWorldReActAgent, ALFWorldReflexionAgent
from agentgym.baselines.cops_alfworld import ALFWorldCoPSAgent, TrialBank
from agentgym.baselines.embeddings import make_embedder
from agentgym.baselines.webshop_harness import ENV_KWARGS, WebShopReActAgent, WebShopReflexionAgent
from agentgym.envs.alfworld.games import TASK_TYPES
from agentgym.policies import make_policy
from agentgym.presets import preset_arguments

PRESETS = {
    "react-alfworld": ALFWorldReActAgent,
    "reflexion-alfworld": ALFWorldReflexionAgent,
    "cops-alfworld": ALFWorldCoPSAgent,
}

WEBSHOP_PRESETS = {"react-webshop": WebShopReActAgent, "reflexion-webshop": WebShopReflexionAgent}
WEBSHOP_GOALS = 5


def load_tokenizer(spec: str | None):
    """A transformers tokenizer: a folder, a GGUF file, or (default) the embedded policy's GGUF."""
    import transformers

    if spec is None:
        from agentgym.policies.embedded import embedded_gguf_path

        spec = str(embedded_gguf_path())
    path = Path(spec)
    if path.suffix == ".gguf":
        return transformers.AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
    return transformers.AutoTokenizer.from_pretrained(spec)


def first_game_of_each_type(env) -> dict[str, str]:
    games: dict[str, str] = {}
    for task_id in env.unwrapped.tasks.split("valid_unseen"):
        games.setdefault(next(t for t in TASK_TYPES if t in task_id), task_id)
    return games


async def prompts_for(agent_class, settings: dict, env, task_id: str) -> tuple[str, str | None, dict]:
    """The first step's prompt, the reflection query after one expert step (Reflexion), and the agent card."""
    observation, _ = env.reset(options={"task_id": task_id})

    async def expert() -> str | None:
        return env.unwrapped.expert_action()

    agent = agent_class(make_policy("expert"), **settings)
    agent.reset(observation, {}, EpisodeContext(env.spec.id, "alfworld", task_id, expert))
    if isinstance(agent, ALFWorldCoPSAgent):  # its first message, once the (here empty) bank was drawn from
        await agent._draw_experiences()
        agent.query = agent.first_query()
        prompt = agent.messages()[0]["content"]
    else:
        prompt = agent.prompt()
    reflection = None
    if isinstance(agent, ALFWorldReflexionAgent):
        step = await agent.act(observation, {})
        after, *_ = env.step(step.action)
        reflection = agent.reflection_request({"won": False, "final_observation": after}).messages[0]["content"]
    return prompt, reflection, agent.config()


async def webshop_prompts(agent_class, settings: dict, env, index: int) -> tuple[str, str, str | None, dict]:
    """The first and the last prompt of the expert's episode, its reflection query (Reflexion), the agent card."""
    observation, info = env.reset(options={"split": "test", "index": index})

    async def expert() -> str | None:
        return env.unwrapped.expert_action()

    agent = agent_class(make_policy("expert"), **settings)
    agent.reset(observation, info, EpisodeContext(env.spec.id, "webshop", info["task_id"], expert))
    first = agent.prompt()
    for _ in range(preset_arguments(agent.name)["max_steps"]):
        step = await agent.act(observation, info)
        argument = step.action[len("click[") : -1]
        if step.action.startswith("click[") and argument.upper() in env.unwrapped.session.results:
            agent.steps[-1] = (f"click[{argument.upper()}]", "")  # the ASIN as the page shows it
        observation, _, terminated, truncated, info = env.step(agent.steps[-1][0])
        if terminated or truncated:
            break
    last = agent.prompt()
    reflection = None
    if isinstance(agent, WebShopReflexionAgent):
        reflection = agent.reflection_request({"won": False, "final_observation": observation}).messages[0]["content"]
    return first, last, reflection, agent.config()


def webshop_tables(tokenizer, prompts: str, console: Console) -> None:
    """The WebShop presets' prompt sizes on the expert's episodes of the first test goals."""
    env = gymnasium.make("agentgym/WebShop-v0", **ENV_KWARGS)
    try:
        for name, agent_class in WEBSHOP_PRESETS.items():
            settings = {**preset_arguments(name)["agent_kwargs"], "prompts": prompts}
            columns = ("goal", "first prompt tokens", "last prompt chars", "last prompt tokens", "reflection tokens")
            table = Table(*columns, title=name)
            card = None
            for index in range(WEBSHOP_GOALS):
                first, last, reflection, card = asyncio.run(webshop_prompts(agent_class, settings, env, index))
                count = [len(tokenizer(text)["input_ids"]) for text in (first, last)]
                reflected = "-" if reflection is None else str(len(tokenizer(reflection)["input_ids"]))
                table.add_row(str(index), str(count[0]), str(len(last)), str(count[1]), reflected)
            console.print(table)
            print(f"{name} agent card (run.json 'agent'):")
            print(json.dumps(card, indent=2))
    finally:
        env.close()


def alfworld_tables(tokenizer, prompts: str, console: Console) -> None:
    """The ALFWorld presets' prompt sizes on the first game of each task type."""
    env = gymnasium.make("agentgym/ALFWorld-v0")
    try:
        games = first_game_of_each_type(env)
        for name, agent_class in PRESETS.items():
            settings = {**preset_arguments(name)["agent_kwargs"], "prompts": prompts}
            if agent_class is ALFWorldCoPSAgent:  # trial 0: no experiences yet; the embedder is not loaded
                settings["bank"] = TrialBank(make_embedder("minilm"))
            table = Table("task type", "prompt chars", "prompt tokens", "reflection query tokens", title=name)
            card = None
            for task_type, task_id in games.items():
                prompt, reflection, card = asyncio.run(prompts_for(agent_class, settings, env, task_id))
                reflected = "-" if reflection is None else str(len(tokenizer(reflection)["input_ids"]))
                table.add_row(task_type, str(len(prompt)), str(len(tokenizer(prompt)["input_ids"])), reflected)
            console.print(table)
            print(f"{name} agent card (run.json 'agent'):")
            print(json.dumps(card, indent=2))
    finally:
        env.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokenizer", help="tokenizer folder or .gguf file (default: the embedded policy's)")
    parser.add_argument("--prompts", default="paper", choices=["paper", "agentgym"])
    parser.add_argument("--env", default="all", choices=["alfworld", "webshop", "all"])
    args = parser.parse_args()
    tokenizer = load_tokenizer(args.tokenizer)
    console = Console()
    if args.env in ("alfworld", "all"):
        alfworld_tables(tokenizer, args.prompts, console)
    if args.env in ("webshop", "all"):
        webshop_tables(tokenizer, args.prompts, console)
    used = args.tokenizer or "embedded"
    console.print(f"agentgym {agentgym.__version__}; tokenizer {type(tokenizer).__name__} ({used})")


if __name__ == "__main__":
    main()
