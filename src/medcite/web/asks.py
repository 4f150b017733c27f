"""Questions being answered, one job each, kept in the store so any server process can show one.

A language model on a CPU takes tens of seconds to write an article. The request that receives
a question starts the answer on a worker thread and waits a moment: a quick answer (the
extractive backend) goes straight to its article, a slow one to a page that shows how far the
model has got. The job's row is the progress record, so the page works behind several server
processes, and a job whose process died is reported as failed instead of "writing" forever.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, Field

from medcite.errors import MedciteError, NotFoundError
from medcite.models import Article, Audience
from medcite.store.base import Store
from medcite.store.records import AskJobRow
from medcite.synthesis.base import Progress

log = logging.getLogger(__name__)

PROGRESS_WRITE_INTERVAL_S = 1.0  # token counts reach the store at most this often
KEEP_FINISHED = timedelta(days=1)

# The pipeline: question, audience, article followed up (if any), progress callback.
Answer = Callable[[str, Audience, str | None, Progress | None], Article]
# Other work that writes an article, such as answering a rejected article's question again.
Work = Callable[[Progress | None], Article]


class AskState(StrEnum):
    WRITING = "writing"
    DONE = "done"
    FAILED = "failed"


class ErrorBody(BaseModel):
    """The one error shape of the web app (also how a failed ask job reports its error)."""

    code: str = Field(examples=["not_found"])
    message: str
    status: int = Field(examples=[404])


class AskJob(BaseModel):
    """A question being answered, or answered: how far it has got and where the article is."""

    id: str
    question: str
    audience: Audience
    follow_up_of: str | None = None
    state: AskState
    tokens: int = Field(0, description="Tokens the language model has written so far.")
    article_id: str | None = None
    article_slug: str | None = None
    error: ErrorBody | None = None
    started_at: datetime
    updated_at: datetime

    @property
    def seconds(self) -> float:
        return max(0.0, (datetime.now(UTC) - self.started_at).total_seconds())

    def failure(self) -> MedciteError:
        """The stored error as an exception, so the edges translate it like any other."""
        assert self.error is not None
        error = MedciteError(self.error.message)
        error.code, error.http_status = self.error.code, self.error.status
        return error


def _job(row: AskJobRow) -> AskJob:
    error = ErrorBody(code=row.error_code, status=row.error_status or 500,
                      message=row.error_message or "") if row.error_code else None
    return AskJob(id=row.id, question=row.question, audience=Audience(row.audience),
                  follow_up_of=row.follow_up_of, state=AskState(row.state), tokens=row.tokens,
                  article_id=row.article_id, article_slug=row.article_slug, error=error,
                  started_at=datetime.fromisoformat(row.started_at),
                  updated_at=datetime.fromisoformat(row.updated_at))


def _now() -> str:
    return datetime.now(UTC).isoformat()


class AskJobs:
    """Starts answers on a small thread pool and records their progress in the store."""

    def __init__(self, store: Store, answer: Answer, *, workers: int = 4,
                 stale_after: timedelta = timedelta(minutes=5)) -> None:
        self.store = store
        self.answer = answer
        self.stale_after = stale_after
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="medcite-ask")
        self._running: dict[str, Future[Article]] = {}
        self._lock = threading.Lock()

    def start(self, question: str, audience: Audience, follow_up_of: str | None = None,
              work: Work | None = None) -> AskJob:
        """Answer ``question`` in the background (or do ``work``, which writes its article)."""
        job_id = secrets.token_urlsafe(12)
        now = _now()

        forget = (datetime.now(UTC) - KEEP_FINISHED).isoformat()
        self.store.ask_jobs.start(job_id, question, audience.value, follow_up_of, at=now,
                                  forget_finished_before=forget)
        job: Work = work or (lambda progress: self.answer(question, audience, follow_up_of, progress))
        future = self._pool.submit(self._run, job_id, question, job)
        with self._lock:
            self._running[job_id] = future
        future.add_done_callback(lambda _: self._forget(job_id))
        return self.get(job_id)

    def wait(self, job_id: str, seconds: float) -> AskJob:
        """The job once finished or after ``seconds``; an answer that failed in this process
        raises its original error here."""
        with self._lock:
            future = self._running.get(job_id)
        if future is not None:
            try:
                future.result(timeout=seconds)
            except FutureTimeout:
                pass
        return self.get(job_id)

    def get(self, job_id: str) -> AskJob:
        row = self.store.ask_jobs.get(job_id)
        if row is None:
            raise NotFoundError(f"no question is being answered under {job_id!r}")
        job = _job(row)
        if job.state is AskState.WRITING and datetime.now(UTC) - job.updated_at > self.stale_after:
            # Nothing has been heard for longer than any answer takes: the process that ran it
            # stopped (a restart or a crash).
            return job.model_copy(update={"state": AskState.FAILED, "error": ErrorBody(
                code="backend_error", status=502,
                message="the server stopped before the answer was finished; ask again")})
        return job

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    # -- the worker ---------------------------------------------------------------------------

    def _forget(self, job_id: str) -> None:
        with self._lock:
            self._running.pop(job_id, None)

    def _run(self, job_id: str, question: str, work: Work) -> Article:
        last_write = 0.0

        def progress(tokens: int) -> None:
            nonlocal last_write
            if time.monotonic() - last_write >= PROGRESS_WRITE_INTERVAL_S:
                last_write = time.monotonic()
                self.store.ask_jobs.progress(job_id, tokens, _now())

        try:
            article = work(progress)
        except MedciteError as exc:
            self._fail(job_id, exc.code, exc.http_status, str(exc))
            raise
        except Exception:
            log.exception("answering %r failed", question)
            self._fail(job_id, "internal_error", 500, "an unexpected error occurred")
            raise
        self.store.ask_jobs.finish(job_id, article.id, article.slug, _now())
        return article

    def _fail(self, job_id: str, code: str, status: int, message: str) -> None:
        self.store.ask_jobs.fail(job_id, code, status, message, _now())
