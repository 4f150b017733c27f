"""SQL for source-change flags: a cited document deleted or replaced flags the article versions
citing it, and each flagged version's re-verification is recorded (``review.flags`` holds the
rules).

``article_citations`` says which documents each stored version cites (written with the version);
``article_flags`` and ``article_reverifications`` are append-only records. A version's flags
are pending until a re-verification covers them (``through_flag`` is the last flag id it saw).
Every function takes the connection of a transaction or a read; nothing here commits
(``store.articles`` wraps them in the store's transactions).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence

from medcite.store.records import Change, FlagRow, ReverificationRow


def record_citations(conn: sqlite3.Connection, article_id: str, version: int,
                     document_keys: Iterable[str]) -> None:
    conn.executemany(
        "INSERT OR IGNORE INTO article_citations (article_id, version, document_key) "
        "VALUES (?,?,?)", [(article_id, version, key) for key in dict.fromkeys(document_keys)])


def flag_changes(conn: sqlite3.Connection, changes: Sequence[Change], at: str) -> int:
    """One flag per article version citing a changed document; returns how many were written.
    Called inside the ingest transaction that changed the documents."""
    flagged = 0
    for start in range(0, len(changes), 500):
        chunk = changes[start : start + 500]
        by_key: dict[str, list[Change]] = {}
        for change in chunk:
            by_key.setdefault(change.document_key, []).append(change)
        marks = ",".join("?" * len(by_key))
        cited = conn.execute(
            "SELECT article_id, version, document_key FROM article_citations "
            f"WHERE document_key IN ({marks}) ORDER BY article_id, version", list(by_key)).fetchall()
        rows = [(article_id, version, key, c.change, c.from_revision, c.to_revision, at)
                for article_id, version, key in cited for c in by_key[key]]
        conn.executemany(
            "INSERT INTO article_flags (article_id, version, document_key, change, from_revision, "
            "to_revision, changed_at) VALUES (?,?,?,?,?,?,?)", rows)
        flagged += len(rows)
    return flagged


def flags_of(conn: sqlite3.Connection, article_id: str, version: int) -> list[FlagRow]:
    return [FlagRow(*row) for row in conn.execute(
        "SELECT id, document_key, change, from_revision, to_revision, changed_at "
        "FROM article_flags WHERE article_id = ? AND version = ? ORDER BY id",
        (article_id, version))]


def latest_reverification(conn: sqlite3.Connection, article_id: str,
                          version: int) -> ReverificationRow | None:
    row = conn.execute(
        "SELECT through_flag, at, checked, no_longer_supported, failures "
        "FROM article_reverifications WHERE article_id = ? AND version = ? "
        "ORDER BY id DESC LIMIT 1", (article_id, version)).fetchone()
    return ReverificationRow(*row) if row else None


def pending(conn: sqlite3.Connection, article_id: str | None = None) -> list[tuple[str, int, int]]:
    """(article id, version, last flag id) of every flagged version that no re-verification
    has covered yet, oldest flag first."""
    where = "WHERE f.article_id = ?" if article_id is not None else ""
    return [tuple(row) for row in conn.execute(
        "SELECT f.article_id, f.version, max(f.id) FROM article_flags f "
        f"{where} GROUP BY f.article_id, f.version "
        "HAVING max(f.id) > coalesce((SELECT max(r.through_flag) FROM article_reverifications r "
        "WHERE r.article_id = f.article_id AND r.version = f.version), 0) ORDER BY min(f.id)",
        (article_id,) if article_id is not None else ())]


def record_reverification(conn: sqlite3.Connection, article_id: str, version: int,
                          through_flag: int, at: str, checked: int, no_longer_supported: int,
                          failures: str) -> bool:
    """Record a re-verification unless one covering these flags was recorded meanwhile (by
    another process); returns whether this one was."""
    covered = conn.execute(
        "SELECT 1 FROM article_reverifications WHERE article_id = ? AND version = ? "
        "AND through_flag >= ?", (article_id, version, through_flag)).fetchone()
    if covered:
        return False
    conn.execute(
        "INSERT INTO article_reverifications (article_id, version, through_flag, at, checked, "
        "no_longer_supported, failures) VALUES (?,?,?,?,?,?,?)",
        (article_id, version, through_flag, at, checked, no_longer_supported, failures))
    return True


def flagged_articles(conn: sqlite3.Connection, columns: str) -> list[tuple]:
    """``columns`` of the articles whose served version (the approved one, else the latest)
    has a flag, most recently flagged first; withdrawn articles are left out."""
    return conn.execute(
        f"SELECT {columns} FROM articles a WHERE a.status != 'withdrawn' AND EXISTS ("
        "SELECT 1 FROM article_flags f WHERE f.article_id = a.id "
        "AND f.version = coalesce(a.approved_version, a.current_version)) "
        "ORDER BY (SELECT max(f.id) FROM article_flags f WHERE f.article_id = a.id) DESC"
    ).fetchall()
