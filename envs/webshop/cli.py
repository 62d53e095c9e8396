"""``agentgym serve webshop``: the WebShop plugin's command (see :data:`agentgym.envs.webshop.plugin.PLUGIN`)."""

from __future__ import annotations

from typing import Annotated

import typer

from agentgym import validate
from agentgym.cli import fail
from agentgym.error import Error


def serve_webshop(
    host: Annotated[str, typer.Option(help="Interface to bind (0.0.0.0 only on a trusted network).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 3000,
    catalog: Annotated[str, typer.Option(help="Product catalog: 1k or full.")] = "1k",
    goals: Annotated[str, typer.Option(help="Goals: synthetic, human or agentgym.")] = "synthetic",
) -> None:
    """Serve the WebShop site (the original's pages) until Ctrl-C; /<session id> starts a goal."""
    from agentgym.envs.webshop.site import serve

    try:
        validate.host("--host", host)
        validate.port("--port", port)
    except Error as e:
        fail(e)
    typer.echo(f"WebShop on http://{host}:{port}/ ({catalog} catalog, {goals} goals); Ctrl-C stops it")
    try:
        serve(host, port, catalog=catalog, goals=goals)
    except ValueError as e:  # a bad setting
        fail(e)
    except (Error, OSError) as e:
        fail(e, 1)
