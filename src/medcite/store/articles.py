"""SQL for stored articles, their versions and review events (``review.articles`` holds the rules).

Every function takes the connection of a transaction or a read, so callers compose them inside
``SQLiteStore.write``; nothing here commits.
"""

from __future__ import annotations

import sqlite3
from typing import NamedTuple

# An article whose only text was rejected (or withdrawn) is not served as an answer: asking
# again answers afresh.
_SERVABLE = "(approved_version IS NOT NULL OR status IN ('submitted', 'under_review'))"


def servable_for_question(conn: sqlite3.Connection, question_norm: str,
                          parent_id: str | None) -> tuple[str, int | None] | None:
    """(id, approved version) of the article to serve for a question: approved first, then the
    most recently updated one still in review."""
    return conn.execute(
        "SELECT id, approved_version FROM articles "
        f"WHERE question_norm = ? AND parent_id IS ? AND {_SERVABLE} "
        "ORDER BY approved_version IS NULL, updated_at DESC LIMIT 1",
        (question_norm, parent_id),
    ).fetchone()


class LatestEvent(NamedTuple):
    version: int
    to_status: str
    actor: str
    comment: str
    at: str


def latest_event(conn: sqlite3.Connection, article_id: str) -> LatestEvent:
    """The article's latest review event (every stored article has one)."""
    return LatestEvent(*conn.execute(
        "SELECT version, to_status, actor, comment, at FROM review_events WHERE article_id = ? "
        "ORDER BY id DESC LIMIT 1", (article_id,)).fetchone())
