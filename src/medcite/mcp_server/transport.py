"""How the MCP server is reached: stdio for a client that starts it, streamable HTTP on
127.0.0.1 behind a bearer token for one that connects to it.

The HTTP token is a setting (``MEDCITE_MCP_TOKEN``); without one the server does not start.
Every HTTP request must carry ``Authorization: Bearer <token>``, compared in constant time; a
request without it, or with another token, is answered 401 in medcite's error envelope before
the MCP layer sees it. The SDK's DNS-rebinding protection (Host and Origin must be local) stays
on, and uvicorn gets the same request bounds as ``medcite serve``.
"""

from __future__ import annotations

import hmac
import json
import socket

import anyio
from starlette.types import ASGIApp, Receive, Scope, Send

from medcite.errors import ConfigurationError
from medcite.mcp_server.server import MedciteMCPServer
from medcite.settings import Settings

HOST = "127.0.0.1"
MCP_PATH = "/mcp"
MIN_TOKEN_CHARS = 16
_TOKEN_HINT = ("set MEDCITE_MCP_TOKEN to a long random string, e.g. the output of "
               "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'")


def serve_stdio(server: MedciteMCPServer) -> None:
    """Serve over stdin/stdout until the client closes them (stdout carries only protocol)."""
    anyio.run(server.run_stdio_async)


def checked_token(settings: Settings) -> str:
    """The configured HTTP token; a missing or short one is refused before anything listens."""
    token = settings.mcp_token.strip()
    if not token:
        raise ConfigurationError("the MCP server over HTTP needs a token", hint=_TOKEN_HINT)
    if len(token) < MIN_TOKEN_CHARS:
        raise ConfigurationError(f"MEDCITE_MCP_TOKEN has {len(token)} characters; an MCP "
                                 f"token needs at least {MIN_TOKEN_CHARS}", hint=_TOKEN_HINT)
    return token


def check_port(port: int) -> None:
    """Refuse a port something else listens on, in one line (uvicorn would log an error and
    exit 3, which medcite uses for 'not found')."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind((HOST, port))
        except OSError as exc:
            raise ConfigurationError(f"port {port} on {HOST} cannot be used ({exc.strerror})",
                                     hint="choose another with --port") from None


class BearerToken:
    """ASGI middleware: HTTP requests without this bearer token are answered 401."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self._token = token.encode("utf-8")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            refusal = self._refusal(scope)
            if refusal is not None:
                await _unauthorised(send, *refusal)
                return
        await self.app(scope, receive, send)

    def _refusal(self, scope: Scope) -> tuple[str, str] | None:
        """Why the request is refused (the WWW-Authenticate error and a message), if it is."""
        values = [value for name, value in scope["headers"] if name == b"authorization"]
        if not values:
            return "", "send the MCP token as 'Authorization: Bearer <token>'"
        scheme, _, credentials = values[0].partition(b" ")
        if len(values) > 1 or scheme.lower() != b"bearer" or not credentials.strip():
            return "invalid_request", "send one 'Authorization: Bearer <token>' header"
        # compare_digest takes as long whatever prefix of the token a guess gets right.
        if not hmac.compare_digest(credentials.strip(), self._token):
            return "invalid_token", "the bearer token is not this server's MCP token"
        return None


async def _unauthorised(send: Send, error: str, message: str) -> None:
    body = json.dumps({"error": {"code": "unauthenticated", "message": message,
                                 "status": 401}}).encode()
    challenge = 'Bearer realm="medcite"' + (f', error="{error}"' if error else "")
    await send({"type": "http.response.start", "status": 401, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        (b"www-authenticate", challenge.encode())]})
    await send({"type": "http.response.body", "body": body})


def http_app(server: MedciteMCPServer, token: str) -> ASGIApp:
    """The streamable HTTP app at ``MCP_PATH``, behind ``token``."""
    return BearerToken(server.streamable_http_app(streamable_http_path=MCP_PATH, host=HOST),
                       token)


def serve_http(server: MedciteMCPServer, settings: Settings, port: int) -> None:
    """Serve streamable HTTP on 127.0.0.1:``port`` until interrupted."""
    import uvicorn

    from medcite.web.server import uvicorn_options

    app = http_app(server, checked_token(settings))
    uvicorn.run(app, **{**uvicorn_options(settings), "host": HOST, "port": port,
                        "log_level": "warning"})
