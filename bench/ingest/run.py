"""Ingest benchmark: abstracts per second and store bytes per document on pubmed21n1298.

Run: .venv/bin/python bench/ingest/run.py
Measures, in one run: (a) parsing alone, (b) the baseline — bare SQLite FTS5 inserting the same
abstracts into one table, no schema, no sentences — and (c) the full medcite ingest (parse,
sentence split, passages, metadata, FTS5; a file this large is parsed in a second process
while the first writes) into a fresh store.
"""

from __future__ import annotations

import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.common import demo_cache, machine  # noqa: E402
from medcite.ingest.demo import fetch_demo_corpus  # noqa: E402
from medcite.ingest.pubmed import PubmedIngestor  # noqa: E402
from medcite.ingest.runner import ingest_paths  # noqa: E402
from medcite.models import Document  # noqa: E402
from medcite.store import SQLiteStore  # noqa: E402


def main() -> None:
    corpus = fetch_demo_corpus(demo_cache())
    path = next(p for p in corpus.research_files if p.name == "pubmed21n1298.xml.gz")

    start = time.perf_counter()
    docs = [r for r in PubmedIngestor().parse(path) if isinstance(r, Document)]
    parse_s = time.perf_counter() - start
    abstracts = [d for d in docs if not d.title_only]

    with tempfile.TemporaryDirectory() as tmp:
        conn = sqlite3.connect(Path(tmp) / "baseline.sqlite")
        conn.execute("CREATE VIRTUAL TABLE t USING fts5(body, tokenize='porter unicode61')")
        rows = [(" ".join(s.text for s in d.sections),) for d in abstracts]
        start = time.perf_counter()
        with conn:
            conn.executemany("INSERT INTO t (body) VALUES (?)", rows)
        baseline_s = time.perf_counter() - start
        conn.close()
        baseline_bytes = (Path(tmp) / "baseline.sqlite").stat().st_size

        store = SQLiteStore(Path(tmp) / "medcite.sqlite")
        start = time.perf_counter()
        report = ingest_paths(store, [path], progress=False)
        full_s = time.perf_counter() - start
        stats = store.stats()
        store.close()
        store_bytes = sum(f.stat().st_size for f in Path(tmp).glob("medcite.sqlite*"))

    print(f"machine: {machine()}")
    print(f"file: {path.name}: {len(docs):,} records, {len(abstracts):,} with an abstract, "
          f"{report.outcome.deleted} deletions; stored {stats.documents:,} documents, "
          f"{stats.passages:,} passages\n")
    print("| stage | seconds | abstracts/s | bytes/document |")
    print("|---|---|---|---|")
    print(f"| parse only (lxml iterparse) | {parse_s:.2f} | {len(abstracts) / parse_s:,.0f} | — |")
    print(f"| baseline: bare FTS5 insert of the abstract text | {baseline_s:.2f} | "
          f"{len(abstracts) / baseline_s:,.0f} | {baseline_bytes / len(abstracts):,.0f} |")
    print(f"| medcite ingest (parse + sentences + passages + metadata + FTS5) | {full_s:.2f} | "
          f"{len(abstracts) / full_s:,.0f} | {store_bytes / stats.documents:,.0f} |")


if __name__ == "__main__":
    main()
