"""The MCP SDK's own client against real ``medcite mcp`` processes."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import anyio
import httpx2
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp_types import CallToolResult

from tests.mcp.conftest import MEDCITE, McpHome

T = TypeVar("T")
TOKEN = "test-token-" + "x" * 24


def stdio(home: McpHome, *args: str, **env: str) -> StdioServerParameters:
    """``medcite mcp`` over stdio on ``home``, started by the client."""
    return StdioServerParameters(command=str(MEDCITE), args=["mcp", *args], env=home.env(**env))


def run_with(server: StdioServerParameters | str, scenario: Callable[[Client], Awaitable[T]],
             token: str | None = TOKEN) -> T:
    """Connect the SDK client (stdio parameters, or a streamable HTTP URL sent ``token``) and
    run ``scenario`` with it."""

    async def main() -> T:
        if isinstance(server, str):
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            async with httpx2.AsyncClient(headers=headers, timeout=60) as http:
                async with Client(streamable_http_client(server, http_client=http)) as client:
                    return await scenario(client)
        async with Client(server, read_timeout_seconds=60) as client:
            return await scenario(client)

    return anyio.run(main)


def payload(result: CallToolResult) -> dict[str, Any]:
    """A successful tool result's structured content (the same JSON as its text)."""
    assert not result.is_error, result.content
    assert result.structured_content is not None
    assert json.loads(result.content[0].text) == result.structured_content
    return result.structured_content


def error_text(result: CallToolResult) -> str:
    """A failed tool call's message (a tool error, not a protocol error)."""
    assert result.is_error, result.structured_content
    return " ".join(block.text for block in result.content)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def http_server(home: McpHome, *args: str, token: str = TOKEN) -> Iterator[str]:
    """``medcite mcp --http`` on a free port, until the block ends; yields the endpoint URL."""
    port = free_port()
    process = subprocess.Popen([str(MEDCITE), "mcp", "--http", "--port", str(port), *args],
                               env=home.env(MEDCITE_MCP_TOKEN=token), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, f"medcite mcp --http exited: {process.communicate()}"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "medcite mcp --http did not start listening"
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        try:
            _, stderr = process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            _, stderr = process.communicate()
    assert "Traceback" not in stderr, stderr


def normalised(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()
