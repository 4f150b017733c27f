"""LLM backend benchmark: a local llama.cpp server (SmolLM2-135M-Instruct) answering MedicationQA.

For the first N MedicationQA questions (50 by default) it builds the evidence through the real
pipeline (analyse → retrieve → select), asks the openai backend to write the article over the
local llama.cpp server, and reports per-question latency (p50/p95), tokens streamed, the share
of the model's statements kept after support checks, the fall-back rate and why, and whether
the pipeline's verification dropped anything afterwards (it must not).

The store is ingested from the shared guideline and MedQuAD data into a cached folder (re-runs
skip the ingest), or ``--store PATH`` uses an existing store (e.g. MEDCITE_HOME's demo store).

Run: scripts/setup-llm && .venv/bin/python bench/llm/run.py [--questions 50] [--store PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.common import ROOT, demo_cache, machine, percentile, shared_data  # noqa: E402

os.environ.setdefault("MEDCITE_CACHE", str(demo_cache()))

from medcite.models import Audience  # noqa: E402
from medcite.settings import Settings  # noqa: E402
from medcite.store import SQLiteStore  # noqa: E402
from medcite.synthesis.openai_backend import ChatClient, OpenAIBackend  # noqa: E402
from medcite.synthesis.verify import verify_article  # noqa: E402
from tests.llm.llama_server import LlamaServer  # noqa: E402

BENCH_HOME = ROOT / ".medcite-home" / "bench-llm"


def prepare_store(data: Path, store_path: Path | None) -> SQLiteStore:
    if store_path is not None:
        return SQLiteStore(store_path)
    from medcite.ingest.runner import ingest_paths

    BENCH_HOME.mkdir(parents=True, exist_ok=True)
    store = SQLiteStore(BENCH_HOME / "medcite.sqlite")
    started = time.perf_counter()
    report = ingest_paths(store, [data / "open_medicine_guidelines" / "guideline_sections.jsonl",
                                  data / "medquad" / "medquad_answered.jsonl",
                                  data / "medquad" / "xml_samples"], progress=False)
    if report.file_errors:
        sys.exit(f"ingest failed: {report.file_errors}")
    stats = store.stats()
    print(f"store: {stats.documents:,} documents, {stats.passages:,} passages "
          f"(ingest {time.perf_counter() - started:.0f} s)", flush=True)
    return store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--questions", type=int, default=50)
    parser.add_argument("--store", type=Path, default=None, help="an existing medcite.sqlite")
    parser.add_argument("--threads", type=int, default=None, help="llama.cpp threads (default: all)")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per completion")
    parser.add_argument("--show", type=int, default=0, help="print the model's reply for the first N")
    parser.add_argument("--only", default="", help="only these question numbers (1-based, comma-separated)")
    parser.add_argument("--kept", action="store_true", help="print each kept statement and its quote")
    args = parser.parse_args()

    from medcite.answer import Engine
    from medcite.retrieval.analysis import analyse

    data = shared_data()
    questions = [json.loads(line)["question"]
                 for line in (data / "medicationqa" / "medicationqa.jsonl").open()][: args.questions]
    store = prepare_store(data, args.store)
    log = BENCH_HOME / "llama-server.log"
    BENCH_HOME.mkdir(parents=True, exist_ok=True)

    tokens: list[int] = []
    with LlamaServer(threads=args.threads, log=log) as server:
        backend = OpenAIBackend(ChatClient(server.base_url, server.model_name, timeout=args.timeout),
                                progress=tokens.append)
        engine = Engine(store, Settings.load(dense="off"), backend=backend)
        backend.checker  # load the encoder before timing anything
        rows = []
        only = {int(n) for n in args.only.split(",") if n.strip()}
        for number, question in enumerate(questions, 1):
            if only and number not in only:
                continue
            analysis = analyse(question, engine.searcher.vocabulary)
            request = engine.request_for(analysis, Audience.CLINICIAN)
            tokens.clear()
            started = time.perf_counter()
            drafted = backend.draft(request)
            seconds = time.perf_counter() - started
            verified = verify_article(drafted.article, store)
            e = drafted.enforcement
            rows.append({"seconds": seconds, "tokens": tokens[-1] if tokens else 0,
                         "drafted": e.drafted, "kept": e.kept, "unknown": e.unknown_citations,
                         "repaired": e.repaired, "fallback": drafted.fallback,
                         "dropped": e.dropped, "verify_dropped": verified.verification.dropped})
            print(f"{number:>3} {seconds:6.1f}s {rows[-1]['tokens']:>4} tok  kept {e.kept}/{e.drafted}"
                  f"{'  repaired' if e.repaired else ''}"
                  f"{'  FALLBACK: ' + drafted.fallback[:70] if drafted.fallback else ''}  | {question[:60]}",
                  flush=True)
            if args.kept and e.kept:
                for statement in _kept_statements(backend, request, drafted):
                    print(f"      kept: {statement.text!r}\n       quote {statement.citations}: "
                          f"{statement.quote!r}", flush=True)
            if number <= args.show:
                print(f"      reply: {e.reply[:1500]}\n      dropped: {dict(e.dropped)}", flush=True)
    report(rows, args, store)


def _kept_statements(backend: OpenAIBackend, request, drafted) -> list:
    """The statements the support check kept; a fall-back article does not show them, so the
    draft is assembled again from the model's last reply (no second model call)."""
    if not drafted.fallback:
        return [s for s in drafted.article.statements() if s.quote]
    from medcite.synthesis.openai_backend import Enforcement, _Assembly
    from medcite.synthesis.prompt import number_evidence, parse_draft

    numbered = number_evidence(request, backend.limits)
    article = _Assembly(request, numbered, backend.checker, Enforcement()).article(
        parse_draft(drafted.enforcement.reply))
    return [s for s in article.statements() if s.quote]


def report(rows: list[dict], args: argparse.Namespace, store: SQLiteStore) -> None:
    seconds = [r["seconds"] for r in rows]
    tokens = sum(r["tokens"] for r in rows)
    drafted = sum(r["drafted"] for r in rows)
    kept = sum(r["kept"] for r in rows)
    fallbacks = [r for r in rows if r["fallback"]]
    kinds = Counter("invalid JSON after repair" if "not a valid article" in r["fallback"]
                    else "fewer than 2 supported statements" if "did not survive" in r["fallback"]
                    else "no evidence" for r in fallbacks)
    reasons: Counter[str] = Counter()
    for r in rows:
        reasons.update(r["dropped"])
    stats = store.stats()
    print(f"\n## LLM backend: SmolLM2-135M-Instruct (Q4_1) on llama.cpp, {len(rows)} MedicationQA questions\n")
    print(f"Machine: {machine()}; store {stats.documents:,} documents / {stats.passages:,} passages; "
          f"n_ctx 4096, temperature 0, streamed.\n")
    print("| metric | value |")
    print("|---|---|")
    print(f"| latency p50 / p95 / max (s) | {percentile(seconds, 50):.1f} / {percentile(seconds, 95):.1f}"
          f" / {max(seconds):.1f} |")
    print(f"| tokens streamed (mean per question) | {tokens / len(rows):.0f} |")
    print(f"| tokens streamed per second of wall time (prompt evaluation included) | "
          f"{tokens / sum(seconds):.1f} |")
    print(f"| first reply invalid JSON (repair asked) | {sum(r['repaired'] for r in rows)} / {len(rows)} |")
    print(f"| model statements kept after support checks | {kept} / {drafted} "
          f"({kept / drafted:.1%}) |" if drafted else "| model statements kept | 0 / 0 |")
    print(f"| citations to unknown passage numbers removed | {sum(r['unknown'] for r in rows)} |")
    print(f"| fall-back to the extractive article | {len(fallbacks)} / {len(rows)} "
          f"({len(fallbacks) / len(rows):.0%}) |")
    for kind, count in kinds.most_common():
        print(f"| · {kind} | {count} |")
    print(f"| statements dropped by the pipeline's verify_article afterwards | "
          f"{sum(r['verify_dropped'] for r in rows)} |")
    if reasons:
        print("\n| why model statements were dropped | count |")
        print("|---|---|")
        for reason, count in reasons.most_common(8):
            print(f"| {reason} | {count} |")


if __name__ == "__main__":
    main()
