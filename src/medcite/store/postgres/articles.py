"""Articles, versions, review events and source-change flags in the PostgreSQL store
(``store.repositories.ArticleRecords`` is the contract, ``store.articles`` the SQLite twin).

Concurrency across replicas: ``create`` holds an advisory lock on the normalised question (and
on the slug it takes) for its transaction, so insert-if-absent cannot race; ``transition`` and
``append_version`` lock the article row (``FOR UPDATE``) and compare it with what the caller
saw; appending to the review-event hash chain holds the chain's advisory lock, so its head
is read and extended by one transaction at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import psycopg

from medcite.errors import NotFoundError
from medcite.store.audit import AuditProblem, link_hash, verify_trail
from medcite.store.records import (
    ArticleRow,
    Change,
    EventRow,
    FlagRow,
    NewVersion,
    ReverificationRow,
    VersionRow,
)

if TYPE_CHECKING:
    from medcite.store.postgres.store import PostgresStore

_CHAIN_LOCK = 7_240_003
_SERVABLE = "(approved_version IS NOT NULL OR status IN ('submitted', 'under_review'))"
_COLUMNS = ("id, slug, question, status, current_version, approved_version, thread_id, "
            "parent_id, created_at, updated_at")
_EVENT_COLUMNS = "article_id, version, from_status, to_status, actor, comment, at"
_LATEST_STATUS = ("(SELECT to_status FROM review_events e WHERE e.article_id = v.article_id "
                  "AND e.version = v.version ORDER BY e.id DESC LIMIT 1)")


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _row(conn: psycopg.Connection, article_id: str, *, lock: bool = False) -> ArticleRow | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM articles WHERE id = %s"
                       + (" FOR UPDATE" if lock else ""), (article_id,)).fetchone()
    return ArticleRow(*row) if row else None


def _servable(conn: psycopg.Connection, question_norm: str,
              parent_id: str | None) -> tuple[str, int | None] | None:
    row = conn.execute(
        f"SELECT id, approved_version FROM articles WHERE question_norm = %s "
        f"AND parent_id IS NOT DISTINCT FROM %s AND {_SERVABLE} "
        "ORDER BY approved_version IS NULL, updated_at DESC LIMIT 1",
        (question_norm, parent_id)).fetchone()
    return (row[0], row[1]) if row else None


def _lock(conn: psycopg.Connection, name: str) -> None:
    conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (name,))


def _insert_event(conn: psycopg.Connection, article_id: str, version: int,
                  from_status: str | None, to_status: str, actor: str, comment: str,
                  at: str) -> None:
    """Append one event as the next link of the hash chain (``store.audit`` defines it)."""
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (_CHAIN_LOCK,))
    head = conn.execute("SELECT id, hash FROM review_events ORDER BY id DESC LIMIT 1").fetchone()
    event_id, prev_hash = (head[0] + 1, head[1]) if head else (1, None)
    text = conn.execute("SELECT json FROM article_versions WHERE article_id = %s AND version = %s",
                        (article_id, version)).fetchone()
    content = (event_id, article_id, version, from_status, to_status, actor, comment, at)
    conn.execute(
        "INSERT INTO review_events (id, article_id, version, from_status, to_status, actor, "
        "comment, at, prev_hash, hash) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
        (*content, prev_hash, link_hash(prev_hash, content, text[0] if text else None)))


def _insert_version(conn: psycopg.Connection, article_id: str, number: int, version: NewVersion,
                    *, actor: str, from_status: str | None, comment: str, at: str) -> None:
    conn.execute("INSERT INTO article_versions (article_id, version, json, created_at, "
                 "created_by) VALUES (%s,%s,%s,%s,%s)",
                 (article_id, number, version.json, at, actor))
    keys = list(dict.fromkeys(version.document_keys))
    if keys:
        with conn.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO article_citations (article_id, version, document_key) "
                "VALUES (%s,%s,%s) ON CONFLICT DO NOTHING", [(article_id, number, k) for k in keys])
    _insert_event(conn, article_id, number, from_status, "submitted", actor, comment, at)


def flag_changes(conn: psycopg.Connection, changes: Sequence[Change], at: str) -> int:
    """One flag per article version citing a changed document (inside the ingest batch)."""
    by_key: dict[str, list[Change]] = {}
    for change in changes:
        by_key.setdefault(change.document_key, []).append(change)
    cited = conn.execute(
        "SELECT article_id, version, document_key FROM article_citations "
        "WHERE document_key = ANY(%s) ORDER BY article_id, version", (list(by_key),)).fetchall()
    rows = [(article_id, version, key, c.change, c.from_revision, c.to_revision, at)
            for article_id, version, key in cited for c in by_key[key]]
    if rows:
        with conn.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO article_flags (article_id, version, document_key, change, "
                "from_revision, to_revision, changed_at) VALUES (%s,%s,%s,%s,%s,%s,%s)", rows)
    return len(rows)


class PostgresArticles:
    """``ArticleRecords`` on the PostgreSQL store."""

    def __init__(self, store: PostgresStore) -> None:
        self._store = store

    # -- writing -----------------------------------------------------------------------------

    def create(self, *, article_id: str, slug_base: str, question: str, question_norm: str,
               parent_id: str | None, at: str, compose: Callable[[str, str], NewVersion],
               slug_suffix: Callable[[], str], unless_answered: bool) -> ArticleRow | None:
        with self._store.transaction() as conn:
            _lock(conn, f"question:{parent_id}:{question_norm}")
            if unless_answered and _servable(conn, question_norm, parent_id):
                return None
            thread_id = article_id
            if parent_id is not None:
                parent = conn.execute("SELECT thread_id FROM articles WHERE id = %s",
                                      (parent_id,)).fetchone()
                if parent is None:
                    raise NotFoundError(f"no article with id {parent_id!r} to follow up")
                thread_id = parent[0]
            _lock(conn, f"slug:{slug_base}")
            slug = slug_base
            while conn.execute("SELECT 1 FROM articles WHERE slug = %s", (slug,)).fetchone():
                slug = f"{slug_base}-{slug_suffix()}"
            version = compose(slug, thread_id)
            conn.execute(
                "INSERT INTO articles (id, slug, question, question_norm, thread_id, parent_id, "
                "current_version, approved_version, status, created_at, updated_at) "
                "VALUES (%s,%s,%s,%s,%s,%s,1,NULL,'submitted',%s,%s)",
                (article_id, slug, question, question_norm, thread_id, parent_id, at, at))
            _insert_version(conn, article_id, 1, version, actor="system", from_status=None,
                            comment="generated", at=at)
            return _row(conn, article_id)

    def append_version(self, article_id: str, *, expected_status: str, expected_version: int,
                       version: NewVersion, actor: str, comment: str, at: str) -> bool:
        with self._store.transaction() as conn:
            current = _row(conn, article_id, lock=True)
            if current is None:
                raise NotFoundError(f"no article with id {article_id!r}")
            if (current.status, current.current_version) != (expected_status, expected_version):
                return False
            number = expected_version + 1
            _insert_version(conn, article_id, number, version, actor=actor,
                            from_status=expected_status, comment=comment, at=at)
            conn.execute("UPDATE articles SET current_version = %s, status = 'submitted', "
                         "updated_at = %s WHERE id = %s", (number, at, article_id))
            return True

    def transition(self, article_id: str, *, expected_status: str, expected_version: int,
                   to_status: str, approved_version: int | None, actor: str, comment: str,
                   at: str) -> bool:
        with self._store.transaction() as conn:
            current = _row(conn, article_id, lock=True)
            if current is None:
                raise NotFoundError(f"no article with id {article_id!r}")
            if (current.status, current.current_version) != (expected_status, expected_version):
                return False
            _insert_event(conn, article_id, expected_version, expected_status, to_status, actor,
                          comment, at)
            conn.execute("UPDATE articles SET status = %s, approved_version = %s WHERE id = %s",
                         (to_status, approved_version, article_id))
            return True

    def record_reverification(self, article_id: str, version: int, *, through_flag: int,
                              at: str, checked: int, no_longer_supported: int,
                              failures: str) -> bool:
        with self._store.transaction() as conn:
            _lock(conn, f"reverify:{article_id}:{version}")
            if conn.execute("SELECT 1 FROM article_reverifications WHERE article_id = %s "
                            "AND version = %s AND through_flag >= %s",
                            (article_id, version, through_flag)).fetchone():
                return False
            conn.execute(
                "INSERT INTO article_reverifications (article_id, version, through_flag, at, "
                "checked, no_longer_supported, failures) VALUES (%s,%s,%s,%s,%s,%s,%s)",
                (article_id, version, through_flag, at, checked, no_longer_supported, failures))
            return True

    # -- reading -----------------------------------------------------------------------------

    def get(self, article_id: str) -> ArticleRow | None:
        with self._store.reading() as conn:
            return _row(conn, article_id)

    def id_for_slug(self, slug: str) -> str | None:
        with self._store.reading() as conn:
            row = conn.execute("SELECT id FROM articles WHERE slug = %s", (slug,)).fetchone()
        return row[0] if row else None

    def resolve(self, id_or_slug: str) -> str | None:
        with self._store.reading() as conn:
            row = conn.execute("SELECT id FROM articles WHERE id = %s OR slug = %s "
                               "ORDER BY id = %s DESC LIMIT 1",
                               (id_or_slug, id_or_slug, id_or_slug)).fetchone()
        return row[0] if row else None

    def version_text(self, article_id: str, version: int) -> tuple[str, str] | None:
        with self._store.reading() as conn:
            row = conn.execute(f"SELECT v.json, {_LATEST_STATUS} FROM article_versions v "
                               "WHERE v.article_id = %s AND v.version = %s",
                               (article_id, version)).fetchone()
        return (row[0], row[1]) if row else None

    def versions(self, article_id: str) -> list[VersionRow]:
        with self._store.reading() as conn:
            rows = conn.execute(f"SELECT v.version, {_LATEST_STATUS}, v.created_at, v.created_by "
                                "FROM article_versions v WHERE v.article_id = %s "
                                "ORDER BY v.version", (article_id,)).fetchall()
        return [VersionRow(*r) for r in rows]

    def servable_for_question(self, question_norm: str,
                              parent_id: str | None) -> tuple[str, int | None] | None:
        with self._store.reading() as conn:
            return _servable(conn, question_norm, parent_id)

    def summaries(self, *, status: str | None = None, contains: str | None = None,
                  approved_only: bool = False, limit: int = 50,
                  offset: int = 0) -> list[ArticleRow]:
        where: list[str] = []
        params: list[object] = []
        if contains:
            where.append("question_norm LIKE %s ESCAPE '\\'")
            params.append(_like_pattern(contains))
        if status is not None:
            where.append("status = %s")
            params.append(status)
        if approved_only:
            where.append("approved_version IS NOT NULL")
        sql = f"SELECT {_COLUMNS} FROM articles"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY updated_at DESC, id LIMIT %s OFFSET %s"
        with self._store.reading() as conn:
            rows = conn.execute(sql, [*params, max(0, limit), max(0, offset)]).fetchall()
        return [ArticleRow(*r) for r in rows]

    def thread(self, thread_id: str) -> list[ArticleRow]:
        with self._store.reading() as conn:
            rows = conn.execute(f"SELECT {_COLUMNS} FROM articles WHERE thread_id = %s "
                                "ORDER BY created_at, seq", (thread_id,)).fetchall()
        return [ArticleRow(*r) for r in rows]

    def events(self, article_id: str) -> list[EventRow]:
        with self._store.reading() as conn:
            rows = conn.execute(f"SELECT {_EVENT_COLUMNS} FROM review_events "
                                "WHERE article_id = %s ORDER BY id", (article_id,)).fetchall()
        return [EventRow(*r) for r in rows]

    def latest_event(self, article_id: str) -> EventRow | None:
        with self._store.reading() as conn:
            row = conn.execute(f"SELECT {_EVENT_COLUMNS} FROM review_events "
                               "WHERE article_id = %s ORDER BY id DESC LIMIT 1",
                               (article_id,)).fetchone()
        return EventRow(*row) if row else None

    def flags_of(self, article_id: str, version: int) -> list[FlagRow]:
        with self._store.reading() as conn:
            return [FlagRow(*r) for r in conn.execute(
                "SELECT id, document_key, change, from_revision, to_revision, changed_at "
                "FROM article_flags WHERE article_id = %s AND version = %s ORDER BY id",
                (article_id, version))]

    def latest_reverification(self, article_id: str,
                              version: int) -> ReverificationRow | None:
        with self._store.reading() as conn:
            row = conn.execute(
                "SELECT through_flag, at, checked, no_longer_supported, failures "
                "FROM article_reverifications WHERE article_id = %s AND version = %s "
                "ORDER BY id DESC LIMIT 1", (article_id, version)).fetchone()
        return ReverificationRow(*row) if row else None

    def pending_reverifications(self, article_id: str | None = None) -> list[tuple[str, int, int]]:
        with self._store.reading() as conn:
            rows = conn.execute(
                "SELECT f.article_id, f.version, max(f.id) FROM article_flags f "
                "WHERE %s::text IS NULL OR f.article_id = %s GROUP BY f.article_id, f.version "
                "HAVING max(f.id) > coalesce((SELECT max(r.through_flag) FROM "
                "article_reverifications r WHERE r.article_id = f.article_id "
                "AND r.version = f.version), 0) ORDER BY min(f.id)",
                (article_id, article_id)).fetchall()
        return [tuple(r) for r in rows]

    def flagged(self) -> list[ArticleRow]:
        columns = ", ".join(f"a.{c.strip()}" for c in _COLUMNS.split(","))
        with self._store.reading() as conn:
            rows = conn.execute(
                f"SELECT {columns} FROM articles a WHERE a.status != 'withdrawn' AND EXISTS ("
                "SELECT 1 FROM article_flags f WHERE f.article_id = a.id "
                "AND f.version = coalesce(a.approved_version, a.current_version)) "
                "ORDER BY (SELECT max(f.id) FROM article_flags f WHERE f.article_id = a.id) DESC"
            ).fetchall()
        return [ArticleRow(*r) for r in rows]

    def verify_trail(self) -> tuple[int, list[AuditProblem]]:
        with self._store.reading() as conn:
            return verify_trail(conn)  # its SQL is plain: the same on both dialects
