"""The plain BM25 baseline of the evaluations: one SQLite FTS5 table of whole documents, as
``data/README.md`` describes it (not the medcite store: no passages, no filters, no pruning)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path

from medcite.errors import StoreError
from medcite.store.sqlite import fts_phrase


class PlainBM25:
    """Whole documents ranked by FTS5's BM25 (porter stemming, unicode61 tokens)."""

    def __init__(self, location: Path, documents: Iterable[tuple[str, str]]) -> None:
        """Open the index at ``location``, built from (key, text) pairs when it is new."""
        fresh = not location.exists()
        try:
            self._conn = sqlite3.connect(location, check_same_thread=False)
            if fresh:
                self._conn.execute("CREATE VIRTUAL TABLE docs USING fts5(key UNINDEXED, body, "
                                   "tokenize='porter unicode61')")
                with self._conn:
                    self._conn.executemany("INSERT INTO docs (key, body) VALUES (?, ?)", documents)
        except sqlite3.Error as exc:
            raise StoreError(f"building the BM25 baseline at {location} failed: {exc}") from exc

    def search(self, terms: Sequence[str], limit: int) -> list[str]:
        """Keys of the best ``limit`` documents for the words OR-ed together."""
        if not terms:
            return []
        rows = self._conn.execute(
            "SELECT key FROM docs WHERE docs MATCH ? ORDER BY bm25(docs) LIMIT ?",
            (" OR ".join(fts_phrase(t) for t in terms), limit)).fetchall()
        return [r[0] for r in rows]

    def rank_among(self, terms: Sequence[str], keys: Sequence[str]) -> list[str]:
        """``keys`` that match, best first; BM25 keeps the whole table's statistics, the key
        filter only picks this list."""
        if not terms or not keys:
            return []
        rows = self._conn.execute(
            f"SELECT key FROM docs WHERE docs MATCH ? AND key IN ({','.join('?' * len(keys))}) "
            "ORDER BY bm25(docs), key", (" OR ".join(fts_phrase(t) for t in terms), *keys)).fetchall()
        return [r[0] for r in rows]

    def close(self) -> None:
        self._conn.close()
