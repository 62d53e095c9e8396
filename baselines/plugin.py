"""The baselines as an agentgym plugin: their agents, the paper presets, the papers' prompt files and ``agentgym eto``.

Import-light: agents and presets are ``"module:attr"`` strings, imported when first looked up.
"""

from __future__ import annotations

from agentgym.data import Dataset, RemoteFile
from agentgym.plugins import Command, Plugin


def _paper_prompt(name: str, repository: str, path: str, sha256: str) -> RemoteFile:
    """A paper's prompt file, fetched verbatim from ``repository`` (``OWNER/REPO/COMMIT``) into ``prompts/NAME``."""
    return RemoteFile(
        url=f"https://raw.githubusercontent.com/{repository}/{path}", path=f"prompts/{name}", sha256=sha256
    )


# The papers' prompt files, each at the commit its presets follow. Their text is their authors': it is downloaded
# and checked like benchmark data, never copied into agentgym's source.
_REACT = "ysymyth/ReAct/6bdb3a1fd38b8188fc7ba4102969fe483df8fdc9"
_REFLEXION = "noahshinn/reflexion/218cf0ef1df84b05ce379dd4a8e47f17766733a0"
_TOT = "princeton-nlp/tree-of-thought-llm/ab400345c5ea39d28ea6d7d3be0e417b11113c87"
_ETO = "Yifan-Song793/ETO/a2fc5da38f8d00cfaf3f9b6370d586eebaf72904"
_COPS = "uclaml/COPS/989b29882a4ee6cdca828c402268216e4c5f5d85"
_RAFA = "agentification/RAFA_code/07da5ecc1c19dde9cbacb8853175ab0c38de9892"
_PAPER_PROMPTS = (
    _paper_prompt(
        "react/alfworld_3prompts.json",
        _REACT,
        "prompts/alfworld_3prompts.json",
        "a10976b4ae99f4802aa9e621933bb71065ae103f2bd273a24466ab1005fbc45a",
    ),
    _paper_prompt(
        "react/WebShop.ipynb",
        _REACT,
        "WebShop.ipynb",
        "fb8704ec5528e43589924ab33d14eb7f97e82f7cd9da5c02b0295a9be30f9ca6",
    ),
    _paper_prompt(
        "reflexion/alfworld_3prompts.json",
        _REFLEXION,
        "alfworld_runs/prompts/alfworld_3prompts.json",
        "a10976b4ae99f4802aa9e621933bb71065ae103f2bd273a24466ab1005fbc45a",
    ),
    _paper_prompt(
        "reflexion/alfworld_reflexion_few_shot_examples.txt",
        _REFLEXION,
        "alfworld_runs/reflexion_few_shot_examples.txt",
        "5040995a3cdc88bce30fa26bec3ca4875ced8db98b7b2859f5c1614deec716e7",
    ),
    _paper_prompt(
        "reflexion/alfworld_generate_reflections.py",
        _REFLEXION,
        "alfworld_runs/generate_reflections.py",
        "d7fbe4af7ff21ce9bc73ad2bcf16bf265682d1fb3554dc62985f3ada09997ef7",
    ),
    _paper_prompt(
        "reflexion/webshop_base_prompt.txt",
        _REFLEXION,
        "webshop_runs/base_prompt.txt",
        "58e4164eb648db4f8f437ee8a7b3ce064d3661d929e4f0fe71155ea6b062c56a",
    ),
    _paper_prompt(
        "reflexion/webshop_generate_reflections.py",
        _REFLEXION,
        "webshop_runs/generate_reflections.py",
        "a01282c0e9079881e101aefbc249c540a8205d85817f1ca68b7d85e36a72498a",
    ),
    _paper_prompt(
        "reflexion/webshop_reflection_few_shot_examples.txt",
        _REFLEXION,
        "webshop_runs/reflection_few_shot_examples.txt",
        "c0bd69af24fecc4d0b30f92e58af1e4f86320eb227b7002584bb04a88e913621",
    ),
    _paper_prompt(
        "tot/game24.py",
        _TOT,
        "src/tot/prompts/game24.py",
        "27ad57c3ac066ad242babfb113125dac3adf91a58c2bb8ad23ab19e28e82dfeb",
    ),
    _paper_prompt(
        "eto/alfworld_icl.json",
        _ETO,
        "eval_agent/prompt/icl_examples/alfworld_icl.json",
        "06b00f15c320c484d86fffcfaedcd057eb7cca544b452683cac9f8b9a5d2ff55",
    ),
    _paper_prompt(
        "eto/sciworld_icl.json",
        _ETO,
        "eval_agent/prompt/icl_examples/sciworld_icl.json",
        "45afd7b75cfdc1a722c6d0904829a1e4d2153eb4ea33fb9a679d64452a71c268",
    ),
    _paper_prompt(
        "eto/webshop_icl.json",
        _ETO,
        "eval_agent/prompt/icl_examples/webshop_icl.json",
        "bb59e41bc6909d475919f9c77d1a7c552c1747f64eeb7b5835102713b9ffec7e",
    ),
    _paper_prompt(
        "eto/alfworld_inst.txt",
        _ETO,
        "eval_agent/prompt/instructions/alfworld_inst.txt",
        "ed99085b2fcef955363a031d274e9ffcc7a312c8350776f7464b4a8fb9ae85d7",
    ),
    _paper_prompt(
        "eto/sciworld_inst.txt",
        _ETO,
        "eval_agent/prompt/instructions/sciworld_inst.txt",
        "9c6d1204044df41803612dea173af4188f6f9aad09f20c9822dbe20006eac23c",
    ),
    _paper_prompt(
        "eto/webshop_inst.txt",
        _ETO,
        "eval_agent/prompt/instructions/webshop_inst.txt",
        "073c199aa1418863a4c5fd815d38db7cadaccc9697dd49a4f1accba406c70529",
    ),
    _paper_prompt(
        "cops/alfworld_3prompts.json",
        _COPS,
        "alfworld/prompts/alfworld_3prompts.json",
        "a10976b4ae99f4802aa9e621933bb71065ae103f2bd273a24466ab1005fbc45a",
    ),
    _paper_prompt(
        "cops/webshop_prompt.py",
        _COPS,
        "webshop/prompt.py",
        "e375d79d3bd35dd56da7b7b14defd6c2406411dc87788e3c28bc794e86cde5b9",
    ),
    _paper_prompt(
        "rafa/game24.py",
        _RAFA,
        "Game24/prompts/game24.py",
        "4436b9b0cd1d0c3ef6df4dc284bee595090ee8d1226c6e458af1553b93c66229",
    ),
    _paper_prompt(
        "rafa/alfworld_value.json",
        _RAFA,
        "ALFWorld/prompts/alfworld_value.json",
        "c583cf832c1bb5522cf30cd8a4110bb689f0fdb76be58de7b837b8fd90444959",
    ),
    _paper_prompt(
        "rafa/alfworld_transition.json",
        _RAFA,
        "ALFWorld/prompts/transition.json",
        "f86f842552d2f7ded3ea578fd7a959981c6030bf6f33452050017d1f4c59a203",
    ),
)

PLUGIN = Plugin(
    name="baselines",
    agents={
        "react": "agentgym.baselines.react:ReActAgent",
        "reflexion": "agentgym.baselines.reflexion:ReflexionAgent",
        "tot": "agentgym.baselines.tot:ToTAgent",
        "rafa": "agentgym.baselines.rafa:RAFAAgent",
        "cops": "agentgym.baselines.cops:CoPSAgent",
        "eto": "agentgym.baselines.eto.agent:EtoAgent",
        "react-alfworld": "agentgym.baselines.alfworld_harness:ALFWorldReActAgent",
        "reflexion-alfworld": "agentgym.baselines.alfworld_harness:ALFWorldReflexionAgent",
        "cops-alfworld": "agentgym.baselines.cops_alfworld:ALFWorldCoPSAgent",
        "react-webshop": "agentgym.baselines.webshop_harness:WebShopReActAgent",
        "reflexion-webshop": "agentgym.baselines.webshop_harness:WebShopReflexionAgent",
    },
    presets=("agentgym.baselines.presets:PRESETS",),
    datasets=(
        Dataset(
            name="prompts",
            description="The papers' prompt files (ReAct, Reflexion, CoPS, ETO, Tree-of-Thoughts, RAFA) at pinned "
            "commits of their repositories, for the paper presets.",
            files=_PAPER_PROMPTS,
        ),
    ),
    packages=("trl",),
    commands=(Command("eto", "agentgym.baselines.eto.cli:eto"),),
)
