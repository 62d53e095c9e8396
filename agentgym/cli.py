"""The ``agentgym`` command: ``list``, ``run``, ``report``, ``presets``, ``data``, ``serve``, and the plugins' commands.

Plugins add commands (:attr:`agentgym.plugins.Plugin.commands`), top-level or in a group (``serve``). Every error,
from option parsing or from a command, is one line on stderr, ``error: MESSAGE``, with the message (and any task
id, path or name in it) printed literally, never read as rich markup.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text
from typer.core import TyperGroup

from agentgym import data, plugins
from agentgym.error import (
    Error,
    NameNotFound,
    OutputError,
    OutputFolderUnavailable,
    PolicyUnavailable,
    RunLocked,
    SettingError,
)
from agentgym.registry import load_attribute


class _Commands(TyperGroup):
    """The command group; its ``main`` prints every click error as one literal line (see :func:`print_error`)."""

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        """Run the command line; click's usage errors become ``error: ...`` lines and exit 2."""
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        try:
            code = super().main(*args, standalone_mode=False, **kwargs)
        except typer.TyperException as e:  # click's errors (typer carries its own click)
            if type(e).__name__ != "NoArgsIsHelpError":  # the help was printed already
                print_error(_usage_message(e))
            sys.exit(getattr(e, "exit_code", 1))
        except typer.Abort:
            print_error("aborted")
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


def _usage_message(error: typer.TyperException) -> str:
    """Click's message, with the command whose ``--help`` explains the options when it is a usage error."""
    context = getattr(error, "ctx", None)
    hint = f" (see {context.command_path} --help)" if context is not None else ""
    format_message = getattr(error, "format_message", None)
    return (format_message() if callable(format_message) else str(error)) + hint


app = typer.Typer(
    help="LLM-agent benchmarks as one Gymnasium suite.", no_args_is_help=True, add_completion=False, cls=_Commands
)
data_app = typer.Typer(help="Benchmark data: where it is looked for, and downloads.", no_args_is_help=True)
app.add_typer(data_app, name="data")
serve_app = typer.Typer(help="Serve a model server, or a benchmark's site.", no_args_is_help=True)
app.add_typer(serve_app, name="serve")


def console() -> Console:
    """The terminal (made per call, so that it follows the current terminal width)."""
    return Console()


def say(text: str) -> None:
    """Print ``text`` on stdout as it is: no markup, no highlighting, no wrapping."""
    console().print(text, markup=False, highlight=False, soft_wrap=True)


def warn(message: str) -> None:
    """Print ``warning: MESSAGE`` on stdout, the message literally."""
    console().print(Text.assemble(("warning: ", "yellow"), message), highlight=False, soft_wrap=True)


def print_error(message: str) -> None:
    """Print ``error: MESSAGE`` as one line on stderr; the message is printed literally (never as markup)."""
    line = " ".join(message.splitlines())
    Console(stderr=True, highlight=False, soft_wrap=True).print(Text.assemble(("error: ", "bold red"), line))


def fail(error: BaseException | str, code: int = 2) -> NoReturn:
    """Print ``error`` with :func:`print_error` and end the command with exit status ``code``."""
    print_error(str(error))
    raise typer.Exit(code)


def parse_settings(pairs: list[str] | None) -> dict[str, Any]:
    """Parse repeated ``KEY=VALUE`` options; values are JSON when they parse as JSON, else strings.

    Example:
        >>> parse_settings(["trials=3", "name=x", "flag=true"])
        {'trials': 3, 'name': 'x', 'flag': True}
    """
    settings: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"expected KEY=VALUE, got {pair!r}")
        try:
            settings[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            settings[key.strip()] = value
    return settings


@app.command("list")
def list_envs() -> None:
    """List the env ids with their splits, task counts and whether their data is present."""
    from agentgym.registry import ENVS
    from agentgym.runner.worker import EnvConfig

    table = Table("env id", "name", "max steps", "splits (tasks)", "status")
    for entry in ENVS.values():
        try:
            env = EnvConfig(entry.env_id).make()
            try:
                tasks = env.unwrapped.tasks
                splits = ", ".join(_split_size(tasks, name) for name in tasks.splits)
            finally:
                env.close()
            status = Text("ready", style="green")
        except ImportError as e:
            splits, status = "-", Text(str(e), style="yellow")
        except FileNotFoundError as e:
            splits, status = "-", Text(f"no data: {e}", style="yellow")
        table.add_row(entry.env_id, entry.short_name, str(entry.max_episode_steps), Text(splits), status)
    console().print(table)


def _split_size(tasks: Any, name: str) -> str:
    """``name (size)``, or ``name (no data)`` for a split whose list file is missing."""
    try:
        return f"{name} ({len(tasks.splits[name])})"
    except FileNotFoundError:
        return f"{name} (no data)"


@app.command()
def run(
    env: Annotated[
        str | None, typer.Argument(help="Env: a short name or a full id (see `agentgym list`); optional with --preset.")
    ] = None,
    preset: Annotated[
        str | None, typer.Option(help="A paper's setting (split, step cap, trials, agent); see `agentgym presets`.")
    ] = None,
    agent: Annotated[str | None, typer.Option(help="Agent name or module:Class [default: expert].")] = None,
    policy: Annotated[
        str | None,
        typer.Option(
            help="Policy: embedded, openai:MODEL@URL, sglang:PATH, sglang:MODEL@URL, expert, random "
            "[default: expert for the expert agent, else embedded].",
        ),
    ] = None,
    split: Annotated[str | None, typer.Option(help="Split to play (default: the env's test split).")] = None,
    task_id: Annotated[list[str] | None, typer.Option(help="Play this task (repeatable) instead of a split.")] = None,
    limit: Annotated[int | None, typer.Option(help="Play only the first N tasks.")] = None,
    episodes_per_task: Annotated[int, typer.Option(help="Independent episodes per task.")] = 1,
    trials: Annotated[int | None, typer.Option(help="Sequential attempts per task until won [default: 1].")] = None,
    workers: Annotated[int, typer.Option(help="Env worker processes; 0 runs envs in this process.")] = 1,
    executor: Annotated[
        str, typer.Option(help="Where envs run: local (processes here) or ray (actors on a Ray cluster).")
    ] = "local",
    address: Annotated[
        str, typer.Option(help="With --executor ray: auto (the cluster `ray start` runs here), HOST:PORT, or local.")
    ] = "auto",
    max_steps: Annotated[int | None, typer.Option(help="Step cap per episode (default: the env's).")] = None,
    out: Annotated[str | None, typer.Option(help="Output folder (default: runs/ENV-SPLIT-AGENT-POLICY).")] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace a different run found in --out.")] = False,
    seed: Annotated[int, typer.Option(help="Base seed.")] = 0,
    agent_arg: Annotated[list[str] | None, typer.Option(help="Agent setting KEY=VALUE (repeatable).")] = None,
    policy_arg: Annotated[
        list[str] | None, typer.Option(help="Policy setting KEY=VALUE (repeatable), e.g. retry_timeout_s=60.")
    ] = None,
    env_arg: Annotated[list[str] | None, typer.Option(help="gymnasium.make argument KEY=VALUE (repeatable).")] = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
    debug: Annotated[bool, typer.Option(help="Raise agent/policy errors instead of recording them.")] = False,
) -> None:
    """Play episodes and write OUT/episodes.jsonl and OUT/summary.json; re-running resumes."""
    from agentgym.registry import resolve_env_id
    from agentgym.runner import evaluate

    settings: dict[str, Any] = {"agent_kwargs": {}, "env_kwargs": {}}
    if preset is not None:
        from agentgym.presets import preset_arguments

        try:
            settings = preset_arguments(preset)
        except NameNotFound as e:
            raise typer.BadParameter(str(e), param_hint="--preset") from e
    if agent is not None and agent != settings.get("agent"):
        settings["agent_kwargs"] = {}  # a preset's agent settings are for its own agent
    chosen = {"agent": agent, "split": split, "limit": limit, "trials": trials, "max_steps": max_steps}
    settings.update({key: value for key, value in chosen.items() if value is not None})
    settings["agent_kwargs"] = {**settings["agent_kwargs"], **parse_settings(agent_arg)}
    settings["env_kwargs"] = {**settings["env_kwargs"], **parse_settings(env_arg)}
    settings.setdefault("agent", "expert")
    if policy is None:
        from agentgym.policies import DEFAULT_POLICY

        policy = "expert" if settings["agent"] == "expert" else DEFAULT_POLICY
    name = env or settings.pop("env_id", None)
    settings.pop("env_id", None)
    if name is None:
        raise typer.BadParameter("give an env (or a --preset)", param_hint="ENV")
    try:
        env_id = resolve_env_id(name)
    except NameNotFound as e:
        raise typer.BadParameter(str(e), param_hint="ENV") from e
    if out is None:
        parts = (env_id.split("/")[-1].lower(), preset or settings.get("split") or "default", settings["agent"], policy)
        out = str(Path("runs") / "-".join(x.replace(":", "_").replace("/", "_") for x in parts))
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        result = evaluate(
            env_id,
            policy=policy,
            task_ids=task_id or None,
            episodes_per_task=episodes_per_task,
            workers=workers,
            executor=executor,
            ray_address=None if address == "local" else address,
            out=out,
            overwrite=overwrite,
            seed=seed,
            policy_kwargs=parse_settings(policy_arg),
            progress=progress,
            debug=debug,
            **settings,
        )
    except (RunLocked, OutputFolderUnavailable) as e:  # nothing was played, nothing changed
        fail(e, 1)
    except (PolicyUnavailable, OutputError) as e:
        stopped = f"the run stopped; its finished episodes are in {out}: run the same command again to resume"
        fail(f"{e} ({stopped})", 1)
    except Error as e:
        fail(e)
    print_summary(result.summary, result.out)
    failed = result.failed
    if failed:
        played = len(result.records)
        first = "".join(c if c.isprintable() else "?" for c in (failed[0]["error"] or "\n").splitlines()[0][:200])
        text = Text(f"{len(failed)} of {played} episodes ended in an error", style="red")
        text.append(f" (first: {first}); run the same command again to play them again")
        console().print(text, highlight=False, soft_wrap=True)
        raise typer.Exit(3)


@app.command("presets")
def list_presets() -> None:
    """List the paper presets: their settings and published numbers."""
    from agentgym.presets import PRESETS

    table = Table("preset", "env", "split", "agent", "steps", "trials", "published")
    for p in PRESETS.values():
        published = "; ".join(f"{x.method} ({x.model}): {x.value:.1%}" for x in p.published) or "-"
        table.add_row(p.name, p.env_id.split("/")[-1], p.split, p.agent, str(p.max_steps), str(p.trials), published)
    console().print(table)


def print_summary(summary: dict[str, Any], out: Path | None) -> None:
    """Print a run's summary as a table."""

    def fmt(key: str, spec: str) -> str:
        value = summary.get(key)
        return "-" if value is None else format(value, spec)

    table = Table("metric", "value", title=Text(f"{summary['env_id']} ({summary['split']})"))
    table.add_row("episodes", str(summary["episodes"]))
    table.add_row("success rate", fmt("success_rate", ".1%"))
    table.add_row("mean score", fmt("mean_score", ".3f"))
    table.add_row("mean steps", fmt("mean_steps", ".2f"))
    for trial, rate in enumerate(summary.get("success_by_trial", [])):
        table.add_row(f"success after trial {trial}", format(rate, ".1%"))
    table.add_row("errors", str(summary["errors"]))
    table.add_row("wall time", fmt("wall_time_s", ".1f") + " s")
    console().print(table)
    if out is not None:
        say(f"records: {out / 'episodes.jsonl'}\nsummary: {out / 'summary.json'}")


@app.command()
def report(
    runs: Annotated[list[Path], typer.Argument(help="Run output folders.")],
    markdown: Annotated[Path | None, typer.Option(help="Also write the table as Markdown here.")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write the rows as JSON here.")] = None,
    png: Annotated[Path | None, typer.Option(help="Also plot cumulative success by trial to this PNG.")] = None,
) -> None:
    """Compare runs, with the published numbers of their paper presets beside them."""
    from agentgym import report as reporting

    try:
        loaded = [reporting.load_run(folder) for folder in runs]
    except (Error, FileNotFoundError) as e:
        fail(e)
    problems = [problem for run in loaded for problem in run.problems]
    for problem in problems:
        warn(problem)
    table = reporting.rows(loaded)
    terminal = console()
    terminal.print(reporting.rich_table(table, width=terminal.width))
    for warning in reporting.warnings(loaded):
        warn(warning)
    try:
        if markdown is not None:
            markdown.write_text(reporting.markdown(table))
        if json_out is not None:
            warnings = [*problems, *reporting.warnings(loaded)]
            json_out.write_text(json.dumps({"rows": table, "warnings": warnings}, indent=2))
        if png is not None:
            try:
                say(f"plot: {reporting.plot_success_by_trial(loaded, png)}")
            except ImportError as e:
                warn(f"no plot: {e} (pip install 'agentgym[report]')")
    except OSError as e:  # a folder, a read-only place
        fail(f"cannot write {e.filename}: {e.strerror or e}", 1)


@serve_app.command("policy")
def serve_policy(
    backend: Annotated[str, typer.Option(help="sglang (GPU) or llamacpp (CPU).")] = "llamacpp",
    model: Annotated[str | None, typer.Option(help="Model folder (sglang) or GGUF file (llamacpp).")] = None,
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int | None, typer.Option(help="TCP port (default: a free one).")] = None,
    dp_size: Annotated[int, typer.Option(help="SGLang data-parallel replicas (with --router).")] = 1,
    router: Annotated[bool, typer.Option(help="Put sglang-router in front of the replicas.")] = False,
) -> None:
    """Start a model server, wait until it is healthy, print the --policy to use, serve until Ctrl-C."""
    from agentgym.policies import launch_policy_server

    options: dict[str, Any] = {"dp_size": dp_size, "router": router} if backend == "sglang" else {}
    try:
        server = launch_policy_server(backend, model, port, host, **options)
    except SettingError as e:
        fail(e)
    except (Error, OSError) as e:
        fail(e, 1)
    try:  # from here on, the server is stopped however this command ends (a Ctrl-C included)
        if backend == "llamacpp":
            from agentgym.policies.embedded import embedded_gguf_path
            from agentgym.policies.llamacpp import model_alias

            name = model_alias(model or embedded_gguf_path())
        else:
            name = model
        typer.echo(f"serving at {server.base_url}; use --policy openai:{name}@{server.base_url}")
        code = server.wait()
        if code != 0:  # its log is removed when it stops: show how it ended first
            fail(f"the server exited with code {code}: {server.log_tail(3)}", 1)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


@data_app.command("path")
def data_path() -> None:
    """Print where data is looked for (AGENTGYM_DATA, else the per-user cache)."""
    say(str(data.data_root()))


@data_app.command("download")
def data_download(
    name: Annotated[str, typer.Argument(help=f"Dataset: {', '.join(sorted(data.DATASETS))}.")],
    force: Annotated[bool, typer.Option(help="Fetch again even if present and valid.")] = False,
    source: Annotated[
        Path | None,
        typer.Option("--from", help="Install files you fetched by hand (a file, or a folder holding them)."),
    ] = None,
) -> None:
    """Fetch a benchmark's official data files (or install ones fetched by hand) and verify their sha256."""
    try:
        paths = data.download(name, force=force, source=source)
    except NameNotFound as e:
        raise typer.BadParameter(str(e), param_hint="NAME") from e
    except (Error, OSError) as e:
        fail(e, 1)
    for path in paths:
        console().print(Text.assemble(("ok ", "green"), str(path)), highlight=False, soft_wrap=True)


def _add_plugin_commands() -> None:
    """Add every plugin's commands to the app (top level or in their group); one that cannot load is left out."""
    groups = {None: app, "data": data_app, "serve": serve_app}
    for plugin in plugins.collect():
        for command in plugin.commands:
            try:
                if command.group not in groups:
                    raise KeyError(f"no command group {command.group!r} (known: data, serve)")
                groups[command.group].command(command.name)(load_attribute(command.target))
            except Exception as e:  # noqa: BLE001  (a broken plugin must not break the other commands)
                plugins.logger.warning(
                    "plugin %r: command %r (%s) left out: %s: %s", plugin.name, command.name, command.target,
                    type(e).__name__, e,
                )  # fmt: skip


if __name__ == "__main__":  # python -m agentgym.cli: run the module proper, to which the plugins add commands
    from agentgym.cli import app as installed_app

    installed_app()
else:
    _add_plugin_commands()
