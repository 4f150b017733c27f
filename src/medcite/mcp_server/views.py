"""What the MCP tools return: the article, search hits and the library in shapes an assistant
reads at a glance (the full ``Article`` JSON is the ``medcite://articles/{ref}/json`` resource).

Every statement keeps its reference numbers, every reference its type, and every article says
whether it is still pending human review, so an assistant quoting it can say so too.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from medcite.models import Article, Audience, ReviewStatus, Statement
from medcite.review import ArticleSummary
from medcite.web.render import banner, review_notices, searched_lines

ARTICLE_URI = "medcite://articles/{ref}"
ARTICLE_JSON_URI = "medcite://articles/{ref}/json"


class CitedStatement(BaseModel):
    """A sentence of the article and the numbered references that support it."""

    text: str
    citations: list[int] = Field(description="Numbers of the references below.")
    kind: str = Field(description="'clinical' (a verbatim span of a cited source) or "
                                  "'evidence_base' (a fact about what was searched).")
    where: str | None = Field(None, description="The section of the source it comes from.")
    evidence_on_class: str | None = Field(None, description="Set when the evidence is on a "
                                                            "drug class, not the agent itself.")
    plain_words: str | None = Field(None, description="The sentence in plain words (student "
                                                      "and patient audiences).")


class SubSectionView(BaseModel):
    heading: str
    statements: list[CitedStatement]


class SectionView(BaseModel):
    heading: str
    subsections: list[SubSectionView]


class ReferenceView(BaseModel):
    number: int
    type: str = Field(description="Guideline, Research, Drug label or Consumer health.")
    title: str
    source: str | None = None
    year: int | None = None
    study_design: str | None = None
    pmid: str | None = None
    pmcid: str | None = None
    doi: str | None = None
    spl_set_id: str | None = None
    url: str | None = None
    document_key: str


class ReviewState(BaseModel):
    status: str = Field(description="submitted, under_review, approved, rejected, withdrawn; "
                                    "'not_stored' for an answer the read-only server did not "
                                    "save.")
    pending_human_review: bool = Field(description="True unless this version was approved by a "
                                                   "reviewer: then it is for education only.")
    banner: str | None = Field(None, description="The warning the article opens with.")
    notices: list[str] = Field(default_factory=list, description="A correction under review, "
                                                                 "a cited source that changed.")
    verified: bool = Field(description="Whether every shown citation was verified against the "
                                       "store (false while a re-verification is pending).")
    statements_dropped: int = Field(description="Statements dropped because verification "
                                                "failed.")


class ArticleAnswer(BaseModel):
    """A cited, verified medcite article."""

    id: str | None = Field(description="The stored article's id; null when it was not stored.")
    slug: str
    version: int
    stored: bool
    uri: str | None = Field(None, description="The article as a resource (Markdown).")
    question: str
    audience: Audience
    verdict: str = Field(description="The one-line headline.")
    bottom_line: list[CitedStatement]
    emergency_notice: str | None = None
    refusal: str | None = Field(None, description="Set when the question is outside medcite's "
                                                  "scope.")
    sections: list[SectionView]
    references: list[ReferenceView]
    what_was_searched: list[str] = Field(description="Corpus, terms and counts searched.")
    review: ReviewState
    parent_id: str | None = Field(None, description="The article this one follows up.")
    disclaimer: str
    note: str | None = Field(None, description="How this answer was produced, when it matters "
                                               "(not stored by a read-only server).")


class PassageHit(BaseModel):
    rank: int
    score: float
    passage: str = Field(description="The passage key: '<document key>#<ordinal>'.")
    section: str
    text: str
    document_id: int
    document_key: str
    document_title: str
    document_type: str = Field(description="Guideline, Research, Drug label or Consumer health.")
    source: str | None = None
    year: int | None = None
    study_design: str
    pmid: str | None = None
    doi: str | None = None
    matched_terms: list[str]


class SearchAnswer(BaseModel):
    query: str
    entities: list[str] = Field(description="Drugs, supplements and conditions recognised in "
                                            "the query.")
    dense: bool = Field(description="Whether dense (vector) retrieval took part.")
    results: list[PassageHit]


class LibraryEntry(BaseModel):
    id: str
    slug: str
    question: str
    approved_version: int
    status: ReviewStatus = Field(description="Of the current version (a correction may be in "
                                             "review while the approved one is served).")
    updated_at: str
    uri: str


class Library(BaseModel):
    articles: list[LibraryEntry]


def _statement(statement: Statement, audience: Audience) -> CitedStatement:
    return CitedStatement(text=statement.text, citations=statement.citations,
                          kind=statement.kind.value, where=statement.where,
                          evidence_on_class=statement.via_class,
                          plain_words=statement.gloss if audience is not Audience.CLINICIAN
                          else None)


def article_uri(ref: str) -> str:
    return ARTICLE_URI.format(ref=ref)


def article_answer(article: Article, *, stored: bool, note: str | None = None) -> ArticleAnswer:
    """The article as the ``ask`` and ``get_article`` tools return it."""
    status = article.status.value if stored else "not_stored"
    verification = article.verification
    return ArticleAnswer(
        id=article.id if stored else None, slug=article.slug, version=article.version,
        stored=stored, uri=article_uri(article.id) if stored and article.id else None,
        question=article.question, audience=article.audience, verdict=article.headline,
        bottom_line=[_statement(s, article.audience) for s in article.bottom_line],
        emergency_notice=article.emergency_notice, refusal=article.refusal,
        sections=[SectionView(heading=section.heading, subsections=[
            SubSectionView(heading=sub.heading,
                           statements=[_statement(s, article.audience) for s in sub.statements])
            for sub in section.subsections]) for section in article.sections],
        references=[ReferenceView(
            number=r.number, type=r.type_label, title=r.title, source=r.source, year=r.year,
            study_design=r.study_design.value if r.study_design else None, pmid=r.pmid,
            pmcid=r.pmcid, doi=r.doi, spl_set_id=r.spl_set_id, url=r.url,
            document_key=r.document_key) for r in article.references],
        what_was_searched=searched_lines(article.searched),
        review=ReviewState(
            status=status,
            pending_human_review=not stored or article.status is not ReviewStatus.APPROVED,
            banner=banner(article), notices=review_notices(article),
            verified=verification.passed, statements_dropped=verification.dropped),
        parent_id=article.parent_id, disclaimer=article.disclaimer, note=note)


def library_entry(summary: ArticleSummary) -> LibraryEntry:
    assert summary.approved_version is not None  # the library lists approved articles only
    return LibraryEntry(id=summary.id, slug=summary.slug, question=summary.question,
                        approved_version=summary.approved_version, status=summary.status,
                        updated_at=summary.updated_at.isoformat(), uri=article_uri(summary.id))
