"""The JSON API under ``/api/v1``.

Reading and asking need no account. A review decision needs a reviewer, editor or admin account,
sent as HTTP Basic credentials on that request (API clients hold no session, so there is no
CSRF token to manage); serve it behind HTTPS when it leaves the local machine.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.security import HTTPBasic, HTTPBasicCredentials
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from medcite.errors import AuthError
from medcite.models import Article, Audience, ReviewStatus
from medcite.review import ArticleSummary, ArticleVersion, ReviewEvent, User
from medcite.web.asks import AskJob, ErrorBody
from medcite.web.security import MAX_VERSION, unicode_text

# JSON may carry lone surrogates ("\ud800") that no store or page can encode, and control
# characters (NUL, ESC) no question or comment needs: refused as 422.
Text = Annotated[str, AfterValidator(unicode_text)]
# An article id or slug (slugs are at most a few dozen characters).
ArticleRef = Annotated[str, Field(max_length=200), AfterValidator(unicode_text)]
from medcite.web.services import (
    ask_question,
    authenticate,
    decide,
    for_audience,
    reverified,
    services,
    start_ask,
)


class ErrorEnvelope(BaseModel):
    """The shape of every error response."""

    error: ErrorBody


class _Body(BaseModel):
    """A request body: a field it does not know (a misspelt "audeince") is refused, not
    silently ignored."""

    model_config = ConfigDict(extra="forbid")


class AskRequest(_Body):
    question: Text = Field(description="The clinical question, as the reader would ask it.")
    audience: Audience = Audience.CLINICIAN
    follow_up_of: ArticleRef | None = Field(None, description="Id of the article this question "
                                                             "follows.")


class FollowUpRequest(_Body):
    question: Text
    audience: Audience = Audience.CLINICIAN


class ReviewRequest(_Body):
    to: ReviewStatus = Field(description="under_review, approved, rejected; withdrawn (editors "
                                         "and admins, with a reason); or submitted to write a "
                                         "new version answered again from the store: a "
                                         "revision of a rejected article, a correction of an "
                                         "approved one (the approved version stays served "
                                         "until the correction is approved) or of a withdrawn "
                                         "one (editors and admins; a correction needs a "
                                         "comment).")
    version: int = Field(ge=1, le=MAX_VERSION, strict=True,  # true is not version 1
                         description="The version the reviewer read; a decision on a version "
                                     "that is no longer current is refused (409, "
                                     "stale_version, naming the current version).")
    comment: Text = Field("", max_length=4000, description="Required when rejecting or "
                                                           "withdrawing, and for a correction.")


class ArticleList(BaseModel):
    articles: list[ArticleSummary]


class EventList(BaseModel):
    events: list[ReviewEvent]


class VersionList(BaseModel):
    versions: list[ArticleVersion]


def _errors(*statuses: int) -> dict[int | str, dict]:
    return {status: {"model": ErrorEnvelope} for status in statuses}


router = APIRouter(prefix="/api/v1", tags=["articles"], responses=_errors(400, 404, 413, 422))
_basic = HTTPBasic(auto_error=False, realm="medcite",
                   description="A reviewer, editor or admin account (medcite user add).")


def reviewer(request: Request,
             credentials: Annotated[HTTPBasicCredentials | None, Depends(_basic)]) -> User:
    if credentials is None:
        raise AuthError("send the credentials of a reviewer account (HTTP Basic)")
    return authenticate(request, credentials.username, credentials.password)


@router.post("/ask", response_model=Article, responses=_errors(429))
def ask(request: Request, body: AskRequest) -> Article:
    """Answer a question with a cited article (or return the stored answer to it)."""
    return ask_question(request, body.question, body.audience, body.follow_up_of)


@router.post("/asks", response_model=AskJob, status_code=202, responses=_errors(429))
def start_asking(request: Request, body: AskRequest) -> AskJob:
    """Start answering a question without waiting (a language model can take a minute).

    Poll ``GET /api/v1/asks/{id}``: ``tokens`` counts what the model has written so far; when
    ``state`` is ``done`` the article is at ``article_slug``, when ``failed`` ``error`` says why.
    """
    return start_ask(request, body.question, body.audience, body.follow_up_of)


@router.get("/asks/{job_id}", response_model=AskJob)
def asking(request: Request, job_id: str) -> AskJob:
    """How far the answer to a question started with ``POST /api/v1/asks`` has got."""
    return services(request).asks.get(job_id)


@router.get("/articles", response_model=ArticleList)
def list_articles(
    request: Request,
    status: ReviewStatus | None = None,
    q: Annotated[Text | None, Query(max_length=200, description="Words of the question.")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_VERSION)] = 0,
) -> ArticleList:
    """Stored articles, most recently updated first."""
    return ArticleList(articles=services(request).articles.list(status, q, limit=limit,
                                                                offset=offset))


@router.get("/articles/{id_or_slug}", response_model=Article)
def get_article(request: Request, id_or_slug: str, audience: Audience | None = None,
                version: Annotated[int | None, Query(ge=1, le=MAX_VERSION)] = None) -> Article:
    """One article, optionally for a reader: ``version``, or else the version readers are
    served (the approved one while a correction is in review: ``correction_pending`` names the
    correction's version; otherwise the latest). When a cited document was deleted or
    replaced since the version was stored, ``source_changes`` lists it and ``verification``
    holds the re-verification against the store (``passed`` is its outcome)."""
    articles = services(request).articles
    article = reverified(request, articles.resolve(id_or_slug, version, served=True),
                         lambda: articles.resolve(id_or_slug, version, served=True))
    return for_audience(article, audience) if audience is not None else article


@router.post("/articles/{id_or_slug}/follow-up", response_model=Article, responses=_errors(429))
def follow_up(request: Request, id_or_slug: str, body: FollowUpRequest) -> Article:
    """Ask a question that continues the article's thread."""
    parent = services(request).articles.resolve(id_or_slug)
    return ask_question(request, body.question, body.audience, follow_up_of=parent.id)


@router.post("/articles/{id_or_slug}/review", response_model=ReviewEvent,
             responses=_errors(401, 403, 409, 429))
def review(request: Request, id_or_slug: str, body: ReviewRequest,
           user: Annotated[User, Depends(reviewer)]) -> ReviewEvent:
    """Move the article's current version to another review status (see /policy).

    ``withdrawn`` takes it out of service (editors and admins, with a reason). ``submitted``
    stores a new version answered again from the store (editors and admins): a revision of a
    rejected article, or a correction of an approved or withdrawn one, with a comment saying
    what it corrects.
    """
    return decide(request, services(request).articles.resolve(id_or_slug), body.to, user,
                  body.comment, body.version)


def _article_id(request: Request, id_or_slug: str) -> str:
    article = services(request).articles.resolve(id_or_slug)
    assert article.id is not None
    return article.id


@router.get("/articles/{id_or_slug}/events", response_model=EventList)
def events(request: Request, id_or_slug: str) -> EventList:
    """Every recorded review move of the article, oldest first."""
    article_id = _article_id(request, id_or_slug)
    return EventList(events=services(request).articles.events(article_id))


@router.get("/articles/{id_or_slug}/versions", response_model=VersionList)
def versions(request: Request, id_or_slug: str) -> VersionList:
    """The article's versions and which one is approved."""
    article_id = _article_id(request, id_or_slug)
    return VersionList(versions=services(request).articles.versions(article_id))

