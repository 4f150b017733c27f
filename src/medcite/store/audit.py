"""The review audit trail as a hash chain, and its check (``medcite verify``).

Each review event stores ``hash`` = SHA-256 of its content (id, article, version, statuses,
actor, comment, time, the SHA-256 of the version text it concerns) and of ``prev_hash``, the
previous event's hash. The database's triggers refuse rewrites; the chain shows one done with
the triggers out of the way (an edited, removed or inserted event, or a rewritten version
text), and replaying the events shows an article whose review state they do not record (an
approval sets the approved version, a withdrawal clears it, a new version for a correction
leaves it as it was).
Appending a forged event at the end cannot be told from SQL alone: the chain is not keyed.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass

_EVENT_COLUMNS = "e.id, e.article_id, e.version, e.from_status, e.to_status, e.actor, e.comment, e.at"


@dataclass(frozen=True)
class AuditProblem:
    """One place where the stored trail disagrees with itself."""

    message: str
    event_id: int | None = None
    article_id: str | None = None


def link_hash(prev_hash: str | None, content: tuple, version_json: str | None) -> str:
    """The hash an event with ``content`` (its columns in ``_EVENT_COLUMNS`` order) stores."""
    text = hashlib.sha256(version_json.encode()).hexdigest() if version_json is not None else None
    payload = json.dumps([*content, text, prev_hash], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()


def insert_event(conn: sqlite3.Connection, article_id: str, version: int,
                 from_status: str | None, to_status: str, actor: str, comment: str,
                 at: str) -> int:
    """Append one event as the next link of the chain; returns its id. Inside the writer's
    transaction, so no other event can slip in between reading the head and appending."""
    head = conn.execute("SELECT id, hash FROM review_events ORDER BY id DESC LIMIT 1").fetchone()
    event_id, prev_hash = (head[0] + 1, head[1]) if head else (1, None)
    row = conn.execute("SELECT json FROM article_versions WHERE article_id = ? AND version = ?",
                       (article_id, version)).fetchone()
    content = (event_id, article_id, version, from_status, to_status, actor, comment, at)
    conn.execute(
        "INSERT INTO review_events (id, article_id, version, from_status, to_status, actor, "
        "comment, at, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?)",
        (*content, prev_hash, link_hash(prev_hash, content, row[0] if row else None)),
    )
    return event_id


def _events(conn: sqlite3.Connection) -> Iterator[tuple]:
    return conn.execute(
        f"SELECT {_EVENT_COLUMNS}, e.prev_hash, e.hash, v.json FROM review_events e "
        "LEFT JOIN article_versions v ON v.article_id = e.article_id AND v.version = e.version "
        "ORDER BY e.id")


def chain_existing_events(conn: sqlite3.Connection) -> None:
    """Give events recorded before the chain existed their links (run by a migration)."""
    prev_hash = None
    for row in _events(conn).fetchall():
        digest = link_hash(prev_hash, row[:8], row[10])
        conn.execute("UPDATE review_events SET prev_hash = ?, hash = ? WHERE id = ?",
                     (prev_hash, digest, row[0]))
        prev_hash = digest


def verify_trail(conn: sqlite3.Connection) -> tuple[int, list[AuditProblem]]:
    """(events checked, problems): every link of the chain, then each article's recorded state
    against what its events say it should be."""
    problems: list[AuditProblem] = []
    count, prev_id, prev_hash = 0, 0, None
    # article id -> (current version, status, approved version) replayed from its events
    replayed: dict[str, tuple[int, str, int | None]] = {}
    for row in _events(conn):
        count += 1
        event_id, article_id, version, _, to_status = row[:5]
        stored_prev, stored_hash, version_json = row[8], row[9], row[10]
        where = f"event {event_id} (article {article_id} version {version}, to {to_status})"
        if event_id != prev_id + 1:
            problems.append(AuditProblem(f"events {prev_id + 1} to {event_id - 1} are missing",
                                         event_id, article_id))
        if stored_prev != prev_hash:
            problems.append(AuditProblem(
                f"{where}: broken link: it does not follow the event recorded before it "
                "(an event was removed, inserted or rewritten)", event_id, article_id))
        if version_json is None:
            problems.append(AuditProblem(f"{where}: the version it concerns is missing",
                                         event_id, article_id))
        if stored_hash != link_hash(stored_prev, row[:8], version_json):
            problems.append(AuditProblem(
                f"{where}: broken link: its content or the version text it concerns changed "
                "after it was recorded", event_id, article_id))
        approved = replayed.get(article_id, (0, "", None))[2]
        if to_status == "approved":
            approved = version
        elif to_status == "withdrawn":  # a withdrawn article has no approved version
            approved = None
        replayed[article_id] = (version, to_status, approved)
        prev_id, prev_hash = event_id, stored_hash
    problems.extend(_state_problems(conn, replayed))
    return count, problems


def _state_problems(conn: sqlite3.Connection,
                    replayed: dict[str, tuple[int, str, int | None]]) -> Iterator[AuditProblem]:
    for article_id, current, status, approved in conn.execute(
            "SELECT id, current_version, status, approved_version FROM articles ORDER BY id"):
        expected = replayed.get(article_id)
        if expected is None:
            yield AuditProblem(f"article {article_id} has no review events", None, article_id)
        elif (current, status, approved) != expected:
            yield AuditProblem(
                f"article {article_id} records version {current}, {status}, approved version "
                f"{approved}, but its events record version {expected[0]}, {expected[1]}, "
                f"approved version {expected[2]}", None, article_id)
    for article_id, version in conn.execute(
            "SELECT v.article_id, v.version FROM article_versions v WHERE NOT EXISTS "
            "(SELECT 1 FROM review_events e WHERE e.article_id = v.article_id "
            "AND e.version = v.version) ORDER BY 1, 2"):
        yield AuditProblem(f"article {article_id} version {version} has no review event", None,
                           article_id)
