"""Append-only, named schema migrations for the SQLite store.

Never edit a migration that has shipped: add a new one at the end. Each applied name is recorded
in ``schema_migrations`` so opening an older store brings it up to date.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

MIGRATIONS: list[tuple[str, str]] = [
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
]


def apply_migrations(conn: sqlite3.Connection) -> list[str]:
    """Apply every migration not yet recorded; return the names applied now."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
    )
    done = {row[0] for row in conn.execute("SELECT name FROM schema_migrations")}
    applied = []
    for name, sql in MIGRATIONS:
        if name in done:
            continue
        # executescript commits first; the migration body and its record commit together.
        conn.executescript(
            "BEGIN;\n" + sql + "\nINSERT INTO schema_migrations (name, applied_at) VALUES "
            f"('{name}', '{datetime.now(UTC).isoformat()}');\nCOMMIT;"
        )
        applied.append(name)
    return applied
