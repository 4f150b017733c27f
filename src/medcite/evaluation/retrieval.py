"""Retrieval evaluation: MedicationQA and PubMedQA open retrieval, medcite vs plain BM25.

Run: .venv/bin/python bench/retrieval/run.py [--dense] [--queries N], or medcite eval retrieval. Prints R@1, R@10, MRR@10, nDCG@10 and query latency p50/p95 for
plain BM25 (FTS5, the question's non-stopword terms OR-ed, bm25()) and for medcite's search,
lexical and — with --dense, which embeds each corpus once (cached, resumable) — hybrid, one row
per encoder of --encoders (precision and tokens per passage, e.g. fp32-128,int8-128,int8-64).
"""

from __future__ import annotations

import math
import re
import time
from pathlib import Path

from medcite.evaluation.corpora import Task, build_baseline, build_store, medicationqa, pubmedqa
from medcite.evaluation.report import machine, peak_rss_mb, percentile
from medcite.retrieval.search import Searcher
from medcite.settings import Settings
from medcite.store.baseline import PlainBM25

_WORD = re.compile(r"[A-Za-z0-9]+")


def stopwords() -> frozenset[str]:
    from medcite.retrieval.analysis import stopwords as query_stopwords

    return query_stopwords()


def plain_bm25(baseline: PlainBM25, question: str, stop: frozenset[str], k: int = 10) -> list[str]:
    terms = [w for w in dict.fromkeys(w.lower() for w in _WORD.findall(question)) if w not in stop]
    return baseline.search(terms, k)


def metrics(rankings: dict[str, list[str]], gold: dict[str, set[str]]) -> dict[str, float]:
    r1 = r10 = mrr = ndcg = 0.0
    for qid, ranked in rankings.items():
        relevant = gold[qid]
        hits = [i for i, key in enumerate(ranked[:10]) if key in relevant]
        r1 += bool(hits and hits[0] == 0)
        r10 += bool(hits)
        mrr += 1.0 / (hits[0] + 1) if hits else 0.0
        dcg = sum(1.0 / math.log2(i + 2) for i in hits)
        ideal = sum(1.0 / math.log2(i + 2) for i in range(min(len(relevant), 10)))
        ndcg += dcg / ideal if ideal else 0.0
    n = len(rankings) or 1
    return {"R@1": r1 / n, "R@10": r10 / n, "MRR@10": mrr / n, "nDCG@10": ndcg / n}


def run_system(name: str, search, queries) -> tuple[str, dict[str, list[str]], list[float]]:
    rankings, latencies = {}, []
    for qid, question in queries:
        start = time.perf_counter()
        rankings[qid] = search(question)
        latencies.append((time.perf_counter() - start) * 1000)
    return name, rankings, latencies


def evaluate(task: Task, cache: Path, dense: bool, limit: int | None,
             encoders: list | None = None) -> list[str]:
    """Tables for one task. With ``dense``, one hybrid row per encoder in ``encoders`` (default:
    the default encoder), each with its own vectors (embedded once, cached, resumable) and its
    embedding throughput."""
    queries = task.queries[:limit] if limit else task.queries
    store = build_store(task, cache)
    baseline = build_baseline(task, cache)
    stop = stopwords()
    settings = Settings.load()
    from medcite.vocab import Vocabulary

    vocabulary = Vocabulary.load(settings)
    lexical = Searcher(store, vocabulary=vocabulary)
    # A document key per result: one passage per document, so the ranking is of documents.
    systems = [
        run_system("plain BM25 (baseline)", lambda q: plain_bm25(baseline, q, stop), queries),
        run_system("medcite lexical", lambda q: [r.document.key for r in lexical.search(q, limit=10)], queries),
    ]
    embed_lines: list[str] = []
    if dense:
        from medcite.retrieval.dense import (
            DEFAULT_SPEC,
            DenseIndex,
            build_dense_index,
            passage_encoder,
            query_encoder,
        )

        models = settings.cache_path / "models"
        for spec in encoders or [DEFAULT_SPEC]:
            folder = Path(f"{store.location}.vectors-{spec.slug}")
            encoder = passage_encoder(spec, models)
            start, cpu = time.perf_counter(), time.process_time()
            added = build_dense_index(store, encoder.encode, folder=folder, spec=spec)
            seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
            if added:
                embed_lines.append(f"| {spec.label} | {added:,} | {seconds:.0f} | {added / seconds:.1f} | "
                                   f"{1000 * cpu / added:.1f} |")
            else:
                embed_lines.append(f"| {spec.label} | (cached) | | | |")
            hybrid = Searcher(store, vocabulary=vocabulary, encoder=query_encoder(spec, models),
                              dense_index=DenseIndex.load(store, folder))
            systems.append(run_system(f"medcite hybrid (BM25 + MiniLM {spec.precision}, {spec.passage_tokens} tokens)",
                                      lambda q, h=hybrid: [r.document.key for r in h.search(q, limit=10)],
                                      queries))
    lines = [f"\n### {task.name}: {len(queries)} queries, {len(task.documents):,} documents, "
             f"{store.stats().passages:,} passages\n",
             "| system | R@1 | R@10 | MRR@10 | nDCG@10 | p50 ms | p95 ms |", "|---|---|---|---|---|---|---|"]
    for name, rankings, latencies in systems:
        m = metrics(rankings, task.gold)
        lines.append(f"| {name} | {m['R@1']:.3f} | {m['R@10']:.3f} | {m['MRR@10']:.3f} | "
                     f"{m['nDCG@10']:.3f} | {percentile(latencies, 50):.1f} | {percentile(latencies, 95):.1f} |")
    if embed_lines:
        lines += ["", "| encoder (passage vectors) | passages embedded | seconds | passages/s | CPU ms/passage |",
                  "|---|---|---|---|---|", *embed_lines]
    store.close()
    return lines


def run(data: Path, *, task: str = "both", dense: bool = False, queries: int | None = None,
        echo=print, encoders: list | None = None) -> None:
    """Evaluate and print markdown tables (baseline and medcite side by side)."""
    cache = Settings.load().cache_path / "bench-retrieval"
    tasks = {"medicationqa": [medicationqa], "pubmedqa": [pubmedqa], "both": [medicationqa, pubmedqa]}
    echo(f"machine: {machine()}")
    for build in tasks[task]:
        for line in evaluate(build(data), cache, dense, queries, encoders):
            echo(line)
    echo(f"\npeak RSS: {peak_rss_mb():,.0f} MB")
