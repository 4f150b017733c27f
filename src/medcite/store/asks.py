"""Ask jobs (``ask_jobs``) in the SQLite store: a question answered in the background and how
far it has got, readable by any process serving the store."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

from medcite.store.records import AskJobRow

if TYPE_CHECKING:
    from medcite.store.sqlite import SQLiteStore

_COLUMNS = ("id, question, audience, follow_up_of, state, tokens, article_id, article_slug, "
            "error_code, error_status, error_message, started_at, updated_at")


class SQLiteAskJobs:
    """``AskJobRecords`` on the SQLite store."""

    def __init__(self, store: SQLiteStore) -> None:
        self._store = store

    def start(self, job_id: str, question: str, audience: str, follow_up_of: str | None, *,
              at: str, forget_finished_before: str) -> None:
        def insert(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM ask_jobs WHERE state != 'writing' AND updated_at < ?",
                         (forget_finished_before,))
            conn.execute("INSERT INTO ask_jobs (id, question, audience, follow_up_of, state, "
                         "started_at, updated_at) VALUES (?,?,?,?,'writing',?,?)",
                         (job_id, question, audience, follow_up_of, at, at))

        self._store.write(insert)

    def get(self, job_id: str) -> AskJobRow | None:
        with self._store.reading() as conn:
            row = conn.execute(f"SELECT {_COLUMNS} FROM ask_jobs WHERE id = ?",
                               (job_id,)).fetchone()
        return AskJobRow(*row) if row else None

    def progress(self, job_id: str, tokens: int, at: str) -> None:
        self._store.write(lambda conn: conn.execute(
            "UPDATE ask_jobs SET tokens = ?, updated_at = ? WHERE id = ?", (tokens, at, job_id)))

    def finish(self, job_id: str, article_id: str | None, article_slug: str | None,
               at: str) -> None:
        self._store.write(lambda conn: conn.execute(
            "UPDATE ask_jobs SET state = 'done', article_id = ?, article_slug = ?, updated_at = ? "
            "WHERE id = ?", (article_id, article_slug, at, job_id)))

    def fail(self, job_id: str, code: str, status: int, message: str, at: str) -> None:
        self._store.write(lambda conn: conn.execute(
            "UPDATE ask_jobs SET state = 'failed', error_code = ?, error_status = ?, "
            "error_message = ?, updated_at = ? WHERE id = ?",
            (code, status, message, at, job_id)))
