"""``medcite mcp --http``: streamable HTTP on 127.0.0.1 behind a bearer token, driven by the
MCP SDK's client (and, for what no well-behaved client sends, by raw HTTP requests)."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import httpx
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp_types import PARSE_ERROR

from tests.mcp.clients import TOKEN, error_text, http_server, payload, run_with
from tests.mcp.conftest import APPROVED_QUESTION, MEDCITE, McpHome, build_home, store_state
from medcite.ingest.prepare import write_documents

INITIALIZE = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-06-18", "capabilities": {},
    "clientInfo": {"name": "raw", "version": "1"}}}
MCP_HEADERS = {"Accept": "application/json, text/event-stream",
               "Content-Type": "application/json"}


@pytest.fixture(scope="module")
def endpoint(mcp_home: McpHome):
    with http_server(mcp_home) as url:
        yield url


def test_the_sdk_client_with_the_token_reads_and_asks(mcp_home: McpHome, endpoint: str) -> None:
    before = store_state(mcp_home)

    async def scenario(client: Client):
        tools = await client.list_tools()
        asked = payload(await client.call_tool("ask", {
            "question": "How should LIPITOR be taken with cyclosporine?"}))
        approved = payload(await client.call_tool("ask", {"question": APPROVED_QUESTION}))
        library = payload(await client.call_tool("list_approved", {"limit": 5}))
        markdown = await client.read_resource(f"medcite://articles/{mcp_home.approved_id}")
        missing = error_text(await client.call_tool("get_article", {"ref": "no-such"}))
        return tools, asked, approved, library, markdown, missing

    tools, asked, approved, library, markdown, missing = run_with(endpoint, scenario)
    assert {tool.name for tool in tools.tools} == {"ask", "search", "get_article",
                                                   "list_approved"}
    assert asked["stored"] is False and asked["review"]["pending_human_review"] is True
    assert asked["references"] and all(ref["type"] for ref in asked["references"])
    assert approved["id"] == mcp_home.approved_id and approved["review"]["status"] == "approved"
    assert [entry["id"] for entry in library["articles"]] == [mcp_home.approved_id]
    assert APPROVED_QUESTION in markdown.contents[0].text
    assert "no article 'no-such'" in missing
    assert store_state(mcp_home) == before


@pytest.mark.parametrize(("headers", "error"), [
    ({}, None),
    ({"Authorization": "Bearer " + "not-the-token-" + "y" * 20}, "invalid_token"),
    ({"Authorization": "Bearer " + TOKEN[:-1]}, "invalid_token"),
    ({"Authorization": "Bearer " + TOKEN + "x"}, "invalid_token"),
    ({"Authorization": f"Basic {TOKEN}"}, "invalid_request"),
    ({"Authorization": "Bearer"}, "invalid_request"),
])
def test_requests_without_the_token_are_refused_401(endpoint: str, headers: dict[str, str],
                                                    error: str | None) -> None:
    response = httpx.post(endpoint, json=INITIALIZE, headers={**MCP_HEADERS, **headers})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith('Bearer realm="medcite"')
    if error:
        assert f'error="{error}"' in response.headers["www-authenticate"]
    body = response.json()["error"]
    assert body["code"] == "unauthenticated" and body["status"] == 401
    assert "Authorization: Bearer" in body["message"] or "not this server's" in body["message"]
    assert "mcp-session-id" not in response.headers  # refused before the MCP layer


def test_the_sdk_client_with_a_wrong_token_cannot_connect(endpoint: str) -> None:
    async def scenario(client: Client):
        return await client.list_tools()

    # The SDK reports the refused handshake as an MCP error from its transport's task group.
    with pytest.raises(ExceptionGroup) as raised:
        run_with(endpoint, scenario, token="a-wrong-token-of-good-length")
    assert raised.group_contains(MCPError, depth=None)


def test_the_right_token_reaches_the_mcp_layer_and_malformed_json_rpc_is_a_400(
        endpoint: str) -> None:
    authorised = {**MCP_HEADERS, "Authorization": f"Bearer {TOKEN}"}
    started = httpx.post(endpoint, json=INITIALIZE, headers=authorised)
    assert started.status_code == 200 and "mcp-session-id" in started.headers
    broken = httpx.post(endpoint, content=b'{"jsonrpc": "2.0", "id": 2, "meth',
                        headers=authorised)
    assert broken.status_code == 400
    assert broken.json()["error"]["code"] == PARSE_ERROR
    not_a_message = httpx.post(endpoint, json=[1, 2], headers=authorised)
    assert not_a_message.status_code == 400 and "error" in not_a_message.json()
    # The SDK's DNS-rebinding guard stays on: a page elsewhere cannot reach the local server.
    foreign = httpx.post(endpoint, json=INITIALIZE,
                         headers={**authorised, "Origin": "http://attacker.example"})
    assert foreign.status_code in (400, 403, 421)


@pytest.mark.parametrize(("token", "words"), [
    (None, "needs a token"),
    ("", "needs a token"),
    ("short", "at least 16"),
])
def test_http_does_not_start_without_a_usable_token(mcp_home: McpHome, token: str | None,
                                                    words: str) -> None:
    env = mcp_home.env() if token is None else mcp_home.env(MEDCITE_MCP_TOKEN=token)
    done = subprocess.run([str(MEDCITE), "mcp", "--http", "--port", "9"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.startswith("error: ") and words in done.stderr
    assert "MEDCITE_MCP_TOKEN" in done.stderr and "Traceback" not in done.stderr


def test_a_port_in_use_is_one_error_line(mcp_home: McpHome) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([str(MEDCITE), "mcp", "--http", "--port", str(port)],
                              env=mcp_home.env(MEDCITE_MCP_TOKEN=TOKEN), capture_output=True,
                              text=True, timeout=60)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip() == (f"error: port {port} on 127.0.0.1 cannot be used (Address "
                                   "already in use) (choose another with --port)")


def test_allow_writes_stores_new_answers_for_review(tmp_path: Path, shared_data: Path) -> None:
    home = build_home(tmp_path / "home", shared_data, approve=False)
    assert store_state(home) == ((), 0)

    async def scenario(client: Client):
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        first = payload(await client.call_tool("ask", {"question": APPROVED_QUESTION}))
        again = payload(await client.call_tool("ask", {"question": APPROVED_QUESTION,
                                                       "audience": "patient"}))
        read = payload(await client.call_tool("get_article", {"ref": first["id"]}))
        return tools, first, again, read

    with http_server(home, "--allow-writes") as url:
        tools, first, again, read = run_with(url, scenario)
    assert tools["ask"].annotations.read_only_hint is False
    assert "stores new answers" in tools["ask"].description
    assert tools["search"].annotations.read_only_hint is True
    assert first["stored"] is True and first["id"] and first["note"] is None
    assert first["review"]["status"] == "submitted" and first["review"]["pending_human_review"]
    assert again["id"] == first["id"] and again["audience"] == "patient"
    assert read["id"] == first["id"] and read["verdict"] == first["verdict"]
    articles, events = store_state(home)
    assert articles == ((first["id"], "submitted", 1, None),) and events == 1


def test_a_changed_source_is_shown_unverified_read_only_and_reverified_with_writes(
        tmp_path: Path, shared_data: Path) -> None:
    from medcite.models import Deletion
    from medcite.review import ArticleRepository
    from medcite.store import SQLiteStore

    home = build_home(tmp_path / "home", shared_data, approve=True)
    store = SQLiteStore(home.store_path)
    try:
        cited = ArticleRepository(store).get(home.approved_id).references[0].document_key
        # A deletion written by an ingest that stopped before re-verifying what it flagged.
        assert write_documents(store, [Deletion(key=cited)]).flagged == 1
    finally:
        store.close()

    def reverification():
        store = SQLiteStore(home.store_path)
        try:
            return ArticleRepository(store).get(home.approved_id).verification.reverification
        finally:
            store.close()

    async def read(client: Client):
        return payload(await client.call_tool("get_article", {"ref": home.approved_id}))

    with http_server(home) as url:
        shown = run_with(url, read)
    assert shown["review"]["verified"] is False
    assert any(line.startswith("A cited source was withdrawn") for line in
               shown["review"]["notices"])
    assert any("Re-verification against the store is pending" in line
               for line in shown["review"]["notices"])
    assert reverification() is None  # the read-only server wrote nothing

    with http_server(home, "--allow-writes") as url:
        checked = run_with(url, read)
    done = reverification()
    assert done is not None and done.no_longer_supported == done.checked > 0
    assert checked["review"]["verified"] is False
    assert any(f"{done.checked} of {done.checked}" in line and "no longer supported" in line
               for line in checked["review"]["notices"])
