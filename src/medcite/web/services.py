"""What the pages and the JSON API share: the store's repositories, limits and the ask step."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from starlette.requests import Request

from medcite.errors import AuthError, BusyError, QueryError, StaleVersionError
from medcite.models import Article, Audience, ReviewStatus
from medcite.review import ArticleRepository, ReviewEvent, ReviewWorkflow, User, UserAccounts
from medcite.review.workflow import check_transition
from medcite.settings import Settings
from medcite.store.base import Store
from medcite.synthesis.base import Progress
from medcite.web.asks import AskJob, AskJobs
from medcite.web.render import RecentlyUsed, stored_version_key
from medcite.web.security import SESSION_MAX_AGE, client_address, unicode_text
from medcite.web.throttle import PasswordChecks, StoreRateLimiter

FAILED_SIGN_INS_PER_MINUTE = 10
ASK_WORKERS = 4
# The cookie carries only this key: a random token naming a session row in the store.
SESSION_KEY = "sid"


@dataclass
class WebServices:
    settings: Settings
    store: Store
    articles: ArticleRepository
    workflow: ReviewWorkflow
    accounts: UserAccounts
    ask_limiter: StoreRateLimiter
    sign_in_attempts: StoreRateLimiter
    password_checks: PasswordChecks
    asks: AskJobs

    @classmethod
    def build(cls, settings: Settings, store: Store) -> WebServices:
        articles = ArticleRepository(store)

        def answer(question: str, audience: Audience, follow_up_of: str | None,
                   progress: Progress | None) -> Article:
            from medcite.answer import ask  # loads retrieval models; import it when used

            return ask(question, audience=audience, follow_up_of=follow_up_of, store=store,
                       settings=settings, progress=progress)

        # An answer not heard from for this long was lost with its process: tokens refresh the
        # job every second, and a silent model call times out (three tries at most).
        stale_after = timedelta(seconds=max(300.0, 3 * settings.openai_timeout + 60))
        return cls(
            settings=settings, store=store, articles=articles,
            workflow=ReviewWorkflow(articles), accounts=UserAccounts(store),
            ask_limiter=StoreRateLimiter(store, "ask", settings.ask_rate_limit),
            sign_in_attempts=StoreRateLimiter(store, "sign_in", FAILED_SIGN_INS_PER_MINUTE),
            password_checks=PasswordChecks(settings.sign_in_concurrency),
            asks=AskJobs(store, answer, workers=ASK_WORKERS, stale_after=stale_after),
        )

    def lexical_only(self) -> str | None:
        """Why this store answers from lexical search alone (None when dense retrieval runs):
        checked on each page, since ``medcite index`` may embed the store while it serves."""
        from medcite.retrieval.setup import store_lexical_reason  # imports the searcher: when used

        return store_lexical_reason(self.store, self.settings)


def services(request: Request) -> WebServices:
    return request.app.state.services


def _accepted_question(request: Request, question: str) -> str:
    """The question, once this client is within its rate limit and the text is usable."""
    web = services(request)
    web.ask_limiter.hit(client_address(request), "questions")
    question = question.strip()
    limit = web.settings.max_question_chars
    if not question:
        raise QueryError("the question is empty")
    try:
        unicode_text(question)
    except ValueError as exc:
        raise QueryError(str(exc)) from None
    if not any(ch.isalnum() for ch in question):  # "???", or only zero-width spaces
        raise QueryError("the question has no words: ask it in words")
    if len(question) > limit:
        raise QueryError(f"the question has {len(question):,} characters; "
                         f"the limit is {limit:,} characters")
    return question


def ask_question(request: Request, question: str, audience: Audience,
                 follow_up_of: str | None = None) -> Article:
    """Run the answer pipeline for one web client and wait for the article.

    The pipeline returns a stored article (a new one, Submitted, or the existing answer).
    """
    question = _accepted_question(request, question)
    return services(request).asks.answer(question, audience, follow_up_of, None)


def start_ask(request: Request, question: str, audience: Audience,
              follow_up_of: str | None = None, wait_seconds: float = 0.0) -> AskJob:
    """Start answering in the background; the job says how far the answer has got. Waits up to
    ``wait_seconds`` so a quick answer is ready at once (an error then raises here)."""
    question = _accepted_question(request, question)
    if follow_up_of is not None:  # an unknown article is a 404 now, not a job that fails later
        services(request).articles.resolve(follow_up_of)
    asks = services(request).asks
    job = asks.start(question, audience, follow_up_of)
    return asks.wait(job.id, wait_seconds) if wait_seconds > 0 else job


def decide(request: Request, article: Article, to: ReviewStatus, user: User,
           comment: str, version: int) -> ReviewEvent:
    """A review decision from a page or the API on ``version``, the version the reviewer
    read (``article`` is the current one), made before it returns (the API's way)."""
    web = services(request)
    assert article.id is not None
    if to is not ReviewStatus.SUBMITTED:
        return web.workflow.move(article.id, to, user, comment, version=version)
    _resubmission(web, article, user, comment, version)(None)
    return web.articles.events(article.id)[-1]


def start_resubmission(request: Request, article: Article, user: User, comment: str,
                       version: int, audience: Audience, wait_seconds: float) -> AskJob:
    """Resubmit in the background, as an ask job the page can follow (a language model may
    take minutes to write the revision); waits up to ``wait_seconds`` for a quick one."""
    asks = services(request).asks
    work = _resubmission(services(request), article, user, comment, version)
    job = asks.start(article.question, audience, article.parent_id, work=work)
    return asks.wait(job.id, wait_seconds)


def _resubmission(web: WebServices, article: Article, user: User, comment: str,
                  version: int) -> Callable[[Progress | None], Article]:
    """Resubmitting (editors and admins) writes a new version: a revision of a rejected article,
    a correction of an approved one (which stays served until the correction is approved) or a
    corrected version of a withdrawn one. The question is answered again from the store as it
    is now, for instance after missing sources were added or a cited one withdrawn. Refused
    here, before the costly regeneration, when the move is not allowed (a correction needs a
    comment) or the editor read another version than the current one (checked again when it is
    stored)."""
    assert article.id is not None
    if version != article.version:
        raise StaleVersionError(version, article.version, article.status.label)
    check_transition(article.status, ReviewStatus.SUBMITTED, user.role, comment)

    def revise(progress: Progress | None) -> Article:
        from medcite.answer import ask

        revised = ask(article.question, follow_up_of=article.parent_id, store=web.store,
                      settings=web.settings, save=False, progress=progress)
        return web.workflow.revise(article.id, revised, user,
                                   comment or "answered again from the store", based_on=version)

    return revise


def reverified(request: Request, article: Article, reread: Callable[[], Article]) -> Article:
    """``article``, after checking it again when a document it cites was deleted or replaced
    and no re-verification covers that yet (ingest re-verifies at the end of a run; this is for
    a run killed before it got there); ``reread`` reads it again."""
    if article.source_changes and article.verification.reverification is None:
        from medcite.review.flags import reverify_pending

        assert article.id is not None
        reverify_pending(services(request).store, article.id)
        return reread()
    return article


_ADAPTED: RecentlyUsed[tuple[str, int, str, str], Article] = RecentlyUsed(1024)


def for_audience(article: Article, audience: Audience) -> Article:
    """The same evidence in language for this reader (worked out once per stored version)."""
    from medcite.synthesis.audience import adapt

    key = stored_version_key(article)
    if key is None:
        return adapt(article, audience)
    adapted = _ADAPTED.get_or_make((*key, audience.value), lambda: adapt(article, audience))
    # The review state is not part of the version's text: take it from the article read now.
    return adapted.model_copy(update={name: getattr(article, name) for name in REVIEW_STATE})


# What an article read from the store has that its version's text does not.
REVIEW_STATE = ("status", "updated_at", "withdrawal", "correction_pending", "source_changes",
                "verification")


def session_user(request: Request) -> User | None:
    """The signed-in user of a page session: the cookie names a session the store still holds
    (signing out, a password change and disabling the account end it). Looked up once per
    request."""
    if "medcite_user" not in request.scope.setdefault("state", {}):
        token = request.session.get(SESSION_KEY)
        request.state.medcite_user = (services(request).accounts.session_user(token)
                                      if isinstance(token, str) else None)
    return request.state.medcite_user


def start_session(request: Request, user: User) -> None:
    """Sign ``user`` in on this browser session (ending the one it had, if any)."""
    end_session(request)
    request.session[SESSION_KEY] = services(request).accounts.start_session(user, SESSION_MAX_AGE)
    request.state.medcite_user = user


def end_session(request: Request) -> None:
    token = request.session.pop(SESSION_KEY, None)
    if isinstance(token, str):
        services(request).accounts.end_session(token)
    request.state.medcite_user = None


def require_session_user(request: Request) -> User:
    user = session_user(request)
    if user is None:
        raise AuthError("sign in as a reviewer to do this")
    return user


def authenticate(request: Request, username: str, password: str) -> User:
    """Check a password; a client with many recent failures must wait, so passwords cannot be
    guessed quickly, while a reviewer's API client can make as many decisions as it needs.

    The attempt is counted before the password is hashed, so concurrent guesses cannot all slip
    under the limit; a correct password (or one never checked because every check slot was
    busy) is given back. The count is the store's, shared by every worker.
    """
    web = services(request)
    attempt = web.sign_in_attempts.hit(client_address(request), "failed sign-in attempts")
    try:
        with web.password_checks.slot():
            user = web.accounts.authenticate(username, password)
    except BusyError:
        web.sign_in_attempts.give_back(attempt)  # nothing was checked
        raise
    web.sign_in_attempts.give_back(attempt)  # a correct password is not a guess
    return user
