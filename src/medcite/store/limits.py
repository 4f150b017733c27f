"""SQL for rate limits counted in the store (``rate_limit_hits``), so every worker process and
replica serving one store shares one count: two workers do not allow twice the limit.

A hit is recorded, or refused, in one write transaction (``BEGIN IMMEDIATE`` serialises it with
every other process's), so concurrent requests cannot all see room for themselves.
"""

from __future__ import annotations

import sqlite3


def take(conn: sqlite3.Connection, bucket: str, client: str, limit: int, window: float,
         now: float) -> tuple[int | None, float]:
    """Record one hit of ``client`` unless it has ``limit`` within ``window`` seconds already.

    Returns (the hit's id, now) when recorded, else (None, the time of its oldest hit in the
    window). Hits that left the window are deleted on the way, for every client of the bucket.
    """
    since = now - window
    conn.execute("DELETE FROM rate_limit_hits WHERE bucket = ? AND at <= ?", (bucket, since))
    count, oldest = conn.execute(
        "SELECT count(*), min(at) FROM rate_limit_hits WHERE bucket = ? AND client = ? AND at > ?",
        (bucket, client, since)).fetchone()
    if count >= limit:
        return None, oldest
    cursor = conn.execute("INSERT INTO rate_limit_hits (bucket, client, at) VALUES (?, ?, ?)",
                          (bucket, client, now))
    return cursor.lastrowid, now


def give_back(conn: sqlite3.Connection, hit_id: int) -> None:
    """Forget one hit (an attempt that turned out not to count)."""
    conn.execute("DELETE FROM rate_limit_hits WHERE id = ?", (hit_id,))
