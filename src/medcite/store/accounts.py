"""SQL for reviewer accounts (``users``) and their sign-in sessions (``sessions``).

A session is a random token carried in the signed cookie; only its SHA-256 is stored, so a copy
of the database holds no live session. Ending a session deletes its row, so a copy of the cookie
kept after sign-out, a password change or a disabled account signs nobody in. Every function
takes the connection of the caller's transaction (``SQLiteStore.write`` or ``reading``).
"""

from __future__ import annotations

import sqlite3
from typing import NamedTuple


class UserRow(NamedTuple):
    username: str
    role: str
    password_hash: str
    disabled: bool


def find_user(conn: sqlite3.Connection, username: str) -> UserRow | None:
    row = conn.execute("SELECT username, role, password_hash, disabled FROM users "
                       "WHERE username = ?", (username,)).fetchone()
    return UserRow(row[0], row[1], row[2], bool(row[3])) if row else None


def insert_user(conn: sqlite3.Connection, username: str, password_hash: str, role: str,
                created_at: str) -> None:
    """Raises ``sqlite3.IntegrityError`` when the username is taken."""
    conn.execute("INSERT INTO users (username, password_hash, role, created_at) VALUES (?,?,?,?)",
                 (username, password_hash, role, created_at))


def set_password_hash(conn: sqlite3.Connection, username: str, password_hash: str, *,
                      only_if: str | None = None) -> bool:
    """Store a new hash; ``only_if`` rewrites only while the stored hash is still that one (a
    rehash at sign-in must not undo a password change made meanwhile). False if no row changed."""
    if only_if is None:
        cursor = conn.execute("UPDATE users SET password_hash = ? WHERE username = ?",
                              (password_hash, username))
    else:
        cursor = conn.execute("UPDATE users SET password_hash = ? WHERE username = ? "
                              "AND password_hash = ?", (password_hash, username, only_if))
    return cursor.rowcount > 0


def set_disabled(conn: sqlite3.Connection, username: str, disabled: bool) -> bool:
    """False if there is no such user."""
    cursor = conn.execute("UPDATE users SET disabled = ? WHERE username = ?",
                          (int(disabled), username))
    return cursor.rowcount > 0


def insert_session(conn: sqlite3.Connection, token_hash: str, username: str, created_at: int,
                   expires_at: int) -> None:
    conn.execute("DELETE FROM sessions WHERE expires_at <= ?", (created_at,))  # housekeeping
    conn.execute("INSERT INTO sessions (token_hash, username, created_at, expires_at) "
                 "VALUES (?,?,?,?)", (token_hash, username, created_at, expires_at))


def session_user(conn: sqlite3.Connection, token_hash: str, now: int) -> tuple[str, str] | None:
    """(username, role) of a live session of an enabled account, else None."""
    return conn.execute(
        "SELECT u.username, u.role FROM sessions s JOIN users u ON u.username = s.username "
        "WHERE s.token_hash = ? AND s.expires_at > ? AND u.disabled = 0",
        (token_hash, now)).fetchone()


def delete_session(conn: sqlite3.Connection, token_hash: str) -> None:
    conn.execute("DELETE FROM sessions WHERE token_hash = ?", (token_hash,))


def delete_user_sessions(conn: sqlite3.Connection, username: str) -> int:
    """End every session of ``username``; returns how many there were."""
    return conn.execute("DELETE FROM sessions WHERE username = ?", (username,)).rowcount
