"""Rate limits counted in the SQLite store (``rate_limit_hits``), so every worker process and
replica serving one store shares one count: two workers do not allow twice the limit.

A hit is recorded, or refused, in one write transaction (``BEGIN IMMEDIATE`` serialises it with
every other process's), so concurrent requests cannot all see room for themselves.
"""

from __future__ import annotations

import json
import sqlite3
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from medcite.store.sqlite import SQLiteStore


def _take(conn: sqlite3.Connection, bucket: str, client: str, limit: int, window: float,
          now: float) -> tuple[int | None, float]:
    since = now - window
    # Hits that left the window are deleted on the way, for every client of the bucket.
    conn.execute("DELETE FROM rate_limit_hits WHERE bucket = ? AND at <= ?", (bucket, since))
    count, oldest = conn.execute(
        "SELECT count(*), min(at) FROM rate_limit_hits WHERE bucket = ? AND client = ? AND at > ?",
        (bucket, client, since)).fetchone()
    if count >= limit:
        return None, oldest
    cursor = conn.execute("INSERT INTO rate_limit_hits (bucket, client, at) VALUES (?, ?, ?)",
                          (bucket, client, now))
    return cursor.lastrowid, now


class SQLiteSharedState:
    """``SharedState`` on the SQLite store."""

    def __init__(self, store: SQLiteStore) -> None:
        self._store = store

    def get(self, name: str) -> str | None:
        with self._store.reading() as conn:
            row = conn.execute("SELECT value FROM shared_state WHERE name = ?", (name,)).fetchone()
        return row[0] if row else None

    def put_if_absent(self, name: str, value: str) -> str:
        def put(conn: sqlite3.Connection) -> str:
            conn.execute("INSERT OR IGNORE INTO shared_state (name, value) VALUES (?, ?)",
                         (name, value))
            return conn.execute("SELECT value FROM shared_state WHERE name = ?",
                                (name,)).fetchone()[0]

        return self._store.write(put)


class SQLiteConditionNames:
    """``ConditionNames`` on the SQLite store."""

    def __init__(self, store: SQLiteStore) -> None:
        self._store = store

    def add(self, pairs) -> None:
        rows = [(name, json.dumps(list(synonyms), ensure_ascii=False)) for name, synonyms in pairs]
        if rows:
            self._store.write(lambda conn: conn.executemany(
                "INSERT INTO learned_conditions (name, synonyms) VALUES (?, ?)", rows))

    def all(self) -> list[tuple[str, list[str]]]:
        with self._store.reading() as conn:
            rows = conn.execute("SELECT name, synonyms FROM learned_conditions ORDER BY id").fetchall()
        return [(name, json.loads(synonyms)) for name, synonyms in rows]


class SQLiteRateLimits:
    """``RateLimits`` on the SQLite store."""

    def __init__(self, store: SQLiteStore) -> None:
        self._store = store

    def take(self, bucket: str, client: str, limit: int, window: float,
             now: float) -> tuple[int | None, float]:
        return self._store.write(lambda conn: _take(conn, bucket, client, limit, window, now))

    def give_back(self, hit_id: int) -> None:
        self._store.write(lambda conn: conn.execute(
            "DELETE FROM rate_limit_hits WHERE id = ?", (hit_id,)))
