"""Articles, versions, review events and source-change flags in the SQLite store
(``review.articles`` holds the rules; ``store.repositories.ArticleRecords`` the contract).

Every write is one ``BEGIN IMMEDIATE`` transaction of the store's single writer, which SQLite
serialises with every other process's: the check of insert-if-absent and of compare-and-set
runs in the same transaction as the write it guards.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING

from medcite.errors import NotFoundError
from medcite.store import audit, flags
from medcite.store.records import (
    ArticleRow,
    EventRow,
    FlagRow,
    NewVersion,
    ReverificationRow,
    VersionRow,
)

if TYPE_CHECKING:
    from medcite.store.sqlite import SQLiteStore

# An article whose only text was rejected (or withdrawn) is not served as an answer: asking
# again answers afresh.
_SERVABLE = "(approved_version IS NOT NULL OR status IN ('submitted', 'under_review'))"
_COLUMNS = ("id, slug, question, status, current_version, approved_version, thread_id, "
            "parent_id, created_at, updated_at")


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _servable(conn: sqlite3.Connection, question_norm: str,
              parent_id: str | None) -> tuple[str, int | None] | None:
    return conn.execute(
        "SELECT id, approved_version FROM articles "
        f"WHERE question_norm = ? AND parent_id IS ? AND {_SERVABLE} "
        "ORDER BY approved_version IS NULL, updated_at DESC LIMIT 1",
        (question_norm, parent_id),
    ).fetchone()


def _row(conn: sqlite3.Connection, article_id: str) -> ArticleRow | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM articles WHERE id = ?", (article_id,)).fetchone()
    return ArticleRow(*row) if row else None


def _insert_version(conn: sqlite3.Connection, article_id: str, number: int, version: NewVersion,
                    *, actor: str, from_status: str | None, comment: str, at: str) -> None:
    """The version row, its citations and its 'submitted' event."""
    conn.execute(
        "INSERT INTO article_versions (article_id, version, json, created_at, created_by) "
        "VALUES (?,?,?,?,?)", (article_id, number, version.json, at, actor))
    flags.record_citations(conn, article_id, number, version.document_keys)
    audit.insert_event(conn, article_id, number, from_status, "submitted", actor, comment, at)


class SQLiteArticles:
    """``ArticleRecords`` on the SQLite store."""

    def __init__(self, store: SQLiteStore) -> None:
        self._store = store

    # -- writing -----------------------------------------------------------------------------

    def create(self, *, article_id: str, slug_base: str, question: str, question_norm: str,
               parent_id: str | None, at: str, compose: Callable[[str, str], NewVersion],
               slug_suffix: Callable[[], str], unless_answered: bool) -> ArticleRow | None:
        def insert(conn: sqlite3.Connection) -> ArticleRow | None:
            if unless_answered and _servable(conn, question_norm, parent_id):
                return None
            thread_id = article_id
            if parent_id is not None:
                parent = conn.execute("SELECT thread_id FROM articles WHERE id = ?",
                                      (parent_id,)).fetchone()
                if parent is None:
                    raise NotFoundError(f"no article with id {parent_id!r} to follow up")
                thread_id = parent[0]  # a follow-up continues its parent's thread
            slug = slug_base
            while conn.execute("SELECT 1 FROM articles WHERE slug = ?", (slug,)).fetchone():
                slug = f"{slug_base}-{slug_suffix()}"
            version = compose(slug, thread_id)
            conn.execute(
                "INSERT INTO articles (id, slug, question, question_norm, thread_id, parent_id, "
                "current_version, approved_version, status, created_at, updated_at) "
                "VALUES (?,?,?,?,?,?,1,NULL,'submitted',?,?)",
                (article_id, slug, question, question_norm, thread_id, parent_id, at, at))
            _insert_version(conn, article_id, 1, version, actor="system", from_status=None,
                            comment="generated", at=at)
            return _row(conn, article_id)

        return self._store.write(insert)

    def append_version(self, article_id: str, *, expected_status: str, expected_version: int,
                       version: NewVersion, actor: str, comment: str, at: str) -> bool:
        def insert(conn: sqlite3.Connection) -> bool:
            current = _row(conn, article_id)
            if current is None:
                raise NotFoundError(f"no article with id {article_id!r}")
            if (current.status, current.current_version) != (expected_status, expected_version):
                return False
            number = expected_version + 1
            # The version and its event first: the article's state must be its latest event's.
            _insert_version(conn, article_id, number, version, actor=actor,
                            from_status=expected_status, comment=comment, at=at)
            conn.execute("UPDATE articles SET current_version = ?, status = 'submitted', "
                         "updated_at = ? WHERE id = ?", (number, at, article_id))
            return True

        return self._store.write(insert)

    def transition(self, article_id: str, *, expected_status: str, expected_version: int,
                   to_status: str, approved_version: int | None, actor: str, comment: str,
                   at: str) -> bool:
        def move(conn: sqlite3.Connection) -> bool:
            current = _row(conn, article_id)
            if current is None:
                raise NotFoundError(f"no article with id {article_id!r}")
            if (current.status, current.current_version) != (expected_status, expected_version):
                return False
            # The event first: the database checks the article's new state against it.
            audit.insert_event(conn, article_id, expected_version, expected_status, to_status,
                               actor, comment, at)
            conn.execute("UPDATE articles SET status = ?, approved_version = ? WHERE id = ?",
                         (to_status, approved_version, article_id))
            return True

        return self._store.write(move)

    def record_reverification(self, article_id: str, version: int, *, through_flag: int,
                              at: str, checked: int, no_longer_supported: int,
                              failures: str) -> bool:
        return self._store.write(lambda conn: flags.record_reverification(
            conn, article_id, version, through_flag, at, checked, no_longer_supported, failures))

    # -- reading -----------------------------------------------------------------------------

    def get(self, article_id: str) -> ArticleRow | None:
        with self._store.reading() as conn:
            return _row(conn, article_id)

    def id_for_slug(self, slug: str) -> str | None:
        with self._store.reading() as conn:
            row = conn.execute("SELECT id FROM articles WHERE slug = ?", (slug,)).fetchone()
        return row[0] if row else None

    def resolve(self, id_or_slug: str) -> str | None:
        with self._store.reading() as conn:
            row = conn.execute(
                "SELECT id FROM articles WHERE id = ? OR slug = ? ORDER BY id = ? DESC LIMIT 1",
                (id_or_slug, id_or_slug, id_or_slug)).fetchone()
        return row[0] if row else None

    def version_text(self, article_id: str, version: int) -> tuple[str, str] | None:
        with self._store.reading() as conn:
            row = conn.execute(
                "SELECT v.json, (SELECT to_status FROM review_events e WHERE e.article_id = "
                "v.article_id AND e.version = v.version ORDER BY e.id DESC LIMIT 1) "
                "FROM article_versions v WHERE v.article_id = ? AND v.version = ?",
                (article_id, version)).fetchone()
        return (row[0], row[1]) if row else None

    def versions(self, article_id: str) -> list[VersionRow]:
        with self._store.reading() as conn:
            rows = conn.execute(
                "SELECT v.version, (SELECT to_status FROM review_events e WHERE e.article_id = "
                "v.article_id AND e.version = v.version ORDER BY e.id DESC LIMIT 1), "
                "v.created_at, v.created_by FROM article_versions v WHERE v.article_id = ? "
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
            where.append("question_norm LIKE ? ESCAPE '\\'")
            params.append(_like_pattern(contains))
        if status is not None:
            where.append("status = ?")
            params.append(status)
        if approved_only:
            where.append("approved_version IS NOT NULL")
        sql = f"SELECT {_COLUMNS} FROM articles"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY updated_at DESC, id LIMIT ? OFFSET ?"
        with self._store.reading() as conn:
            rows = conn.execute(sql, [*params, max(0, limit), max(0, offset)]).fetchall()
        return [ArticleRow(*r) for r in rows]

    def thread(self, thread_id: str) -> list[ArticleRow]:
        with self._store.reading() as conn:
            rows = conn.execute(f"SELECT {_COLUMNS} FROM articles WHERE thread_id = ? "
                                "ORDER BY created_at, rowid", (thread_id,)).fetchall()
        return [ArticleRow(*r) for r in rows]

    def events(self, article_id: str) -> list[EventRow]:
        with self._store.reading() as conn:
            rows = conn.execute(
                "SELECT article_id, version, from_status, to_status, actor, comment, at "
                "FROM review_events WHERE article_id = ? ORDER BY id", (article_id,)).fetchall()
        return [EventRow(*r) for r in rows]

    def latest_event(self, article_id: str) -> EventRow | None:
        with self._store.reading() as conn:
            row = conn.execute(
                "SELECT article_id, version, from_status, to_status, actor, comment, at "
                "FROM review_events WHERE article_id = ? ORDER BY id DESC LIMIT 1",
                (article_id,)).fetchone()
        return EventRow(*row) if row else None

    def flags_of(self, article_id: str, version: int) -> list[FlagRow]:
        with self._store.reading() as conn:
            return flags.flags_of(conn, article_id, version)

    def latest_reverification(self, article_id: str,
                              version: int) -> ReverificationRow | None:
        with self._store.reading() as conn:
            return flags.latest_reverification(conn, article_id, version)

    def pending_reverifications(self, article_id: str | None = None) -> list[tuple[str, int, int]]:
        with self._store.reading() as conn:
            return flags.pending(conn, article_id)

    def flagged(self) -> list[ArticleRow]:
        with self._store.reading() as conn:
            return [ArticleRow(*r) for r in flags.flagged_articles(
                conn, ", ".join(f"a.{c.strip()}" for c in _COLUMNS.split(",")))]

    def verify_trail(self) -> tuple[int, list[audit.AuditProblem]]:
        with self._store.reading() as conn:
            return audit.verify_trail(conn)
