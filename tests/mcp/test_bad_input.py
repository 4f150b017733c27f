"""Bad input to the MCP server: each gets an MCP error naming what was wrong, never a
traceback, and the store is left as it was."""

from __future__ import annotations

import json
import subprocess
import threading

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS, INVALID_REQUEST, METHOD_NOT_FOUND, PARSE_ERROR

from tests.mcp.clients import error_text, payload, run_with, stdio
from tests.mcp.conftest import MEDCITE, McpHome, store_state

# (tool, arguments, words the error must contain)
BAD_CALLS = [
    ("prescribe", {"question": "x"}, ["Unknown tool", "prescribe"]),
    ("ask", {}, ["invalid arguments for ask", "question", "required"]),
    ("ask", {"question": 5}, ["invalid arguments for ask", "question", "valid string"]),
    ("ask", {"question": ""}, ["invalid arguments for ask", "question", "at least 1"]),
    ("ask", {"question": "   "}, ["question is empty"]),
    ("ask", {"question": "???"}, ["no words"]),
    ("ask", {"question": "dose of\x00 atorvastatin"}, ["control character U+0000"]),
    ("ask", {"question": "x" * 4001}, ["invalid arguments for ask", "at most 4000"]),
    ("ask", {"question": "dose of atorvastatin", "audience": "doctor"},
     ["invalid arguments for ask", "audience", "'clinician', 'student' or 'patient'"]),
    ("ask", {"question": "dose of atorvastatin", "audeince": "patient"},
     ["takes no argument 'audeince'", "question, audience, follow_up_of"]),
    ("ask", {"question": "what about children?", "follow_up_of": "no-such-article"},
     ["no article 'no-such-article'"]),
    ("ask", {"question": ["dose"]}, ["invalid arguments for ask", "valid string"]),
    ("search", {"query": "statin", "limit": "5"}, ["invalid arguments for search", "limit",
                                                   "valid integer"]),
    ("search", {"query": "statin", "limit": 0}, ["limit", "greater than or equal to 1"]),
    ("search", {"query": "statin", "limit": 51}, ["limit", "less than or equal to 50"]),
    ("search", {"query": "\t"}, ["search query is empty"]),
    ("get_article", {"ref": "no-such-article"}, ["no article 'no-such-article'"]),
    ("get_article", {"ref": None}, ["invalid arguments for get_article", "ref"]),
    ("get_article", {"ref": "APPROVED", "version": 99}, ["has no version 99"]),
    ("get_article", {"ref": "APPROVED", "version": True}, ["version", "valid integer"]),
    ("list_approved", {"limit": -1}, ["limit", "greater than or equal to 1"]),
    ("list_approved", {"offset": -1}, ["offset", "greater than or equal to 0"]),
    ("list_approved", {"search": "statin", "page": 2}, ["takes no argument 'page'"]),
]


def test_bad_tool_calls_are_tool_errors_that_name_the_problem(mcp_home: McpHome) -> None:
    before = store_state(mcp_home)

    async def scenario(client: Client):
        results = []
        for tool, arguments, _ in BAD_CALLS:
            arguments = {k: mcp_home.approved_id if v == "APPROVED" else v
                         for k, v in arguments.items()}
            results.append(error_text(await client.call_tool(tool, arguments)))
        # The server still answers after all of them.
        results.append(payload(await client.call_tool("list_approved", {})))
        return results

    *messages, library = run_with(stdio(mcp_home), scenario)
    for (tool, arguments, words), message in zip(BAD_CALLS, messages, strict=True):
        for word in words:
            assert word in message, (tool, arguments, message)
        assert "Traceback" not in message and "errors.pydantic.dev" not in message
    assert [entry["id"] for entry in library["articles"]] == [mcp_home.approved_id]
    assert store_state(mcp_home) == before


BAD_URIS = [
    ("medcite://articles/no-such-article", "no article 'no-such-article'"),
    ("medcite://articles/no-such-article/json", "no article 'no-such-article'"),
    ("medcite://prescriptions/1", "Unknown resource"),
    ("medcite://articles/..%2F..%2Fetc", "Unknown resource"),
    ("medcite://articles/a/b/c", "Unknown resource"),
]


def test_unknown_resources_are_invalid_params_errors(mcp_home: McpHome) -> None:
    async def scenario(client: Client):
        errors = []
        for uri, _ in BAD_URIS:
            with pytest.raises(MCPError) as raised:
                await client.read_resource(uri)
            errors.append(raised.value)
        return errors

    for (uri, words), error in zip(BAD_URIS, run_with(stdio(mcp_home), scenario), strict=True):
        assert error.code == INVALID_PARAMS and words in error.message, (uri, error.error)


def _raw_exchange(home: McpHome, lines: list[str], replies: int) -> dict[object, dict]:
    """Write ``lines`` to a ``medcite mcp`` process's stdin and read ``replies`` replies
    (stdin stays open until then: a client that hangs up is not waited for); by request id."""
    process = subprocess.Popen([str(MEDCITE), "mcp"], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=home.env())
    watchdog = threading.Timer(120, process.kill)
    watchdog.start()
    try:
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write("\n".join(lines) + "\n")
        process.stdin.flush()
        received = [json.loads(process.stdout.readline()) for _ in range(replies)]
        _, stderr = process.communicate(input="")  # closes stdin: the server stops
    finally:
        watchdog.cancel()
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr, stderr
    assert all(reply["jsonrpc"] == "2.0" for reply in received)
    return {r["id"]: r for r in received if r["id"] is not None} | \
        {"unidentified": [r for r in received if r["id"] is None]}


def test_malformed_json_rpc_over_stdio_is_answered_and_the_server_goes_on(
        mcp_home: McpHome) -> None:
    initialize = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "raw", "version": "1"}}}
    replies = _raw_exchange(mcp_home, [
        "this is not JSON",
        json.dumps(initialize),
        json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        '{"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": "ask"}',
        '{"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "ask"',
        "[1, 2, 3]",
        '{"jsonrpc": "2.0", "id": 4, "method": "medcite/prescribe"}',
        '{"jsonrpc": "1.0", "id": 5, "method": "tools/list"}',
        json.dumps({"jsonrpc": "2.0", "id": 6, "method": "tools/call",
                    "params": {"name": "ask", "arguments": {"question": 7}}}),
        json.dumps({"jsonrpc": "2.0", "id": 7, "method": "tools/list"}),
    ], replies=9)
    assert "result" in replies[1]
    assert replies[2]["error"]["code"] == INVALID_REQUEST
    assert "params" in replies[2]["error"]["data"][0]
    unidentified = replies["unidentified"]
    # Not JSON (twice: the bare text and the cut-off object), then JSON that is no message.
    assert [r["error"]["code"] for r in unidentified] == [PARSE_ERROR, PARSE_ERROR,
                                                          INVALID_REQUEST]
    assert replies[4]["error"]["code"] == METHOD_NOT_FOUND
    assert replies[5]["error"]["code"] == INVALID_REQUEST
    assert replies[6]["result"]["isError"] is True
    assert "question" in replies[6]["result"]["content"][0]["text"]
    assert {tool["name"] for tool in replies[7]["result"]["tools"]} == {
        "ask", "search", "get_article", "list_approved"}
