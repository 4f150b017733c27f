"""The MCP server: medcite's tools and article resources on the official SDK's ``MCPServer``.

Errors: a ``MedciteError`` from a tool (an empty question, an unknown article) becomes a tool
result with ``isError`` and its one-line message, which the assistant can read and correct;
from a resource, an unknown article is the protocol's invalid-params error and any other
``MedciteError`` an internal error with its message. Malformed JSON-RPC, unknown tools and
arguments that fail the input schema are answered by the SDK before any of this runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError, ToolError
from mcp_types import Resource, ToolAnnotations
from pydantic import Field, ValidationError

from medcite.errors import MedciteError, NotFoundError
from medcite.models import Audience
from medcite.mcp_server.desk import MAX_SEARCH_RESULTS, EvidenceDesk
from medcite.mcp_server.views import (
    ARTICLE_JSON_URI,
    ARTICLE_URI,
    ArticleAnswer,
    Library,
    SearchAnswer,
    article_uri,
)
from medcite.web.security import MAX_VERSION

LIBRARY_URI = "medcite://library"
_T = TypeVar("_T")

_READ_ONLY_ASK = (
    " This server is read-only: a question already answered returns its stored article, a new "
    "one is answered without being stored ('stored': false).")
_WRITING_ASK = (
    " This server stores new answers as Submitted, for human review (writes are allowed).")

Question = Annotated[str, Field(min_length=1, max_length=4000,
                                description="The clinical question, as the reader would ask it.")]
ArticleRef = Annotated[str, Field(min_length=1, max_length=200,
                                  description="An article's id or slug.")]
ResultLimit = Annotated[int, Field(ge=1, le=MAX_SEARCH_RESULTS, strict=True,
                                   description="How many passages to return.")]
LibraryLimit = Annotated[int, Field(ge=1, le=200, strict=True,
                                    description="How many articles to list.")]
Version = Annotated[int, Field(ge=1, le=MAX_VERSION, strict=True)]
Offset = Annotated[int, Field(ge=0, le=MAX_VERSION, strict=True)]


def _tool(work: Callable[[], _T]) -> _T:
    """Run a tool's work; medcite's own errors reach the assistant as their message."""
    try:
        return work()
    except MedciteError as exc:
        raise ToolError(str(exc)) from None


def _problems(exc: ValidationError) -> str:
    """Each failed argument and why, in one line (not the values: they are the caller's)."""
    return "; ".join(f"{'.'.join(str(p) for p in error['loc']) or 'arguments'}: {error['msg']}"
                     for error in exc.errors(include_url=False))


def _resource(work: Callable[[], _T]) -> _T:
    """Run a resource read; an unknown article is the protocol's invalid-params error."""
    try:
        return work()
    except NotFoundError as exc:
        raise ResourceNotFoundError(str(exc)) from None
    except MedciteError as exc:
        raise ResourceError(str(exc)) from None


class MedciteMCPServer(MCPServer[Any]):
    """``MCPServer`` with medcite's edges: tool arguments checked by name, a reply to every
    malformed stdio line, and a resource list naming each approved article."""

    def __init__(self, desk: EvidenceDesk, **options: Any) -> None:
        super().__init__(**options)
        self.desk = desk

    async def call_tool(self, name: str, arguments: dict[str, Any],
                        context: Any = None) -> Any:
        """The SDK's call, with arguments the tool does not take refused (a misspelt
        "audeince" would otherwise be dropped silently) and argument errors in one line."""
        tool = next((t for t in await self.list_tools() if t.name == name), None)
        if tool is not None:
            known = tool.input_schema.get("properties", {})
            unknown = sorted(set(arguments) - set(known))
            if unknown:
                raise ToolError(f"{name} takes no argument {', '.join(map(repr, unknown))}; "
                                f"its arguments are {', '.join(known)}")
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            if isinstance(exc.__cause__, ValidationError):
                raise ToolError(f"invalid arguments for {name}: "
                                f"{_problems(exc.__cause__)}") from None
            if type(exc.__cause__) is ToolError:  # medcite's own message, without the prefix
                raise exc.__cause__ from None
            raise

    async def run_stdio_async(self) -> None:
        """The SDK's stdio loop, with a JSON-RPC error for each line that is not a message
        (the SDK drops those unanswered: ``wire``)."""
        import anyio
        from mcp.server.stdio import stdio_server
        from mcp.shared.message import SessionMessage

        from medcite.mcp_server.wire import malformed_reply

        async with stdio_server() as (read_stream, write_stream):
            messages, received = anyio.create_memory_object_stream[SessionMessage | Exception](0)

            async def screen() -> None:
                async with messages:
                    async for item in read_stream:
                        if isinstance(item, Exception):
                            await write_stream.send(SessionMessage(malformed_reply(item)))
                        else:
                            await messages.send(item)

            async with anyio.create_task_group() as tasks:
                tasks.start_soon(screen)
                # The low-level server is MCPServer's own; run_stdio_async drives it the same way.
                lowlevel = self._lowlevel_server
                await lowlevel.run(received, write_stream, lowlevel.create_initialization_options())
                tasks.cancel_scope.cancel()

    async def list_resources(self) -> list[Resource]:
        import anyio.to_thread

        fixed = await super().list_resources()
        # The most recently updated 200 (list_approved pages through the rest with offset).
        library = await anyio.to_thread.run_sync(lambda: self.desk.library(limit=200))
        return [*fixed, *(Resource(uri=entry.uri, name=entry.slug, title=entry.question,
                                   description=f"Approved article (version "
                                               f"{entry.approved_version}), Markdown",
                                   mime_type="text/markdown")
                          for entry in library.articles)]


def build_server(desk: EvidenceDesk) -> MedciteMCPServer:
    """The MCP server over ``desk``: four tools and the article resources."""
    from medcite import __version__

    writes = desk.allow_writes
    server = MedciteMCPServer(
        desk, name="medcite", version=__version__, log_level="WARNING",
        instructions=(
            "medcite answers clinical questions with cited, verified articles grounded only in "
            "the documents it has indexed. Quote statements with their reference numbers, name "
            "the references, and say when an article is pending human review."))
    reading = ToolAnnotations(read_only_hint=True, open_world_hint=False)

    @server.tool(
        title="Ask a clinical question",
        description=(
            "Answer a clinical question with a cited, verified article: a one-line verdict, "
            "the bottom line, evidence sections whose statements carry numbered citations, "
            "typed references (Guideline, Research, Drug label, Consumer health), what was "
            "searched, and the review status (pending_human_review is true until a reviewer "
            "approves it). Give follow_up_of (an article id) to continue that article's "
            "thread." + (_WRITING_ASK if writes else _READ_ONLY_ASK)),
        annotations=ToolAnnotations(read_only_hint=not writes, destructive_hint=False,
                                    idempotent_hint=True, open_world_hint=False))
    def ask(question: Question, audience: Audience = Audience.CLINICIAN,
            follow_up_of: ArticleRef | None = None) -> ArticleAnswer:
        return _tool(lambda: desk.ask(question, audience, follow_up_of))

    @server.tool(
        title="Search the indexed evidence",
        description=("Ranked passages of the indexed documents for a query, each with its "
                     "document's title, type (Guideline, Research, Drug label, Consumer "
                     "health), id and study design. Read-only."),
        annotations=reading)
    def search(query: Question, limit: ResultLimit = 10) -> SearchAnswer:
        return _tool(lambda: desk.search(query, limit))

    @server.tool(
        title="Read a stored article",
        description=("A stored article by id or slug, with its citations, references and "
                     "review status: the version readers are served (the approved one while a "
                     "correction is in review), or the given version. Read-only."),
        annotations=reading)
    def get_article(ref: ArticleRef, audience: Audience | None = None,
                    version: Version | None = None) -> ArticleAnswer:
        return _tool(lambda: desk.get_article(ref, audience, version))

    @server.tool(
        title="List approved articles",
        description=("Articles a reviewer has approved, most recently updated first, with "
                     "their ids and resource URIs; 'search' filters by words of the "
                     "question, 'offset' skips that many (the next page). Read-only."),
        annotations=reading)
    def list_approved(search: Annotated[str, Field(max_length=200)] | None = None,
                      limit: LibraryLimit = 50, offset: Offset = 0) -> Library:
        return _tool(lambda: desk.library(search, limit, offset))

    @server.resource(LIBRARY_URI, name="library", title="Approved articles",
                     description="The 200 most recently updated approved articles, as JSON.",
                     mime_type="application/json")
    def library() -> str:
        return _resource(lambda: desk.library(limit=200).model_dump_json(indent=2))

    @server.resource(ARTICLE_JSON_URI, name="article-json", title="Article (JSON)",
                     description="A stored article by id or slug: the full article JSON "
                                 "(docs/article.schema.json).",
                     mime_type="application/json")
    def article_json(ref: str) -> str:
        return _resource(lambda: desk.article(ref).model_dump_json(indent=2))

    @server.resource(ARTICLE_URI, name="article", title="Article (Markdown)",
                     description="A stored article by id or slug, as Markdown with its "
                                 "review status, citations and references.",
                     mime_type="text/markdown")
    def article_markdown(ref: str) -> str:
        from medcite.web.render import render_markdown

        return _resource(lambda: render_markdown(desk.article(ref)))

    return server


def describe(server: MedciteMCPServer) -> str:
    """One line saying what the server offers, for the command's start-up message."""
    mode = "read-write" if server.desk.allow_writes else "read-only"
    return (f"medcite MCP server ({mode}): tools ask, search, get_article, list_approved; "
            f"resources {LIBRARY_URI}, {article_uri('{ref}')}[/json]")

