"""The embedded store: one SQLite file, FTS5 for BM25, one writer.

Reads use a connection per thread (WAL lets them run beside the writer); every write goes
through ``write`` which holds a lock and one ``BEGIN IMMEDIATE`` transaction, so a batch is
applied whole or not at all, even if the process is killed halfway.

No ``sqlite3.Error`` leaves this class: opening, ``write`` and ``reading`` turn it into a
``StoreError``, and a lock another connection held past the busy timeout into
``StoreBusyError``, which the web answers 503 with Retry-After and the CLI as one line.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from array import array
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from medcite.errors import ConfigurationError, StoreBusyError, StoreError
from medcite.models import (
    CorpusStats,
    Deletion,
    Document,
    DocumentRecord,
    Passage,
    PassageDraft,
    PreparedDocument,
    SentenceSpan,
    SourceType,
    content_hash,
)
from medcite.store.accounts import SQLiteAccounts
from medcite.store.articles import SQLiteArticles
from medcite.store.asks import SQLiteAskJobs
from medcite.store.base import BatchOutcome, LexicalHit, SearchFilters
from medcite.store.flags import Change, flag_changes
from medcite.store.limits import SQLiteConditionNames, SQLiteRateLimits, SQLiteSharedState
from medcite.store.migrations import apply_migrations
from medcite.store.records import PassageText
from medcite.store.sqlite_copy import SQLiteCopying
from medcite.store.rekey import aliases_of, current_key

T = TypeVar("T")

_DOC_COLUMNS = (
    "id, key, source_type, title, source, year, pmid, pmcid, doi, spl_set_id, spl_version, url, "
    "publication_types, mesh_terms, language, revision, title_only"
)


# On a store of at least PRUNE_FROM_PASSAGES passages, a query term in more than COMMON_SHARE of
# them (and more than COMMON_MIN_PASSAGES) is left out of OR queries; see _without_common.
# Smaller stores rank every match faster than the counts would cost.
PRUNE_FROM_PASSAGES = 250_000
COMMON_SHARE = 0.02
COMMON_MIN_PASSAGES = 20_000


def fts_phrase(term: str) -> str:
    """Quote plain text as one FTS5 string, so no user text is ever read as query syntax."""
    return '"' + term.replace('"', '""') + '"'


def _pack_spans(spans: Sequence[tuple[int, int]]) -> bytes:
    return array("I", [offset for span in spans for offset in span]).tobytes()


def _unpack_spans(blob: bytes) -> list[SentenceSpan]:
    flat = array("I")
    flat.frombytes(blob)
    # Rows this store wrote itself: constructed without re-validation (a search reads thousands).
    return [SentenceSpan.model_construct(start=flat[i], end=flat[i + 1]) for i in range(0, len(flat), 2)]


def rows_in(conn: sqlite3.Connection, sql: str, values: Sequence[object]) -> Iterator[tuple]:
    """Rows of ``sql`` (which ends in ``IN ({marks})``) for many values, in chunks that stay
    under SQLite's limit on bound parameters."""
    values = list(dict.fromkeys(values))
    for start in range(0, len(values), 500):
        chunk = values[start : start + 500]
        yield from conn.execute(sql.format(marks=",".join("?" * len(chunk))), chunk)


_INT_RANGE = range(-(1 << 63), 1 << 63)  # SQLite's INTEGER


def unstorable(doc: Document) -> str | None:
    """Why this store cannot hold ``doc``, checked before any row is touched so that one bad
    record is refused alone instead of failing (and rolling back) its whole batch."""
    for name in ("year", "revision"):
        value = getattr(doc, name)
        if value is not None and value not in _INT_RANGE:
            return f"{name} {value} is out of range for the store"
    return None


# SQLITE_BUSY and SQLITE_LOCKED, the primary codes of every extended busy/locked code.
_BUSY_CODES = frozenset({5, 6})
DEFAULT_BUSY_TIMEOUT = 30.0


class SQLiteStore:
    """The default store. ``location`` is a file path (``:memory:`` is not supported, since
    readers and the writer need to share the file). ``busy_timeout`` is how many seconds a
    statement waits for another connection's lock before the store is reported busy."""

    def __init__(self, location: str | Path, *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT) -> None:
        self.location = str(location)
        if "://" in self.location:  # would become a folder named after the URL
            raise ConfigurationError(f"{self.location!r} is a URL, not a SQLite file path",
                                     hint="open it with medcite.store.open_store")
        self.busy_timeout = busy_timeout
        self._path = Path(self.location)
        self.vector_folder: Path | None = Path(self.location + ".vectors")
        self.vectors = None  # files in vector_folder (retrieval.dense)
        self._write_lock = threading.Lock()
        self._local = threading.local()
        self._df_cache: dict[str, int] = {}
        self._df_total = -1
        # Document metadata read by searches, by id, and the corpus statistics every answer
        # quotes; both belong to one corpus generation and are dropped when it changes.
        self._records: dict[int, DocumentRecord] = {}
        self._records_generation = -1
        self._stats: tuple[int, CorpusStats] | None = None
        self._cache_lock = threading.Lock()
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # a file where a folder should be, no permission, ...
            raise StoreError(f"opening the store at {self.location} failed: its folder "
                             f"{self._path.parent} cannot be created "
                             f"({exc.strerror or exc})") from exc
        try:
            self._writer = self._connect()
            apply_migrations(self._writer)
        except sqlite3.Error as exc:
            raise self._translated(exc, "opening") from exc
        self.articles = SQLiteArticles(self)
        self.accounts = SQLiteAccounts(self)
        self.ask_jobs = SQLiteAskJobs(self)
        self.rate_limits = SQLiteRateLimits(self)
        self.state = SQLiteSharedState(self)
        self.condition_names = SQLiteConditionNames(self)
        self.copying = SQLiteCopying(self)

    def _translated(self, exc: sqlite3.Error, doing: str) -> StoreError:
        """The StoreError for a sqlite3 error met while ``doing`` something to the store."""
        if (getattr(exc, "sqlite_errorcode", 0) & 0xFF) in _BUSY_CODES:
            return StoreBusyError(
                f"{doing} the store at {self.location} failed: it is busy, locked by another "
                f"connection for more than {self.busy_timeout:g} s", hint="try again shortly")
        return StoreError(f"{doing} the store at {self.location} failed: {exc}")

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False,
                               timeout=self.busy_timeout)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        return conn

    @property
    def _reader(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            conn.execute("PRAGMA query_only = ON")
            self._local.conn = conn
        return conn

    def close(self) -> None:
        self._writer.close()
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # -- writing -----------------------------------------------------------------------------

    def write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``work`` inside the single writer's transaction; other modules add their own
        tables (articles, reviews) and write through here too."""
        with self._write_lock:
            conn = self._writer
            try:
                conn.execute("BEGIN IMMEDIATE")
                result = work(conn)
                conn.execute("COMMIT")
                return result
            except BaseException as exc:
                try:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass  # the failure that ended the transaction is the one to report
                if isinstance(exc, sqlite3.Error):
                    raise self._translated(exc, "writing to") from exc
                raise

    def write_prepared(self, records: Sequence[PreparedDocument | Deletion]) -> BatchOutcome:
        self._records.clear()
        return self.write(lambda conn: self._apply(conn, records))

    def _apply(self, conn: sqlite3.Connection, records: Sequence[PreparedDocument | Deletion]) -> BatchOutcome:
        outcome = BatchOutcome()
        changes: list[Change] = []  # stored documents deleted or replaced: their articles are flagged
        existing: dict[str, tuple[int, str, int]] = {
            row[0]: (row[1], row[2], row[3]) for row in rows_in(
                conn, "SELECT key, id, content_hash, revision FROM documents WHERE key IN ({marks})",
                [r.key for r in records])
        }
        now = datetime.now(UTC).isoformat(timespec="seconds")
        for record in records:
            current = existing.get(record.key)
            if isinstance(record, Deletion):
                if current:
                    self._delete(conn, current[0])
                    del existing[record.key]
                    outcome.deleted += 1
                    changes.append(Change(record.key, "withdrawn", current[2], None))
                continue
            digest, doc = record.content_hash, record.document
            problem = record.problem or unstorable(doc)
            if problem is not None:
                outcome.rejected.append((record.key, problem))
                continue
            if current:
                doc_id, old_hash, old_revision = current
                if old_hash == digest or self._same_under_old_key(conn, doc, old_hash):
                    if old_hash != digest:  # hashed under its old key: rehash, change nothing
                        conn.execute("UPDATE documents SET content_hash = ? WHERE id = ?",
                                     (digest, doc_id))
                    outcome.unchanged += 1
                    continue
                if doc.revision < old_revision:
                    outcome.older_skipped += 1
                    continue
                self._delete(conn, doc_id)
                outcome.replaced += 1
                changes.append(Change(record.key, "revised", old_revision, doc.revision))
            else:
                outcome.added += 1
            doc_id = self._insert(conn, doc, digest, now)
            outcome.passages += self._insert_passages(conn, doc_id, doc.title, record.passages)
            existing[record.key] = (doc_id, digest, doc.revision)
        if changes:  # in this transaction: no article citing a changed document goes unflagged
            outcome.flagged += flag_changes(conn, changes, now)
        if outcome.added or outcome.replaced or outcome.deleted:
            conn.execute("UPDATE corpus_generation SET generation = generation + 1")
        return outcome

    @staticmethod
    def _same_under_old_key(conn: sqlite3.Connection, record: Document, stored_hash: str) -> bool:
        """Whether the stored document is this one, hashed before it was re-keyed (the key is
        part of the content hash); see store/rekey.py."""
        return any(content_hash(record, key=alias) == stored_hash
                   for alias in aliases_of(conn, record.key))

    @staticmethod
    def _delete(conn: sqlite3.Connection, doc_id: int) -> None:
        conn.execute(
            "DELETE FROM passage_text WHERE rowid IN (SELECT id FROM passages WHERE document_id = ?)",
            (doc_id,),
        )
        conn.execute("DELETE FROM passages WHERE document_id = ?", (doc_id,))
        conn.execute("DELETE FROM documents WHERE id = ?", (doc_id,))

    @staticmethod
    def _insert(conn: sqlite3.Connection, doc: Document, digest: str, now: str) -> int:
        cursor = conn.execute(
            "INSERT INTO documents (key, source_type, title, source, year, pmid, pmcid, doi, "
            "spl_set_id, spl_version, url, publication_types, mesh_terms, keywords, language, "
            "revision, title_only, content_hash, ingested_at) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                doc.key, doc.source_type.value, doc.title, doc.source, doc.year, doc.pmid,
                doc.pmcid, doc.doi, doc.spl_set_id, doc.spl_version, doc.url,
                json.dumps(doc.publication_types), json.dumps(doc.mesh_terms),
                json.dumps(doc.keywords), doc.language, doc.revision, int(doc.title_only),
                digest, now,
            ),
        )
        return cursor.lastrowid

    @staticmethod
    def _insert_passages(conn: sqlite3.Connection, doc_id: int, title: str,
                         drafts: Sequence[PassageDraft]) -> int:
        if not drafts:
            return 0
        first = conn.execute("UPDATE passage_id_sequence SET next_id = next_id + ? "
                             "RETURNING next_id - ?", (len(drafts), len(drafts))).fetchone()[0]
        ids = range(first, first + len(drafts))
        conn.executemany(
            "INSERT INTO passages (id, document_id, ordinal, section, char_start, char_end, sentences) "
            "VALUES (?,?,?,?,?,?,?)",
            [(pid, doc_id, ordinal, d.section, d.char_start, d.char_end, _pack_spans(d.sentences))
             for ordinal, (pid, d) in enumerate(zip(ids, drafts))],
        )
        conn.executemany(
            "INSERT INTO passage_text (rowid, title, section, body) VALUES (?,?,?,?)",
            [(pid, title, d.section, d.text) for pid, d in zip(ids, drafts)],
        )
        return len(drafts)

    @contextmanager
    def ingest_run(self, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
        # A lock on a file beside the store: the system releases it when its holder dies.
        try:
            import fcntl
        except ImportError:  # not POSIX: runs are not serialised (one writer at a time, then)
            yield
            return
        try:
            fh = open(self.location + ".ingest-lock", "a+b")  # noqa: SIM115 - held for the run
        except OSError as exc:
            raise StoreError(f"locking the store at {self.location} for an ingest failed: "
                             f"{exc.strerror or exc}") from exc
        try:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if on_wait is not None:
                    on_wait()
                fcntl.flock(fh, fcntl.LOCK_EX)
            yield
        finally:
            fh.close()  # releases the lock

    def file_done(self, fingerprint: str) -> bool:
        with self.reading() as conn:
            row = conn.execute(
                "SELECT 1 FROM ingested_files WHERE fingerprint = ?", (fingerprint,)
            ).fetchone()
        return row is not None

    def mark_file_done(self, fingerprint: str, path: str, outcome: BatchOutcome) -> None:
        self.write(lambda conn: conn.execute(
            "INSERT OR REPLACE INTO ingested_files VALUES (?,?,?,?,?,?,?)",
            (fingerprint, path, datetime.now(UTC).isoformat(timespec="seconds"), outcome.added,
             outcome.replaced, outcome.unchanged, outcome.deleted),
        ))

    # -- reading -----------------------------------------------------------------------------

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """A read-only connection for this thread (for modules that add their own tables)."""
        try:
            yield self._reader
        except sqlite3.Error as exc:
            raise self._translated(exc, "reading") from exc

    def corpus_generation(self) -> int:
        """A number that changes whenever documents are added, replaced or deleted, by any
        process (articles and reviews do not change it)."""
        with self.reading() as conn:
            return conn.execute("SELECT generation FROM corpus_generation").fetchone()[0]

    def stats(self) -> CorpusStats:
        generation = self.corpus_generation()
        cached = self._stats
        if cached is not None and cached[0] == generation:
            return cached[1]
        stats = self._count()
        self._stats = (generation, stats)
        return stats

    def _count(self) -> CorpusStats:
        with self.reading() as conn:
            by_type = dict(conn.execute(
                "SELECT source_type, count(*) FROM documents GROUP BY source_type ORDER BY 1"))
            by_year = {
                str(year) if year is not None else "unknown": n
                for year, n in conn.execute(
                    "SELECT year, count(*) FROM documents GROUP BY year ORDER BY year")
            }
            documents, title_only, full_text, last = conn.execute(
                "SELECT count(*), coalesce(sum(title_only), 0), "
                "coalesce(sum(source_type = 'research' AND pmcid IS NOT NULL AND key LIKE 'pmc:%'), 0), "
                "max(ingested_at) FROM documents"
            ).fetchone()
            passages = conn.execute("SELECT count(*) FROM passages").fetchone()[0]
        return CorpusStats(
            documents=documents, passages=passages, by_source_type=by_type, by_year=by_year,
            title_only=title_only, full_text=full_text, last_ingest=datetime.fromisoformat(last) if last else None,
        )

    @staticmethod
    def _record(row: tuple) -> DocumentRecord:
        return DocumentRecord(
            id=row[0], key=row[1], source_type=SourceType(row[2]), title=row[3], source=row[4],
            year=row[5], pmid=row[6], pmcid=row[7], doi=row[8], spl_set_id=row[9],
            spl_version=row[10], url=row[11], publication_types=json.loads(row[12]),
            mesh_terms=json.loads(row[13]), language=row[14], revision=row[15],
            title_only=bool(row[16]),
        )

    def document(self, key: str) -> DocumentRecord | None:
        """The document stored under ``key``, or under the key it has had since, when ``key``
        is an old one (store/rekey.py)."""
        with self.reading() as conn:
            row = conn.execute(f"SELECT {_DOC_COLUMNS} FROM documents WHERE key = ?", (key,)).fetchone()
            if row is None and (current := current_key(conn, key)):
                row = conn.execute(f"SELECT {_DOC_COLUMNS} FROM documents WHERE key = ?",
                                   (current,)).fetchone()
        return self._record(row) if row else None

    def documents(self, ids: Sequence[int]) -> dict[int, DocumentRecord]:
        generation = self.corpus_generation()
        with self._cache_lock:
            if generation != self._records_generation:
                self._records.clear()
                self._records_generation = generation
        found = {i: self._records[i] for i in ids if i in self._records}
        missing = [i for i in ids if i not in found]
        if missing:
            with self.reading() as conn:
                for row in rows_in(conn, f"SELECT {_DOC_COLUMNS} FROM documents WHERE id IN ({{marks}})",
                                   missing):
                    found[row[0]] = self._records[row[0]] = self._record(row)
            if len(self._records) > 50_000:  # bounded: a search touches at most a few hundred
                self._records.clear()
        return found

    _PASSAGE_SELECT = (
        "SELECT p.id, d.key, p.ordinal, p.section, t.body, p.char_start, p.char_end, p.sentences, "
        "p.document_id FROM passages p JOIN documents d ON d.id = p.document_id "
        "JOIN passage_text t ON t.rowid = p.id "
    )

    @staticmethod
    def _passage(row: tuple) -> Passage:
        return Passage.model_construct(
            id=row[0], key=f"{row[1]}#{row[2]}", document_id=row[8], document_key=row[1],
            ordinal=row[2],
            section=row[3], text=row[4], char_start=row[5], char_end=row[6],
            sentences=_unpack_spans(row[7]),
        )

    def passages(self, ids: Sequence[int]) -> dict[int, Passage]:
        with self.reading() as conn:
            return {row[0]: self._passage(row) for row in rows_in(
                conn, self._PASSAGE_SELECT + "WHERE p.id IN ({marks})", ids)}

    def passage_documents(self, ids: Sequence[int]) -> dict[int, int]:
        """Passage id → document id, without reading any text."""
        with self.reading() as conn:
            return dict(rows_in(conn, "SELECT id, document_id FROM passages WHERE id IN ({marks})", ids))

    def passages_of(self, document_key: str) -> list[Passage]:
        """A document's passages; asked by an old key, they read under that key, as the
        article citing them wrote it ("<old key>#<ordinal>")."""
        select = self._PASSAGE_SELECT + "WHERE d.key = ? ORDER BY p.ordinal"
        with self.reading() as conn:
            rows = conn.execute(select, (document_key,)).fetchall()
            if not rows and (current := current_key(conn, document_key)):
                rows = [(r[0], document_key, *r[2:]) for r in conn.execute(select, (current,))]
        return [self._passage(row) for row in rows]

    def passage_texts(self, ids: Sequence[int]) -> dict[int, PassageText]:
        with self.reading() as conn:
            return {r[0]: PassageText(r[3], r[2], r[1]) for r in rows_in(
                conn, "SELECT p.id, p.ordinal, p.section, t.body FROM passages p "
                      "JOIN passage_text t ON t.rowid = p.id WHERE p.id IN ({marks})", ids)}

    def passage_fingerprints(self) -> list[tuple[int, str, int]]:
        with self.reading() as conn:
            return conn.execute("SELECT p.id, d.content_hash, p.ordinal FROM passages p "
                                "JOIN documents d ON d.id = p.document_id").fetchall()

    def _without_common(self, conn: sqlite3.Connection, phrases: list[str]) -> list[str]:
        """Drop phrases that occur in more than COMMON_SHARE of all passages, keeping at least
        one. Their BM25 weight is small, but ranking every passage they match is what makes an
        OR query slow on a large store; the counts stop at the cutoff and are cached."""
        if len(phrases) < 2:
            return phrases
        total = conn.execute("SELECT coalesce(max(id), 0) FROM passages").fetchone()[0]
        if total < PRUNE_FROM_PASSAGES:
            return phrases
        cutoff = max(COMMON_MIN_PASSAGES, int(total * COMMON_SHARE))
        if self._df_total != total:  # the store changed: counts may have too
            self._df_cache.clear()
            self._df_total = total
        counts = {}
        for phrase in phrases:
            if phrase not in self._df_cache:
                self._df_cache[phrase] = conn.execute(
                    "SELECT count(*) FROM (SELECT rowid FROM passage_text WHERE passage_text MATCH ? "
                    "LIMIT ?)", (phrase, cutoff + 1)).fetchone()[0]
            counts[phrase] = self._df_cache[phrase]
        kept = [p for p in phrases if counts[p] <= cutoff]
        return kept or [min(phrases, key=lambda p: counts[p])]

    def matching_documents(self, terms: Sequence[str], *, limit: int = 100_000) -> set[int]:
        """Ids of documents with a passage matching any of the phrases (unranked)."""
        phrases = [fts_phrase(t) for t in dict.fromkeys(t.strip() for t in terms) if t]
        if not phrases:
            return set()
        with self.reading() as conn:
            rows = conn.execute(
                "SELECT DISTINCT p.document_id FROM passage_text t JOIN passages p ON p.id = t.rowid "
                "WHERE passage_text MATCH ? LIMIT ?", (" OR ".join(phrases), limit)).fetchall()
        return {r[0] for r in rows}

    def passage_frequency(self, term: str) -> int:
        """How many passages match the phrase (its document frequency at passage level); read
        from the full-text index alone, without touching the passage rows."""
        phrase = fts_phrase(term.strip()) if term.strip() else None
        if phrase is None:
            return 0
        with self.reading() as conn:
            return conn.execute("SELECT count(*) FROM passage_text WHERE passage_text MATCH ?",
                                (phrase,)).fetchone()[0]

    def lexical_search(
        self, terms: Sequence[str], *, limit: int, filters: SearchFilters | None = None,
        prune_common: bool = True,
    ) -> list[LexicalHit]:
        phrases = _phrases(terms)
        if not phrases or limit <= 0:
            return []
        if prune_common:
            with self.reading() as conn:
                phrases = self._without_common(conn, phrases)
        return self._ranked(" OR ".join(phrases), limit, filters)

    def lexical_search_all(
        self, groups: Sequence[Sequence[str]], *, limit: int, filters: SearchFilters | None = None,
    ) -> list[LexicalHit]:
        """Passages matching at least one term of every group (the groups ANDed, the terms of a
        group ORed), best BM25 first: "atorvastatin or lipitor" AND "clarithromycin"."""
        clauses = [" OR ".join(phrases) for phrases in map(_phrases, groups) if phrases]
        if len(clauses) != len(groups) or not clauses or limit <= 0:
            return []
        return self._ranked(" AND ".join(f"({c})" for c in clauses), limit, filters)

    def lexical_lists(
        self, terms: Sequence[str], expansions: Sequence[str], *, limit: int,
        filters: SearchFilters | None = None, prune_common: bool = True,
    ) -> tuple[list[LexicalHit], list[LexicalHit]]:
        """``lexical_search(terms)`` and ``lexical_search([*terms, *expansions])``, the same
        hits and scores, for about the cost of the first alone.

        BM25 is a sum over the query's phrases (idf and length normalisation do not depend on
        the rest of the query), and a phrase adds nothing to a passage it does not match. So a
        passage that matches no expansion keeps its terms-only score, and the combined top
        ``limit`` lies among: the terms-only top ``limit``, the top of "terms AND expansions"
        and the top of "expansions NOT terms". Expansions are specific names (brands, salts),
        so those two queries touch few passages; only the first ranks every passage a common
        word matches, where two OR queries ranked them all twice.
        """
        if limit <= 0:
            return [], []
        user = _phrases(terms)
        combined = _phrases([*terms, *expansions])
        if prune_common:
            with self.reading() as conn:
                user = self._without_common(conn, user)
                combined = self._without_common(conn, combined)
        user_hits = self._ranked(" OR ".join(user), limit, filters) if user else []
        extra = [p for p in combined if p not in user]
        if not extra and combined == user:
            return user_hits, user_hits  # the expansions add no phrase
        if not user or [p for p in combined if p in user] != user:
            # Pruning kept other terms in the combined query: it is not a sum over these two.
            return user_hits, self._ranked(" OR ".join(combined), limit, filters)
        u, e = " OR ".join(user), " OR ".join(extra)
        # The small queries' scores replace the terms-only ones. A terms-only hit that matches
        # an expansion but is not among them keeps too low a score, harmlessly: ``limit``
        # passages of "terms AND expansions" beat its true score already.
        hits = {h.passage_id: h for h in user_hits}
        for query in (f"({u}) AND ({e})", f"({e}) NOT ({u})"):
            hits.update((h.passage_id, h) for h in self._ranked(query, limit, filters))
        # The order the SQL gives: rank (= -score), then rowid.
        return user_hits, sorted(hits.values(), key=lambda h: (-h.score, h.passage_id))[:limit]

    def _ranked(self, match: str, limit: int, filters: SearchFilters | None) -> list[LexicalHit]:
        """Passages for one FTS5 MATCH expression, best BM25 first, at most ``limit``."""
        filters = filters or SearchFilters()
        if not (filters.source_types or filters.since_year is not None or filters.until_year is not None):
            sql = ("SELECT t.rowid, p.document_id, t.rank FROM (SELECT rowid, rank FROM passage_text "
                   "WHERE passage_text MATCH ? ORDER BY rank LIMIT ?) t "
                   "JOIN passages p ON p.id = t.rowid ORDER BY t.rank, t.rowid")
            params: list[object] = [match, limit]
        else:
            where, params = ["passage_text MATCH ?"], [match]
            if filters.source_types:
                where.append(f"d.source_type IN ({','.join('?' * len(filters.source_types))})")
                params.extend(s.value for s in filters.source_types)
            if filters.since_year is not None:
                where.append("d.year >= ?")
                params.append(filters.since_year)
            if filters.until_year is not None:
                where.append("d.year <= ?")
                params.append(filters.until_year)
            sql = ("SELECT t.rowid, p.document_id, t.rank FROM passage_text t "
                   "JOIN passages p ON p.id = t.rowid JOIN documents d ON d.id = p.document_id "
                   "WHERE " + " AND ".join(where) + " ORDER BY t.rank, t.rowid LIMIT ?")
            params.append(limit)
        with self.reading() as conn:
            rows = conn.execute(sql, params).fetchall()
        # FTS5's bm25() is negative (smaller is better); flip it so higher is better everywhere.
        return [LexicalHit(passage_id=r[0], document_id=r[1], score=-r[2]) for r in rows]


def _phrases(terms: Sequence[str]) -> list[str]:
    """Each distinct term once, quoted as an FTS5 phrase."""
    return [fts_phrase(t) for t in dict.fromkeys(t.strip() for t in terms) if t]
