"""Append-only, named schema migrations for the SQLite store.

Never edit a migration that has shipped: add a new one at the end. Each applied name is recorded
in ``schema_migrations`` so opening an older store brings it up to date.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

from medcite.store import audit
from medcite.store.rekey import medquad_identity_keys

# A migration is SQL, or a function for steps SQL cannot do (hashing existing rows).
Step = str | Callable[[sqlite3.Connection], None]


def _audit_chain(conn: sqlite3.Connection) -> None:
    """Versions, events and review state become append-only, and every review event is a link
    of a hash chain (existing events are chained here, in id order)."""
    conn.execute("ALTER TABLE review_events ADD COLUMN prev_hash TEXT")
    conn.execute("ALTER TABLE review_events ADD COLUMN hash TEXT")
    audit.chain_existing_events(conn)
    for statement in statements(_AUDIT_TRIGGERS):
        conn.execute(statement)


# REPLACE deletes the conflicting row without firing delete triggers unless recursive_triggers
# is on, which an ordinary connection does not set: so each table refuses the conflicting
# insert itself, before any row is removed.
_AUDIT_TRIGGERS = """
CREATE TRIGGER article_versions_append_only BEFORE INSERT ON article_versions
WHEN NEW.version IS NOT (SELECT coalesce(max(version), 0) + 1 FROM article_versions
                         WHERE article_id = NEW.article_id)
BEGIN SELECT RAISE(ABORT, 'article versions are immutable: a new version is the next number'); END;

CREATE TRIGGER review_events_append_only BEFORE INSERT ON review_events
WHEN NEW.id IS NOT (SELECT coalesce(max(id), 0) + 1 FROM review_events)
  OR NEW.prev_hash IS NOT (SELECT hash FROM review_events ORDER BY id DESC LIMIT 1)
  OR NEW.hash IS NULL
  OR NOT EXISTS (SELECT 1 FROM article_versions
                 WHERE article_id = NEW.article_id AND version = NEW.version)
BEGIN SELECT RAISE(ABORT, 'review events are append-only: each is the next link of the chain'); END;
CREATE TRIGGER review_events_no_update BEFORE UPDATE ON review_events
BEGIN SELECT RAISE(ABORT, 'review events are immutable'); END;
CREATE TRIGGER review_events_no_delete BEFORE DELETE ON review_events
BEGIN SELECT RAISE(ABORT, 'review events are immutable'); END;

CREATE TRIGGER articles_no_delete BEFORE DELETE ON articles
BEGIN SELECT RAISE(ABORT, 'articles are never deleted: their history is the audit trail'); END;
CREATE TRIGGER articles_start_submitted BEFORE INSERT ON articles
WHEN EXISTS (SELECT 1 FROM articles WHERE id = NEW.id OR slug = NEW.slug)
  OR NEW.current_version IS NOT 1 OR NEW.approved_version IS NOT NULL
  OR NEW.status IS NOT 'submitted'
BEGIN SELECT RAISE(ABORT, 'a new article is version 1, submitted, nothing approved'); END;
CREATE TRIGGER articles_identity_fixed BEFORE UPDATE OF id, slug, question, thread_id, parent_id,
    created_at ON articles
WHEN NEW.id IS NOT OLD.id OR NEW.slug IS NOT OLD.slug OR NEW.question IS NOT OLD.question
  OR NEW.thread_id IS NOT OLD.thread_id OR NEW.parent_id IS NOT OLD.parent_id
  OR NEW.created_at IS NOT OLD.created_at
BEGIN SELECT RAISE(ABORT, 'an article''s question and identity never change'); END;
CREATE TRIGGER articles_state_from_events BEFORE UPDATE OF status, current_version,
    approved_version ON articles
WHEN NEW.status IS NOT (SELECT to_status FROM review_events WHERE article_id = NEW.id
                        ORDER BY id DESC LIMIT 1)
  OR NEW.current_version IS NOT (SELECT version FROM review_events WHERE article_id = NEW.id
                                 ORDER BY id DESC LIMIT 1)
BEGIN SELECT RAISE(ABORT, 'an article''s status is the one its latest review event records'); END;
CREATE TRIGGER articles_approval_from_events BEFORE UPDATE OF approved_version ON articles
WHEN NEW.approved_version IS NOT OLD.approved_version AND NOT EXISTS (
    SELECT 1 FROM (SELECT version, to_status FROM review_events WHERE article_id = NEW.id
                   ORDER BY id DESC LIMIT 1)
    WHERE version = NEW.approved_version AND to_status = 'approved')
BEGIN SELECT RAISE(ABORT, 'an approved version needs the approval event recording it'); END;
"""


# Withdrawal. SQLite cannot change a CHECK constraint in place: the articles table is rebuilt
# with 'withdrawn' allowed (rowids kept, so threads keep their order) and its indexes and
# triggers made again. Withdrawing an article clears its approved version, so the approval
# trigger also accepts NULL when the latest event is a withdrawal, and a withdrawn article can
# hold no approved version.
_ARTICLE_WITHDRAWAL = """
CREATE TABLE articles_rebuilt (
    id TEXT PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    question TEXT NOT NULL,
    question_norm TEXT NOT NULL,
    thread_id TEXT NOT NULL,
    parent_id TEXT REFERENCES articles (id),
    current_version INTEGER NOT NULL,
    approved_version INTEGER,
    status TEXT NOT NULL
        CHECK (status IN ('submitted', 'under_review', 'approved', 'rejected', 'withdrawn')),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
INSERT INTO articles_rebuilt (rowid, id, slug, question, question_norm, thread_id, parent_id,
                              current_version, approved_version, status, created_at, updated_at)
SELECT rowid, id, slug, question, question_norm, thread_id, parent_id, current_version,
       approved_version, status, created_at, updated_at FROM articles;
DROP TABLE articles;
ALTER TABLE articles_rebuilt RENAME TO articles;
CREATE INDEX articles_question ON articles (question_norm, parent_id);
CREATE INDEX articles_status ON articles (status, updated_at);
CREATE INDEX articles_thread ON articles (thread_id, created_at);

CREATE TRIGGER articles_no_delete BEFORE DELETE ON articles
BEGIN SELECT RAISE(ABORT, 'articles are never deleted: their history is the audit trail'); END;
CREATE TRIGGER articles_start_submitted BEFORE INSERT ON articles
WHEN EXISTS (SELECT 1 FROM articles WHERE id = NEW.id OR slug = NEW.slug)
  OR NEW.current_version IS NOT 1 OR NEW.approved_version IS NOT NULL
  OR NEW.status IS NOT 'submitted'
BEGIN SELECT RAISE(ABORT, 'a new article is version 1, submitted, nothing approved'); END;
CREATE TRIGGER articles_identity_fixed BEFORE UPDATE OF id, slug, question, thread_id, parent_id,
    created_at ON articles
WHEN NEW.id IS NOT OLD.id OR NEW.slug IS NOT OLD.slug OR NEW.question IS NOT OLD.question
  OR NEW.thread_id IS NOT OLD.thread_id OR NEW.parent_id IS NOT OLD.parent_id
  OR NEW.created_at IS NOT OLD.created_at
BEGIN SELECT RAISE(ABORT, 'an article''s question and identity never change'); END;
CREATE TRIGGER articles_state_from_events BEFORE UPDATE OF status, current_version,
    approved_version ON articles
WHEN NEW.status IS NOT (SELECT to_status FROM review_events WHERE article_id = NEW.id
                        ORDER BY id DESC LIMIT 1)
  OR NEW.current_version IS NOT (SELECT version FROM review_events WHERE article_id = NEW.id
                                 ORDER BY id DESC LIMIT 1)
  OR (NEW.status = 'withdrawn' AND NEW.approved_version IS NOT NULL)
BEGIN SELECT RAISE(ABORT, 'an article''s status is the one its latest review event records'); END;
CREATE TRIGGER articles_approval_from_events BEFORE UPDATE OF approved_version ON articles
WHEN NEW.approved_version IS NOT OLD.approved_version AND NOT EXISTS (
    SELECT 1 FROM (SELECT version, to_status FROM review_events WHERE article_id = NEW.id
                   ORDER BY id DESC LIMIT 1)
    WHERE (to_status = 'approved' AND version = NEW.approved_version)
       OR (to_status = 'withdrawn' AND NEW.approved_version IS NULL))
BEGIN SELECT RAISE(ABORT, 'an approved version needs the approval event recording it'); END;
"""

# Source-change flags: a cited document deleted (PubMed DeleteCitation) or replaced by a newer
# revision flags every article version citing it, and the flagged version is checked again.
_SOURCE_CHANGE_FLAGS = """
-- Which documents each version cites, so a deleted or replaced document finds its articles.
CREATE TABLE article_citations (
    article_id TEXT NOT NULL REFERENCES articles (id),
    version INTEGER NOT NULL,
    document_key TEXT NOT NULL,
    PRIMARY KEY (article_id, version, document_key)
) WITHOUT ROWID;
CREATE INDEX article_citations_document ON article_citations (document_key);
INSERT OR IGNORE INTO article_citations (article_id, version, document_key)
SELECT v.article_id, v.version, json_extract(r.value, '$.document_key')
FROM article_versions v, json_each(v.json, '$.references') r
WHERE json_extract(r.value, '$.document_key') IS NOT NULL;

-- A cited document deleted or replaced: one flag per article version citing it, written in
-- the ingest transaction that changed the document.
CREATE TABLE article_flags (
    id INTEGER PRIMARY KEY,
    article_id TEXT NOT NULL REFERENCES articles (id),
    version INTEGER NOT NULL,
    document_key TEXT NOT NULL,
    change TEXT NOT NULL CHECK (change IN ('withdrawn', 'revised')),
    from_revision INTEGER,
    to_revision INTEGER,
    changed_at TEXT NOT NULL
);
CREATE INDEX article_flags_version ON article_flags (article_id, version, id);

-- The flagged version checked again against the store; covers every flag up to through_flag.
CREATE TABLE article_reverifications (
    id INTEGER PRIMARY KEY,
    article_id TEXT NOT NULL REFERENCES articles (id),
    version INTEGER NOT NULL,
    through_flag INTEGER NOT NULL,
    at TEXT NOT NULL,
    checked INTEGER NOT NULL,
    no_longer_supported INTEGER NOT NULL,
    failures TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX article_reverifications_version ON article_reverifications (article_id, version, id);

CREATE TRIGGER article_flags_no_update BEFORE UPDATE ON article_flags
BEGIN SELECT RAISE(ABORT, 'source-change flags are a record: never rewritten'); END;
CREATE TRIGGER article_flags_no_delete BEFORE DELETE ON article_flags
BEGIN SELECT RAISE(ABORT, 'source-change flags are a record: never rewritten'); END;
CREATE TRIGGER article_reverifications_no_update BEFORE UPDATE ON article_reverifications
BEGIN SELECT RAISE(ABORT, 're-verifications are a record: never rewritten'); END;
CREATE TRIGGER article_reverifications_no_delete BEFORE DELETE ON article_reverifications
BEGIN SELECT RAISE(ABORT, 're-verifications are a record: never rewritten'); END;
"""


MIGRATIONS: list[tuple[str, Step]] = [
    (
        "0001_documents_passages",
        """
        CREATE TABLE documents (
            id INTEGER PRIMARY KEY,
            key TEXT NOT NULL UNIQUE,
            source_type TEXT NOT NULL
                CHECK (source_type IN ('guideline', 'research', 'drug_label', 'consumer_health')),
            title TEXT NOT NULL,
            source TEXT,
            year INTEGER,
            pmid TEXT,
            pmcid TEXT,
            doi TEXT,
            spl_set_id TEXT,
            spl_version TEXT,
            url TEXT,
            publication_types TEXT NOT NULL DEFAULT '[]',
            mesh_terms TEXT NOT NULL DEFAULT '[]',
            keywords TEXT NOT NULL DEFAULT '[]',
            language TEXT,
            revision INTEGER NOT NULL DEFAULT 1,
            title_only INTEGER NOT NULL DEFAULT 0,
            content_hash TEXT NOT NULL,
            ingested_at TEXT NOT NULL
        );
        CREATE INDEX documents_type_year ON documents (source_type, year);
        CREATE INDEX documents_pmid ON documents (pmid);

        CREATE TABLE passages (
            id INTEGER PRIMARY KEY,
            document_id INTEGER NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
            ordinal INTEGER NOT NULL,
            section TEXT NOT NULL,
            char_start INTEGER NOT NULL,
            char_end INTEGER NOT NULL,
            sentences BLOB NOT NULL,
            UNIQUE (document_id, ordinal)
        );

        -- Passage text lives only here (rowid = passages.id), so it is stored once.
        CREATE VIRTUAL TABLE passage_text USING fts5 (
            title, section, body, tokenize = 'porter unicode61'
        );

        CREATE TABLE ingested_files (
            fingerprint TEXT PRIMARY KEY,
            path TEXT NOT NULL,
            completed_at TEXT NOT NULL,
            added INTEGER NOT NULL,
            replaced INTEGER NOT NULL,
            unchanged INTEGER NOT NULL,
            deleted INTEGER NOT NULL
        );
        """,
    ),
    (
        "0002_articles_review",
        """
        -- One row per article; its content lives in article_versions, one immutable row per version.
        CREATE TABLE articles (
            id TEXT PRIMARY KEY,
            slug TEXT NOT NULL UNIQUE,
            question TEXT NOT NULL,
            question_norm TEXT NOT NULL,
            thread_id TEXT NOT NULL,
            parent_id TEXT REFERENCES articles (id),
            current_version INTEGER NOT NULL,
            approved_version INTEGER,
            status TEXT NOT NULL
                CHECK (status IN ('submitted', 'under_review', 'approved', 'rejected')),
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE INDEX articles_question ON articles (question_norm, parent_id);
        CREATE INDEX articles_status ON articles (status, updated_at);
        CREATE INDEX articles_thread ON articles (thread_id, created_at);

        CREATE TABLE article_versions (
            article_id TEXT NOT NULL REFERENCES articles (id),
            version INTEGER NOT NULL,
            json TEXT NOT NULL,
            created_at TEXT NOT NULL,
            created_by TEXT NOT NULL,
            PRIMARY KEY (article_id, version)
        );
        -- A published (or reviewed) text must never change under its readers: versions are
        -- append-only, a revision is a new row.
        CREATE TRIGGER article_versions_no_update BEFORE UPDATE ON article_versions
        BEGIN SELECT RAISE(ABORT, 'article versions are immutable'); END;
        CREATE TRIGGER article_versions_no_delete BEFORE DELETE ON article_versions
        BEGIN SELECT RAISE(ABORT, 'article versions are immutable'); END;

        CREATE TABLE review_events (
            id INTEGER PRIMARY KEY,
            article_id TEXT NOT NULL REFERENCES articles (id),
            version INTEGER NOT NULL,
            from_status TEXT,
            to_status TEXT NOT NULL,
            actor TEXT NOT NULL,
            comment TEXT NOT NULL DEFAULT '',
            at TEXT NOT NULL
        );
        CREATE INDEX review_events_article ON review_events (article_id, id);

        CREATE TABLE users (
            username TEXT PRIMARY KEY,
            password_hash TEXT NOT NULL,
            role TEXT NOT NULL CHECK (role IN ('reviewer', 'editor', 'admin')),
            created_at TEXT NOT NULL
        );
        """,
    ),
    (
        "0003_fts_rank_weights",
        # BM25 column weights (title, section, body) as the table's rank function, so
        # "ORDER BY rank LIMIT n" runs inside FTS5 without sorting every match.
        "INSERT INTO passage_text (passage_text, rank) VALUES ('rank', 'bm25(0.5, 0.2, 1.0)');",
    ),
    (
        "0004_ask_jobs",
        # Questions being answered, so a progress page served by any process can show one.
        """
        CREATE TABLE ask_jobs (
            id TEXT PRIMARY KEY,
            question TEXT NOT NULL,
            audience TEXT NOT NULL,
            follow_up_of TEXT,
            state TEXT NOT NULL CHECK (state IN ('writing', 'done', 'failed')),
            tokens INTEGER NOT NULL DEFAULT 0,
            article_id TEXT,
            article_slug TEXT,
            error_code TEXT,
            error_status INTEGER,
            error_message TEXT,
            started_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE INDEX ask_jobs_updated ON ask_jobs (updated_at);
        """,
    ),
    (
        "0005_corpus_generation",
        # Bumped by every write that changes documents, so caches of corpus facts (statistics,
        # document metadata) stay valid while articles and reviews are written around them.
        """
        CREATE TABLE corpus_generation (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            generation INTEGER NOT NULL
        );
        INSERT INTO corpus_generation (id, generation) VALUES (1, 0);
        """,
    ),
    ("0006_append_only_audit_chain", _audit_chain),
    (
        "0008_sessions_disabled_users",
        # Sign-in sessions kept server-side (token hashes), so signing out, a password change or
        # disabling an account ends them at once; a disabled account cannot sign in.
        """
        ALTER TABLE users ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1));
        CREATE TABLE sessions (
            token_hash TEXT PRIMARY KEY,
            username TEXT NOT NULL REFERENCES users (username) ON DELETE CASCADE,
            created_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL
        );
        CREATE INDEX sessions_username ON sessions (username);
        CREATE INDEX sessions_expires ON sessions (expires_at);
        """,
    ),
    ("0010_article_withdrawal", _ARTICLE_WITHDRAWAL),
    (
        "0011_rate_limit_hits",
        # Rate limits counted in the store, so every worker and replica shares one count.
        """
        CREATE TABLE rate_limit_hits (
            id INTEGER PRIMARY KEY,
            bucket TEXT NOT NULL,
            client TEXT NOT NULL,
            at REAL NOT NULL
        );
        CREATE INDEX rate_limit_hits_client ON rate_limit_hits (bucket, client, at);
        CREATE INDEX rate_limit_hits_at ON rate_limit_hits (bucket, at);
        """,
    ),
    ("0012_source_change_flags", _SOURCE_CHANGE_FLAGS),
    ("0013_medquad_identity_keys", medquad_identity_keys),
    (
        "0014_passage_id_sequence",
        """
        -- Passage ids come from a sequence, never max(id) + 1: an id freed by a replaced or
        -- deleted document is never given to other text (a vector is keyed by passage id).
        CREATE TABLE passage_id_sequence (next_id INTEGER NOT NULL);
        INSERT INTO passage_id_sequence SELECT coalesce(max(id), 0) + 1 FROM passages;
        """,
    ),
    (
        "0015_shared_state",
        """
        CREATE TABLE shared_state (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
        """,
    ),
    (
        "0016_learned_conditions",
        """
        -- Condition names learned at ingest, shared by every process reading the store
        -- (before, a file in each medcite home).
        CREATE TABLE learned_conditions (id INTEGER PRIMARY KEY, name TEXT NOT NULL,
                                         synonyms TEXT NOT NULL);
        """,
    ),
]


def statements(script: str) -> Iterator[str]:
    """The statements of a script one by one (a trigger body's ``;`` does not end one), so a
    migration runs inside a transaction this module controls."""
    pending = ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \t\n;"):
                yield pending
            pending = ""
    if pending.strip(" \t\n;"):
        raise ValueError(f"incomplete SQL statement in a migration: {pending[:80]!r}")


def _recorded(conn: sqlite3.Connection, name: str) -> bool:
    return conn.execute("SELECT 1 FROM schema_migrations WHERE name = ?", (name,)).fetchone() is not None


def apply_migrations(conn: sqlite3.Connection) -> list[str]:
    """Apply every migration not yet recorded; return the names applied now.

    Each runs in its own ``BEGIN IMMEDIATE`` transaction with its record, checked again inside
    it, so processes opening an older store at once apply it once. Foreign keys are off while
    a migration runs, as SQLite's procedure for rebuilding a table needs.
    """
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
    )
    applied = []
    for name, step in MIGRATIONS:
        if _recorded(conn, name):
            continue
        conn.execute("PRAGMA foreign_keys = OFF")
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                if not _recorded(conn, name):
                    if isinstance(step, str):
                        for statement in statements(step):
                            conn.execute(statement)
                    else:
                        step(conn)
                    conn.execute("INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)",
                                 (name, datetime.now(UTC).isoformat()))
                    applied.append(name)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        finally:
            conn.execute("PRAGMA foreign_keys = ON")
    return applied
