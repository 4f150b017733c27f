"""Passage-embedding speed: medcite's encoder options side by side on real passages.

    .venv/bin/python bench/embedding/speed.py [--store PATH] [--n 1200] [--rounds 6]
        [--encoders fp32-128,int8-128,int8-96,int8-64,fp32-64] [--threads 2]

Passages: a fixed-seed sample of the passages of a medcite store (``--store``, e.g. the demo
store), else the PubMed abstracts of ../shared/data (an abstract is one passage in medcite).
Every encoder is loaded in this one process and the rounds interleave them (each round embeds
the next slice of passages with every encoder in turn), so load from other processes on a
shared machine falls on all of them alike. The first encoder is the baseline (today's default
before this benchmark: float32, 128 tokens); cosine is measured against it. Prints a markdown
table: passages/s (median and best round), CPU ms per passage, the projected time for the
41,252 passages of the demo corpus, query-encoding latency p50/p95, and the cosine to the
baseline's vectors (min / mean).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))

from medcite.retrieval.dense import EncoderSpec, passage_encoder, query_encoder  # noqa: E402
from medcite.settings import Settings  # noqa: E402

ABSTRACTS = Path("/work/shared/data/pubmed_medline_sample/pubmed21n1298_abstracts.jsonl")
DEMO_PASSAGES = 41_252
QUESTIONS = [
    "Can magnesium glycinate be used to support mirtazapine (Remeron) therapy?",
    "What is the maximum daily dose of acetaminophen for adults?",
    "Is metformin safe in patients with an eGFR of 35?",
    "Does atorvastatin interact with clarithromycin?",
    "how often should adults be screened for colorectal cancer",
]


def sample_passages(store: Path | None, n: int) -> tuple[list[str], str]:
    rng = random.Random(7)
    if store is not None:
        from medcite.store.sqlite import SQLiteStore

        opened = SQLiteStore(store)
        try:
            with opened.reading() as conn:
                ids = [row[0] for row in conn.execute("SELECT id FROM passages ORDER BY id")]
            chosen = sorted(rng.sample(ids, min(n, len(ids))))
            passages = opened.passages(chosen)
            texts = [passages[i].text for i in chosen]
        finally:
            opened.close()
        return texts, f"{len(texts):,} passages sampled from {store} ({len(ids):,} passages)"
    with ABSTRACTS.open(encoding="utf-8") as fh:
        abstracts = [a for a in (json.loads(line).get("abstract") for line in fh) if a]
    texts = rng.sample(abstracts, min(n, len(abstracts)))
    return texts, f"{len(texts):,} PubMed abstracts sampled from {ABSTRACTS.name}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", type=Path, help="sample passages from this medcite store")
    ap.add_argument("--n", type=int, default=1200, help="passages embedded by each encoder")
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--encoders", default="fp32-128,int8-128,int8-96,int8-64,fp32-64")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--batch-size", type=int, default=64)
    args = ap.parse_args()
    if args.store is None and not ABSTRACTS.is_file():
        print(f"SKIP: {ABSTRACTS} not found (shared data absent); pass --store PATH")
        return 0
    texts, described = sample_passages(args.store, args.n)
    specs = [EncoderSpec.parse(e) for e in args.encoders.split(",")]
    cache = Settings.load().cache_path / "models"
    encoders = {}
    for spec in specs:
        start = time.perf_counter()
        encoder = passage_encoder(spec, cache, threads=args.threads)
        encoder.encode(texts[:16], args.batch_size)  # warm-up
        encoders[spec] = (encoder, time.perf_counter() - start)
    per_round = max(1, len(texts) // args.rounds)
    rates: dict[EncoderSpec, list[float]] = {s: [] for s in specs}
    cpu: dict[EncoderSpec, float] = {s: 0.0 for s in specs}
    vectors: dict[EncoderSpec, list[np.ndarray]] = {s: [] for s in specs}
    load_before = os.getloadavg()[0]
    for r in range(args.rounds):
        part = texts[r * per_round:(r + 1) * per_round]
        for spec in specs:
            encoder = encoders[spec][0]
            c, t = time.process_time(), time.perf_counter()
            vectors[spec].append(encoder.encode(part, args.batch_size))
            rates[spec].append(len(part) / (time.perf_counter() - t))
            cpu[spec] += time.process_time() - c
    load_after = os.getloadavg()[0]
    latency: dict[str, tuple[float, float]] = {}
    for precision in dict.fromkeys(s.precision for s in specs):
        q = query_encoder(EncoderSpec(precision), cache, threads=args.threads)
        q.encode(QUESTIONS[:1])
        times = []
        for _ in range(20):
            for question in QUESTIONS:
                t = time.perf_counter()
                q.encode([question])
                times.append(1000 * (time.perf_counter() - t))
        latency[precision] = (float(np.percentile(times, 50)), float(np.percentile(times, 95)))
    base = np.concatenate(vectors[specs[0]])
    total = per_round * args.rounds
    print(f"\n## Passage embedding speed — {described}\n")
    print(f"{args.threads} ONNX Runtime threads of {os.cpu_count()} CPUs; {args.rounds} interleaved rounds "
          f"of {per_round} passages per encoder; load average before/after {load_before:.1f}/{load_after:.1f}\n")
    print("| encoder | passages/s (median) | passages/s (best round) | CPU ms/passage | demo corpus "
          f"({DEMO_PASSAGES:,}) at median | query p50 / p95 ms | cos vs {specs[0].slug} min / mean |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for spec in specs:
        median = float(np.median(rates[spec]))
        cos = (np.concatenate(vectors[spec]) * base).sum(1)
        p50, p95 = latency[spec.precision]
        print(f"| {spec.slug}{' (baseline)' if spec == specs[0] else ''} | {median:.1f} | {max(rates[spec]):.1f} "
              f"| {1000 * cpu[spec] / total:.1f} | {DEMO_PASSAGES / median / 60:.1f} min "
              f"| {p50:.1f} / {p95:.1f} | {cos.min():.4f} / {cos.mean():.4f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
