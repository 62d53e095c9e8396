"""ScienceWorld as an agentgym plugin: its env id, ETO's split files and the simulator's package (import-light)."""

from __future__ import annotations

from agentgym.data import Dataset, RemoteFile
from agentgym.plugins import Plugin
from agentgym.registry import EnvEntry

# ETO (github.com/Yifan-Song793/ETO) at the commit its released ScienceWorld splits come from.
_ETO_SCIWORLD = (
    "https://raw.githubusercontent.com/Yifan-Song793/ETO/9cd80875322d255db0c9e20600b22f88450ca0d6/"
    "eval_agent/data/sciworld/"
)


def _eto_file(name: str, sha256: str) -> RemoteFile:
    return RemoteFile(url=_ETO_SCIWORLD + name, path=f"sciworld/eto/{name}", sha256=sha256)


PLUGIN = Plugin(
    name="sciworld",
    envs=(
        # 200: ETO's envStepLimit; the env itself truncates at ETO's per-task limits (info["max_steps"]).
        # 768 MB: the Python process and the simulator's JVM (~275 MB) together, reserved per Ray actor.
        EnvEntry(
            "agentgym/ScienceWorld-v0",
            "agentgym.envs.sciworld.env:ScienceWorldEnv",
            200,
            "sciworld",
            extra="sciworld",
            worker_memory_mb=768,
        ),
    ),
    datasets=(
        Dataset(
            name="sciworld",
            description="ETO's ScienceWorld splits (train 1,483, seen 194, unseen 211) and per-task step limits; "
            "the simulator itself ships in the scienceworld wheel.",
            files=(
                _eto_file("train_indices.json", "c79eea7858383b829269986ee83d0d9a504533e7b4b3a5bc76e5bdc1e6999cd0"),
                _eto_file("dev_indices.json", "78084ef4393d2da87b21507451821e431daa1a70ab1a486fd1a964ab2404d741"),
                _eto_file("test_indices.json", "dfe4ab263824f04a49cf977b8f6d65af516ce13b8cfbef5736a97ed993da7152"),
                _eto_file("max_steps.json", "035592f47fbe1309b6ed1a260b392a50d94d3163de951508a74e985d93048f73"),
            ),
        ),
    ),
    packages=("scienceworld",),
)
