"""MEDIQA 2019 Task 3 answer re-ranking benchmark: CHiQA order, plain BM25, medcite lexical and
hybrid on the official test set, with the organisers' accuracy, MRR, precision and Spearman.

Run: .venv/bin/python bench/retrieval/mediqa.py [--no-dense] [--questions N] [--split test]
The same as `medcite eval mediqa`; the code lives in medcite.evaluation.mediqa.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.common import shared_data  # noqa: E402
from medcite.evaluation.mediqa import DEFAULT_SHARE, run  # noqa: E402

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--no-dense", action="store_true", help="skip medcite hybrid")
    parser.add_argument("--questions", type=int, default=None, help="only the first N questions")
    parser.add_argument("--split", choices=["test", "validation", "train"], default="test")
    parser.add_argument("--correct-share", type=float, default=DEFAULT_SHARE,
                        help="share of each ranked list a ranker labels correct")
    parser.add_argument("--submissions", type=Path, default=None,
                        help="write each system's run in the organisers' format here")
    args = parser.parse_args()
    run(shared_data(), split=args.split, dense=not args.no_dense, questions=args.questions,
        share=args.correct_share, submissions=args.submissions,
        echo=lambda line: print(line, flush=True))
