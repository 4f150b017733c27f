"""Stored articles: every version kept, review events recorded, approved text never rewritten.

An article row holds what lists and look-ups need (slug, normalised question, thread, review
status of the current version, which version was approved); each version's full ``Article`` JSON
is an immutable row of ``article_versions``. A version's review status is the last event recorded
for it, so an older approved version still reads as approved after a revision is submitted.

A correction of an approved article is a new version in review; until it is approved the
approved version is the one served (``served=True``), saying that a correction is under review.
Withdrawing an article clears its approved version: it is no longer served or listed, and every
version read says who withdrew it, when and why. A version read also lists the cited documents
deleted or replaced since it was stored, with its re-verification against the store
(``review.flags``); its ``verification.passed`` is then that re-verification's outcome.
"""

from __future__ import annotations

import builtins
import json
import re
import secrets
import sqlite3
import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime

from pydantic import BaseModel

from medcite.errors import NotFoundError, StaleVersionError
from medcite.models import (
    Article,
    Reverification,
    ReviewStatus,
    SourceChange,
    SourceChangeKind,
    Withdrawal,
)
from medcite.store import articles as sql
from medcite.store import audit
from medcite.store import flags as flag_sql
from medcite.store.sqlite import SQLiteStore

SYSTEM_ACTOR = "system"
SLUG_MAX_CHARS = 80
_ID_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"  # no look-alikes (l/1, o/0) in links read aloud
# Sentence-final marks, including the ideographic and full-width ones.
_TRAILING_PUNCTUATION = ".?!,;:\u2026\u3002\uff1f\uff01 \t\n"
_SUMMARY_COLUMNS = ("id, slug, question, status, current_version, approved_version, thread_id, "
                    "parent_id, created_at, updated_at")


class ArticleSummary(BaseModel):
    """An article as lists show it, without its content."""

    id: str
    slug: str
    question: str
    status: ReviewStatus
    current_version: int
    approved_version: int | None
    thread_id: str
    parent_id: str | None
    created_at: datetime
    updated_at: datetime


class ArticleVersion(BaseModel):
    version: int
    status: ReviewStatus
    created_at: datetime
    created_by: str
    approved: bool


class ReviewEvent(BaseModel):
    """One recorded move of an article version from one review status to another."""

    article_id: str
    version: int
    from_status: ReviewStatus | None
    to_status: ReviewStatus
    actor: str
    comment: str
    at: datetime


# Typographic variants of one character: a question typed on a phone and on a keyboard is one.
_FOLDED = str.maketrans({"\u2018": "'", "\u2019": "'", "\u02bc": "'", "\u2032": "'", "\u201c": '"',
                         "\u201d": '"', "\u2033": '"', "\u2013": "-", "\u2014": "-", "\u2212": "-"})


def normalise_question(question: str) -> str:
    """The key for re-use: compatibility forms folded (NFKC, curly quotes, dashes), invisible
    characters (zero-width space, soft hyphen, BOM) dropped, lower case, whitespace collapsed,
    trailing punctuation dropped."""
    text = unicodedata.normalize("NFKC", question).translate(_FOLDED)
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    return " ".join(text.lower().split()).rstrip(_TRAILING_PUNCTUATION)


def slugify(question: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", question).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    if len(slug) > SLUG_MAX_CHARS:
        slug = slug[:SLUG_MAX_CHARS].rsplit("-", 1)[0]
    return slug or "article"


def _random_token(length: int) -> str:
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _summary(row: tuple) -> ArticleSummary:
    return ArticleSummary(
        id=row[0], slug=row[1], question=row[2], status=ReviewStatus(row[3]),
        current_version=row[4], approved_version=row[5], thread_id=row[6], parent_id=row[7],
        created_at=datetime.fromisoformat(row[8]), updated_at=datetime.fromisoformat(row[9]),
    )


def _check_version(current: ArticleSummary, version: int | None) -> None:
    if version is not None and version != current.current_version:
        raise StaleVersionError(version, current.current_version, current.status.label)


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class ArticleRepository:
    """Articles, their versions and review events in the store; all writes use one transaction."""

    def __init__(self, store: SQLiteStore) -> None:
        self.store = store

    # -- writing -----------------------------------------------------------------------------

    def save_new(self, article: Article) -> Article:
        """Store a generated article as version 1, Submitted; returns it with id and slug set."""
        saved = self._insert_new(article, reuse=False)
        assert saved is not None
        return saved

    def save_answer(self, article: Article) -> Article:
        """Store a freshly written answer, unless the question was answered meanwhile (two
        readers asked it at once, in this process or another): then the stored answer, approved
        version first, as ``find_for_question`` gives it. Checked inside the write, so a
        question gets one article however many ask it together."""
        saved = self._insert_new(article, reuse=True)
        if saved is not None:
            return saved
        existing = self.find_for_question(article.question, parent_id=article.parent_id)
        assert existing is not None
        return existing

    def _insert_new(self, article: Article, *, reuse: bool) -> Article | None:
        now = _now()
        article_id = _random_token(10)

        def insert(conn: sqlite3.Connection) -> Article | None:
            if reuse and sql.servable_for_question(conn, normalise_question(article.question),
                                                   article.parent_id):
                return None
            thread_id = article_id
            if article.parent_id is not None:
                parent = conn.execute("SELECT thread_id FROM articles WHERE id = ?",
                                      (article.parent_id,)).fetchone()
                if parent is None:
                    raise NotFoundError(f"no article with id {article.parent_id!r} to follow up")
                thread_id = parent[0]  # a follow-up continues its parent's thread
            slug = self._free_slug(conn, slugify(article.question))
            stored = article.model_copy(update={
                "id": article_id, "slug": slug, "version": 1, "thread_id": thread_id,
                "status": ReviewStatus.SUBMITTED, "created_at": now, "updated_at": now,
            })
            conn.execute(
                "INSERT INTO articles (id, slug, question, question_norm, thread_id, parent_id, "
                "current_version, approved_version, status, created_at, updated_at) "
                "VALUES (?,?,?,?,?,?,1,NULL,?,?,?)",
                (article_id, slug, article.question, normalise_question(article.question),
                 thread_id, article.parent_id, ReviewStatus.SUBMITTED.value, now.isoformat(),
                 now.isoformat()),
            )
            self._insert_version(conn, stored, SYSTEM_ACTOR, from_status=None, comment="generated")
            return stored

        return self.store.write(insert)

    def save_revision(self, article_id: str, article: Article, actor: str, *,
                      comment: str = "revised",
                      guard: Callable[[ReviewStatus], None] | None = None,
                      based_on: int | None = None) -> Article:
        """Store ``article`` as the next version, Submitted. Earlier versions stay as they were.

        ``guard`` sees the current status inside the write transaction and may raise to refuse
        (the review workflow passes its rules here); ``based_on`` is the version the editor
        read, refused when it is no longer the current one.
        """
        now = _now()

        def insert(conn: sqlite3.Connection) -> Article:
            current = self._summary_of(conn, article_id)
            _check_version(current, based_on)
            if guard is not None:
                guard(current.status)
            version = current.current_version + 1
            stored = article.model_copy(update={
                "id": article_id, "slug": current.slug, "version": version,
                "thread_id": current.thread_id, "parent_id": current.parent_id,
                "question": current.question, "status": ReviewStatus.SUBMITTED,
                "created_at": current.created_at, "updated_at": now,
            })
            # The version and its event first: the article's state must be its latest event's.
            self._insert_version(conn, stored, actor, from_status=current.status, comment=comment)
            conn.execute(
                "UPDATE articles SET current_version = ?, status = ?, updated_at = ? WHERE id = ?",
                (version, ReviewStatus.SUBMITTED.value, now.isoformat(), article_id),
            )
            return stored

        return self.store.write(insert)

    def change_status(self, article_id: str, to_status: ReviewStatus, *, actor: str,
                      comment: str = "", guard: Callable[[ReviewStatus], None] | None = None,
                      version: int | None = None) -> ReviewEvent:
        """Move the current version to ``to_status`` and record the event.

        ``guard`` is called with the current status inside the same transaction, so two
        reviewers acting at once cannot both move the article from the same status. ``version``
        is the version the reviewer read: a decision on any other is refused
        (``StaleVersionError``), so an approval never lands on a text nobody read.
        """
        at = _now()

        def move(conn: sqlite3.Connection) -> ReviewEvent:
            current = self._summary_of(conn, article_id)
            _check_version(current, version)
            if guard is not None:
                guard(current.status)
            decided = current.current_version
            event = ReviewEvent(article_id=article_id, version=decided, from_status=current.status,
                                to_status=to_status, actor=actor, comment=comment, at=at)
            self._insert_event(conn, event)  # first: the database checks the state against it
            if to_status is ReviewStatus.APPROVED:
                approved: int | None = decided
            elif to_status is ReviewStatus.WITHDRAWN:
                approved = None  # nothing of a withdrawn article stays published
            else:
                approved = current.approved_version
            conn.execute("UPDATE articles SET status = ?, approved_version = ? WHERE id = ?",
                         (to_status.value, approved, article_id))
            return event

        return self.store.write(move)

    def _free_slug(self, conn: sqlite3.Connection, base: str) -> str:
        slug = base
        while conn.execute("SELECT 1 FROM articles WHERE slug = ?", (slug,)).fetchone():
            slug = f"{base}-{_random_token(4)}"
        return slug

    def _insert_version(self, conn: sqlite3.Connection, article: Article, actor: str, *,
                        from_status: ReviewStatus | None, comment: str) -> None:
        assert article.id is not None and article.updated_at is not None
        # The review state read with a version is never part of its stored text.
        article = article.model_copy(update={
            "source_changes": [], "withdrawal": None, "correction_pending": None,
            "verification": article.verification.model_copy(update={"reverification": None})})
        conn.execute(
            "INSERT INTO article_versions (article_id, version, json, created_at, created_by) "
            "VALUES (?,?,?,?,?)",
            (article.id, article.version, article.model_dump_json(),
             article.updated_at.isoformat(), actor),
        )
        flag_sql.record_citations(conn, article.id, article.version,
                                  (r.document_key for r in article.references))
        self._insert_event(conn, ReviewEvent(
            article_id=article.id, version=article.version, from_status=from_status,
            to_status=ReviewStatus.SUBMITTED, actor=actor, comment=comment, at=article.updated_at,
        ))

    @staticmethod
    def _insert_event(conn: sqlite3.Connection, event: ReviewEvent) -> None:
        audit.insert_event(conn, event.article_id, event.version,
                           event.from_status.value if event.from_status else None,
                           event.to_status.value, event.actor, event.comment, event.at.isoformat())

    @staticmethod
    def _summary_of(conn: sqlite3.Connection, article_id: str) -> ArticleSummary:
        row = conn.execute(f"SELECT {_SUMMARY_COLUMNS} FROM articles WHERE id = ?",
                           (article_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"no article with id {article_id!r}")
        return _summary(row)

    # -- reading -----------------------------------------------------------------------------

    def get(self, article_id: str, version: int | None = None, *,
            served: bool = False) -> Article:
        """One version of an article, with that version's status and the article's review
        state. Without ``version``: the latest, or with ``served`` the one readers are served,
        the approved version while a correction is in review (or was rejected)."""
        with self.store.reading() as conn:
            current = self._summary_of(conn, article_id)
            if version is not None:
                wanted = version
            elif served and current.approved_version is not None:
                wanted = current.approved_version
            else:
                wanted = current.current_version
            found = conn.execute(
                "SELECT json FROM article_versions WHERE article_id = ? AND version = ?",
                (article_id, wanted),
            ).fetchone()
            if found is None:
                raise NotFoundError(f"article {article_id!r} has no version {wanted}")
            status = conn.execute(
                "SELECT to_status FROM review_events WHERE article_id = ? AND version = ? "
                "ORDER BY id DESC LIMIT 1",
                (article_id, wanted),
            ).fetchone()[0]
            article = Article.model_validate_json(found[0]).model_copy(
                update={"status": ReviewStatus(status)})
            return self._with_review_state(conn, current, article)

    @staticmethod
    def _with_review_state(conn: sqlite3.Connection, current: ArticleSummary,
                           article: Article) -> Article:
        """The version with what its text does not hold: the article's withdrawal, the
        correction in review while this approved version is served, and the cited documents
        changed since it was stored with its re-verification."""
        update: dict[str, object] = {}
        flags = flag_sql.flags_of(conn, current.id, article.version)
        if flags:
            update["source_changes"] = [SourceChange(
                document_key=f.document_key, change=SourceChangeKind(f.change),
                at=datetime.fromisoformat(f.changed_at), from_revision=f.from_revision,
                to_revision=f.to_revision) for f in flags]
            done = flag_sql.latest_reverification(conn, current.id, article.version)
            # Until a re-verification covers every flag, nothing says the text is supported.
            reverification = None if done is None or done.through_flag < flags[-1].id else \
                Reverification(at=datetime.fromisoformat(done.at), checked=done.checked,
                               no_longer_supported=done.no_longer_supported,
                               failures=json.loads(done.failures))
            update["verification"] = article.verification.model_copy(update={
                "reverification": reverification,
                "passed": reverification is not None and reverification.no_longer_supported == 0,
            })
        if current.status is ReviewStatus.WITHDRAWN:
            event = sql.latest_event(conn, current.id)
            update["withdrawal"] = Withdrawal(at=datetime.fromisoformat(event.at), by=event.actor,
                                              reason=event.comment)
        if (article.version == current.approved_version
                and current.current_version != article.version
                and current.status in (ReviewStatus.SUBMITTED, ReviewStatus.UNDER_REVIEW)):
            update["correction_pending"] = current.current_version
        return article.model_copy(update=update) if update else article

    def get_by_slug(self, slug: str, version: int | None = None, *,
                    served: bool = False) -> Article:
        with self.store.reading() as conn:
            row = conn.execute("SELECT id FROM articles WHERE slug = ?", (slug,)).fetchone()
        if row is None:
            raise NotFoundError(f"no article at {slug!r}")
        return self.get(row[0], version, served=served)

    def resolve(self, id_or_slug: str, version: int | None = None, *,
                served: bool = False) -> Article:
        """An article named by its id or its slug (the API accepts either; an id wins)."""
        with self.store.reading() as conn:
            row = conn.execute(
                "SELECT id FROM articles WHERE id = ? OR slug = ? ORDER BY id = ? DESC LIMIT 1",
                (id_or_slug, id_or_slug, id_or_slug),
            ).fetchone()
        if row is None:
            raise NotFoundError(f"no article {id_or_slug!r}")
        return self.get(row[0], version, served=served)

    def find_for_question(self, question: str, *, parent_id: str | None = None) -> Article | None:
        """The stored article answering this question, so it is not generated twice.

        Questions match after normalisation; a follow-up matches only under the same parent,
        since "what about sertraline?" means something different in each thread. The latest
        approved version is preferred, then the most recently updated article still in review;
        a rejected article is never served as an answer (the question is answered afresh).
        """
        with self.store.reading() as conn:
            row = sql.servable_for_question(conn, normalise_question(question), parent_id)
        if row is None:
            return None
        return self.get(row[0], row[1])

    def list(self, status: ReviewStatus | None = None, search: str | None = None, *,
             limit: int = 50, offset: int = 0) -> builtins.list[ArticleSummary]:
        """Articles by status of their current version, most recently updated first."""
        where, params = self._filters(search)
        if status is not None:
            where.append("status = ?")
            params.append(status.value)
        return self._summaries(where, params, limit, offset)

    def library(self, search: str | None = None, *, limit: int = 50,
                offset: int = 0) -> builtins.list[ArticleSummary]:
        """Articles with an approved version (a revision under review keeps it published)."""
        where, params = self._filters(search)
        where.append("approved_version IS NOT NULL")
        return self._summaries(where, params, limit, offset)

    @staticmethod
    def _filters(search: str | None) -> tuple[builtins.list[str], builtins.list[object]]:
        if search and search.strip():
            return ["question_norm LIKE ? ESCAPE '\\'"], [_like_pattern(normalise_question(search))]
        return [], []

    def _summaries(self, where: builtins.list[str], params: builtins.list[object], limit: int,
                   offset: int) -> builtins.list[ArticleSummary]:
        sql = f"SELECT {_SUMMARY_COLUMNS} FROM articles"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY updated_at DESC, id LIMIT ? OFFSET ?"
        with self.store.reading() as conn:
            rows = conn.execute(sql, [*params, max(0, limit), max(0, offset)]).fetchall()
        return [_summary(row) for row in rows]

    def versions(self, article_id: str) -> builtins.list[ArticleVersion]:
        with self.store.reading() as conn:
            approved = self._summary_of(conn, article_id).approved_version
            rows = conn.execute(
                "SELECT v.version, v.created_at, v.created_by, "
                "(SELECT to_status FROM review_events e WHERE e.article_id = v.article_id "
                " AND e.version = v.version ORDER BY e.id DESC LIMIT 1) "
                "FROM article_versions v WHERE v.article_id = ? ORDER BY v.version",
                (article_id,),
            ).fetchall()
        return [ArticleVersion(version=r[0], created_at=datetime.fromisoformat(r[1]),
                               created_by=r[2], status=ReviewStatus(r[3]),
                               approved=r[0] == approved) for r in rows]

    def events(self, article_id: str) -> builtins.list[ReviewEvent]:
        with self.store.reading() as conn:
            self._summary_of(conn, article_id)  # an unknown article is an error, not []
            rows = conn.execute(
                "SELECT article_id, version, from_status, to_status, actor, comment, at "
                "FROM review_events WHERE article_id = ? ORDER BY id",
                (article_id,),
            ).fetchall()
        return [ReviewEvent(article_id=r[0], version=r[1],
                            from_status=ReviewStatus(r[2]) if r[2] else None,
                            to_status=ReviewStatus(r[3]), actor=r[4], comment=r[5],
                            at=datetime.fromisoformat(r[6])) for r in rows]

    def flagged(self) -> builtins.list[ArticleSummary]:
        """Articles whose served version cites a document deleted or replaced since it was
        stored (withdrawn ones left out), most recently flagged first: the editors' to-do."""
        with self.store.reading() as conn:
            return [_summary(row) for row in flag_sql.flagged_articles(conn, _SUMMARY_COLUMNS)]

    def audit(self) -> tuple[int, builtins.list[audit.AuditProblem]]:
        """(review events checked, problems) of the whole audit trail's hash chain and of each
        article's state against its events."""
        with self.store.reading() as conn:
            return audit.verify_trail(conn)

    def thread(self, thread_id: str) -> builtins.list[ArticleSummary]:
        """The articles of one conversation, first question first."""
        with self.store.reading() as conn:
            rows = conn.execute(
                f"SELECT {_SUMMARY_COLUMNS} FROM articles WHERE thread_id = ? "
                "ORDER BY created_at, rowid",
                (thread_id,),
            ).fetchall()
        return [_summary(row) for row in rows]
