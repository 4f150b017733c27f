"""Learned re-ranker benchmark: MEDIQA 2019 test, MedicationQA's held-out fold and PubMedQA's
test split, plain BM25 and the previous ranking (lexical, hybrid) side by side with + re-ranker.

Run: .venv/bin/python bench/retrieval/rerank.py [--no-dense] [--task all|mediqa|medicationqa|pubmedqa]
The same as `medcite eval rerank`; the code lives in medcite.evaluation.rerank. Train the model
with `python -m medcite.retrieval.train_reranker` (its held-out ablation is in reranker.json).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.common import shared_data  # noqa: E402
from medcite.evaluation.rerank import run  # noqa: E402

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--no-dense", action="store_true", help="lexical systems only")
    parser.add_argument("--task", choices=["all", "mediqa", "medicationqa", "pubmedqa"], default="all")
    args = parser.parse_args()
    run(shared_data(), task=args.task, dense=not args.no_dense, echo=lambda line: print(line, flush=True))
