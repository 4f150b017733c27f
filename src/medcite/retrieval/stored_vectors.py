"""Dense retrieval on vectors the store keeps itself (PostgreSQL: pgvector with HNSW).

The same encoder and the same contract as the vector files beside a SQLite store
(``retrieval.dense``): passages embedded ``CHUNK`` at a time, a rerun embeds only what has no
vector, queries encoded at the precision the passages were. Search is approximate (HNSW);
the re-ranker's cosine feature is exact for the candidates it scores.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from tqdm import tqdm

from medcite.errors import ConfigurationError
from medcite.retrieval.dense import encoded, passage_batches
from medcite.store.base import Store
from medcite.store.repositories import PassageVectors


class StoredVectorIndex:
    """The store's vector index, with the interface ``retrieval.search`` uses."""

    def __init__(self, vectors: PassageVectors, spec, size: int) -> None:
        self._vectors = vectors
        self.spec = spec
        self._size = size

    def __len__(self) -> int:
        return self._size

    def search(self, query: np.ndarray, limit: int) -> list[tuple[int, float]]:
        return self._vectors.nearest(query.astype(np.float32).tolist(), limit)

    def similarities(self, query: np.ndarray, ids: list[int]) -> dict[int, float]:
        return self._vectors.similarities(query.astype(np.float32).tolist(), ids)


def _spec(encoder: tuple[str, int, str]):
    from medcite.retrieval.dense import EncoderSpec

    return EncoderSpec(encoder[0], encoder[1], encoder[2])


def load(store: Store) -> StoredVectorIndex | None:
    assert store.vectors is not None
    encoder = store.vectors.encoder()
    size = store.vectors.count() if encoder is not None else 0
    return StoredVectorIndex(store.vectors, _spec(encoder), size) if size else None


def spec_of(store: Store):
    """The encoder the store's vectors are made with; None before any."""
    assert store.vectors is not None
    encoder = store.vectors.encoder()
    return _spec(encoder) if encoder is not None else None


def start(store: Store, spec):
    """Record ``spec`` unless the store's vectors have an encoder; the recorded one."""
    assert store.vectors is not None
    return _spec(store.vectors.start(spec.precision, spec.passage_tokens, spec.model))


def embed(store: Store, encode: Callable[[list[str]], np.ndarray], spec, *,
          progress: bool = True, chunk: int = 1024) -> int:
    """Embed every passage without a vector; returns how many were embedded now."""
    vectors = store.vectors
    assert vectors is not None
    found = start(store, spec)
    if found != spec:
        raise ConfigurationError(f"the store's vectors were made by {found.label}, not "
                                 f"{spec.label}", hint="run: medcite index --rebuild")
    todo = vectors.missing()
    done = 0
    with tqdm(total=len(todo), desc="embed", unit=" passages", disable=not progress,
              dynamic_ncols=True) as bar:
        for ids, batch in encoded(encode, passage_batches(store, todo, chunk)):
            done += vectors.add(ids, batch.tolist())
            bar.update(len(ids))
    return done
