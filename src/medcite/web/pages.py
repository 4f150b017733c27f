"""Server-rendered pages. They work without JavaScript; every POST form carries a CSRF token."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import AfterValidator

from medcite.errors import AuthError
from medcite.models import Audience, ReviewStatus
from medcite.review.workflow import moves_for
from medcite.web.asks import AskJob, AskState
from medcite.web.security import CSRF_FIELD, MAX_VERSION, check_csrf, rotate_csrf, unicode_text
from medcite.web.services import (
    authenticate,
    decide,
    end_session,
    for_audience,
    require_session_user,
    reverified,
    services,
    session_user,
    start_ask,
    start_resubmission,
    start_session,
)

AUDIENCE_COOKIE = "medcite_audience"
AUDIENCE_COOKIE_MAX_AGE = 365 * 24 * 60 * 60
LIBRARY_PAGE_SIZE = 25
# How long a page that asks waits before showing the progress page instead: the extractive
# backend answers well within it, a language model does not.
ASK_WAIT_SECONDS = 2.0
QUEUE_STATUSES = (ReviewStatus.SUBMITTED, ReviewStatus.UNDER_REVIEW, ReviewStatus.REJECTED,
                  ReviewStatus.APPROVED, ReviewStatus.WITHDRAWN)


async def _csrf_protect(request: Request) -> None:
    if request.method == "POST":
        form = await request.form()  # parsed once; the route's Form fields reuse it
        token = form.get(CSRF_FIELD)
        check_csrf(request, token if isinstance(token, str) else None)


router = APIRouter(include_in_schema=False, dependencies=[Depends(_csrf_protect)])

QuestionField = Annotated[str, Form()]
# Free text a page stores or searches for: no lone surrogates or control characters (NUL, ESC).
Text = Annotated[str, AfterValidator(unicode_text)]


def _page(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> Response:
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def _reader(request: Request, chosen: Audience | None = None) -> Audience:
    """The reader's audience: chosen now, else remembered in the cookie, else clinician."""
    if chosen is not None:
        return chosen
    try:
        return Audience(request.cookies.get(AUDIENCE_COOKIE, Audience.CLINICIAN))
    except ValueError:
        return Audience.CLINICIAN


def _remember(response: Response, audience: Audience) -> Response:
    response.set_cookie(AUDIENCE_COOKIE, audience.value, max_age=AUDIENCE_COOKIE_MAX_AGE,
                        httponly=True, samesite="lax")
    return response


def _article_url(slug: str, audience: Audience) -> str:
    return f"/articles/{slug}?{urlencode({'audience': audience.value})}"


def _after_ask(job: AskJob) -> Response:
    """To the article when it is written, else to the page that follows the answer."""
    url = _article_url(job.article_slug, job.audience) if job.state is AskState.DONE and \
        job.article_slug else f"/asks/{job.id}"
    return _remember(RedirectResponse(url, status_code=303), job.audience)


def _local_path(target: str | None, default: str) -> str:
    """Only same-site paths are followed after sign-in (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    parts = urlsplit(target)
    return default if parts.scheme or parts.netloc else target


@router.get("/")
def home(request: Request) -> Response:
    recent = services(request).articles.library(limit=10)
    return _page(request, "home.html", {"recent": recent, "audience": _reader(request)})


@router.post("/ask")
def ask(request: Request, question: QuestionField,
        audience: Annotated[Audience | None, Form()] = None) -> Response:
    return _after_ask(start_ask(request, question, _reader(request, audience),
                                wait_seconds=ASK_WAIT_SECONDS))


@router.get("/asks/{job_id}")
def ask_progress(request: Request, job_id: str) -> Response:
    """How far the answer has got; the page refreshes itself until the article is there."""
    job = services(request).asks.get(job_id)
    if job.state is AskState.FAILED:
        raise job.failure()
    if job.state is AskState.DONE and job.article_slug:
        return RedirectResponse(_article_url(job.article_slug, job.audience), status_code=303)
    return _page(request, "asking.html", {"job": job})


@router.get("/articles/{slug}")
def article_page(request: Request, slug: str, audience: Audience | None = None,
                 version: Annotated[int | None, Query(ge=1, le=MAX_VERSION)] = None) -> Response:
    web = services(request)
    # Readers get the approved version while a correction is in review; ?version= any other.
    stored = reverified(request, web.articles.get_by_slug(slug, version, served=True),
                        lambda: web.articles.get_by_slug(slug, version, served=True))
    assert stored.id is not None and stored.thread_id is not None
    reader = _reader(request, audience)
    versions = web.articles.versions(stored.id)
    user = session_user(request)
    is_current = stored.version == versions[-1].version
    response = _page(request, "article.html", {
        "article": for_audience(stored, reader),
        "audience": reader,
        "audiences": list(Audience),
        "versions": versions,
        "events": web.articles.events(stored.id),
        "thread": web.articles.thread(stored.thread_id),
        "moves": moves_for(stored.status, user.role) if user and is_current else [],
        "is_current": is_current,
        "lexical_only": web.lexical_only(),
    })
    return _remember(response, reader) if audience is not None else response


@router.post("/articles/{slug}/follow-up")
def follow_up(request: Request, slug: str, question: QuestionField) -> Response:
    parent = services(request).articles.get_by_slug(slug)
    return _after_ask(start_ask(request, question, _reader(request), follow_up_of=parent.id,
                                wait_seconds=ASK_WAIT_SECONDS))


@router.post("/articles/{slug}/review")
def review_action(request: Request, slug: str, to: Annotated[ReviewStatus, Form()],
                  version: Annotated[int, Form(ge=1, le=MAX_VERSION)],
                  comment: Annotated[Text, Form(max_length=4000)] = "") -> Response:
    """A decision on the version the form was shown with (a stale form is refused)."""
    user = require_session_user(request)
    article = services(request).articles.get_by_slug(slug)
    if to is ReviewStatus.SUBMITTED:  # answered again: followed like a question being asked
        return _after_ask(start_resubmission(request, article, user, comment, version,
                                             _reader(request), ASK_WAIT_SECONDS))
    decide(request, article, to, user, comment, version)
    return RedirectResponse(f"/articles/{article.slug}#review", status_code=303)


@router.get("/library")
def library(request: Request, q: Annotated[Text, Query(max_length=200)] = "",
            page: Annotated[int, Query(ge=1, le=10_000)] = 1) -> Response:
    web = services(request)
    found = web.articles.library(q, limit=LIBRARY_PAGE_SIZE + 1, offset=(page - 1) * LIBRARY_PAGE_SIZE)
    return _page(request, "library.html", {
        "articles": found[:LIBRARY_PAGE_SIZE], "q": q, "page": page,
        "more": len(found) > LIBRARY_PAGE_SIZE, "lexical_only": web.lexical_only(),
    })


@router.get("/policy")
def policy(request: Request) -> Response:
    return _page(request, "policy.html", {})


@router.get("/login")
def login_form(request: Request,
               next_path: Annotated[str, Query(alias="next")] = "/review") -> Response:
    return _page(request, "login.html", {"next": _local_path(next_path, "/review"), "failure": None})


@router.post("/login")
def login(request: Request, username: Annotated[str, Form(max_length=64)],
          password: Annotated[str, Form(max_length=1024)],
          next_path: Annotated[str, Form(alias="next")] = "/review") -> Response:
    target = _local_path(next_path, "/review")
    try:
        user = authenticate(request, username, password)
    except AuthError as exc:  # show the form again, with the reason
        return _page(request, "login.html", {"next": target, "failure": str(exc)}, status_code=401)
    start_session(request, user)
    rotate_csrf(request)  # the signed-in session gets a token an anonymous page never saw
    return RedirectResponse(target, status_code=303)


@router.post("/logout")
def logout(request: Request) -> Response:
    end_session(request)
    rotate_csrf(request)
    return RedirectResponse("/", status_code=303)


@router.get("/review")
def review_queue(request: Request) -> Response:
    require_session_user(request)
    articles = services(request).articles
    queue = {status: articles.list(status, limit=100) for status in QUEUE_STATUSES}
    return _page(request, "review.html", {"queue": queue, "flagged": articles.flagged()})


@router.get("/api/v1/docs")
def api_docs(request: Request) -> Response:
    """The API reference, rendered from the OpenAPI schema, offline and without script."""
    return _page(request, "api_docs.html", {"schema": request.app.openapi()})
