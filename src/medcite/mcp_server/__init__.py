"""medcite as a Model Context Protocol server, for AI assistants and MCP clients.

``medcite mcp`` serves over stdio; ``medcite mcp --http`` serves streamable HTTP on 127.0.0.1
behind a bearer token (``transport``). Four tools and the article resources (``server``) do
what ``desk`` does with medcite's own types, shaped for an assistant by ``views``: ``ask``
answers through ``medcite.answer.ask`` like the CLI and the web app, ``search`` ranks passages,
``get_article`` and ``list_approved`` read the store. Read-only unless writes are allowed
(``--allow-writes``, ``MEDCITE_MCP_ALLOW_WRITES``).

Needs the ``mcp`` extra (the official MCP Python SDK): ``pip install 'medcite[mcp]'``.
"""

from __future__ import annotations

from medcite.errors import MissingDependencyError


def require_sdk() -> None:
    """Raise ``MissingDependencyError`` naming the extra when the MCP SDK is not installed."""
    try:
        import mcp.server.mcpserver  # noqa: F401
    except ModuleNotFoundError as exc:
        if exc.name is None or exc.name.split(".")[0] not in ("mcp", "mcp_types"):
            raise
        raise MissingDependencyError("the MCP server's SDK (the 'mcp' package)",
                                     "pip install 'medcite[mcp]'") from exc
