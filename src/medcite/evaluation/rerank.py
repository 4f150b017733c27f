"""The learned re-ranker on the sets it was not trained on, baselines side by side.

Run: .venv/bin/python bench/retrieval/rerank.py [--no-dense] [--task all|mediqa|medicationqa|pubmedqa]
(also ``medcite eval rerank``). Held-out sets only (``medcite.retrieval.train_reranker``):

* MEDIQA 2019 Task 3 test (150 questions): CHiQA order, plain BM25, medcite lexical and hybrid
  (the previous ranking: fused, then the evidence-type prior as a boost), and each + re-ranker
  (the question's own answers re-scored; labelled correct: the top half, as for the others).
* MedicationQA, the held-out fold (CRC32 of the id odd, 345 questions): R@1, R@10, MRR@10,
  nDCG@10 and latency of ``Searcher.search`` itself (re-ranking included).
* PubMedQA, the official test split (500 questions), the same figures.
"""

from __future__ import annotations

import time
from pathlib import Path

from medcite.evaluation.report import machine, peak_rss_mb, percentile


def _searchers(store, vocabulary, dense: bool, models: Path):
    from medcite.retrieval.rerank import reranker_for
    from medcite.retrieval.search import Searcher
    from medcite.retrieval.train_reranker import dense_parts

    out = [("medcite lexical", Searcher(store, vocabulary=vocabulary)),
           ("medcite lexical + re-ranker",
            Searcher(store, vocabulary=vocabulary, reranker=reranker_for(store, dense=False)))]
    if dense:
        encoder, index = dense_parts(store, models)
        out += [("medcite hybrid (BM25 + MiniLM, RRF)",
                 Searcher(store, vocabulary=vocabulary, encoder=encoder, dense_index=index)),
                ("medcite hybrid + re-ranker",
                 Searcher(store, vocabulary=vocabulary, encoder=encoder, dense_index=index,
                          reranker=reranker_for(store, dense=True)))]
    return out


def retrieval_tables(data: Path, *, dense: bool, tasks: list[str], echo=print) -> None:
    from medcite.evaluation.corpora import build_baseline, build_store, medicationqa, pubmedqa
    from medcite.evaluation.retrieval import metrics, plain_bm25, run_system, stopwords
    from medcite.retrieval.train_reranker import heldout_medicationqa, pubmedqa_test_ids
    from medcite.settings import Settings
    from medcite.vocab import Vocabulary

    settings = Settings.load()
    vocabulary = Vocabulary.load(settings)
    cache = settings.cache_path / "bench-retrieval"
    stop = stopwords()
    for name in tasks:
        if name == "medicationqa":
            task = medicationqa(data)
            queries = [(q, t) for q, t in task.queries if heldout_medicationqa(q)]
            title = "MedicationQA, held-out fold (CRC32 of the id odd)"
        else:
            task = pubmedqa(data)
            test = pubmedqa_test_ids(data)
            queries = [(q, t) for q, t in task.queries if q in test]
            title = "PubMedQA, official test split"
        store = build_store(task, cache)
        baseline = build_baseline(task, cache)
        systems = [run_system("plain BM25 (baseline)", lambda q: plain_bm25(baseline, q, stop), queries)]
        for label, searcher in _searchers(store, vocabulary, dense, settings.cache_path / "models"):
            searcher.search(queries[0][1], limit=10)  # warm caches (vocabulary, idf, patterns)
            systems.append(run_system(label, lambda q, s=searcher: [r.document.key for r in s.search(q, limit=10)],
                                      queries))
        echo(f"\n### {title}: {len(queries)} queries, {len(task.documents):,} documents, "
             f"{store.stats().passages:,} passages\n")
        echo("| system | R@1 | R@10 | MRR@10 | nDCG@10 | p50 ms | p95 ms |")
        echo("|---|---|---|---|---|---|---|")
        for label, rankings, latencies in systems:
            m = metrics(rankings, task.gold)
            echo(f"| {label} | {m['R@1']:.3f} | {m['R@10']:.3f} | {m['MRR@10']:.3f} | {m['nDCG@10']:.3f} | "
                 f"{percentile(latencies, 50):.1f} | {percentile(latencies, 95):.1f} |")
        store.close()
        baseline.close()


def mediqa_table(data: Path, *, dense: bool, echo=print) -> None:
    from medcite.evaluation import mediqa
    from medcite.evaluation.corpora import build_baseline, build_store
    from medcite.evaluation.retrieval import stopwords
    from medcite.settings import Settings
    from medcite.vocab import Vocabulary

    settings = Settings.load()
    vocabulary = Vocabulary.load(settings)
    questions = mediqa.load_split(data, "test")
    task = mediqa._task("MEDIQA 2019 test", questions)
    cache = settings.cache_path / "bench-mediqa"
    store = build_store(task, cache)
    baseline = build_baseline(task, cache)
    stats = store.stats()
    share = mediqa.DEFAULT_SHARE
    chiqa = {q.qid: [a.aid for a in sorted(q.answers, key=lambda a: a.system_rank)] for q in questions}
    rows = [("CHiQA order, all labelled correct (organisers' baseline)", chiqa,
             {q: set(o) for q, o in chiqa.items()}, None),
            ("plain BM25 (baseline)", *_ranked(mediqa, questions, mediqa._plain_bm25(baseline, stopwords()), share))]
    for label, searcher in _searchers(store, vocabulary, dense, settings.cache_path / "models"):
        if searcher.reranker is None:
            rank = mediqa._medcite(searcher, store)
        else:
            rank = _own_list(searcher, stats.passages)
        rows.append((label, *_ranked(mediqa, questions, rank, share)))
    echo(f"\n### MEDIQA 2019 Task 3, test set: {len(questions)} questions; rankers label their top "
         f"{share:.0%} correct\n")
    echo("| system | accuracy | MRR | precision | Spearman | p50 ms | p95 ms |")
    echo("|---|---|---|---|---|---|---|")
    for label, orders, labelled, latencies in rows:
        m = mediqa.score(questions, orders, labelled)
        times = f"{percentile(latencies, 50):.1f} | {percentile(latencies, 95):.1f}" if latencies else "— | —"
        echo(f"| {label} | {m['accuracy']:.3f} | {m['MRR']:.3f} | {m['precision']:.3f} | "
             f"{m['Spearman']:.3f} | {times} |")
    store.close()
    baseline.close()


def _own_list(searcher, passages: int):
    """Re-rank the question's own answers: retrieval over the split gives their features, the
    re-ranker orders them, an answer by its best passage (as in training)."""
    def rank(q) -> list[str]:
        own = {a.aid for a in q.answers}
        analysis, cands, texts, context = searcher.candidates(q.text, depth=passages, candidates=passages)
        cands = [c for c in cands if c.document.key in own]
        if not cands:
            return []
        scores = searcher.reranker.score(analysis, cands, texts, vector=context.vector,
                                         dense_index=searcher.dense_index)
        order = sorted(range(len(cands)), key=lambda i: (-scores[i], cands[i].document.key, cands[i].passage_id))
        return list(dict.fromkeys(cands[i].document.key for i in order))
    return rank


def _ranked(mediqa, questions, rank, share):
    orders, latencies = {}, []
    for q in questions:
        start = time.perf_counter()
        orders[q.qid] = mediqa._complete(q, rank(q))
        latencies.append((time.perf_counter() - start) * 1000)
    return orders, {q: mediqa.top_share(o, share) for q, o in orders.items()}, latencies


def run(data: Path, *, task: str = "all", dense: bool = True, echo=print) -> None:
    echo(f"machine: {machine()}")
    if task in ("all", "mediqa"):
        mediqa_table(data, dense=dense, echo=echo)
    names = [t for t in ("medicationqa", "pubmedqa") if task in ("all", t)]
    if names:
        retrieval_tables(data, dense=dense, tasks=names, echo=echo)
    echo(f"\npeak RSS: {peak_rss_mb():,.0f} MB")
