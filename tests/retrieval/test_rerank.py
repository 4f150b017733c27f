"""The learned re-ranker: the shipped models load offline and score as LightGBM does, features
are deterministic, re-ranking moves correct answers up on real MEDIQA validation questions,
and the setting switches it on the search path."""

from __future__ import annotations

import json

import numpy as np
import pytest

from medcite.evaluation.corpora import build_store
from medcite.evaluation.mediqa import _task, load_split
from medcite.models import SourceType
from medcite.retrieval.rerank import (
    FEATURES, MODEL_FILES, PROVENANCE_FILE, FeatureExtractor, TreeModel, model_path, reranker_for,
)
from medcite.retrieval.search import Searcher
from medcite.settings import Settings
from medcite.store import SearchFilters
from medcite.vocab import Vocabulary


@pytest.fixture(scope="module")
def vocabulary():
    return Vocabulary.load()


@pytest.fixture(scope="module")
def validation(shared_data, tmp_path_factory):
    """A store of the real MEDIQA 2019 validation answers (25 questions, 234 answers)."""
    questions = load_split(shared_data, "validation")
    store = build_store(_task("MEDIQA 2019 validation", questions), tmp_path_factory.mktemp("mediqa"))
    yield questions, store
    store.close()


@pytest.mark.parametrize("kind", sorted(MODEL_FILES))
def test_shipped_model_loads_offline_and_is_small(kind):
    path = model_path(kind)
    assert path.is_file() and path.stat().st_size < 25 * 1024 * 1024
    model = TreeModel.load(path)
    assert model.feature_names == list(FEATURES)
    assert model.n_trees >= 10
    scores = model.predict(np.zeros((3, len(FEATURES))))
    assert np.isfinite(scores).all() and len(set(scores.tolist())) == 1
    provenance = json.loads((path.parent / PROVENANCE_FILE).read_text())
    assert provenance["command"].startswith("python -m medcite.retrieval.train_reranker")
    assert provenance["models"][kind]["file"] == MODEL_FILES[kind]
    files = {d["file"] for d in provenance["data"]}
    assert "mediqa2019/task3_qa/MEDIQA2019-Task3-QA-TrainingSet2-Alexa.xml" in files
    assert any("test" in s for s in provenance["splits"]["heldout (reported)"][0].lower().split())


@pytest.mark.parametrize("kind", sorted(MODEL_FILES))
def test_numpy_scoring_equals_lightgbm(kind):
    lgb = pytest.importorskip("lightgbm")
    path = model_path(kind)
    rng = np.random.default_rng(7)
    x = rng.normal(size=(400, len(FEATURES))) * rng.choice([0.1, 1, 10, 100], size=len(FEATURES))
    x[::5] = np.round(x[::5])  # values on and near split thresholds
    x[::9, 4] = np.nan
    expected = lgb.Booster(model_file=str(path)).predict(x)
    assert np.allclose(TreeModel.load(path).predict(x), expected, rtol=0, atol=1e-9)


def test_features_are_deterministic(validation, vocabulary):
    questions, store = validation
    searcher = Searcher(store, vocabulary=vocabulary)
    question = questions[0].text
    first = searcher.candidates(question)
    again = Searcher(store, vocabulary=vocabulary).candidates(question)
    assert [c.passage_id for c in first[1]] == [c.passage_id for c in again[1]]
    a = FeatureExtractor(store).matrix(first[0], first[1], first[2])
    b = FeatureExtractor(store).matrix(again[0], again[1], again[2])
    assert a.shape == (len(first[1]), len(FEATURES)) and np.isfinite(a).all()
    assert np.array_equal(a, b)
    # A candidate's row does not depend on the order candidates come in (beyond list ranks).
    reverse = FeatureExtractor(store).matrix(first[0], first[1][::-1], first[2])[::-1]
    assert np.array_equal(a, reverse)


def _first_correct(order: list[str], correct: set[str]) -> float:
    return next((1.0 / i for i, aid in enumerate(order, 1) if aid in correct), 0.0)


def test_reranking_moves_correct_answers_up_on_real_validation_questions(validation, vocabulary):
    questions, store = validation
    passages = store.stats().passages
    searcher = Searcher(store, vocabulary=vocabulary)
    reranker = reranker_for(store, dense=False)
    fused_rr, reranked_rr, changed = [], [], 0
    for q in questions:
        own = {a.aid for a in q.answers}
        correct = {a.aid for a in q.answers if a.correct}
        analysis, cands, texts, _ = searcher.candidates(q.text, depth=passages, candidates=passages)
        cands = [c for c in cands if c.document.key in own]
        fused = list(dict.fromkeys(c.document.key for c in cands))
        scores = reranker.score(analysis, cands, texts)
        order = sorted(range(len(cands)), key=lambda i: (-scores[i], cands[i].document.key))
        reranked = list(dict.fromkeys(cands[i].document.key for i in order))
        changed += reranked != fused
        fused_rr.append(_first_correct(fused, correct))
        reranked_rr.append(_first_correct(reranked, correct))
    assert changed >= len(questions) // 2  # it re-orders, not just copies the fused order
    # These questions were in its training data: the correct answers must come up.
    assert np.mean(reranked_rr) > np.mean(fused_rr) + 0.03  # measured: 0.853 -> 0.907
    assert sum(r > f for r, f in zip(reranked_rr, fused_rr)) > sum(r < f for r, f in zip(reranked_rr, fused_rr))


def test_the_setting_switches_it(validation, vocabulary, home, monkeypatch):
    questions, store = validation
    off = Searcher(store, vocabulary=vocabulary, settings=Settings.load(rerank=False))
    on = Searcher(store, vocabulary=vocabulary, settings=Settings.load(rerank=True))
    assert off.reranker is None and on.reranker is not None
    monkeypatch.setenv("MEDCITE_RERANK", "1")
    assert Searcher(store, vocabulary=vocabulary, settings=Settings.load()).reranker is not None
    monkeypatch.setenv("MEDCITE_RERANK", "off")
    assert Searcher(store, vocabulary=vocabulary, settings=Settings.load()).reranker is None
    differs = 0
    for q in questions[:8]:
        a = on.search(q.text, limit=5)
        b = off.search(q.text, limit=5)
        assert len(a) == len(b) and len({r.document.id for r in a}) == len(a)
        assert [r.score for r in a] == sorted((r.score for r in a), reverse=True)
        assert [r.passage.key for r in a] == [r.passage.key for r in on.search(q.text, limit=5)]
        differs += [r.passage.key for r in a] != [r.passage.key for r in b]
    assert differs >= 2


def test_reranked_search_on_the_clinical_store(clinical_store, vocabulary):
    searcher = Searcher(clinical_store, vocabulary=vocabulary, reranker=reranker_for(clinical_store, dense=False))
    results = searcher.search("mirtazapine dosing in depression", limit=5, per_document=2)
    assert 1 <= len(results) <= 5 and "drug:mirtazapine" in results[0].matched_concepts
    guidelines = searcher.search("magnesium", limit=10,
                                 filters=SearchFilters(source_types=(SourceType.GUIDELINE,)))
    assert guidelines and all(r.document.source_type is SourceType.GUIDELINE for r in guidelines)
    assert searcher.search("what is the of and", limit=5) == []


def test_by_default_it_reranks_where_dense_retrieval_runs(validation, vocabulary, tmp_path, monkeypatch):
    """'auto': the hybrid model on a store with vectors; lexical search keeps its fused order
    (the lexical model is not better on MEDIQA); 'on' re-ranks lexical search too."""
    from medcite.errors import ConfigurationError

    questions, store = validation
    monkeypatch.delenv("MEDCITE_RERANK", raising=False)
    assert Settings.load().rerank == "auto"
    lexical = Searcher(store, vocabulary=vocabulary, settings=Settings.load())
    assert lexical.reranker is None
    forced = Searcher(store, vocabulary=vocabulary, settings=Settings.load(rerank="on"))
    assert forced.reranker is not None and forced.reranker.name == "lexical"
    with pytest.raises(ConfigurationError, match="MEDCITE_RERANK='sometimes'"):
        Searcher(store, vocabulary=vocabulary, settings=Settings.load(rerank="sometimes"))

    pytest.importorskip("onnx")  # to build the int8 graph once
    embedding = pytest.importorskip("medcite.retrieval.embedding")
    if embedding.missing_dependency() is not None or not embedding.onnxruntime_available():
        pytest.skip(f"dense retrieval cannot run here: {embedding.missing_dependency()}")
    from medcite.retrieval import dense

    folder, models = tmp_path / "vectors", tmp_path / "models"
    dense.embed_store(store, models, progress=False, folder=folder, spec=dense.DEFAULT_SPEC)
    index = dense.DenseIndex.load(store, folder)
    encoder = dense.query_encoder(dense.DEFAULT_SPEC, models)
    hybrid = Searcher(store, vocabulary=vocabulary, encoder=encoder, dense_index=index,
                      settings=Settings.load())
    assert hybrid.dense_enabled and hybrid.reranker is not None and hybrid.reranker.name == "hybrid"
    off = Searcher(store, vocabulary=vocabulary, encoder=encoder, dense_index=index,
                   settings=Settings.load(rerank="off"))
    assert off.reranker is None
    differs = sum([r.passage.key for r in hybrid.search(q.text, limit=5)]
                  != [r.passage.key for r in off.search(q.text, limit=5)] for q in questions[:8])
    assert differs >= 2  # the default re-orders hybrid results
