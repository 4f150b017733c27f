"""Passage vectors in the PostgreSQL store: pgvector, an HNSW index on cosine distance.

One row per passage (``ON DELETE CASCADE``: replaced or deleted text takes its vector with it;
passage ids come from a sequence, so a vector never stands for other text). The encoder the
vectors were made with is recorded once (``vector_encoder``); queries must be encoded alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from medcite.store.postgres.store import PostgresStore

DIMENSIONS = 384  # all-MiniLM-L6-v2, the shipped encoder
# Candidates HNSW keeps while searching: recall against exact search rises with it (at 200k
# vectors, bench/scale/query.py: 0.93 at 200, 0.97 at 400, 0.99 at 800; BENCHMARKS.md).
EF_SEARCH = 400


def _literal(vector: Sequence[float]) -> str:
    """pgvector's text form of a vector."""
    return "[" + ",".join(f"{float(x):.7g}" for x in vector) + "]"


class PostgresVectors:
    """``PassageVectors`` on the PostgreSQL store."""

    dimensions = DIMENSIONS

    def __init__(self, store: PostgresStore, ef_search: int = EF_SEARCH) -> None:
        self._store = store
        self.ef_search = ef_search  # MEDCITE_HNSW_EF_SEARCH, through open_store

    def encoder(self) -> tuple[str, int, str] | None:
        with self._store.reading() as conn:
            row = conn.execute("SELECT precision, passage_tokens, model FROM vector_encoder"
                               ).fetchone()
        return (row[0], row[1], row[2]) if row else None

    def start(self, precision: str, passage_tokens: int, model: str) -> tuple[str, int, str]:
        with self._store.transaction() as conn:
            conn.execute("INSERT INTO vector_encoder (one, precision, passage_tokens, model) "
                         "VALUES (true, %s, %s, %s) ON CONFLICT (one) DO NOTHING",
                         (precision, passage_tokens, model))
            row = conn.execute("SELECT precision, passage_tokens, model FROM vector_encoder"
                               ).fetchone()
        return (row[0], row[1], row[2])

    def missing(self) -> list[int]:
        with self._store.reading() as conn:
            return [r[0] for r in conn.execute(
                "SELECT p.id FROM passages p WHERE NOT EXISTS (SELECT 1 FROM passage_vectors v "
                "WHERE v.passage_id = p.id) ORDER BY p.id")]

    def add(self, ids: Sequence[int], vectors: Sequence[Sequence[float]]) -> int:
        rows = [(int(i), _literal(v)) for i, v in zip(ids, vectors, strict=True)]
        if not rows:
            return 0
        with self._store.transaction() as conn:
            existing = {r[0] for r in conn.execute(
                "SELECT id FROM passages WHERE id = ANY(%s) FOR KEY SHARE",
                ([i for i, _ in rows],))}
            kept = [r for r in rows if r[0] in existing]  # deleted by an ingest meanwhile
            with conn.cursor() as cursor:
                cursor.executemany(
                    "INSERT INTO passage_vectors (passage_id, embedding) VALUES (%s, %s::vector) "
                    "ON CONFLICT (passage_id) DO UPDATE SET embedding = excluded.embedding", kept)
        return len(kept)

    def count(self) -> int:
        with self._store.reading() as conn:
            return conn.execute("SELECT count(*) FROM passage_vectors").fetchone()[0]

    def nearest(self, query: Sequence[float], limit: int) -> list[tuple[int, float]]:
        if limit <= 0:
            return []
        vector = _literal(query)
        with self._store.transaction("reading") as conn:
            ef = max(1, min(int(self.ef_search), 1000))  # pgvector's range
            conn.execute(f"SET LOCAL hnsw.ef_search = {max(ef, min(limit, 1000))}")
            rows = conn.execute(
                "SELECT passage_id, 1 - (embedding <=> %s::vector) AS similarity "
                "FROM passage_vectors ORDER BY embedding <=> %s::vector LIMIT %s",
                (vector, vector, limit)).fetchall()
        return [(r[0], float(r[1])) for r in rows]

    def similarities(self, query: Sequence[float], ids: Sequence[int]) -> dict[int, float]:
        if not ids:
            return {}
        with self._store.reading() as conn:
            return {r[0]: float(r[1]) for r in conn.execute(
                "SELECT passage_id, 1 - (embedding <=> %s::vector) FROM passage_vectors "
                "WHERE passage_id = ANY(%s)", (_literal(query), list(ids)))}

    def clear(self) -> None:
        with self._store.transaction() as conn:
            conn.execute("DELETE FROM passage_vectors")
            conn.execute("DELETE FROM vector_encoder")
