"""Append-only, named schema migrations for the PostgreSQL store (its own list: the dialects
differ, the names say what each step is). Never edit one that has shipped; add one at the end.

Each runs in one transaction with its record, under an advisory lock, so replicas opening an
older database at once apply it once.
"""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg

TEXT_CONFIG = "medcite_english"  # the analyzer of the lexical index: English stems, stop words
_MIGRATION_LOCK = 7_240_001  # an advisory lock key of this application
# BM25's term-frequency saturation and length normalisation, the usual values (FTS5's too).
BM25_K1 = 1.2
BM25_B = 0.75
# The average passage length in lexeme positions (title, section and body), fixed rather than
# the store's own mean, which moves with every ingest and would leave stored impacts stale:
# 171 measured on the 18,483 passages of the shared PubMed sample (pubmed21n1298 abstracts).
BM25_AVGDL = 171.0

MIGRATIONS: list[tuple[str, str]] = [
    (
        "0001_documents_passages",
        f"""
        CREATE TEXT SEARCH CONFIGURATION {TEXT_CONFIG} (COPY = pg_catalog.english);

        CREATE TABLE documents (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            key TEXT NOT NULL UNIQUE,
            source_type TEXT NOT NULL
                CHECK (source_type IN ('guideline', 'research', 'drug_label', 'consumer_health')),
            title TEXT NOT NULL,
            source TEXT,
            year BIGINT,
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
            revision BIGINT NOT NULL DEFAULT 1,
            title_only BOOLEAN NOT NULL DEFAULT false,
            content_hash TEXT NOT NULL,
            ingested_at TEXT NOT NULL
        );
        CREATE INDEX documents_type_year ON documents (source_type, year);
        CREATE INDEX documents_pmid ON documents (pmid);

        -- Ids from the identity sequence: never reused for other text.
        CREATE TABLE passages (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            document_id BIGINT NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
            ordinal INTEGER NOT NULL,
            section TEXT NOT NULL,
            char_start INTEGER NOT NULL,
            char_end INTEGER NOT NULL,
            sentences BYTEA NOT NULL,
            title TEXT NOT NULL,
            body TEXT NOT NULL,
            tsv tsvector GENERATED ALWAYS AS (
                to_tsvector('{TEXT_CONFIG}'::regconfig, title) ||
                to_tsvector('{TEXT_CONFIG}'::regconfig, section) ||
                to_tsvector('{TEXT_CONFIG}'::regconfig, body)) STORED,
            UNIQUE (document_id, ordinal)
        );
        CREATE INDEX passages_tsv ON passages USING gin (tsv);

        CREATE TABLE document_aliases (alias TEXT PRIMARY KEY, key TEXT NOT NULL);
        CREATE INDEX document_aliases_key ON document_aliases (key);

        CREATE TABLE ingested_files (
            fingerprint TEXT PRIMARY KEY,
            path TEXT NOT NULL,
            completed_at TEXT NOT NULL,
            added INTEGER NOT NULL,
            replaced INTEGER NOT NULL,
            unchanged INTEGER NOT NULL,
            deleted INTEGER NOT NULL
        );

        CREATE TABLE corpus_generation (generation BIGINT NOT NULL);
        INSERT INTO corpus_generation VALUES (0);
        """,
    ),
    (
        "0002_articles_review",
        """
        CREATE TABLE articles (
            id TEXT PRIMARY KEY,
            seq BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,  -- the order articles were stored
            slug TEXT NOT NULL UNIQUE,
            question TEXT NOT NULL,
            question_norm TEXT NOT NULL,
            thread_id TEXT NOT NULL,
            parent_id TEXT REFERENCES articles (id),
            current_version INTEGER NOT NULL,
            approved_version INTEGER,
            status TEXT NOT NULL CHECK (status IN ('submitted', 'under_review', 'approved',
                                                   'rejected', 'withdrawn')),
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

        CREATE TABLE review_events (
            id BIGINT PRIMARY KEY,  -- the chain's position: the head's id + 1
            article_id TEXT NOT NULL REFERENCES articles (id),
            version INTEGER NOT NULL,
            from_status TEXT,
            to_status TEXT NOT NULL,
            actor TEXT NOT NULL,
            comment TEXT NOT NULL DEFAULT '',
            at TEXT NOT NULL,
            prev_hash TEXT,
            hash TEXT NOT NULL,
            FOREIGN KEY (article_id, version) REFERENCES article_versions (article_id, version)
        );
        CREATE INDEX review_events_article ON review_events (article_id, id);

        CREATE TABLE article_citations (
            article_id TEXT NOT NULL REFERENCES articles (id),
            version INTEGER NOT NULL,
            document_key TEXT NOT NULL,
            PRIMARY KEY (article_id, version, document_key)
        );
        CREATE INDEX article_citations_document ON article_citations (document_key);

        CREATE TABLE article_flags (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            article_id TEXT NOT NULL REFERENCES articles (id),
            version INTEGER NOT NULL,
            document_key TEXT NOT NULL,
            change TEXT NOT NULL CHECK (change IN ('withdrawn', 'revised')),
            from_revision BIGINT,
            to_revision BIGINT,
            changed_at TEXT NOT NULL
        );
        CREATE INDEX article_flags_version ON article_flags (article_id, version, id);

        CREATE TABLE article_reverifications (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            article_id TEXT NOT NULL REFERENCES articles (id),
            version INTEGER NOT NULL,
            through_flag BIGINT NOT NULL,
            at TEXT NOT NULL,
            checked INTEGER NOT NULL,
            no_longer_supported INTEGER NOT NULL,
            failures TEXT NOT NULL DEFAULT '[]'
        );
        CREATE INDEX article_reverifications_version
            ON article_reverifications (article_id, version, id);

        -- Records that are never rewritten: versions, events, flags, re-verifications; and
        -- articles are never deleted (their history is the audit trail).
        CREATE FUNCTION medcite_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION '%', TG_ARGV[0]; END $$;
        CREATE TRIGGER article_versions_immutable BEFORE UPDATE OR DELETE ON article_versions
            FOR EACH ROW EXECUTE FUNCTION medcite_refuse('article versions are immutable');
        CREATE TRIGGER review_events_immutable BEFORE UPDATE OR DELETE ON review_events
            FOR EACH ROW EXECUTE FUNCTION medcite_refuse('review events are immutable');
        CREATE TRIGGER article_flags_immutable BEFORE UPDATE OR DELETE ON article_flags
            FOR EACH ROW EXECUTE FUNCTION
            medcite_refuse('source-change flags are a record: never rewritten');
        CREATE TRIGGER article_reverifications_immutable
            BEFORE UPDATE OR DELETE ON article_reverifications
            FOR EACH ROW EXECUTE FUNCTION
            medcite_refuse('re-verifications are a record: never rewritten');
        CREATE TRIGGER articles_no_delete BEFORE DELETE ON articles FOR EACH ROW EXECUTE FUNCTION
            medcite_refuse('articles are never deleted: their history is the audit trail');
        """,
    ),
    (
        "0003_accounts_jobs_limits",
        """
        CREATE TABLE users (
            username TEXT PRIMARY KEY,
            password_hash TEXT NOT NULL,
            role TEXT NOT NULL CHECK (role IN ('reviewer', 'editor', 'admin')),
            disabled BOOLEAN NOT NULL DEFAULT false,
            created_at TEXT NOT NULL
        );
        CREATE TABLE sessions (
            token_hash TEXT PRIMARY KEY,
            username TEXT NOT NULL REFERENCES users (username),
            created_at BIGINT NOT NULL,
            expires_at BIGINT NOT NULL
        );
        CREATE INDEX sessions_user ON sessions (username);
        CREATE INDEX sessions_expiry ON sessions (expires_at);

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
        CREATE INDEX ask_jobs_updated ON ask_jobs (state, updated_at);

        CREATE TABLE rate_limit_hits (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            bucket TEXT NOT NULL,
            client TEXT NOT NULL,
            at DOUBLE PRECISION NOT NULL
        );
        CREATE INDEX rate_limit_hits_client ON rate_limit_hits (bucket, client, at);
        CREATE INDEX rate_limit_hits_at ON rate_limit_hits (bucket, at);
        """,
    ),
    (
        "0004_passage_vectors",
        """
        CREATE EXTENSION IF NOT EXISTS vector;
        -- The encoder every stored vector was made with (one row at most).
        CREATE TABLE vector_encoder (
            one BOOLEAN PRIMARY KEY CHECK (one),
            precision TEXT NOT NULL,
            passage_tokens INTEGER NOT NULL,
            model TEXT NOT NULL
        );
        CREATE TABLE passage_vectors (
            passage_id BIGINT PRIMARY KEY REFERENCES passages (id) ON DELETE CASCADE,
            embedding vector(384) NOT NULL
        );
        CREATE INDEX passage_vectors_hnsw ON passage_vectors
            USING hnsw (embedding vector_cosine_ops);
        """,
    ),
    (
        "0005_shared_state",
        """
        CREATE TABLE shared_state (name TEXT PRIMARY KEY, value TEXT NOT NULL);
        """,
    ),
    (
        "0006_learned_conditions",
        """
        CREATE TABLE learned_conditions (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                                         name TEXT NOT NULL, synonyms TEXT NOT NULL);
        """,
    ),
    (
        "0007_lexical_postings",
        f"""
        -- A passage's BM25 term-frequency part per lexeme of its tsvector (so the lexemes are
        -- exactly those phraseto_tsquery produces). avgdl is a constant, not the corpus mean:
        -- a mean that moved with every ingest would make every stored impact stale.
        CREATE FUNCTION medcite_impacts(doc tsvector) RETURNS TABLE (lexeme text, impact real)
        LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
            WITH terms AS (
                SELECT t.lexeme, coalesce(cardinality(t.positions), 1) AS tf FROM unnest(doc) t),
            length AS (SELECT sum(tf) AS dl FROM terms)
            SELECT terms.lexeme, (terms.tf * ({BM25_K1} + 1) / (terms.tf + {BM25_K1}
                   * (1 - {BM25_B} + {BM25_B} * length.dl / {BM25_AVGDL})))::real
            FROM terms, length
        $$;

        -- Impact-ordered postings: a query reads each lexeme's best postings from the index
        -- alone instead of ranking every passage that matches. Written in the statement that
        -- inserts the passage; deleted by the trigger below in the statement that deletes it
        -- (a document's passages go by cascade). No foreign key: its check per posting (about
        -- fifty a passage) more than doubled the time of an ingest.
        CREATE TABLE lexical_postings (
            lexeme TEXT NOT NULL,
            passage_id BIGINT NOT NULL,
            impact REAL NOT NULL
        );
        INSERT INTO lexical_postings (lexeme, passage_id, impact)
            SELECT i.lexeme, p.id, i.impact FROM passages p, medcite_impacts(p.tsv) i;
        CREATE INDEX lexical_postings_top ON lexical_postings (lexeme, impact DESC)
            INCLUDE (passage_id);
        CREATE INDEX lexical_postings_passage ON lexical_postings (passage_id);
        ANALYZE lexical_postings;

        CREATE FUNCTION medcite_drop_postings() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            DELETE FROM lexical_postings WHERE passage_id IN (SELECT id FROM gone);
            RETURN NULL;
        END $$;
        CREATE TRIGGER passages_drop_postings AFTER DELETE ON passages
            REFERENCING OLD TABLE AS gone FOR EACH STATEMENT
            EXECUTE FUNCTION medcite_drop_postings();
        -- Passages are never updated in place (a revision deletes and inserts): refuse it, so
        -- no posting can go stale.
        CREATE TRIGGER passages_immutable BEFORE UPDATE ON passages FOR EACH ROW
            EXECUTE FUNCTION medcite_refuse('passages are replaced, never updated');
        """,
    ),
]


def apply_migrations(conn: psycopg.Connection) -> list[str]:
    """Apply every migration not yet recorded; return the names applied now."""
    applied: list[str] = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations "
                     "(name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
        done = {r[0] for r in conn.execute("SELECT name FROM schema_migrations")}
        for name, script in MIGRATIONS:
            if name in done:
                continue
            conn.execute(script)  # no parameters: the script's statements run as one
            conn.execute("INSERT INTO schema_migrations (name, applied_at) VALUES (%s, %s)",
                         (name, datetime.now(UTC).isoformat()))
            applied.append(name)
    return applied
