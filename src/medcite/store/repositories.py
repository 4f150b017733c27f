"""The repositories of the store contract beside documents and passages (``store.base``).

Each is reached as an attribute of a ``Store`` (``store.articles``, ``store.accounts``,
``store.ask_jobs``, ``store.rate_limits``). Every method is one short transaction or one read;
no driver error leaves one (``StoreError``, ``StoreBusyError``), and what the contract says
about concurrency holds across processes and replicas sharing the store:

- ``ArticleRecords.create(..., unless_answered=True)`` is insert-if-absent: however many
  callers ask one question at once, one article is stored for it.
- ``ArticleRecords.transition`` and ``append_version`` are compare-and-set on the article's
  (status, current version): they write nothing and return False when another writer moved
  the article first, so a decision never lands on a state its maker did not see.
- Ids come from the store (sequences), never from ``max(id) + 1`` computed by a caller.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Protocol

from medcite.store.audit import AuditProblem
from medcite.store.records import (
    ArticleRow,
    AskJobRow,
    EventRow,
    FlagRow,
    NewVersion,
    ReverificationRow,
    UserRow,
    VersionRow,
)


class ArticleRecords(Protocol):
    """Articles, their immutable versions, the review events (a hash chain) and the flags set
    when a cited document changes."""

    def create(self, *, article_id: str, slug_base: str, question: str, question_norm: str,
               parent_id: str | None, at: str, compose: Callable[[str, str], NewVersion],
               slug_suffix: Callable[[], str], unless_answered: bool) -> ArticleRow | None:
        """Store a new article as version 1, submitted. ``compose(slug, thread_id)`` gives the
        version text once the store has chosen a free slug (``slug_base``, else with a
        ``slug_suffix()``) and the thread (the parent's, for a follow-up). With
        ``unless_answered``: None, and nothing written, when a servable article for
        ``question_norm`` under ``parent_id`` exists. Raises ``NotFoundError`` for an unknown
        parent."""
        ...

    def append_version(self, article_id: str, *, expected_status: str, expected_version: int,
                       version: NewVersion, actor: str, comment: str, at: str) -> bool:
        """Store the next version, submitted, if the article is still at (expected_status,
        expected_version); False (nothing written) otherwise."""
        ...

    def transition(self, article_id: str, *, expected_status: str, expected_version: int,
                   to_status: str, approved_version: int | None, actor: str, comment: str,
                   at: str) -> bool:
        """Move the current version to ``to_status`` (recording the event) if the article is
        still at (expected_status, expected_version); False (nothing written) otherwise."""
        ...

    def get(self, article_id: str) -> ArticleRow | None: ...

    def id_for_slug(self, slug: str) -> str | None: ...

    def resolve(self, id_or_slug: str) -> str | None:
        """The id of the article with this id, else with this slug."""
        ...

    def version_text(self, article_id: str, version: int) -> tuple[str, str] | None:
        """(JSON text, the status its latest event records) of one version."""
        ...

    def versions(self, article_id: str) -> list[VersionRow]: ...

    def servable_for_question(self, question_norm: str,
                              parent_id: str | None) -> tuple[str, int | None] | None:
        """(id, approved version) of the article to serve for a question: approved first, then
        the most recently updated one still in review; rejected and withdrawn ones are not."""
        ...

    def summaries(self, *, status: str | None = None, contains: str | None = None,
                  approved_only: bool = False, limit: int = 50,
                  offset: int = 0) -> list[ArticleRow]:
        """Most recently updated first; ``contains`` is matched literally (no wildcards) in
        the normalised question."""
        ...

    def thread(self, thread_id: str) -> list[ArticleRow]:
        """The articles of one conversation in the order they were stored."""
        ...

    def events(self, article_id: str) -> list[EventRow]: ...

    def latest_event(self, article_id: str) -> EventRow | None: ...

    def flags_of(self, article_id: str, version: int) -> list[FlagRow]: ...

    def latest_reverification(self, article_id: str,
                              version: int) -> ReverificationRow | None: ...

    def pending_reverifications(self, article_id: str | None = None) -> list[tuple[str, int, int]]:
        """(article id, version, last flag id) of flagged versions no re-verification covers."""
        ...

    def record_reverification(self, article_id: str, version: int, *, through_flag: int,
                              at: str, checked: int, no_longer_supported: int,
                              failures: str) -> bool:
        """False, nothing written, when one covering ``through_flag`` was recorded meanwhile."""
        ...

    def flagged(self) -> list[ArticleRow]:
        """Articles whose served version has a flag (withdrawn ones left out), most recently
        flagged first."""
        ...

    def verify_trail(self) -> tuple[int, list[AuditProblem]]:
        """(events checked, problems) of the audit trail's hash chain and article states."""
        ...


class Accounts(Protocol):
    """Reviewer accounts and their sign-in sessions (only hashes of tokens are stored)."""

    def find(self, username: str) -> UserRow | None: ...

    def add(self, username: str, password_hash: str, role: str, created_at: str) -> None:
        """Raises ``ConflictError`` when the username is taken."""
        ...

    def set_password_hash(self, username: str, password_hash: str, *,
                          only_if: str | None = None) -> bool:
        """``only_if``: rewrite only while the stored hash is still that one. False if no row
        changed."""
        ...

    def replace_password(self, username: str, password_hash: str) -> int | None:
        """New hash and every session ended, in one transaction; sessions ended, or None when
        there is no such user."""
        ...

    def set_disabled(self, username: str, disabled: bool) -> int | None:
        """Sessions ended (all of them when disabling), or None when there is no such user."""
        ...

    def start_session(self, token_hash: str, username: str, created_at: int,
                      expires_at: int) -> None: ...

    def session_user(self, token_hash: str, now: int) -> tuple[str, str] | None:
        """(username, role) of a live session of an enabled account."""
        ...

    def end_session(self, token_hash: str) -> None: ...


class AskJobRecords(Protocol):
    """Questions being answered in the background, readable by every replica."""

    def start(self, job_id: str, question: str, audience: str, follow_up_of: str | None, *,
              at: str, forget_finished_before: str) -> None: ...

    def get(self, job_id: str) -> AskJobRow | None: ...

    def progress(self, job_id: str, tokens: int, at: str) -> None: ...

    def finish(self, job_id: str, article_id: str | None, article_slug: str | None,
               at: str) -> None: ...

    def fail(self, job_id: str, code: str, status: int, message: str, at: str) -> None: ...


class RateLimits(Protocol):
    """Counts shared by every process serving the store."""

    def take(self, bucket: str, client: str, limit: int, window: float,
             now: float) -> tuple[int | None, float]:
        """Record one hit unless ``client`` has ``limit`` within ``window`` seconds already,
        atomically. (the hit's id, now) when recorded, else (None, its oldest hit's time)."""
        ...

    def give_back(self, hit_id: int) -> None: ...


class StoreCopying(Protocol):
    """Every record as canonical rows, out of one store and into an empty one
    (``store.copy``: the columns of ``copy.ALL_TABLES``, ids kept)."""

    def export_rows(self, table: str) -> Iterator[tuple]:
        """The table's rows in the canonical order (by id, key, or as stored)."""
        ...

    def import_rows(self, table: str, rows: Sequence[tuple]) -> None: ...

    def finish_import(self) -> None:
        """Move id sequences past the imported ids; count the corpus as changed."""
        ...


class SharedState(Protocol):
    """Small named values every process and replica serving the store must agree on (the key
    that signs session cookies)."""

    def get(self, name: str) -> str | None: ...

    def put_if_absent(self, name: str, value: str) -> str:
        """Store ``value`` unless ``name`` has one; returns the stored value (the first
        writer's, when several race)."""
        ...


class ConditionNames(Protocol):
    """Condition names learned from the corpus at ingest (MedQuAD foci, MeSH disease headings),
    so that every process and replica reading the store recognises them in questions.
    Append-only: ``vocab.conditions`` decides which names are new and merges on reading."""

    def add(self, pairs: Sequence[tuple[str, Sequence[str]]]) -> None:
        """Record (name, synonyms) pairs, in one transaction."""
        ...

    def all(self) -> list[tuple[str, list[str]]]:
        """Every pair recorded, in the order recorded."""
        ...


class PassageVectors(Protocol):
    """Passage embeddings kept in the store with an approximate nearest-neighbour index
    (PostgreSQL: pgvector HNSW, cosine distance). A vector goes with its passage: replaced or
    deleted text takes its vector with it, and passage ids are never reused."""

    dimensions: int

    def encoder(self) -> tuple[str, int, str] | None:
        """(precision, passage tokens, model) the stored vectors were made with; None before
        any were started."""
        ...

    def start(self, precision: str, passage_tokens: int, model: str) -> tuple[str, int, str]:
        """Record the encoder unless one is recorded; returns the recorded one."""
        ...

    def missing(self) -> list[int]:
        """Ids of passages with no vector, in id order."""
        ...

    def add(self, ids: Sequence[int], vectors: Sequence[Sequence[float]]) -> int:
        """Store (or replace) vectors of passages that still exist; returns how many."""
        ...

    def count(self) -> int: ...

    def nearest(self, query: Sequence[float], limit: int) -> list[tuple[int, float]]:
        """(passage id, cosine similarity), most similar first (approximate)."""
        ...

    def similarities(self, query: Sequence[float], ids: Sequence[int]) -> dict[int, float]:
        """Exact cosine similarity of the query to each of these passages that has a vector."""
        ...

    def clear(self) -> None:
        """Forget every vector and the encoder (a rebuild)."""
        ...
