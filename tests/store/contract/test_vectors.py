"""Passage vectors a store keeps itself (PostgreSQL: pgvector HNSW), and dense retrieval on
every store: the vector files beside SQLite, the store's index elsewhere."""

from __future__ import annotations

import numpy as np
import pytest

from medcite.ingest.prepare import write_documents
from medcite.settings import Settings
from medcite.store import Store

from tests.store.contract.conftest import research


def _stored(store: Store):
    if store.vectors is None:
        pytest.skip("this store keeps its vectors as files beside it "
                    "(tests/retrieval/test_dense_ingest.py)")
    return store.vectors


def _unit(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    v = rng.standard_normal((n, d)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_vectors_go_with_their_passages(any_store: Store):
    vectors = _stored(any_store)
    assert vectors.encoder() is None and vectors.count() == 0
    assert vectors.start("int8", 96, "all-MiniLM-L6-v2") == ("int8", 96, "all-MiniLM-L6-v2")
    assert vectors.start("fp32", 128, "other") == ("int8", 96, "all-MiniLM-L6-v2")  # recorded once
    write_documents(any_store, [research(str(i), f"Passage number {i} about drug {i}.")
                           for i in range(1, 41)])
    ids = vectors.missing()
    assert len(ids) == 40 and ids == sorted(ids)
    rng = np.random.default_rng(7)
    matrix = _unit(rng, 40, vectors.dimensions)
    assert vectors.add(ids, matrix.tolist()) == 40
    assert vectors.missing() == [] and vectors.count() == 40
    # Each vector finds itself first; the exact similarities agree with NumPy's.
    for row in (0, 17, 39):
        best, similarity = vectors.nearest(matrix[row].tolist(), 5)[0]
        assert best == ids[row] and similarity == pytest.approx(1.0, abs=1e-5)
    exact = vectors.similarities(matrix[3].tolist(), ids[:10])
    assert exact == pytest.approx({pid: float(matrix[i] @ matrix[3])
                                   for i, pid in enumerate(ids[:10])}, abs=1e-5)
    # A replaced document's passage takes its vector with it; the new one has none yet.
    write_documents(any_store, [research("5", "Passage five, revised.", revision=2)])
    assert vectors.count() == 39 and len(vectors.missing()) == 1
    assert ids[4] not in vectors.similarities(matrix[4].tolist(), ids)
    assert vectors.add([10**12], [matrix[0].tolist()]) == 0  # no such passage: not stored
    vectors.clear()
    assert vectors.count() == 0 and vectors.encoder() is None


def _recall_probe(store: Store, vectors, passages: int, seed: int):
    """``passages`` random unit vectors stored, and a function giving the mean recall@10 of
    the store's search for 20 random queries against exact search."""
    vectors.start("int8", 96, "all-MiniLM-L6-v2")
    write_documents(store, [research(str(i), f"Text {i}.") for i in range(1, passages + 1)])
    ids = np.asarray(vectors.missing())
    rng = np.random.default_rng(seed)
    matrix = _unit(rng, len(ids), vectors.dimensions)
    for first in range(0, len(ids), 500):
        vectors.add(ids[first:first + 500].tolist(), matrix[first:first + 500].tolist())
    queries = _unit(rng, 20, vectors.dimensions)
    exact = [set(ids[np.argsort(-(matrix @ q))[:10]].tolist()) for q in queries]

    def recall() -> float:
        return float(np.mean([len(truth & {pid for pid, _ in vectors.nearest(q.tolist(), 10)}) / 10
                              for q, truth in zip(queries, exact)]))

    return recall


def test_hnsw_finds_what_exact_search_finds(any_store: Store):
    recall = _recall_probe(any_store, _stored(any_store), 1500, seed=11)
    assert recall() >= 0.95


def test_dense_retrieval_on_every_store(any_store: Store, shared_data, home, monkeypatch):
    """A real label embedded by the real encoder: the question finds the boxed warning by its
    meaning, dense on, on either kind of store."""
    from medcite.ingest.runner import ingest_paths
    from medcite.retrieval.dense import embed_store, vector_status
    from medcite.retrieval.setup import searcher_for

    monkeypatch.setenv("MEDCITE_DENSE", "on")
    settings = Settings.load()
    ingest_paths(any_store, [shared_data / "dailymed_spl_samples" / "humira.xml"], progress=False)
    if any_store.vector_folder is not None:
        from medcite.retrieval.dense import DEFAULT_SPEC, start_vectors

        start_vectors(any_store.vector_folder, DEFAULT_SPEC)
    added = embed_store(any_store, settings.cache_path / "models", progress=False)
    status = vector_status(any_store)
    assert added == status.embedded == status.passages > 100
    assert embed_store(any_store, settings.cache_path / "models", progress=False) == 0
    searcher = searcher_for(any_store, settings)
    assert searcher.dense_enabled
    results = searcher.search("can humira make it easier to catch an infection", limit=5,
                              per_document=5)
    assert len(results) == 5
    assert any("INFECTIONS" in (r.passage.section or "").upper() for r in results)


def test_ef_search_comes_from_the_settings(store_url: str, monkeypatch):
    """MEDCITE_HNSW_EF_SEARCH reaches the HNSW search: 1 candidate kept (raised to the 10 asked
    for) finds less of the exact top 10 than 400 do (PostgreSQL only; SQLite searches its
    vectors exactly)."""
    from medcite.store import open_store

    if not store_url.startswith("postgresql"):
        pytest.skip("SQLite's vectors are searched exactly")
    monkeypatch.setenv("MEDCITE_STORE_URL", store_url)
    monkeypatch.setenv("MEDCITE_HNSW_EF_SEARCH", "1")
    narrow = open_store(Settings.load())
    try:
        assert narrow.vectors.ef_search == 1
        vectors = narrow.vectors
        recall = _recall_probe(narrow, vectors, 2000, seed=5)
        low = recall()
        vectors.ef_search = 400
        assert recall() >= 0.95 and recall() > low
    finally:
        narrow.close()
