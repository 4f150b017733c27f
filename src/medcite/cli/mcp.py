"""``medcite mcp``: the MCP server for AI assistants (stdio, or streamable HTTP with a token)."""

from __future__ import annotations

import click

from medcite.cli import cli
from medcite.settings import Settings
from medcite.store import open_store


@cli.command("mcp")
@click.option("--http", "over_http", is_flag=True,
              help="Serve streamable HTTP on 127.0.0.1 (at /mcp) instead of stdio; needs "
                   "MEDCITE_MCP_TOKEN, which clients send as 'Authorization: Bearer <token>'.")
@click.option("--port", type=click.IntRange(1, 65535), default=8765, show_default=True,
              help="Port for --http.")
@click.option("--allow-writes", is_flag=True,
              help="Store new answers (as Submitted, for review); by default the server is "
                   "read-only (also MEDCITE_MCP_ALLOW_WRITES=1).")
def mcp_command(over_http: bool, port: int, allow_writes: bool) -> None:
    """Serve medcite to MCP clients: tools ask, search, get_article and list_approved, and
    the stored articles as resources (medcite://articles/{id}, medcite://library)."""
    from medcite.mcp_server import require_sdk

    require_sdk()
    from medcite.mcp_server.desk import EvidenceDesk
    from medcite.mcp_server.server import build_server, describe
    from medcite.mcp_server.transport import (
        HOST,
        MCP_PATH,
        check_port,
        checked_token,
        serve_http,
        serve_stdio,
    )

    settings = Settings.load(**({"mcp_allow_writes": True} if allow_writes else {}))
    if over_http:
        checked_token(settings)  # refused before the store is opened or a port is bound
        check_port(port)
    store = open_store(settings)
    try:
        server = build_server(EvidenceDesk(store, settings,
                                           allow_writes=settings.mcp_allow_writes))
        # stdout belongs to the protocol over stdio: what the server says goes to stderr.
        if over_http:
            click.echo(f"{describe(server)}\nserving on http://{HOST}:{port}{MCP_PATH} "
                       "(Ctrl+C stops it)", err=True)
            serve_http(server, settings, port)
        else:
            click.echo(f"{describe(server)}; over stdio", err=True)
            serve_stdio(server)
    except KeyboardInterrupt:
        pass
    finally:
        store.close()
