"""The shared store: PostgreSQL, full-text search for the lexical lists, a connection pool.

Every method is one short transaction from the pool (``transaction``); no ``psycopg`` error
leaves one: a lock held past the busy timeout, a serialisation failure or a pool with no free
connection is ``StoreBusyError``, anything else ``StoreError``. Ingest batches are serialised
by an advisory lock, so several writers (processes, replicas) apply whole batches one at a
time, as SQLite's single writer does.

The lexical index is a ``tsvector`` per passage (title, section and body) under the named text
configuration ``medcite_english`` with a GIN index; a term is always bound as a parameter of
``phraseto_tsquery`` (or read by ``to_tsvector``), so no user text is read as query syntax.
Beside it, impact-ordered postings (``lexical_postings``, BM25's term-frequency part per lexeme,
written in the transaction that writes the passage): from ``ranked_from_passages`` passages
(250,000 by default) an unfiltered search reads only each lexeme's best postings from their
index (``lexical.py``; BM25 scores, as FTS5's). Filtered searches, AND groups and smaller
stores rank every match with ``ts_rank`` (length-normalised, not BM25: the order of the best
passages mostly agrees, the numbers do not), which at a million passages costs hundreds of
milliseconds a question (BENCHMARKS.md, issue #13).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import errors as pg_errors
from psycopg_pool import ConnectionPool, PoolTimeout

from medcite.errors import StoreBusyError, StoreError
from medcite.models import (
    CorpusStats,
    Deletion,
    Document,
    DocumentRecord,
    Passage,
    PreparedDocument,
    SourceType,
)
from medcite.store.base import BatchOutcome, LexicalHit, SearchFilters
from medcite.store.postgres.articles import PostgresArticles, flag_changes
from medcite.store.postgres.copying import PostgresCopying
from medcite.store.postgres.lexical import RankedLexical
from medcite.store.postgres.migrations import TEXT_CONFIG, apply_migrations
from medcite.store.postgres.state import (
    PostgresAccounts,
    PostgresAskJobs,
    PostgresConditionNames,
    PostgresRateLimits,
    PostgresSharedState,
)
from medcite.store.postgres.vectors import EF_SEARCH, PostgresVectors
from medcite.store.records import Change, PassageText
from medcite.store.sqlite import (
    COMMON_MIN_PASSAGES,
    COMMON_SHARE,
    PRUNE_FROM_PASSAGES,
    _pack_spans,
    _unpack_spans,
    unstorable,
)

_INGEST_LOCK = 7_240_002  # advisory lock key: one ingest batch at a time
_RUN_LOCK = 7_240_003  # advisory lock key: one ingest run at a time (ingest_run)
_RUN_LOCK_POLL_S = 0.5
_ROWS_PER_INSERT = 1000  # rows per multi-row INSERT (19 parameters a document; the limit is 65,535)
_DOC_COLUMNS = (
    "id, key, source_type, title, source, year, pmid, pmcid, doi, spl_set_id, spl_version, url, "
    "publication_types, mesh_terms, language, revision, title_only"
)
_PASSAGE_SELECT = (
    "SELECT p.id, d.key, p.ordinal, p.section, p.body, p.char_start, p.char_end, p.sentences, "
    "p.document_id FROM passages p JOIN documents d ON d.id = p.document_id "
)
_BUSY = (pg_errors.LockNotAvailable, pg_errors.SerializationFailure, pg_errors.DeadlockDetected,
         pg_errors.QueryCanceled, PoolTimeout)
CONNECT_TIMEOUT_S = 10
POOL_SIZE = 8


def redacted(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


def _holds_nul(value: object) -> bool:
    """Whether any text in a dumped record holds NUL, which PostgreSQL text cannot."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_holds_nul(v) for v in value)
    return False


class _Query:
    """A tsquery expression with its parameters, built from plain terms only."""

    def __init__(self, sql: str, params: list[object]) -> None:
        self.sql, self.params = sql, params

    @classmethod
    def any_of(cls, terms: Sequence[str]) -> _Query | None:
        phrases = [t for t in dict.fromkeys(t.strip() for t in terms) if t]
        if not phrases:
            return None
        sql = " || ".join(f"phraseto_tsquery('{TEXT_CONFIG}', %s)" for _ in phrases)
        return cls(f"({sql})", list(phrases))

    def and_(self, other: _Query) -> _Query:
        return _Query(f"({self.sql} && {other.sql})", [*self.params, *other.params])

    def and_not(self, other: _Query) -> _Query:
        return _Query(f"({self.sql} && !!{other.sql})", [*self.params, *other.params])


class PostgresStore:
    """The store on a PostgreSQL server (15 or later, with pgvector for dense retrieval)."""

    def __init__(self, url: str, *, busy_timeout: float = 30.0, pool_size: int = POOL_SIZE,
                 ef_search: int = EF_SEARCH,
                 ranked_from_passages: int | None = PRUNE_FROM_PASSAGES) -> None:
        """``ranked_from_passages``: the store size from which unfiltered lexical searches
        are ranked from the postings index (``lexical.py``); None keeps ``ts_rank`` always."""
        self.location = url
        self.busy_timeout = busy_timeout
        self.vector_folder = None  # vectors live in the database (pgvector)
        self._shown = redacted(url)
        self._stats: tuple[int, CorpusStats] | None = None
        # Passages matching each term (up to the pruning cutoff), for one corpus generation.
        self._common_counts: dict[str, int] = {}
        self._counts_generation = -1
        self._counts_lock = threading.Lock()
        options = f"-c lock_timeout={int(busy_timeout * 1000)}"
        try:  # one plain connection first: its error says why, where a pool only times out
            with psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT_S, autocommit=True,
                                 options=options) as conn:
                apply_migrations(conn)
        except psycopg.Error as exc:
            raise StoreError(f"opening the PostgreSQL store at {self._shown} failed: "
                             f"{str(exc).strip()}") from exc
        self._pool = ConnectionPool(
            url, min_size=1, max_size=pool_size, open=False, timeout=busy_timeout,
            kwargs={"autocommit": True, "options": options, "connect_timeout": CONNECT_TIMEOUT_S})
        self._pool.open(wait=True, timeout=CONNECT_TIMEOUT_S)
        self.articles = PostgresArticles(self)
        self.accounts = PostgresAccounts(self)
        self.ask_jobs = PostgresAskJobs(self)
        self.rate_limits = PostgresRateLimits(self)
        self.state = PostgresSharedState(self)
        self.condition_names = PostgresConditionNames(self)
        self.copying = PostgresCopying(self)
        self.vectors = PostgresVectors(self, ef_search)
        self.ranked = RankedLexical(self, ranked_from_passages)

    def close(self) -> None:
        self._pool.close()

    def _translated(self, exc: Exception, doing: str) -> StoreError:
        if isinstance(exc, _BUSY):
            return StoreBusyError(
                f"{doing} the PostgreSQL store at {self._shown} failed: it is busy "
                f"({str(exc).strip() or type(exc).__name__})", hint="try again shortly")
        return StoreError(f"{doing} the PostgreSQL store at {self._shown} failed: "
                          f"{str(exc).strip()}")

    @contextmanager
    def transaction(self, doing: str = "writing to") -> Iterator[psycopg.Connection]:
        """One transaction on a pooled connection: committed at the end, rolled back on any
        error (a medcite error raised inside passes through unchanged)."""
        try:
            with self._pool.connection() as conn, conn.transaction():
                yield conn
        except (psycopg.Error, PoolTimeout) as exc:
            raise self._translated(exc, doing) from exc

    def reading(self) -> AbstractContextManager[psycopg.Connection]:
        return self.transaction("reading")

    # -- writing -----------------------------------------------------------------------------

    def write_prepared(self, records: Sequence[PreparedDocument | Deletion]) -> BatchOutcome:
        with self.transaction() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_INGEST_LOCK,))
            return self._apply(conn, records)

    def _apply(self, conn: psycopg.Connection,
               records: Sequence[PreparedDocument | Deletion]) -> BatchOutcome:
        outcome = BatchOutcome()
        changes: list[Change] = []
        existing: dict[str, tuple[int, str, int]] = {
            row[0]: (row[1], row[2], row[3]) for row in conn.execute(
                "SELECT key, id, content_hash, revision FROM documents WHERE key = ANY(%s)",
                ([r.key for r in records],))}
        now = datetime.now(UTC).isoformat(timespec="seconds")
        # New rows are inserted a batch at a time (a few statements, not three per document);
        # a key seen again in the same batch first writes what is pending.
        pending: dict[str, PreparedDocument] = {}

        def flush() -> None:
            if not pending:
                return
            for key, doc_id in self._insert_documents(conn, list(pending.values()), now).items():
                existing[key] = (doc_id, pending[key].content_hash, pending[key].document.revision)
            outcome.passages += self._insert_passages(
                conn, [(existing[key][0], prepared) for key, prepared in pending.items()])
            pending.clear()

        for record in records:
            if record.key in pending:
                flush()
            current = existing.get(record.key)
            if isinstance(record, Deletion):
                if current:
                    conn.execute("DELETE FROM documents WHERE id = %s", (current[0],))
                    del existing[record.key]
                    outcome.deleted += 1
                    changes.append(Change(record.key, "withdrawn", current[2], None))
                continue
            digest, doc = record.content_hash, record.document
            problem = record.problem or unstorable(doc)
            if problem is None and _holds_nul(doc.model_dump()):
                problem = "cannot be stored: its text holds a NUL character"
            if problem is not None:
                outcome.rejected.append((record.key, problem))
                continue
            if current:
                doc_id, old_hash, old_revision = current
                if old_hash == digest:
                    outcome.unchanged += 1
                    continue
                if doc.revision < old_revision:
                    outcome.older_skipped += 1
                    continue
                conn.execute("DELETE FROM documents WHERE id = %s", (doc_id,))  # passages cascade
                outcome.replaced += 1
                changes.append(Change(record.key, "revised", old_revision, doc.revision))
            else:
                outcome.added += 1
            pending[record.key] = record
        flush()
        if changes:  # in this transaction: no article citing a changed document goes unflagged
            outcome.flagged += flag_changes(conn, changes, now)
        if outcome.added or outcome.replaced or outcome.deleted:
            conn.execute("UPDATE corpus_generation SET generation = generation + 1")
        return outcome

    @staticmethod
    def _insert_documents(conn: psycopg.Connection, prepared: Sequence[PreparedDocument],
                          now: str) -> dict[str, int]:
        """Insert the documents; returns their ids by key."""
        ids: dict[str, int] = {}
        for start in range(0, len(prepared), _ROWS_PER_INSERT):
            chunk = prepared[start : start + _ROWS_PER_INSERT]
            values = []
            for p in chunk:
                doc = p.document
                values.extend((doc.key, doc.source_type.value, doc.title, doc.source, doc.year,
                               doc.pmid, doc.pmcid, doc.doi, doc.spl_set_id, doc.spl_version,
                               doc.url, json.dumps(doc.publication_types),
                               json.dumps(doc.mesh_terms), json.dumps(doc.keywords),
                               doc.language, doc.revision, doc.title_only, p.content_hash, now))
            rows = ",".join(["(" + ",".join(["%s"] * 19) + ")"] * len(chunk))
            ids.update(conn.execute(
                "INSERT INTO documents (key, source_type, title, source, year, pmid, pmcid, doi, "
                "spl_set_id, spl_version, url, publication_types, mesh_terms, keywords, language, "
                f"revision, title_only, content_hash, ingested_at) VALUES {rows} RETURNING key, id",
                values).fetchall())
        return ids

    @staticmethod
    def _insert_passages(conn: psycopg.Connection,
                         documents: Sequence[tuple[int, PreparedDocument]]) -> int:
        """Insert the passages of (document id, prepared document) pairs, with their
        postings (from the tsvector the insert returns); returns how many."""
        rows = [(doc_id, ordinal, d.section, d.char_start, d.char_end, _pack_spans(d.sentences),
                 prepared.document.title, d.text)
                for doc_id, prepared in documents for ordinal, d in enumerate(prepared.passages)]
        for start in range(0, len(rows), _ROWS_PER_INSERT):
            chunk = rows[start : start + _ROWS_PER_INSERT]
            marks = ",".join(["(%s,%s,%s,%s,%s,%s,%s,%s)"] * len(chunk))
            conn.execute("WITH new AS (INSERT INTO passages (document_id, ordinal, section, "
                         f"char_start, char_end, sentences, title, body) VALUES {marks} "
                         "RETURNING id, tsv) INSERT INTO lexical_postings (lexeme, passage_id, "
                         "impact) SELECT i.lexeme, new.id, i.impact "
                         "FROM new, medcite_impacts(new.tsv) i",
                         [value for row in chunk for value in row])
        return len(rows)

    @contextmanager
    def ingest_run(self, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
        # A session advisory lock on a connection held for the run: the server releases it
        # when the connection ends, however the run ends. Taken by polling, since a waiting
        # pg_advisory_lock would hit the connection's lock_timeout.
        try:
            with self._pool.connection() as conn:
                waited = False
                while not conn.execute("SELECT pg_try_advisory_lock(%s)",
                                       (_RUN_LOCK,)).fetchone()[0]:
                    if not waited and on_wait is not None:
                        on_wait()
                    waited = True
                    time.sleep(_RUN_LOCK_POLL_S)
                try:
                    yield
                finally:
                    conn.execute("SELECT pg_advisory_unlock(%s)", (_RUN_LOCK,))
        except (psycopg.Error, PoolTimeout) as exc:
            raise self._translated(exc, "locking for an ingest") from exc

    def file_done(self, fingerprint: str) -> bool:
        with self.reading() as conn:
            return conn.execute("SELECT 1 FROM ingested_files WHERE fingerprint = %s",
                                (fingerprint,)).fetchone() is not None

    def mark_file_done(self, fingerprint: str, path: str, outcome: BatchOutcome) -> None:
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO ingested_files VALUES (%s,%s,%s,%s,%s,%s,%s) "
                "ON CONFLICT (fingerprint) DO UPDATE SET path = excluded.path, "
                "completed_at = excluded.completed_at, added = excluded.added, "
                "replaced = excluded.replaced, unchanged = excluded.unchanged, "
                "deleted = excluded.deleted",
                (fingerprint, path, datetime.now(UTC).isoformat(timespec="seconds"),
                 outcome.added, outcome.replaced, outcome.unchanged, outcome.deleted))

    # -- reading -----------------------------------------------------------------------------

    def corpus_generation(self) -> int:
        with self.reading() as conn:
            return conn.execute("SELECT generation FROM corpus_generation").fetchone()[0]

    def stats(self) -> CorpusStats:
        return self._generation_stats()[1]

    def _generation_stats(self) -> tuple[int, CorpusStats]:
        """The corpus generation and its statistics (counted once per generation)."""
        generation = self.corpus_generation()
        cached = self._stats
        if cached is not None and cached[0] == generation:
            return cached
        with self.reading() as conn:
            by_type = dict(conn.execute(
                "SELECT source_type, count(*) FROM documents GROUP BY source_type ORDER BY 1"))
            by_year = {str(year) if year is not None else "unknown": n for year, n in conn.execute(
                "SELECT year, count(*) FROM documents GROUP BY year ORDER BY year")}
            documents, title_only, full_text, last = conn.execute(
                "SELECT count(*), count(*) FILTER (WHERE title_only), count(*) FILTER (WHERE "
                "source_type = 'research' AND pmcid IS NOT NULL AND starts_with(key, 'pmc:')), "
                "max(ingested_at) FROM documents").fetchone()
            passages = conn.execute("SELECT count(*) FROM passages").fetchone()[0]
        stats = CorpusStats(documents=documents, passages=passages, by_source_type=by_type,
                            by_year=by_year, title_only=title_only, full_text=full_text,
                            last_ingest=datetime.fromisoformat(last) if last else None)
        self._stats = (generation, stats)
        return self._stats

    @staticmethod
    def _record(row: tuple) -> DocumentRecord:
        return DocumentRecord(
            id=row[0], key=row[1], source_type=SourceType(row[2]), title=row[3], source=row[4],
            year=row[5], pmid=row[6], pmcid=row[7], doi=row[8], spl_set_id=row[9],
            spl_version=row[10], url=row[11], publication_types=json.loads(row[12]),
            mesh_terms=json.loads(row[13]), language=row[14], revision=row[15],
            title_only=bool(row[16]))

    def document(self, key: str) -> DocumentRecord | None:
        with self.reading() as conn:
            row = conn.execute(f"SELECT {_DOC_COLUMNS} FROM documents WHERE key = %s",
                               (key,)).fetchone()
            if row is None:  # an old key: the alias names the key it has now
                row = conn.execute(
                    f"SELECT {_DOC_COLUMNS} FROM documents WHERE key = "
                    "(SELECT key FROM document_aliases WHERE alias = %s)", (key,)).fetchone()
        return self._record(row) if row else None

    def documents(self, ids: Sequence[int]) -> dict[int, DocumentRecord]:
        if not ids:
            return {}
        with self.reading() as conn:
            return {row[0]: self._record(row) for row in conn.execute(
                f"SELECT {_DOC_COLUMNS} FROM documents WHERE id = ANY(%s)", (list(ids),))}

    @staticmethod
    def _passage(row: tuple) -> Passage:
        return Passage.model_construct(
            id=row[0], key=f"{row[1]}#{row[2]}", document_id=row[8], document_key=row[1],
            ordinal=row[2], section=row[3], text=row[4], char_start=row[5], char_end=row[6],
            sentences=_unpack_spans(bytes(row[7])))

    def passages(self, ids: Sequence[int]) -> dict[int, Passage]:
        if not ids:
            return {}
        with self.reading() as conn:
            return {row[0]: self._passage(row) for row in conn.execute(
                _PASSAGE_SELECT + "WHERE p.id = ANY(%s)", (list(ids),))}

    def passage_documents(self, ids: Sequence[int]) -> dict[int, int]:
        if not ids:
            return {}
        with self.reading() as conn:
            return dict(conn.execute("SELECT id, document_id FROM passages WHERE id = ANY(%s)",
                                     (list(ids),)).fetchall())

    def passages_of(self, document_key: str) -> list[Passage]:
        select = _PASSAGE_SELECT + "WHERE d.key = %s ORDER BY p.ordinal"
        with self.reading() as conn:
            rows = conn.execute(select, (document_key,)).fetchall()
            if not rows:
                current = conn.execute("SELECT key FROM document_aliases WHERE alias = %s",
                                       (document_key,)).fetchone()
                if current:  # read under the old key, as the article citing it wrote it
                    rows = [(r[0], document_key, *r[2:])
                            for r in conn.execute(select, (current[0],))]
        return [self._passage(row) for row in rows]

    def passage_texts(self, ids: Sequence[int]) -> dict[int, PassageText]:
        if not ids:
            return {}
        with self.reading() as conn:
            return {r[0]: PassageText(r[3], r[2], r[1]) for r in conn.execute(
                "SELECT id, ordinal, section, body FROM passages WHERE id = ANY(%s)",
                (list(ids),))}

    def passage_fingerprints(self) -> list[tuple[int, str, int]]:
        with self.reading() as conn:
            return conn.execute("SELECT p.id, d.content_hash, p.ordinal FROM passages p "
                                "JOIN documents d ON d.id = p.document_id").fetchall()

    # -- the lexical index -------------------------------------------------------------------

    def passage_frequency(self, term: str) -> int:
        query = _Query.any_of([term])
        if query is None:
            return 0
        with self.reading() as conn:
            return conn.execute(f"SELECT count(*) FROM passages WHERE tsv @@ {query.sql}",
                                query.params).fetchone()[0]

    def matching_documents(self, terms: Sequence[str], *, limit: int = 100_000) -> set[int]:
        query = _Query.any_of(terms)
        if query is None:
            return set()
        with self.reading() as conn:
            rows = conn.execute(f"SELECT DISTINCT document_id FROM passages WHERE tsv @@ {query.sql} "
                                "LIMIT %s", [*query.params, limit]).fetchall()
        return {r[0] for r in rows}

    def _without_common(self, terms: list[str]) -> list[str]:
        """Leave out terms in more than COMMON_SHARE of a large store's passages (keeping one),
        as the SQLite store does: ranking every passage a common word matches is the cost.
        Counts are kept for the corpus generation they were made in (a question's words come
        back in the next question, and ``lexical_lists`` asks for them twice)."""
        if len(terms) < 2:
            return terms
        generation, stats = self._generation_stats()
        total = stats.passages
        if total < PRUNE_FROM_PASSAGES:
            return terms
        cutoff = max(COMMON_MIN_PASSAGES, int(total * COMMON_SHARE))
        with self._counts_lock:
            if generation != self._counts_generation or len(self._common_counts) > 100_000:
                self._common_counts.clear()
                self._counts_generation = generation
            counts = {t: self._common_counts.get(t) for t in terms}
        missing = [t for t, n in counts.items() if n is None]
        if missing:
            with self.reading() as conn:
                for t in missing:
                    counts[t] = conn.execute(
                        f"SELECT count(*) FROM (SELECT 1 FROM passages WHERE tsv @@ "
                        f"phraseto_tsquery('{TEXT_CONFIG}', %s) LIMIT %s) m",
                        (t, cutoff + 1)).fetchone()[0]
            with self._counts_lock:
                self._common_counts.update((t, counts[t]) for t in missing)
        kept = [t for t in terms if counts[t] <= cutoff]
        return kept or [min(terms, key=lambda t: counts[t])]

    def lexical_search(
        self, terms: Sequence[str], *, limit: int, filters: SearchFilters | None = None,
        prune_common: bool = True,
    ) -> list[LexicalHit]:
        terms = [t for t in dict.fromkeys(t.strip() for t in terms) if t]
        if not terms or limit <= 0:
            return []
        generation, stats = self._generation_stats()
        if self.ranked.applies(stats.passages, filters):
            with self.reading() as conn:
                return self.ranked.search(conn, terms, limit=limit, generation=generation,
                                          passages=stats.passages, prune_common=prune_common)
        return self.exact_lexical_search(terms, limit=limit, filters=filters,
                                         prune_common=prune_common)

    def exact_lexical_search(
        self, terms: Sequence[str], *, limit: int, filters: SearchFilters | None = None,
        prune_common: bool = True,
    ) -> list[LexicalHit]:
        """``lexical_search`` ranked by ``ts_rank`` over every passage the query matches,
        whatever the store's size (the benchmark's baseline beside the postings)."""
        terms = [t for t in dict.fromkeys(t.strip() for t in terms) if t]
        if prune_common:
            terms = self._without_common(terms)
        query = _Query.any_of(terms)
        return self._ranked(query, limit, filters) if query is not None and limit > 0 else []

    def lexical_search_all(
        self, groups: Sequence[Sequence[str]], *, limit: int, filters: SearchFilters | None = None,
    ) -> list[LexicalHit]:
        queries = [_Query.any_of(group) for group in groups]
        if not queries or any(q is None for q in queries) or limit <= 0:
            return []
        query = queries[0]
        for other in queries[1:]:
            query = query.and_(other)
        return self._ranked(query, limit, filters)

    def lexical_lists(
        self, terms: Sequence[str], expansions: Sequence[str], *, limit: int,
        filters: SearchFilters | None = None, prune_common: bool = True,
    ) -> tuple[list[LexicalHit], list[LexicalHit]]:
        user = self.lexical_search(terms, limit=limit, filters=filters, prune_common=prune_common)
        if not [e for e in expansions if e.strip() and e.strip() not in {t.strip() for t in terms}]:
            return user, user
        return user, self.lexical_search([*terms, *expansions], limit=limit, filters=filters,
                                         prune_common=prune_common)

    def _ranked(self, query: _Query, limit: int,
                filters: SearchFilters | None) -> list[LexicalHit]:
        filters = filters or SearchFilters()
        where, params = ["p.tsv @@ q.q"], []
        join = ""
        if filters.source_types or filters.since_year is not None or filters.until_year is not None:
            join = "JOIN documents d ON d.id = p.document_id "
            if filters.source_types:
                where.append("d.source_type = ANY(%s)")
                params.append([s.value for s in filters.source_types])
            if filters.since_year is not None:
                where.append("d.year >= %s")
                params.append(filters.since_year)
            if filters.until_year is not None:
                where.append("d.year <= %s")
                params.append(filters.until_year)
        sql = (f"SELECT p.id, p.document_id, ts_rank(p.tsv, q.q, 1) AS score "
               f"FROM (SELECT {query.sql} AS q) q, passages p {join}"
               f"WHERE {' AND '.join(where)} ORDER BY score DESC, p.id LIMIT %s")
        with self.reading() as conn:
            rows = conn.execute(sql, [*query.params, *params, limit]).fetchall()
        return [LexicalHit(passage_id=r[0], document_id=r[1], score=float(r[2])) for r in rows]
