"""Retrieval benchmark: MedicationQA and PubMedQA open retrieval, medcite vs plain BM25.

Run: .venv/bin/python bench/retrieval/run.py [--dense] [--queries N] [--task medicationqa|pubmedqa]
     [--encoders fp32-128,int8-128,int8-96,int8-64]   (with --dense: one hybrid row per passage encoder)
The same as `medcite eval retrieval`; the code lives in medcite.evaluation.retrieval.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.common import shared_data  # noqa: E402
from medcite.evaluation.retrieval import run  # noqa: E402

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dense", action="store_true", help="also run hybrid retrieval")
    parser.add_argument("--queries", type=int, default=None, help="only the first N queries")
    parser.add_argument("--task", choices=["medicationqa", "pubmedqa", "both"], default="both")
    parser.add_argument("--encoders", default=None,
                        help="passage encoders to compare, PRECISION-TOKENS, comma-separated "
                             "(default: medcite's default, int8-96)")
    args = parser.parse_args()
    from medcite.retrieval.dense import EncoderSpec

    encoders = [EncoderSpec.parse(e) for e in args.encoders.split(",")] if args.encoders else None
    run(shared_data(), task=args.task, dense=args.dense, queries=args.queries,
        echo=lambda line: print(line, flush=True), encoders=encoders)
