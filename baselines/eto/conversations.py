r"""ETO's data: episodes as chat conversations, and contrastive trajectory pairs.

Conversations use ETO's (FastChat's) schema, ``{"id", "conversations": [{"from", "value"}, ...]}``, with
``from`` one of ``system``, ``human``, ``gpt``. The turns are exactly the messages the pipeline's agent sends
at evaluation, ending with its last reply, so a trained policy is evaluated on the very prompt it was trained
on. With the ETO agent (:class:`~agentgym.baselines.eto.agent.EtoAgent`, the default) that is ETO's layout:
the instruction, ``OK``, the in-context example's turns, the task, then each reply and observation. With the
ReAct agent it is its system message (instruction and demonstrations), the first observation, then
``Thought: ...\\nAction: ...`` and ``Observation: ...`` turns.

Pairs are ``{"id", "prompt", "chosen", "rejected"}``: the prompt is every message before the episode's first
reply (ETO's instruction, example and task turns; the ReAct agent's system message and first observation),
and both sides start and end with a ``gpt`` turn.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from agentgym.agent import Agent, EpisodeContext
from agentgym.baselines.eto.agent import EtoAgent
from agentgym.baselines.prompts import demo_thought
from agentgym.baselines.react import ReActAgent
from agentgym.policies import Message
from agentgym.wrappers.react import ReActFormat

#: Chat roles and ETO's ``from`` names.
ROLE_TO_FROM = {"system": "system", "user": "human", "assistant": "gpt"}
FROM_TO_ROLE = {v: k for k, v in ROLE_TO_FROM.items()}

#: Messages of the ReAct agent's conversation that form a pair's prompt: the system message and the first observation.
REACT_PROMPT_MESSAGES = 2

Turn = dict[str, str]


def to_turns(messages: Iterable[Message]) -> list[Turn]:
    """Chat messages as ETO turns (``{"from", "value"}``)."""
    return [{"from": ROLE_TO_FROM[m["role"]], "value": m["content"]} for m in messages]


def to_messages(turns: Iterable[Turn]) -> list[Message]:
    """ETO turns as chat messages (``{"role", "content"}``)."""
    return [{"role": FROM_TO_ROLE[t["from"]], "content": t["value"]} for t in turns]


async def _no_expert() -> None:
    return None


def episode_steps(record: dict[str, Any], thought: Callable[[dict[str, Any]], str]) -> list[tuple[str, str, str]]:
    """``(thought, action, next observation)`` per step of a runner record; ``thought(step)`` gives the thought."""
    steps = record["steps"]
    following = [s["observation"] for s in steps[1:]] + [record["final_observation"]]
    return [(thought(step), step["action"], after) for step, after in zip(steps, following, strict=True)]


def expert_thought(env_name: str) -> Callable[[dict[str, Any]], str]:
    """Thoughts for an expert's steps (experts act without one): the demonstrations' rationales."""
    return lambda step: demo_thought(env_name, step["observation"], step["action"])


def policy_thought(step: dict[str, Any]) -> str:
    """The thought the policy wrote, parsed from its recorded response as the ReAct agent parsed it."""
    return ReActFormat().parse(step.get("response") or "")[0]


def conversation(agent: ReActAgent, record: dict[str, Any], steps: list[tuple[str, str, str]]) -> list[Message]:
    """The messages ``agent`` sent during ``record``'s episode, ending with its last reply.

    Args:
        agent: a ReAct agent made by the same factory (same demonstrations and settings) as at evaluation.
        record: the runner's episode record (first observation, task id).
        steps: ``(thought, action, next observation)`` per step.
    """
    env_name = agent.env_name or ""
    context = EpisodeContext(record.get("env_id", ""), env_name, record["task_id"], _no_expert)
    agent.reset(record["first_observation"], {}, context)
    for thought, action, observation in steps:
        agent.add_turn(thought, action, observation)
    messages = agent.messages()
    return messages[:-1] if steps else messages  # the observation after the last action is never answered


def eto_conversation(agent: EtoAgent, record: dict[str, Any], replies: list[tuple[str, str]]) -> list[Message]:
    """The messages the ETO ``agent`` sent during ``record``'s episode, ending with its last reply.

    Args:
        agent: an ETO agent made by the same factory (same prompt and settings) as at evaluation.
        record: the runner's episode record (first observation, task id; ``task`` for ScienceWorld's task turn).
        replies: ``(reply, the env's next observation)`` per step.
    """
    context = EpisodeContext(record.get("env_id", ""), agent.env_name or "", record["task_id"], _no_expert)
    agent.reset(record["first_observation"], {"task": record.get("task", "")}, context)
    for reply, observation in replies:
        agent.add_reply(reply, observation)
    messages = agent.messages()
    return messages[:-1] if replies else messages  # the observation after the last reply is never answered


def conversation_of(agent: Agent, record: dict[str, Any], *, expert: bool) -> list[Message]:
    """``record``'s episode as the conversation ``agent`` has at evaluation.

    An expert's steps (``expert``) get the demonstrations' thoughts, written ``Thought:`` and ``Action:`` lines;
    a policy's steps keep its reply (the ETO agent: verbatim; the ReAct agent: its parsed thought and action).
    """
    if isinstance(agent, EtoAgent):
        steps = episode_steps(record, expert_thought(agent.env_name or "") if expert else policy_thought)
        replies = [
            (f"Thought: {thought}\nAction: {action}" if expert else step.get("response") or "", observation)
            for (thought, action, observation), step in zip(steps, record["steps"], strict=True)
        ]
        return eto_conversation(agent, record, replies)
    if isinstance(agent, ReActAgent):
        env_name = agent.env_name or ""
        return conversation(
            agent, record, episode_steps(record, expert_thought(env_name) if expert else policy_thought)
        )
    raise TypeError(f"ETO trains the eto or react agent, not {type(agent).__name__}")


def prompt_messages(agent: Agent) -> int:
    """How many messages of ``agent``'s conversations form a pair's prompt."""
    return agent.prompt_messages() if isinstance(agent, EtoAgent) else REACT_PROMPT_MESSAGES


def rounds(turns: list[Turn]) -> int:
    """The number of ``gpt`` turns."""
    return sum(t["from"] == "gpt" for t in turns)


def cap_rounds(turns: list[Turn], limit: int) -> list[Turn]:
    """The turns up to and including the ``limit``-th ``gpt`` turn."""
    seen = 0
    for index, turn in enumerate(turns):
        seen += turn["from"] == "gpt"
        if seen == limit:
            return turns[: index + 1]
    return turns


def make_pair(
    expert: dict[str, Any],
    explored: dict[str, Any],
    *,
    truncate_rejected: bool,
    extra_rounds: int = 5,
    prompt_messages: int = REACT_PROMPT_MESSAGES,
) -> dict[str, Any] | None:
    """ETO's contrastive pair for one task, or ``None`` for a tie.

    Args:
        expert: the expert item ``{"id", "conversations", "reward"}``.
        explored: the explored item, same keys.
        truncate_rejected: cut the rejected side to the expert's rounds + ``extra_rounds``.
        extra_rounds: see above.
        prompt_messages: the number of leading messages that form the prompt (see :func:`prompt_messages`).

    Returns:
        ``{"id", "prompt", "chosen", "rejected", "chosen_reward", "rejected_reward"}``: the better trajectory
        is chosen (the explored one when it beats the expert).
    """
    if explored["reward"] == expert["reward"]:
        return None
    better, worse = (expert, explored) if explored["reward"] < expert["reward"] else (explored, expert)
    prompt = better["conversations"][:prompt_messages]
    if worse["conversations"][:prompt_messages] != prompt:
        raise ValueError(f"task {expert['id']}: the expert and explored conversations start differently")
    chosen = better["conversations"][prompt_messages:]
    rejected = worse["conversations"][prompt_messages:]
    if truncate_rejected:
        rejected = cap_rounds(rejected, rounds(expert["conversations"]) + extra_rounds)
    if not chosen or not rejected or chosen[-1]["from"] != "gpt" or rejected[-1]["from"] != "gpt":
        return None  # an episode without a reply (it failed before the first action)
    return {
        "id": expert["id"],
        "prompt": prompt,
        "chosen": chosen,
        "rejected": rejected,
        "chosen_reward": better["reward"],
        "rejected_reward": worse["reward"],
    }


def make_pairs(
    expert: list[dict[str, Any]],
    explored: list[dict[str, Any]],
    *,
    truncate_rejected: bool,
    extra_rounds: int = 5,
    prompt_messages: int = REACT_PROMPT_MESSAGES,
) -> list[dict[str, Any]]:
    """Pairs for every task that has both an expert and an explored trajectory (ties dropped), in expert order."""
    by_id = {item["id"]: item for item in explored}
    pairs = []
    for item in expert:
        if item["id"] in by_id:
            pair = make_pair(
                item,
                by_id[item["id"]],
                truncate_rejected=truncate_rejected,
                extra_rounds=extra_rounds,
                prompt_messages=prompt_messages,
            )
            if pair is not None:
                pairs.append(pair)
    return pairs
