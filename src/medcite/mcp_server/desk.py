"""What the MCP tools and resources do, with medcite's own types and errors (no MCP here):
answering through the same entry point as the CLI and the web app (``medcite.answer.ask``),
searching with the same searcher, reading stored articles and the library.

Read-only unless writes are allowed: a question already answered returns its stored article
(approved first), and a new one is answered without saving it, so an assistant's questions
never fill the review queue unasked.
"""

from __future__ import annotations

from medcite.errors import QueryError
from medcite.models import Article, Audience
from medcite.review import ArticleRepository
from medcite.settings import Settings
from medcite.store import Store
from medcite.mcp_server.views import (
    ArticleAnswer,
    Library,
    PassageHit,
    SearchAnswer,
    article_answer,
    library_entry,
)
from medcite.web.security import unicode_text

NOT_STORED = ("not stored: this MCP server is read-only (start it with --allow-writes, or "
              "MEDCITE_MCP_ALLOW_WRITES=1, to store answers as Submitted for human review)")
MAX_SEARCH_RESULTS = 50


def _text(value: str, what: str) -> str:
    """``value`` stripped, refused when it is empty or holds what no question needs (a lone
    surrogate, a control character)."""
    value = value.strip()
    if not value:
        raise QueryError(f"the {what} is empty", hint=f"give the {what} in words")
    try:
        return unicode_text(value)
    except ValueError as exc:
        raise QueryError(f"the {what} is not usable: {exc}") from None


class EvidenceDesk:
    """Answers, searches and articles from one store, for one MCP server."""

    def __init__(self, store: Store, settings: Settings, *, allow_writes: bool) -> None:
        self.store = store
        self.settings = settings
        self.allow_writes = allow_writes
        self.articles = ArticleRepository(store)

    def ask(self, question: str, audience: Audience = Audience.CLINICIAN,
            follow_up_of: str | None = None) -> ArticleAnswer:
        """The article answering ``question`` (a follow-up of ``follow_up_of``)."""
        from medcite.answer import ask  # loads the vocabulary and search models when first used
        from medcite.synthesis.audience import adapt

        question = _text(question, "question")
        follow_up_of = _text(follow_up_of, "follow-up article id") if follow_up_of else None
        if self.allow_writes:  # the pipeline returns the stored answer or stores a new one
            article = ask(question, audience=audience, follow_up_of=follow_up_of,
                          store=self.store, settings=self.settings, save=True)
            return article_answer(article, stored=True)
        parent = self.articles.resolve(follow_up_of) if follow_up_of else None
        existing = self.articles.find_for_question(question,
                                                   parent_id=parent.id if parent else None)
        if existing is not None:
            return article_answer(adapt(existing, audience), stored=True)
        article = ask(question, audience=audience, follow_up_of=parent.id if parent else None,
                      store=self.store, settings=self.settings, save=False)
        return article_answer(article, stored=False, note=NOT_STORED)

    def search(self, query: str, limit: int = 10) -> SearchAnswer:
        """Ranked passages for ``query``, with their documents."""
        from medcite.answer import engine_for

        query = _text(query, "search query")
        if not 1 <= limit <= MAX_SEARCH_RESULTS:
            raise QueryError(f"limit {limit} is out of range: 1 to {MAX_SEARCH_RESULTS}")
        searcher = engine_for(self.store, self.settings).searcher
        analysis = searcher.analyse(query)
        results = searcher.search(analysis, limit=limit)
        return SearchAnswer(
            query=query,
            entities=list(dict.fromkeys(m.concept.name for m in analysis.mentions)),
            dense=searcher.dense_enabled,
            results=[PassageHit(
                rank=i, score=round(r.score, 6), passage=r.passage.key,
                section=r.passage.section, text=r.passage.text, document_id=r.document.id,
                document_key=r.document.key, document_title=r.document.title,
                document_type=r.document.source_type.label, source=r.document.source,
                year=r.document.year, study_design=r.design.value, pmid=r.document.pmid,
                doi=r.document.doi, matched_terms=r.matched_terms)
                for i, r in enumerate(results, 1)])

    def article(self, ref: str, audience: Audience | None = None,
                version: int | None = None) -> Article:
        """A stored article by id or slug: ``version``, or the one readers are served."""
        ref = _text(ref, "article id")
        article = self.articles.resolve(ref, version, served=True)
        if self.allow_writes and article.source_changes \
                and article.verification.reverification is None:
            # A cited document changed and no re-verification covers it yet (the web does
            # the same); a read-only server shows it as not verified instead.
            from medcite.review.flags import reverify_pending

            assert article.id is not None
            reverify_pending(self.store, article.id)
            article = self.articles.resolve(ref, version, served=True)
        if audience is not None:
            from medcite.synthesis.audience import adapt

            article = adapt(article, audience)
        return article

    def get_article(self, ref: str, audience: Audience | None = None,
                    version: int | None = None) -> ArticleAnswer:
        return article_answer(self.article(ref, audience, version), stored=True)

    def library(self, search: str | None = None, limit: int = 50, offset: int = 0) -> Library:
        """Articles with an approved version, most recently updated first."""
        search = _text(search, "search") if search else None
        return Library(articles=[library_entry(s) for s in
                                 self.articles.library(search, limit=limit, offset=offset)])
