"""Documents that changed key, and the aliases that keep their old keys readable.

MedQuAD pairs were keyed ``medquad:<source>/<qid>`` with "~2", "~3" appended to a repeated qid
in file order, so the same pairs split over two files collided. Migration 0013 re-keys every
stored MedQuAD document by its own identity (``~`` and 8 hex of the SHA-1 of its question,
the stored title; see ``medcite.ingest.medquad.medquad_key``) in place: nothing is deleted or
re-inserted, passage ids stay, so passage vectors stay valid. Each old key becomes an alias:
an article that cites it still finds the document and its passages under that key, and its
recorded citations move to the new key so a later change to the document still flags it.
"""

from __future__ import annotations

import hashlib
import sqlite3

_ALIASES = """
CREATE TABLE IF NOT EXISTS document_aliases (
    alias TEXT PRIMARY KEY,
    key TEXT NOT NULL
) WITHOUT ROWID
"""


def medquad_identity_keys(conn: sqlite3.Connection) -> None:
    """Migration 0013. Frozen: the key rule is written out here, not imported."""
    conn.execute(_ALIASES)
    conn.execute("CREATE INDEX IF NOT EXISTS document_aliases_key ON document_aliases (key)")
    rows = conn.execute(
        "SELECT id, key, title FROM documents WHERE key LIKE 'medquad:%/%'").fetchall()
    taken = {key for _, key, _ in rows}
    moved: dict[str, str] = {}
    for doc_id, key, title in rows:
        new = f"{key.split('~', 1)[0]}~{hashlib.sha1(title.encode()).hexdigest()[:8]}"
        if new == key or new in taken:  # keyed so already, or the very same pair twice
            continue
        conn.execute("UPDATE documents SET key = ? WHERE id = ?", (new, doc_id))
        taken.discard(key)
        taken.add(new)
        moved[key] = new
    conn.executemany("INSERT OR REPLACE INTO document_aliases (alias, key) VALUES (?, ?)",
                     moved.items())
    if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'article_citations'").fetchone():
        conn.executemany("UPDATE OR IGNORE article_citations SET document_key = ? "
                         "WHERE document_key = ?", [(new, old) for old, new in moved.items()])


def current_key(conn: sqlite3.Connection, alias: str) -> str | None:
    """The key a document has now, when ``alias`` is one it had before."""
    row = conn.execute("SELECT key FROM document_aliases WHERE alias = ?", (alias,)).fetchone()
    return row[0] if row else None


def aliases_of(conn: sqlite3.Connection, key: str) -> list[str]:
    return [r[0] for r in conn.execute("SELECT alias FROM document_aliases WHERE key = ?", (key,))]
