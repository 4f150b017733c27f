"""Answer benchmark on the demo corpus: ask latency, cold start, statements per article,
verification pass rate over the 690 MedicationQA questions, readability per audience.

Run: .venv/bin/python bench/answer/run.py [--questions N]
Uses $MEDCITE_HOME's store (run `medcite corpus demo` first; the script does it if the store
is empty). Articles are not saved, so the store is left as it was.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.common import machine, percentile, shared_data  # noqa: E402
from medcite.answer import Engine  # noqa: E402
from medcite.evaluation.readability import flesch_kincaid_grade  # noqa: E402
from medcite.models import Audience, StatementKind  # noqa: E402
from medcite.retrieval.analysis import analyse  # noqa: E402
from medcite.settings import Settings  # noqa: E402
from medcite.store import open_store  # noqa: E402
from medcite.synthesis.audience import adapt  # noqa: E402
from medcite.synthesis.verify import check_article  # noqa: E402

EXAMPLE = "Can magnesium glycinate be used to support mirtazapine (Remeron) therapy?"


def clinical_text(article) -> str:
    return " ".join(s.text for s in article.statements() if s.kind is StatementKind.CLINICAL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--questions", type=int, default=None, help="only the first N questions")
    args = parser.parse_args()
    settings = Settings.load()
    store = open_store(settings)
    if store.stats().documents == 0:
        subprocess.run([sys.executable, "-m", "medcite.cli.__main__", "corpus", "demo", "--quiet"], check=True)
    records = [json.loads(line) for line in (shared_data() / "medicationqa" / "medicationqa.jsonl").open()]
    questions = [r["question"] for r in records][: args.questions]

    start = time.perf_counter()
    cold = subprocess.run([sys.executable, "-m", "medcite.cli.__main__", "ask", "--no-save", EXAMPLE],
                          capture_output=True, text=True, env=os.environ.copy())
    cold_s = time.perf_counter() - start
    if cold.returncode != 0:
        sys.exit(f"cold ask failed: {cold.stderr}")

    engine = Engine(store, settings)
    engine.write_article(analyse(EXAMPLE, engine.searcher.vocabulary))  # warm up
    latencies, statements, checked, failed, dropped, refused, empty = [], [], 0, 0, 0, 0, 0
    grades: dict[Audience, list[float]] = {a: [] for a in Audience}
    for question in questions:
        started = time.perf_counter()
        try:
            article = engine.write_article(analyse(question, engine.searcher.vocabulary))
        except Exception as exc:  # a benchmark reports failures instead of stopping
            print(f"error on {question!r}: {exc}", file=sys.stderr)
            failed += 1
            continue
        latencies.append((time.perf_counter() - started) * 1000)
        if article.refusal:
            refused += 1
            continue
        clinical = [s for s in article.statements() if s.kind is StatementKind.CLINICAL]
        if not clinical:
            empty += 1
        statements.append(len(clinical))
        report = check_article(article, store)
        checked += len(report.checks)
        failed += len(report.failures)
        dropped += article.verification.dropped
        for audience in Audience:
            text = clinical_text(adapt(article, audience))
            if text:
                grades[audience].append(flesch_kincaid_grade(text))
    store.close()

    print(f"machine: {machine()}")
    print(f"corpus: demo ({engine.store.location}); questions: {len(questions)} MedicationQA\n")
    print("| measure | value |")
    print("|---|---|")
    print(f"| ask latency p50 / p95 (warm, in-process) | {percentile(latencies, 50):.0f} ms / {percentile(latencies, 95):.0f} ms |")
    print(f"| cold start to first answer (`medcite ask`, new process) | {cold_s:.2f} s |")
    print(f"| statements per article (clinical), mean / median | {statistics.mean(statements or [0]):.1f} / {statistics.median(statements or [0]):.0f} |")
    print(f"| articles with no clinical statement (absence stated) | {empty} |")
    print(f"| non-medical refusals | {refused} |")
    print(f"| statements dropped by verification inside the pipeline | {dropped} |")
    rate = 100.0 * (checked - failed) / checked if checked else 0.0
    print(f"| verification pass rate of returned statements (`medcite verify`) | {rate:.2f}% ({checked - failed}/{checked}) |")
    print("\n| audience | median Flesch-Kincaid grade | articles |")
    print("|---|---|---|")
    for audience in Audience:
        values = grades[audience]
        print(f"| {audience.value} | {statistics.median(values) if values else float('nan'):.1f} | {len(values)} |")


if __name__ == "__main__":
    main()
