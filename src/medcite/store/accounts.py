"""Reviewer accounts (``users``) and their sign-in sessions (``sessions``) in the SQLite store.

A session is a random token carried in the signed cookie; only its SHA-256 is stored, so a copy
of the database holds no live session. Ending a session deletes its row, so a copy of the cookie
kept after sign-out, a password change or a disabled account signs nobody in.
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

from medcite.errors import ConflictError
from medcite.store.records import UserRow

if TYPE_CHECKING:
    from medcite.store.sqlite import SQLiteStore


def _set_hash(conn: sqlite3.Connection, username: str, password_hash: str,
              only_if: str | None) -> bool:
    if only_if is None:
        cursor = conn.execute("UPDATE users SET password_hash = ? WHERE username = ?",
                              (password_hash, username))
    else:
        cursor = conn.execute("UPDATE users SET password_hash = ? WHERE username = ? "
                              "AND password_hash = ?", (password_hash, username, only_if))
    return cursor.rowcount > 0


def _end_sessions(conn: sqlite3.Connection, username: str) -> int:
    return conn.execute("DELETE FROM sessions WHERE username = ?", (username,)).rowcount


class SQLiteAccounts:
    """``Accounts`` on the SQLite store."""

    def __init__(self, store: SQLiteStore) -> None:
        self._store = store

    def find(self, username: str) -> UserRow | None:
        with self._store.reading() as conn:
            row = conn.execute("SELECT username, role, password_hash, disabled FROM users "
                               "WHERE username = ?", (username,)).fetchone()
        return UserRow(row[0], row[1], row[2], bool(row[3])) if row else None

    def add(self, username: str, password_hash: str, role: str, created_at: str) -> None:
        def insert(conn: sqlite3.Connection) -> None:
            try:
                conn.execute("INSERT INTO users (username, password_hash, role, created_at) "
                             "VALUES (?,?,?,?)", (username, password_hash, role, created_at))
            except sqlite3.IntegrityError:
                raise ConflictError(f"the user {username!r} already exists") from None

        self._store.write(insert)

    def set_password_hash(self, username: str, password_hash: str, *,
                          only_if: str | None = None) -> bool:
        return self._store.write(lambda conn: _set_hash(conn, username, password_hash, only_if))

    def replace_password(self, username: str, password_hash: str) -> int | None:
        def change(conn: sqlite3.Connection) -> int | None:
            if not _set_hash(conn, username, password_hash, None):
                return None
            return _end_sessions(conn, username)

        return self._store.write(change)

    def set_disabled(self, username: str, disabled: bool) -> int | None:
        def change(conn: sqlite3.Connection) -> int | None:
            cursor = conn.execute("UPDATE users SET disabled = ? WHERE username = ?",
                                  (int(disabled), username))
            if cursor.rowcount == 0:
                return None
            return _end_sessions(conn, username) if disabled else 0

        return self._store.write(change)

    def start_session(self, token_hash: str, username: str, created_at: int,
                      expires_at: int) -> None:
        def insert(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM sessions WHERE expires_at <= ?", (created_at,))  # housekeeping
            conn.execute("INSERT INTO sessions (token_hash, username, created_at, expires_at) "
                         "VALUES (?,?,?,?)", (token_hash, username, created_at, expires_at))

        self._store.write(insert)

    def session_user(self, token_hash: str, now: int) -> tuple[str, str] | None:
        with self._store.reading() as conn:
            row = conn.execute(
                "SELECT u.username, u.role FROM sessions s JOIN users u ON u.username = s.username "
                "WHERE s.token_hash = ? AND s.expires_at > ? AND u.disabled = 0",
                (token_hash, now)).fetchone()
        return (row[0], row[1]) if row else None

    def end_session(self, token_hash: str) -> None:
        self._store.write(lambda conn: conn.execute(
            "DELETE FROM sessions WHERE token_hash = ?", (token_hash,)))
