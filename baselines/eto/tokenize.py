"""Chats as token ids with a mask of the assistant's tokens, for SFT and DPO losses on the agent's turns only.

The chat is rendered with the tokenizer's own chat template (the one the policy is prompted with), one
message at a time: each message adds a piece of text, and an assistant message adds two, its header (the
generation prompt, not trained) and its reply up to and including the end-of-turn token (trained, so the
model learns to stop). Pieces are tokenized separately; with chat templates whose turns start with a special
token (ChatML, Llama) this gives the same ids as tokenizing the whole text, which the tests check.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agentgym.policies import Message


@dataclass(frozen=True)
class Piece:
    """A span of the rendered chat: its token ids, the message it belongs to, and whether it is trained."""

    ids: tuple[int, ...]
    message: int
    trained: bool


def _render(tokenizer: Any, messages: list[Message], *, generation_prompt: bool = False) -> str:
    if not messages:
        return ""
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=generation_prompt)


def _extend(tokenizer: Any, pieces: list[Piece], previous: str, text: str, message: int, trained: bool) -> str:
    if not text.startswith(previous):
        raise ValueError("the chat template does not render a chat as a prefix of the same chat plus a message")
    ids = tokenizer(text[len(previous) :], add_special_tokens=False)["input_ids"]
    pieces.append(Piece(tuple(ids), message, trained))
    return text


def chat_pieces(tokenizer: Any, messages: list[Message]) -> list[Piece]:
    """Split ``messages``, rendered by ``tokenizer``'s chat template, into tokenized pieces.

    Raises:
        ValueError: if the template renders a chat differently from its prefix (the pieces would not add up).
    """
    pieces: list[Piece] = []
    text = ""
    for index, message in enumerate(messages):
        if message["role"] == "assistant":
            header = _render(tokenizer, messages[:index], generation_prompt=True)
            text = _extend(tokenizer, pieces, text, header, index, trained=False)
            text = _extend(tokenizer, pieces, text, _render(tokenizer, messages[: index + 1]), index, trained=True)
        else:
            text = _extend(tokenizer, pieces, text, _render(tokenizer, messages[: index + 1]), index, trained=False)
    return pieces


def flatten(pieces: list[Piece]) -> tuple[list[int], list[int]]:
    """The pieces' ids, and 1 for each id of a trained piece."""
    ids: list[int] = []
    mask: list[int] = []
    for piece in pieces:
        ids += piece.ids
        mask += [int(piece.trained)] * len(piece.ids)
    return ids, mask


def tokenize_sft(tokenizer: Any, messages: list[Message], max_length: int) -> dict[str, list[int]]:
    """``{"input_ids", "assistant_masks"}`` of a conversation, cut to ``max_length`` tokens (the end is cut)."""
    ids, mask = flatten(chat_pieces(tokenizer, messages))
    return {"input_ids": ids[:max_length], "assistant_masks": mask[:max_length]}


def tokenize_pair(
    tokenizer: Any, prompt: list[Message], chosen: list[Message], rejected: list[Message]
) -> dict[str, list[int]]:
    """``{"prompt_ids", "chosen_ids", "chosen_mask", "rejected_ids", "rejected_mask"}`` of a preference pair.

    The masks mark the assistant tokens of each side: the observations between them are not trained.
    """
    out: dict[str, list[int]] = {}
    for side, turns in (("chosen", chosen), ("rejected", rejected)):
        pieces = chat_pieces(tokenizer, prompt + turns)
        prompt_ids, _ = flatten([p for p in pieces if p.message < len(prompt)])
        ids, mask = flatten([p for p in pieces if p.message >= len(prompt)])
        out["prompt_ids"] = prompt_ids
        out[f"{side}_ids"] = ids
        out[f"{side}_mask"] = mask
    return out
