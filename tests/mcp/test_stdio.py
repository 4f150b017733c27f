"""``medcite mcp`` over stdio, driven by the MCP SDK's client, on a real store."""

from __future__ import annotations

import json

from mcp import Client

from medcite.models import Article
from medcite.store import SQLiteStore
from tests.mcp.clients import normalised, payload, run_with, stdio
from tests.mcp.conftest import APPROVED_QUESTION, McpHome, store_state

REFERENCE_TYPES = {"Guideline", "Research", "Drug label", "Consumer health"}
NEW_QUESTION = "What are the side effects of adalimumab?"


def _cited_text(home: McpHome, document_key: str) -> str:
    store = SQLiteStore(home.store_path)
    try:
        return normalised(" ".join(p.text for p in store.passages_of(document_key)))
    finally:
        store.close()


def assert_grounded(home: McpHome, article: dict) -> None:
    """Every clinical statement cites references the article lists, and its words are the
    cited document's."""
    numbers = {ref["number"]: ref for ref in article["references"]}
    assert numbers, "no references"
    assert all(ref["type"] in REFERENCE_TYPES for ref in numbers.values())
    statements = [*article["bottom_line"],
                  *(s for section in article["sections"] for sub in section["subsections"]
                    for s in sub["statements"])]
    clinical = [s for s in statements if s["kind"] == "clinical"]
    assert clinical, "no clinical statement"
    for statement in clinical:
        assert statement["citations"] and set(statement["citations"]) <= set(numbers)
        sources = " ".join(_cited_text(home, numbers[n]["document_key"])
                           for n in statement["citations"])
        assert normalised(statement["text"]) in sources, statement["text"]


def test_lists_tools_resources_and_templates(mcp_home: McpHome) -> None:
    async def scenario(client: Client):
        return (await client.list_tools(), await client.list_resources(),
                await client.list_resource_templates())

    tools, resources, templates = run_with(stdio(mcp_home), scenario)
    by_name = {tool.name: tool for tool in tools.tools}
    assert set(by_name) == {"ask", "search", "get_article", "list_approved"}
    # Read-only by default, and the description says what that means for ask.
    assert all(tool.annotations.read_only_hint for tool in by_name.values())
    assert "read-only" in by_name["ask"].description
    assert by_name["ask"].input_schema["required"] == ["question"]
    assert set(by_name["ask"].input_schema["properties"]) == {"question", "audience",
                                                              "follow_up_of"}
    uris = {str(r.uri): r for r in resources.resources}
    approved = uris[f"medcite://articles/{mcp_home.approved_id}"]
    assert approved.title == APPROVED_QUESTION and approved.mime_type == "text/markdown"
    assert "medcite://library" in uris
    assert {t.uri_template for t in templates.resource_templates} == {
        "medcite://articles/{ref}", "medcite://articles/{ref}/json"}


def test_ask_answers_a_new_question_with_a_grounded_article_and_stores_nothing(
        mcp_home: McpHome) -> None:
    before = store_state(mcp_home)

    async def scenario(client: Client):
        return (payload(await client.call_tool("ask", {"question": NEW_QUESTION})),
                payload(await client.call_tool("ask", {"question": NEW_QUESTION,
                                                       "audience": "patient"})))

    clinician, patient = run_with(stdio(mcp_home), scenario)
    assert clinician["question"] == NEW_QUESTION and clinician["verdict"]
    assert_grounded(mcp_home, clinician)
    assert any(ref["type"] == "Drug label" and "HUMIRA" in ref["title"]
               for ref in clinician["references"])
    assert clinician["stored"] is False and clinician["id"] is None
    assert clinician["review"]["status"] == "not_stored"
    assert clinician["review"]["pending_human_review"] is True
    assert "pending human review" in clinician["review"]["banner"]
    assert "read-only" in clinician["note"] and clinician["disclaimer"]
    assert clinician["what_was_searched"]
    assert patient["audience"] == "patient" and patient["references"] == clinician["references"]
    assert store_state(mcp_home) == before


def test_ask_returns_the_approved_article_for_its_question(mcp_home: McpHome) -> None:
    async def scenario(client: Client):
        return payload(await client.call_tool("ask", {"question": APPROVED_QUESTION}))

    article = run_with(stdio(mcp_home), scenario)
    assert article["id"] == mcp_home.approved_id and article["stored"] is True
    assert article["review"] == {**article["review"], "status": "approved",
                                 "pending_human_review": False, "banner": None}
    assert article["uri"] == f"medcite://articles/{mcp_home.approved_id}"
    assert "80 mg" in article["verdict"]
    assert_grounded(mcp_home, article)


def test_follow_up_continues_the_thread_without_storing(mcp_home: McpHome) -> None:
    before = store_state(mcp_home)

    async def scenario(client: Client):
        return payload(await client.call_tool("ask", {
            "question": "What about in children?", "follow_up_of": mcp_home.approved_slug}))

    article = run_with(stdio(mcp_home), scenario)
    assert article["parent_id"] == mcp_home.approved_id and article["stored"] is False
    assert article["references"] and article["verdict"]
    assert store_state(mcp_home) == before


def test_search_get_article_list_approved_and_resources(mcp_home: McpHome) -> None:
    async def scenario(client: Client):
        found = payload(await client.call_tool("search", {"query": "muscle pain",
                                                          "limit": 3}))
        by_id = payload(await client.call_tool("get_article", {"ref": mcp_home.approved_id}))
        by_slug = payload(await client.call_tool("get_article", {
            "ref": mcp_home.approved_slug, "audience": "student"}))
        library = payload(await client.call_tool("list_approved", {}))
        missing = payload(await client.call_tool("list_approved", {"search": "warfarin"}))
        next_page = payload(await client.call_tool("list_approved", {"offset": 1}))
        markdown = await client.read_resource(f"medcite://articles/{mcp_home.approved_slug}")
        as_json = await client.read_resource(f"medcite://articles/{mcp_home.approved_id}/json")
        listing = await client.read_resource("medcite://library")
        return found, by_id, by_slug, library, (missing, next_page), markdown, as_json, listing

    found, by_id, by_slug, library, (missing, next_page), markdown, as_json, listing = run_with(
        stdio(mcp_home), scenario)
    hits = found["results"]
    assert [hit["rank"] for hit in hits] == [1, 2, 3]
    assert [hit["score"] for hit in hits] == sorted((hit["score"] for hit in hits), reverse=True)
    assert {"Drug label", "Consumer health"} <= {hit["document_type"] for hit in hits}
    for hit in hits:
        assert hit["document_id"] > 0 and hit["passage"].startswith(hit["document_key"] + "#")
        assert hit["document_title"] and "pain" in hit["text"].lower()
    assert by_id["id"] == by_slug["id"] == mcp_home.approved_id
    assert by_slug["audience"] == "student" and by_id["review"]["status"] == "approved"
    assert [entry["id"] for entry in library["articles"]] == [mcp_home.approved_id]
    assert library["articles"][0]["approved_version"] == 1
    assert missing["articles"] == next_page["articles"] == []
    text = markdown.contents[0]
    assert text.mime_type == "text/markdown"
    assert text.text.startswith(f"# {APPROVED_QUESTION}") and "Review status: Approved" in text.text
    article = Article.model_validate_json(as_json.contents[0].text)
    assert article.id == mcp_home.approved_id and article.references
    assert json.loads(listing.contents[0].text)["articles"][0]["id"] == mcp_home.approved_id
