"""The ETO pipeline, stage by stage, resumable: expert → SFT → (explore → pairs → DPO) × iterations.

Layout of the output folder::

    settings.json                    the settings of the latest invocation
    expert/    run/ sft.json         expert episodes on the training tasks (runner folder) and their conversations
    sft/       checkpoint-sft/       the behavioural-cloning policy
    iter-1/explore/ run/ explored.json    the policy's greedy episodes on the same tasks, as conversations
    iter-1/pairs/   pairs.json            contrastive trajectory pairs
    iter-1/dpo/     checkpoint-iter-1/    the policy after DPO
    iter-2/...

Each stage folder holds ``started.json`` when the stage starts and ``manifest.json`` when it is done: the
stage's inputs (settings and the keys of the stages it reads), their hash (``key``), its outputs and numbers,
and its duration. Rerunning skips stages done with the same key; a stage whose inputs changed is redone (and
so are the stages after it, whose keys include its key); a stage that was killed starts again, the runner
resuming its episodes from ``run/episodes.jsonl`` and training starting over.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import shutil
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import gymnasium

from agentgym.agent import Agent, RunSetup, resolve_agent
from agentgym.baselines.eto.conversations import conversation_of, make_pairs, prompt_messages, to_turns
from agentgym.baselines.eto.settings import ETOSettings
from agentgym.files import atomic_write
from agentgym.policies import ExpertPolicy
from agentgym.registry import resolve_env_id
from agentgym.runner import evaluate
from agentgym.validate import folder

MANIFEST = "manifest.json"
STARTED = "started.json"

#: Settings every training stage depends on.
TRAIN_KEYS = ("dtype", "max_length", "micro_batch", "gradient_checkpointing", "lora", "lora_r", "lora_alpha")
TRAIN_KEYS += ("lora_dropout", "seed")


def _hash(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _write_json(path: Path, value: Any) -> None:
    atomic_write(path, json.dumps(value, indent=1, ensure_ascii=False, default=str))


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def resolve_base_model(base_model: str | None) -> Path:
    """The base model as a transformers folder: the given folder, a converted ``.gguf``, or the embedded one.

    Raises:
        FileNotFoundError: if the path does not exist or is not a model.
    """
    from agentgym.policies.embedded import convert_gguf, embedded_gguf_path

    path = Path(base_model).expanduser() if base_model else embedded_gguf_path()
    if not path.exists():
        raise FileNotFoundError(f"base model {path} does not exist")
    if path.suffix == ".gguf":
        return convert_gguf(path)
    if not (path / "config.json").is_file():
        raise FileNotFoundError(f"base model {path} is neither a .gguf file nor a transformers folder (config.json)")
    return path


def _model_identity(path: Path) -> dict[str, Any]:
    return {"path": str(path.resolve()), "files": sorted((p.name, p.stat().st_size) for p in path.iterdir())}


class Pipeline:
    """One ETO run in one output folder.

    Args:
        settings: the run's settings (env defaults are filled in here).
        out: the output folder (created; an earlier run there is resumed).
        log: receives one line per stage event.
        progress: show the runner's progress bars.

    Raises:
        ValueError: for an unknown env or split.
        FileNotFoundError: for a base model that does not exist.
    """

    def __init__(
        self, settings: ETOSettings, out: str | Path, *, log: Callable[[str], None] = print, progress: bool = False
    ) -> None:
        """Resolve the env, its defaults and the base model; nothing is played or trained yet."""
        out = folder("out", out)
        try:
            self.env_id = resolve_env_id(settings.env)
        except KeyError as e:
            raise ValueError(str(e.args[0])) from e
        probe = gymnasium.make(self.env_id)  # cheap: an env loads its data and simulator at its first reset
        try:
            self.env_name = str(getattr(probe.unwrapped, "env_name", self.env_id))
        finally:
            probe.close()
        self.settings = settings.resolved(self.env_name)
        env = gymnasium.make(self.env_id, **dict(self.settings.env_kwargs or {}))
        try:
            splits = env.unwrapped.tasks.splits
            if self.settings.train_split not in splits:
                raise ValueError(f"{self.env_id} has no split {self.settings.train_split!r}; splits: {sorted(splits)}")
        finally:
            env.close()
        agent_class = resolve_agent(self.settings.agent)  # built once here: its settings are checked before any play
        agent_class(ExpertPolicy(), **{"env_name": self.env_name, **self.settings.agent_settings})
        if self.settings.explore_backend not in ("embedded", "sglang"):
            raise ValueError(f"explore_backend must be embedded or sglang, not {self.settings.explore_backend!r}")
        self.base_model = resolve_base_model(self.settings.base_model)
        self.out = out
        self.log = log
        self.progress = progress
        self.timings: dict[str, float] = {}

    # --- stages -------------------------------------------------------------------------------------------

    def _stage(self, name: str, inputs: dict[str, Any], body: Callable[[Path], dict[str, Any]]) -> dict[str, Any]:
        """Run ``body(folder)`` unless the stage is done with the same inputs; return its manifest."""
        folder = self.out / name
        key = _hash(inputs)
        manifest_path, started_path = folder / MANIFEST, folder / STARTED
        if manifest_path.exists():
            manifest = json.loads(manifest_path.read_text())
            if manifest.get("key") == key:
                self.log(f"[{name}] done already ({manifest['seconds']:.0f} s when run)")
                self.timings[name] = 0.0
                return manifest
        if folder.exists():
            started = json.loads(started_path.read_text()) if started_path.exists() else {}
            if started.get("key") != key:  # another run's stage: start clean
                shutil.rmtree(folder)
            else:
                self.log(f"[{name}] resuming a stage that did not finish")
        folder.mkdir(parents=True, exist_ok=True)
        _write_json(started_path, {"stage": name, "key": key, "inputs": inputs, "started": _now()})
        self.log(f"[{name}] running")
        start = time.perf_counter()
        outputs = body(folder)
        seconds = time.perf_counter() - start
        manifest = {"stage": name, "key": key, "inputs": inputs, **outputs, "seconds": seconds, "finished": _now()}
        _write_json(manifest_path, manifest)
        self.timings[name] = seconds
        self.log(f"[{name}] done in {seconds:.0f} s: " + ", ".join(f"{k}={v}" for k, v in _numbers(outputs).items()))
        return manifest

    def _agent(self, task_ids: list[str]) -> Agent:
        """The agent made as the runner makes it for these tasks (same prompt, demonstrations and settings)."""
        setup = RunSetup(self.env_id, self.env_name, dict(self.settings.env_kwargs or {}), "custom", tuple(task_ids))
        agent_class = resolve_agent(self.settings.agent)
        return asyncio.run(agent_class.factory(ExpertPolicy(), setup, **self.settings.agent_settings))()

    def _play(
        self, folder: Path, agent: str, policy: str, task_ids: list[str] | None, max_steps: int | None
    ) -> list[dict[str, Any]]:
        s = self.settings
        result = evaluate(
            self.env_id,
            agent,
            policy,
            split=None if task_ids is not None else s.train_split,
            task_ids=task_ids,
            limit=None if task_ids is not None else s.limit,
            workers=s.workers,
            max_steps=max_steps,
            out=folder / "run",
            seed=s.seed,
            env_kwargs=dict(s.env_kwargs or {}),
            agent_kwargs=dict(s.agent_settings) if agent == s.agent else None,
            progress=self.progress,
        )
        return [r for r in result.records if r.get("error") is None and r["num_steps"] > 0]

    def expert(self) -> dict[str, Any]:
        """Stage 1: expert episodes on the training tasks, kept when they score, as ReAct conversations."""
        s = self.settings
        inputs = {
            "env_id": self.env_id,
            "env_kwargs": s.env_kwargs,
            "split": s.train_split,
            "limit": s.limit,
            "agent": s.agent,
            "agent_settings": s.agent_settings,
        }

        def body(folder: Path) -> dict[str, Any]:
            # The expert's episodes are training data (ETO's come from a dataset): the env's own cap, not the
            # exploration cap, limits them.
            records = self._play(folder, "expert", "expert", None, None)
            kept = [r for r in records if r["won"] or r["score"] > 0]
            agent = self._agent([r["task_id"] for r in kept])
            items = [
                {
                    "id": r["task_id"],
                    "conversations": to_turns(conversation_of(agent, r, expert=True)),
                    "reward": r["score"],
                }
                for r in kept
            ]
            if not items:
                raise RuntimeError(f"the expert scored on none of the {len(records)} training tasks played")
            _write_json(folder / "sft.json", items)
            return {"data": "sft.json", "played": len(records), "trajectories": len(items)}

        return self._stage("expert", inputs, body)

    def sft(self, expert: dict[str, Any]) -> dict[str, Any]:
        """Stage 2: behavioural cloning of the expert conversations."""
        from agentgym.baselines.eto import train

        s = self.settings
        inputs = {
            "expert": expert["key"],
            "base_model": _model_identity(self.base_model),
            **{k: getattr(s, k) for k in (*TRAIN_KEYS, "sft_lr", "sft_epochs", "sft_batch", "sft_warmup")},
        }

        def body(folder: Path) -> dict[str, Any]:
            items = self._data("expert", expert)
            result = train.sft(self.base_model, items, s, folder / "checkpoint-sft")
            return {"checkpoint": "sft/checkpoint-sft", **dataclasses.asdict(result)}

        return self._stage("sft", inputs, body)

    def _data(self, stage: str, manifest: dict[str, Any]) -> Any:
        """The JSON data file a finished stage wrote (its manifest's ``data``)."""
        return json.loads((self.out / stage / manifest["data"]).read_text())

    def explore(self, iteration: int, policy: dict[str, Any], expert: dict[str, Any]) -> dict[str, Any]:
        """Stage 3: the current policy plays the expert's training tasks greedily with the ReAct agent."""
        s = self.settings
        inputs = {
            "policy": policy["key"],
            "expert": expert["key"],
            "backend": s.explore_backend,
            "max_steps": s.max_steps,
            "agent": s.agent,
            "agent_settings": s.agent_settings,
        }

        def body(folder: Path) -> dict[str, Any]:
            task_ids = [item["id"] for item in self._data("expert", expert)]
            spec = f"{s.explore_backend}:{(self.out / policy['checkpoint']).resolve()}"
            records = self._play(folder, s.agent, spec, task_ids, s.max_steps)
            agent = self._agent(task_ids)
            items = [
                {
                    "id": r["task_id"],
                    "conversations": to_turns(conversation_of(agent, r, expert=False)),
                    "reward": r["score"],
                }
                for r in records
            ]
            _write_json(folder / "explored.json", items)
            scores = [item["reward"] for item in items]
            return {
                "data": "explored.json",
                "episodes": len(items),
                "mean_score": sum(scores) / len(scores) if scores else None,
                "success_rate": sum(r["won"] for r in records) / len(records) if records else None,
            }

        return self._stage(f"iter-{iteration}/explore", inputs, body)

    def pairs(self, iteration: int, expert: dict[str, Any], explored: dict[str, Any]) -> dict[str, Any]:
        """Stage 4: contrastive pairs of the expert's and the explored trajectories."""
        s = self.settings
        inputs = {
            "expert": expert["key"],
            "explore": explored["key"],
            "truncate_rejected": s.truncate_rejected,
            "rejected_extra_rounds": s.rejected_extra_rounds,
        }

        def body(folder: Path) -> dict[str, Any]:
            expert_items = self._data("expert", expert)
            explored_items = self._data(f"iter-{iteration}/explore", explored)
            pairs = make_pairs(
                expert_items,
                explored_items,
                prompt_messages=prompt_messages(self._agent([item["id"] for item in expert_items[:1]])),
                truncate_rejected=bool(s.truncate_rejected),
                extra_rounds=s.rejected_extra_rounds,
            )
            _write_json(folder / "pairs.json", pairs)
            expert_reward = {item["id"]: item["reward"] for item in expert_items}
            return {
                "data": "pairs.json",
                "pairs": len(pairs),
                "explored_better": sum(p["chosen_reward"] > expert_reward[p["id"]] for p in pairs),
                "ties": len(explored_items) - len(pairs),
            }

        return self._stage(f"iter-{iteration}/pairs", inputs, body)

    def dpo(self, iteration: int, policy: dict[str, Any], pairs: dict[str, Any]) -> dict[str, Any]:
        """Stage 5: trajectory-level DPO of the current policy against itself on the pairs."""
        from agentgym.baselines.eto import train

        s = self.settings
        inputs = {
            "policy": policy["key"],
            "pairs": pairs["key"],
            "beta": s.beta(iteration),
            "lr": s.dpo_learning_rate(iteration),
            **{k: getattr(s, k) for k in (*TRAIN_KEYS, "dpo_epochs", "dpo_batch", "dpo_warmup")},
        }
        name = f"iter-{iteration}/dpo"

        def body(folder: Path) -> dict[str, Any]:
            data = self._data(f"iter-{iteration}/pairs", pairs)
            if not data:  # the policy scored as the expert everywhere: nothing to contrast
                return {"checkpoint": policy["checkpoint"], "skipped": "no pairs"}
            target = folder / f"checkpoint-iter-{iteration}"
            result = train.dpo((self.out / policy["checkpoint"]).resolve(), data, s, iteration, target)
            return {"checkpoint": f"{name}/{target.name}", **dataclasses.asdict(result)}

        return self._stage(name, inputs, body)

    # --- the whole pipeline --------------------------------------------------------------------------------

    def run(self) -> Path:
        """Run (or resume) every stage; return the final checkpoint folder."""
        self.out.mkdir(parents=True, exist_ok=True)
        _write_json(self.out / "settings.json", {"env_id": self.env_id, **self.settings.to_json()})
        expert = self.expert()
        policy = self.sft(expert)
        for iteration in range(1, int(self.settings.iterations or 1) + 1):
            explored = self.explore(iteration, policy, expert)
            pairs = self.pairs(iteration, expert, explored)
            policy = self.dpo(iteration, policy, pairs)
        final = (self.out / policy["checkpoint"]).resolve()
        _write_json(self.out / "result.json", {"checkpoint": policy["checkpoint"], "stages": self.timings})
        return final

    def eval_command(self, checkpoint: Path) -> str:
        """The command that evaluates ``checkpoint`` with the pipeline's agent on the env's test split."""
        from agentgym.baselines.eto.settings import ENV_DEFAULTS, EnvDefaults

        defaults = ENV_DEFAULTS.get(self.env_name, EnvDefaults())
        parts = ["agentgym run", self.env_name, f"--agent {self.settings.agent}", f"--policy embedded:{checkpoint}"]
        parts.append(f"--split {defaults.test_split}")
        if self.settings.max_steps:
            parts.append(f"--max-steps {self.settings.max_steps}")
        parts += [f"--env-arg {k}={json.dumps(v)}" for k, v in (self.settings.env_kwargs or {}).items()]
        parts += [f"--agent-arg {k}={json.dumps(v)}" for k, v in self.settings.agent_settings.items()]
        return " ".join(parts)


def _numbers(outputs: dict[str, Any]) -> dict[str, Any]:
    """The outputs worth a log line, rounded."""
    shown = {k: v for k, v in outputs.items() if k not in ("data", "checkpoint")}
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in shown.items()}
