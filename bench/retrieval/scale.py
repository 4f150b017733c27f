"""Retrieval at scale: query latency and memory on a store of at least 1,000,000 passages.

Run: .venv/bin/python bench/retrieval/scale.py [--passages 1000000]
The passages are real sentences resampled: every sentence of the 18,445 abstracts of
pubmed_medline_sample, drawn with a fixed seed, three to a passage, ten passages to a document.
The text is real but the passages are synthetic combinations, so this measures speed and
memory, not quality. Queries are the 690 MedicationQA questions; plain BM25 on the same store
(the question's non-stopword terms OR-ed) is measured side by side. Dense retrieval is not part
of this run: embedding a million passages takes hours on two cores.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.common import machine, peak_rss_mb, percentile, shared_data  # noqa: E402
from medcite.ingest.chunking import split_sentences  # noqa: E402
from medcite.ingest.prepare import write_documents  # noqa: E402
from medcite.models import Document, Section, SourceType  # noqa: E402
from medcite.retrieval.analysis import stopwords  # noqa: E402
from medcite.retrieval.setup import searcher_for  # noqa: E402
from medcite.settings import Settings  # noqa: E402
from medcite.store import SQLiteStore  # noqa: E402
from tqdm import tqdm  # noqa: E402

PER_PASSAGE = 3
PER_DOCUMENT = 10


def real_sentences(data: Path) -> list[str]:
    sentences = []
    for line in (data / "pubmed_medline_sample" / "pubmed21n1298_abstracts.jsonl").open():
        text = json.loads(line)["abstract"]
        sentences.extend(text[s:e] for s, e in split_sentences(text) if e - s > 40)
    return sentences


def build(location: Path, sentences: list[str], passages: int) -> SQLiteStore:
    store = SQLiteStore(location)
    stored = store.stats().passages
    if stored >= passages:  # built before with the same seed
        return store
    rng = random.Random(1298)
    n = 0
    with tqdm(total=passages, desc="scale store", unit=" passages") as bar:
        # Short neighbouring sections of a research document may merge into one passage, so
        # documents are added until the store holds the passages asked for.
        while stored < passages:
            batch = []
            for _ in range(1000):
                sections = [Section(label=f"part {i + 1}", text=" ".join(rng.choices(sentences, k=PER_PASSAGE)))
                            for i in range(PER_DOCUMENT)]
                batch.append(Document(key=f"scale:{n}", source_type=SourceType.RESEARCH,
                                      title=f"Resampled document {n}", year=2000 + n % 22, sections=sections))
                n += 1
            written = write_documents(store, batch).passages
            stored += written
            bar.update(written)
    return store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--passages", type=int, default=1_000_000)
    parser.add_argument("--store", type=Path, help="measure an existing store instead (e.g. the "
                        "demo corpus: $MEDCITE_HOME/medcite.sqlite); nothing is built")
    args = parser.parse_args()
    data = shared_data()
    settings = Settings.load()
    start = time.perf_counter()
    if args.store:
        location = args.store
        store = SQLiteStore(location)
    else:
        location = settings.cache_path / "bench-scale" / f"scale-{args.passages}.sqlite"
        store = build(location, real_sentences(data), args.passages)
    build_s = time.perf_counter() - start
    stats = store.stats()
    questions = [json.loads(line)["question"] for line in (data / "medicationqa" / "medicationqa.jsonl").open()]
    searcher = searcher_for(store, settings)  # dense when the store has vectors
    stop = stopwords()
    rss_before = peak_rss_mb()
    name = "medcite search (hybrid)" if searcher.dense_enabled else "medcite search (lexical)"
    searchers = {name: searcher}
    if searcher.reranker is not None:
        # The same search without the re-ranker, timed question by question beside it, so
        # the machine's load weighs on both alike; which goes first alternates (the second
        # finds the store's pages cached).
        searchers = {name: searcher_for(store, Settings.load(rerank="off")),
                     f"{name} + re-ranker (the default)": searcher}
    timings: dict[str, list[float]] = {"plain BM25 (baseline)": [], **{n: [] for n in searchers}}
    for i, question in enumerate(questions):
        terms = [w for w in dict.fromkeys(re.findall(r"[a-z0-9]+", question.lower())) if w not in stop]
        started = time.perf_counter()
        store.lexical_search(terms, limit=10, prune_common=False)
        timings["plain BM25 (baseline)"].append((time.perf_counter() - started) * 1000)
        for label, one in sorted(searchers.items(), reverse=bool(i % 2)):
            started = time.perf_counter()
            one.search(question, limit=10)
            timings[label].append((time.perf_counter() - started) * 1000)
    size_gb = sum(p.stat().st_size for p in location.parent.glob(location.name + "*")) / 1e9
    print(f"machine: {machine()}")
    origin = "existing store" if args.store else f"built in {build_s:,.0f} s; resampled real PubMed sentences"
    print(f"store: {location.name}: {stats.passages:,} passages in {stats.documents:,} documents, "
          f"{size_gb:.2f} GB ({origin})")
    print(f"queries: {len(questions)} MedicationQA questions\n")
    print("| system | p50 ms | p95 ms | p99 ms |")
    print("|---|---|---|---|")
    for name, values in timings.items():
        print(f"| {name} | {percentile(values, 50):.1f} | {percentile(values, 95):.1f} | {percentile(values, 99):.1f} |")
    print(f"\npeak RSS: {peak_rss_mb():,.0f} MB (before queries: {rss_before:,.0f} MB)")
    store.close()


if __name__ == "__main__":
    main()
