"""Tune the support thresholds of ``medcite.synthesis.support`` on expert-labelled claims.

Two sets, both a claim paired with the text it should be supported by:

* ExpertQA medical (``expertqa_medical_val_test.jsonl``): each claim of a cited long-form answer
  with the evidence text behind its citations and an expert ``support`` label. Positive:
  "Complete"; negative: "Partial", "Incomplete" ("Missing" claims have no evidence text; "N/A"
  and claims whose evidence is only a URL are skipped). A second set pairs each "Complete" claim
  with another claim's evidence from the same question: a citation to the wrong passage.
* K-QA (``NLI_medical_annotator.csv``): a physician's must-have/nice-to-have statement against an
  LLM answer, majority label of three physicians. Positive: "Entailment".

For each claim it computes the signals the checker uses (content-word coverage, quantity check,
best-sentence cosine when the encoder loads) and prints precision/recall/F0.5 per rule, so the
thresholds can be chosen for precision first.

    .venv/bin/python bench/llm/tune_support.py [--data /work/shared/data]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from medcite.ingest.chunking import split_sentences
from medcite.models import Passage, SentenceSpan
from medcite.synthesis.support import (
    SupportChecker,
    content_words,
    instruction_like,
    missing_quantities,
    strip_markers,
)

DEFAULT_DATA = Path(os.environ.get("MEDCITE_SHARED_DATA", "/work/shared/data"))


@dataclass
class Example:
    claim: str
    evidence: str
    label: bool
    detail: str


def expertqa(path: Path) -> tuple[list[Example], list[Example]]:
    """(labelled claims, mis-cited claims): the second pairs each "Complete" claim with the
    evidence of another claim of the same question, the error a model makes when it cites the
    wrong passage on the right topic."""
    labelled: list[Example] = []
    miscited: list[Example] = []
    for line in path.open():
        record = json.loads(line)
        complete: list[Example] = []
        for answer in record["answers"].values():
            for claim in answer.get("claims") or []:
                label = claim.get("support")
                if label not in ("Complete", "Missing", "Partial", "Incomplete"):
                    continue
                # Each evidence item is "[n] URL\n\ntext"; keep the text only.
                texts = [e.split("\n\n", 1)[1] for e in claim.get("evidence") or [] if "\n\n" in e]
                texts = [t for t in texts if len(t) >= 80]
                if not texts:
                    continue
                example = Example(strip_markers(claim["claim_string"]), "\n".join(texts),
                                  label == "Complete", label)
                labelled.append(example)
                if example.label:
                    complete.append(example)
        for i, example in enumerate(complete):
            others = [o.evidence for o in complete[i + 1:] + complete[:i] if o.evidence != example.evidence]
            if others:
                miscited.append(example)
                miscited.append(Example(example.claim, others[0], False, "mis-cited"))
    return labelled, miscited


def kqa(path: Path) -> list[Example]:
    with path.open(newline="") as fh:
        return [Example(row["claim"], row["answer"], row["majority_label"] == "Entailment",
                        row["majority_label"]) for row in csv.DictReader(fh)]


def passage_of(text: str) -> Passage:
    return Passage(id=0, key="x#0", document_id=0, document_key="x", ordinal=0, section="",
                   text=text, char_start=0, char_end=len(text),
                   sentences=[SentenceSpan(start=a, end=b) for a, b in split_sentences(text)])


@dataclass
class Signals:
    coverage: float
    sentence_coverage: float
    quantities_ok: bool
    similarity: float | None


def signals(example: Example, checker: SupportChecker) -> Signals:
    passage = passage_of(example.evidence)
    sentences = [s.strip() for s in passage.sentence_texts() if s.strip() and not instruction_like(s)]
    words = content_words(example.claim) or {"-"}
    coverage = len(words & content_words(example.evidence)) / len(words)
    best = max((len(words & content_words(s)) / len(words) for s in sentences), default=0.0)
    support = checker.check(example.claim, passage)
    return Signals(coverage, best, not missing_quantities(example.claim, example.evidence),
                   support.similarity)


def report(name: str, examples: list[Example], rows: list[Signals]) -> None:
    labels = np.array([e.label for e in examples])
    print(f"\n### {name}: {len(examples)} claims, {labels.sum()} supported "
          f"({labels.mean():.0%} base rate)\n")
    cov = np.array([r.coverage for r in rows])
    sent = np.array([r.sentence_coverage for r in rows])
    qty = np.array([r.quantities_ok for r in rows])
    sim = np.array([r.similarity if r.similarity is not None else np.nan for r in rows])
    print(f"AUC coverage {auc(cov, labels):.3f} · best-sentence coverage {auc(sent, labels):.3f}"
          + (f" · cosine {auc(sim, labels):.3f}" if not np.isnan(sim).all() else ""))
    print(f"quantity check: {(~qty).sum()} claims fail it, of which "
          f"{(~qty & ~labels).sum()} are unsupported\n")
    print("| rule | kept | precision | recall | F0.5 |")
    print("|---|---|---|---|---|")
    rules: list[tuple[str, np.ndarray]] = [("keep everything", np.ones_like(labels))]
    for t in (0.4, 0.5, 0.55, 0.6, 0.65, 0.7, 0.8):
        rules.append((f"qty ∧ coverage ≥ {t}", qty & (cov >= t)))
    if not np.isnan(sim).all():
        for low, s in ((0.45, 0.7), (0.45, 0.75)):
            rules.append((f"qty ∧ (cov ≥ 0.6 ∨ cov ≥ {low} ∧ cos ≥ {s})",
                          qty & ((cov >= 0.6) | ((cov >= low) & (sim >= s)))))
        for t, s in ((0.5, 0.5), (0.6, 0.5), (0.6, 0.6)):
            rules.append((f"qty ∧ cov ≥ {t} ∧ cos ≥ {s}", qty & (cov >= t) & (sim >= s)))
        for q in (0.3, 0.4, 0.5):
            rules.append((f"qty ∧ cov ≥ 0.6 ∧ cos ≥ 0.5 ∧ quote cov ≥ {q}",
                          qty & (cov >= 0.6) & (sim >= 0.5) & (sent >= q)))
    for rule, kept in rules:
        tp = (kept & labels).sum()
        precision = tp / kept.sum() if kept.sum() else 0.0
        recall = tp / labels.sum()
        f = 1.25 * precision * recall / (0.25 * precision + recall) if tp else 0.0
        print(f"| {rule} | {kept.sum()} | {precision:.3f} | {recall:.3f} | {f:.3f} |")


def auc(score: np.ndarray, labels: np.ndarray) -> float:
    """Probability that a supported claim scores above an unsupported one (ties count half)."""
    ok = ~np.isnan(score)
    score, labels = score[ok], labels[ok]
    pos, neg = score[labels], score[~labels]
    greater = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return float(greater / (len(pos) * len(neg)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--no-encoder", action="store_true")
    args = parser.parse_args()
    if args.no_encoder:
        checker = SupportChecker(None)
    else:
        from medcite.synthesis.support import load_checker

        checker = load_checker(Path(os.environ.get("TMPDIR", "/tmp")) / "medcite-tune-models")
    print(f"encoder: {'yes' if checker.encoder is not None else 'no'}")
    labelled, miscited = expertqa(args.data / "expertqa_medical" / "expertqa_medical_val_test.jsonl")
    for name, examples in (
        ("ExpertQA medical, expert labels (Complete vs Partial/Incomplete)", labelled),
        ("ExpertQA medical, Complete claims vs the same claims mis-cited", miscited),
        ("K-QA physician NLI (Entailment vs Neutral/Contradiction)",
         kqa(args.data / "k_qa" / "NLI_medical_annotator.csv")),
    ):
        rows = [signals(e, checker) for e in examples]
        report(name, examples, rows)


if __name__ == "__main__":
    main()
