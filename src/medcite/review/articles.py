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
import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime

from pydantic import BaseModel

from medcite.errors import ConflictError, NotFoundError, StaleVersionError
from medcite.models import (
    Article,
    Reverification,
    ReviewStatus,
    SourceChange,
    SourceChangeKind,
    Withdrawal,
)
from medcite.store.audit import AuditProblem
from medcite.store.base import Store
from medcite.store.records import ArticleRow, NewVersion

SYSTEM_ACTOR = "system"
SLUG_MAX_CHARS = 80
_ID_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"  # no look-alikes (l/1, o/0) in links read aloud
# Sentence-final marks, including the ideographic and full-width ones.
_TRAILING_PUNCTUATION = ".?!,;:\u2026\u3002\uff1f\uff01 \t\n"
# How often a write re-reads the article after another writer moved it first (compare-and-set);
# the rules then decide on the new state, so a second try almost always ends it.
_RETRIES = 5


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


def _summary(row: ArticleRow) -> ArticleSummary:
    return ArticleSummary(
        id=row.id, slug=row.slug, question=row.question, status=ReviewStatus(row.status),
        current_version=row.current_version, approved_version=row.approved_version,
        thread_id=row.thread_id, parent_id=row.parent_id,
        created_at=datetime.fromisoformat(row.created_at),
        updated_at=datetime.fromisoformat(row.updated_at),
    )


def _stored_text(article: Article) -> NewVersion:
    """A version's immutable text: the review state read with a version is never part of it."""
    article = article.model_copy(update={
        "source_changes": [], "withdrawal": None, "correction_pending": None,
        "verification": article.verification.model_copy(update={"reverification": None})})
    return NewVersion(article.model_dump_json(),
                      tuple(dict.fromkeys(r.document_key for r in article.references)))


def _check_version(current: ArticleSummary, version: int | None) -> None:
    if version is not None and version != current.current_version:
        raise StaleVersionError(version, current.current_version, current.status.label)


class ArticleRepository:
    """Articles, their versions and review events in the store (``store.articles``)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.records = store.articles

    # -- writing -----------------------------------------------------------------------------

    def save_new(self, article: Article) -> Article:
        """Store a generated article as version 1, Submitted; returns it with id and slug set."""
        saved = self._insert_new(article, reuse=False)
        assert saved is not None
        return saved

    def save_answer(self, article: Article) -> Article:
        """Store a freshly written answer, unless the question was answered meanwhile (two
        readers asked it at once, in this process or another): then the stored answer, approved
        version first, as ``find_for_question`` gives it. The store checks it inside the write
        (insert-if-absent), so a question gets one article however many ask it together."""
        saved = self._insert_new(article, reuse=True)
        if saved is not None:
            return saved
        existing = self.find_for_question(article.question, parent_id=article.parent_id)
        assert existing is not None
        return existing

    def _insert_new(self, article: Article, *, reuse: bool) -> Article | None:
        now = _now()
        article_id = _random_token(10)
        composed: list[Article] = []

        def compose(slug: str, thread_id: str) -> NewVersion:
            stored = article.model_copy(update={
                "id": article_id, "slug": slug, "version": 1, "thread_id": thread_id,
                "status": ReviewStatus.SUBMITTED, "created_at": now, "updated_at": now,
            })
            composed.append(stored)
            return _stored_text(stored)

        row = self.records.create(
            article_id=article_id, slug_base=slugify(article.question), question=article.question,
            question_norm=normalise_question(article.question), parent_id=article.parent_id,
            at=now.isoformat(), compose=compose, slug_suffix=lambda: _random_token(4),
            unless_answered=reuse)
        return composed[-1] if row is not None else None

    def save_revision(self, article_id: str, article: Article, actor: str, *,
                      comment: str = "revised",
                      guard: Callable[[ReviewStatus], None] | None = None,
                      based_on: int | None = None) -> Article:
        """Store ``article`` as the next version, Submitted. Earlier versions stay as they were.

        ``guard`` sees the current status and may raise to refuse (the review workflow passes
        its rules here); ``based_on`` is the version the editor read, refused when it is no
        longer the current one. The write is compare-and-set on what they saw.
        """
        for _ in range(_RETRIES):
            now = _now()
            current = self._summary_of(article_id)
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
            if self.records.append_version(
                    article_id, expected_status=current.status.value,
                    expected_version=current.current_version, version=_stored_text(stored),
                    actor=actor, comment=comment, at=now.isoformat()):
                return stored
        raise self._busy(article_id)

    def change_status(self, article_id: str, to_status: ReviewStatus, *, actor: str,
                      comment: str = "", guard: Callable[[ReviewStatus], None] | None = None,
                      version: int | None = None) -> ReviewEvent:
        """Move the current version to ``to_status`` and record the event.

        ``guard`` is called with the current status and the move is compare-and-set on it, so
        two reviewers acting at once cannot both move the article from the same status (the
        second is judged on the state the first left). ``version`` is the version the reviewer
        read: a decision on any other is refused (``StaleVersionError``), so an approval never
        lands on a text nobody read.
        """
        for _ in range(_RETRIES):
            at = _now()
            current = self._summary_of(article_id)
            _check_version(current, version)
            if guard is not None:
                guard(current.status)
            decided = current.current_version
            if to_status is ReviewStatus.APPROVED:
                approved: int | None = decided
            elif to_status is ReviewStatus.WITHDRAWN:
                approved = None  # nothing of a withdrawn article stays published
            else:
                approved = current.approved_version
            if self.records.transition(
                    article_id, expected_status=current.status.value, expected_version=decided,
                    to_status=to_status.value, approved_version=approved, actor=actor,
                    comment=comment, at=at.isoformat()):
                return ReviewEvent(article_id=article_id, version=decided,
                                   from_status=current.status, to_status=to_status, actor=actor,
                                   comment=comment, at=at)
        raise self._busy(article_id)

    @staticmethod
    def _busy(article_id: str) -> ConflictError:
        return ConflictError(f"article {article_id!r} kept changing while this was decided; "
                             "read it again and decide")

    def _summary_of(self, article_id: str) -> ArticleSummary:
        row = self.records.get(article_id)
        if row is None:
            raise NotFoundError(f"no article with id {article_id!r}")
        return _summary(row)

    # -- reading -----------------------------------------------------------------------------

    def get(self, article_id: str, version: int | None = None, *,
            served: bool = False) -> Article:
        """One version of an article, with that version's status and the article's review
        state. Without ``version``: the latest, or with ``served`` the one readers are served,
        the approved version while a correction is in review (or was rejected)."""
        current = self._summary_of(article_id)
        if version is not None:
            wanted = version
        elif served and current.approved_version is not None:
            wanted = current.approved_version
        else:
            wanted = current.current_version
        found = self.records.version_text(article_id, wanted)
        if found is None:
            raise NotFoundError(f"article {article_id!r} has no version {wanted}")
        article = Article.model_validate_json(found[0]).model_copy(
            update={"status": ReviewStatus(found[1])})
        return self._with_review_state(current, article)

    def _with_review_state(self, current: ArticleSummary, article: Article) -> Article:
        """The version with what its text does not hold: the article's withdrawal, the
        correction in review while this approved version is served, and the cited documents
        changed since it was stored with its re-verification."""
        update: dict[str, object] = {}
        flags = self.records.flags_of(current.id, article.version)
        if flags:
            update["source_changes"] = [SourceChange(
                document_key=f.document_key, change=SourceChangeKind(f.change),
                at=datetime.fromisoformat(f.changed_at), from_revision=f.from_revision,
                to_revision=f.to_revision) for f in flags]
            done = self.records.latest_reverification(current.id, article.version)
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
            event = self.records.latest_event(current.id)
            assert event is not None  # every stored article has one
            update["withdrawal"] = Withdrawal(at=datetime.fromisoformat(event.at), by=event.actor,
                                              reason=event.comment)
        if (article.version == current.approved_version
                and current.current_version != article.version
                and current.status in (ReviewStatus.SUBMITTED, ReviewStatus.UNDER_REVIEW)):
            update["correction_pending"] = current.current_version
        return article.model_copy(update=update) if update else article

    def get_by_slug(self, slug: str, version: int | None = None, *,
                    served: bool = False) -> Article:
        article_id = self.records.id_for_slug(slug)
        if article_id is None:
            raise NotFoundError(f"no article at {slug!r}")
        return self.get(article_id, version, served=served)

    def resolve(self, id_or_slug: str, version: int | None = None, *,
                served: bool = False) -> Article:
        """An article named by its id or its slug (the API accepts either; an id wins)."""
        article_id = self.records.resolve(id_or_slug)
        if article_id is None:
            raise NotFoundError(f"no article {id_or_slug!r}")
        return self.get(article_id, version, served=served)

    def find_for_question(self, question: str, *, parent_id: str | None = None) -> Article | None:
        """The stored article answering this question, so it is not generated twice.

        Questions match after normalisation; a follow-up matches only under the same parent,
        since "what about sertraline?" means something different in each thread. The latest
        approved version is preferred, then the most recently updated article still in review;
        a rejected article is never served as an answer (the question is answered afresh).
        """
        row = self.records.servable_for_question(normalise_question(question), parent_id)
        if row is None:
            return None
        return self.get(row[0], row[1])

    def list(self, status: ReviewStatus | None = None, search: str | None = None, *,
             limit: int = 50, offset: int = 0) -> builtins.list[ArticleSummary]:
        """Articles by status of their current version, most recently updated first."""
        return [_summary(r) for r in self.records.summaries(
            status=status.value if status is not None else None, contains=_contains(search),
            limit=limit, offset=offset)]

    def library(self, search: str | None = None, *, limit: int = 50,
                offset: int = 0) -> builtins.list[ArticleSummary]:
        """Articles with an approved version (a revision under review keeps it published)."""
        return [_summary(r) for r in self.records.summaries(
            contains=_contains(search), approved_only=True, limit=limit, offset=offset)]

    def versions(self, article_id: str) -> builtins.list[ArticleVersion]:
        approved = self._summary_of(article_id).approved_version
        return [ArticleVersion(version=r.version, created_at=datetime.fromisoformat(r.created_at),
                               created_by=r.created_by, status=ReviewStatus(r.status),
                               approved=r.version == approved)
                for r in self.records.versions(article_id)]

    def events(self, article_id: str) -> builtins.list[ReviewEvent]:
        self._summary_of(article_id)  # an unknown article is an error, not []
        return [ReviewEvent(article_id=r.article_id, version=r.version,
                            from_status=ReviewStatus(r.from_status) if r.from_status else None,
                            to_status=ReviewStatus(r.to_status), actor=r.actor,
                            comment=r.comment, at=datetime.fromisoformat(r.at))
                for r in self.records.events(article_id)]

    def flagged(self) -> builtins.list[ArticleSummary]:
        """Articles whose served version cites a document deleted or replaced since it was
        stored (withdrawn ones left out), most recently flagged first: the editors' to-do."""
        return [_summary(row) for row in self.records.flagged()]

    def audit(self) -> tuple[int, builtins.list[AuditProblem]]:
        """(review events checked, problems) of the whole audit trail's hash chain and of each
        article's state against its events."""
        return self.records.verify_trail()

    def thread(self, thread_id: str) -> builtins.list[ArticleSummary]:
        """The articles of one conversation, first question first."""
        return [_summary(row) for row in self.records.thread(thread_id)]


def _contains(search: str | None) -> str | None:
    return normalise_question(search) if search and search.strip() else None
