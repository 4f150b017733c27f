"""Accounts and sessions, ask jobs and rate limits in the PostgreSQL store: what every replica
serving one database shares (``store.repositories`` is the contract)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import psycopg
from psycopg import errors as pg_errors

from medcite.errors import ConflictError
from medcite.store.records import AskJobRow, UserRow

if TYPE_CHECKING:
    from medcite.store.postgres.store import PostgresStore

_JOB_COLUMNS = ("id, question, audience, follow_up_of, state, tokens, article_id, article_slug, "
                "error_code, error_status, error_message, started_at, updated_at")


def _end_sessions(conn: psycopg.Connection, username: str) -> int:
    return conn.execute("DELETE FROM sessions WHERE username = %s", (username,)).rowcount


class PostgresAccounts:
    def __init__(self, store: PostgresStore) -> None:
        self._store = store

    def find(self, username: str) -> UserRow | None:
        with self._store.reading() as conn:
            row = conn.execute("SELECT username, role, password_hash, disabled FROM users "
                               "WHERE username = %s", (username,)).fetchone()
        return UserRow(*row) if row else None

    def add(self, username: str, password_hash: str, role: str, created_at: str) -> None:
        with self._store.transaction() as conn:
            try:
                conn.execute("INSERT INTO users (username, password_hash, role, created_at) "
                             "VALUES (%s,%s,%s,%s)", (username, password_hash, role, created_at))
            except pg_errors.UniqueViolation:  # rolled back as the error leaves the transaction
                raise ConflictError(f"the user {username!r} already exists") from None

    def set_password_hash(self, username: str, password_hash: str, *,
                          only_if: str | None = None) -> bool:
        with self._store.transaction() as conn:
            return conn.execute(
                "UPDATE users SET password_hash = %s WHERE username = %s "
                "AND (%s::text IS NULL OR password_hash = %s)",
                (password_hash, username, only_if, only_if)).rowcount > 0

    def replace_password(self, username: str, password_hash: str) -> int | None:
        with self._store.transaction() as conn:
            if not conn.execute("UPDATE users SET password_hash = %s WHERE username = %s",
                                (password_hash, username)).rowcount:
                return None
            return _end_sessions(conn, username)

    def set_disabled(self, username: str, disabled: bool) -> int | None:
        with self._store.transaction() as conn:
            if not conn.execute("UPDATE users SET disabled = %s WHERE username = %s",
                                (disabled, username)).rowcount:
                return None
            return _end_sessions(conn, username) if disabled else 0

    def start_session(self, token_hash: str, username: str, created_at: int,
                      expires_at: int) -> None:
        with self._store.transaction() as conn:
            conn.execute("DELETE FROM sessions WHERE expires_at <= %s", (created_at,))
            conn.execute("INSERT INTO sessions (token_hash, username, created_at, expires_at) "
                         "VALUES (%s,%s,%s,%s)", (token_hash, username, created_at, expires_at))

    def session_user(self, token_hash: str, now: int) -> tuple[str, str] | None:
        with self._store.reading() as conn:
            row = conn.execute(
                "SELECT u.username, u.role FROM sessions s JOIN users u ON u.username = s.username "
                "WHERE s.token_hash = %s AND s.expires_at > %s AND NOT u.disabled",
                (token_hash, now)).fetchone()
        return (row[0], row[1]) if row else None

    def end_session(self, token_hash: str) -> None:
        with self._store.transaction() as conn:
            conn.execute("DELETE FROM sessions WHERE token_hash = %s", (token_hash,))


class PostgresAskJobs:
    def __init__(self, store: PostgresStore) -> None:
        self._store = store

    def start(self, job_id: str, question: str, audience: str, follow_up_of: str | None, *,
              at: str, forget_finished_before: str) -> None:
        with self._store.transaction() as conn:
            conn.execute("DELETE FROM ask_jobs WHERE state != 'writing' AND updated_at < %s",
                         (forget_finished_before,))
            conn.execute("INSERT INTO ask_jobs (id, question, audience, follow_up_of, state, "
                         "started_at, updated_at) VALUES (%s,%s,%s,%s,'writing',%s,%s)",
                         (job_id, question, audience, follow_up_of, at, at))

    def get(self, job_id: str) -> AskJobRow | None:
        with self._store.reading() as conn:
            row = conn.execute(f"SELECT {_JOB_COLUMNS} FROM ask_jobs WHERE id = %s",
                               (job_id,)).fetchone()
        return AskJobRow(*row) if row else None

    def _set(self, job_id: str, assignments: str, values: tuple, at: str) -> None:
        # ``assignments`` is one of the literals below; values are bound parameters.
        with self._store.transaction() as conn:
            conn.execute(f"UPDATE ask_jobs SET {assignments}, updated_at = %s WHERE id = %s",
                         (*values, at, job_id))

    def progress(self, job_id: str, tokens: int, at: str) -> None:
        self._set(job_id, "tokens = %s", (tokens,), at)

    def finish(self, job_id: str, article_id: str | None, article_slug: str | None,
               at: str) -> None:
        self._set(job_id, "state = 'done', article_id = %s, article_slug = %s",
                  (article_id, article_slug), at)

    def fail(self, job_id: str, code: str, status: int, message: str, at: str) -> None:
        self._set(job_id, "state = 'failed', error_code = %s, error_status = %s, "
                  "error_message = %s", (code, status, message), at)


class PostgresSharedState:
    def __init__(self, store: PostgresStore) -> None:
        self._store = store

    def get(self, name: str) -> str | None:
        with self._store.reading() as conn:
            row = conn.execute("SELECT value FROM shared_state WHERE name = %s", (name,)).fetchone()
        return row[0] if row else None

    def put_if_absent(self, name: str, value: str) -> str:
        with self._store.transaction() as conn:
            conn.execute("INSERT INTO shared_state (name, value) VALUES (%s, %s) "
                         "ON CONFLICT (name) DO NOTHING", (name, value))
            return conn.execute("SELECT value FROM shared_state WHERE name = %s",
                                (name,)).fetchone()[0]


class PostgresConditionNames:
    def __init__(self, store: PostgresStore) -> None:
        self._store = store

    def add(self, pairs) -> None:
        rows = [(name, json.dumps(list(synonyms), ensure_ascii=False)) for name, synonyms in pairs]
        if rows:
            with self._store.transaction() as conn, conn.cursor() as cursor:
                cursor.executemany("INSERT INTO learned_conditions (name, synonyms) "
                                   "VALUES (%s, %s)", rows)

    def all(self) -> list[tuple[str, list[str]]]:
        with self._store.reading() as conn:
            rows = conn.execute("SELECT name, synonyms FROM learned_conditions ORDER BY id"
                                ).fetchall()
        return [(name, json.loads(synonyms)) for name, synonyms in rows]


class PostgresRateLimits:
    def __init__(self, store: PostgresStore) -> None:
        self._store = store

    def take(self, bucket: str, client: str, limit: int, window: float,
             now: float) -> tuple[int | None, float]:
        since = now - window
        with self._store.transaction() as conn:
            # One client's count is read and extended by one transaction at a time.
            conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 1))",
                         (f"{bucket}\x1f{client}",))
            conn.execute("DELETE FROM rate_limit_hits WHERE bucket = %s AND at <= %s",
                         (bucket, since))
            count, oldest = conn.execute(
                "SELECT count(*), min(at) FROM rate_limit_hits WHERE bucket = %s "
                "AND client = %s AND at > %s", (bucket, client, since)).fetchone()
            if count >= limit:
                return None, oldest
            hit = conn.execute("INSERT INTO rate_limit_hits (bucket, client, at) "
                               "VALUES (%s,%s,%s) RETURNING id", (bucket, client, now)).fetchone()
            return hit[0], now

    def give_back(self, hit_id: int) -> None:
        with self._store.transaction() as conn:
            conn.execute("DELETE FROM rate_limit_hits WHERE id = %s", (hit_id,))
