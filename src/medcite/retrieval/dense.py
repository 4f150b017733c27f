"""Dense passage vectors kept in files beside the store.

Vectors are written in chunks (``chunk-<first passage id>.npz``: ids and float16 vectors), each
chunk renamed into place only when complete, so an interrupted ``medcite index`` resumes from the
last complete chunk. Search is one matrix product over the memory-resident matrix.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
from tqdm import tqdm

from medcite.store.sqlite import SQLiteStore

CHUNK = 1024
# Tokens embedded per passage: its opening carries its topic, and 128 tokens cost a third of 256.
PASSAGE_TOKENS = 128


def vector_dir(store: SQLiteStore) -> Path:
    return Path(store.location + ".vectors")


class DenseIndex:
    """Passage embeddings for one store."""

    def __init__(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        self.ids = ids
        self.vectors = vectors  # float32 [n, d], L2-normalised

    @classmethod
    def load(cls, store: SQLiteStore) -> DenseIndex | None:
        folder = vector_dir(store)
        chunks = sorted(folder.glob("chunk-*.npz")) if folder.is_dir() else []
        if not chunks:
            return None
        ids, vectors = [], []
        for chunk in chunks:
            with np.load(chunk) as data:
                ids.append(data["ids"])
                vectors.append(data["vectors"].astype(np.float32))
        return cls(np.concatenate(ids), np.concatenate(vectors))

    def __len__(self) -> int:
        return len(self.ids)

    def search(self, query: np.ndarray, limit: int) -> list[tuple[int, float]]:
        """Top passages by cosine similarity to a normalised query vector."""
        if not len(self.ids) or limit <= 0:
            return []
        scores = self.vectors @ query.astype(np.float32)
        limit = min(limit, len(scores))
        top = np.argpartition(-scores, limit - 1)[:limit]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(self.ids[i]), float(scores[i])) for i in top]


def build_dense_index(
    store: SQLiteStore,
    encode: Callable[[list[str]], np.ndarray],
    *,
    progress: bool = True,
) -> int:
    """Embed every passage not yet embedded; returns how many were embedded now."""
    folder = vector_dir(store)
    folder.mkdir(parents=True, exist_ok=True)
    done: set[int] = set()
    for chunk in folder.glob("chunk-*.npz"):
        with np.load(chunk) as data:
            done.update(int(i) for i in data["ids"])
    with store.reading() as conn:
        todo = [row[0] for row in conn.execute("SELECT id FROM passages ORDER BY id")
                if row[0] not in done]
    with tqdm(total=len(todo), desc="embed", unit=" passages", disable=not progress) as bar:
        for start in range(0, len(todo), CHUNK):
            ids = todo[start : start + CHUNK]
            passages = store.passages(ids)
            texts = [passages[i].text for i in ids]
            vectors = encode(texts).astype(np.float16)
            partial = folder / f".chunk-{ids[0]:012d}.npz.part"
            with open(partial, "wb") as fh:
                np.savez(fh, ids=np.asarray(ids, dtype=np.int64), vectors=vectors)
            os.replace(partial, folder / f"chunk-{ids[0]:012d}.npz")
            bar.update(len(ids))
    return len(todo)
