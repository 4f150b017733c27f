"""MEDIQA 2019 Task 3 (question answering): re-rank each consumer question's candidate answers.

Data: ``mediqa2019/task3_qa`` (questions, their CHiQA answer lists with SystemRank, ReferenceRank
and ReferenceScore) and ``mediqa2019/ground_truth`` (the organisers' ``question_id,answer_id,label``
files: correct answers in reference order, then the incorrect ones). The official figures are on
the test set; the training (Alexa) and validation sets are loaded by ``load_split`` for a learned
re-ranker and are never used to report.

Metrics follow the organisers' evaluator (``Eval_Scripts/mediqa2019_evaluator_allTasks_final.py``
in abachaa/MEDIQA2019) and their task README:

* accuracy: the share of candidate answers whose predicted 0/1 label equals the reference label.
  A system submits its own labels. Their CHiQA baseline labelled every answer correct (its 0.517
  is the test set's share of correct answers), so that row is printed as they scored it. The
  rankers here have no classifier: each labels the top ``share`` of its own order correct
  (default half; 46% of training + validation answers are correct, chosen without test).
* MRR: 1 / position of the first reference-correct answer in the system's whole order. (Their
  script, read literally, takes the first answer the system *labels* correct; that would score
  the all-correct CHiQA baseline 1.0, not the 0.895 they report, so 0.895 is this definition.)
* precision: reference-correct answers among those the system labels correct (over all answers).
* Spearman: per question, over the answers both labelled correct and reference-correct, the rank
  correlation of the system's order with ReferenceRank; a question with none counts 0, one with a
  single such answer (undefined) is left out, as in their script. (Their script passes the answer
  id strings to scipy, which ranks them alphabetically; we correlate with the reference ranks.)

Systems: the CHiQA order (SystemRank), plain BM25 (FTS5 over the split's answers, the question's
non-stopword terms OR-ed, as in the retrieval eval), medcite lexical and medcite hybrid (the same
Searcher as ``medcite search``, on a store of the split's answers, with MiniLM passage vectors).
Every answer of the split is in one index, so BM25's idf comes from many topics (test: 1,107 answers);
within one list the question's topic word is in every answer and would weigh nothing.
"""

from __future__ import annotations

import csv
import math
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lxml import etree
from tqdm import tqdm

from medcite.errors import InputError
from medcite.evaluation.corpora import Task, build_baseline, build_store
from medcite.evaluation.report import machine, peak_rss_mb, percentile
from medcite.models import Document, Section, SourceType
from medcite.store.baseline import PlainBM25

# split -> (answer lists, the organisers' ground truth file or None)
SPLITS = {
    "train": ("MEDIQA2019-Task3-QA-TrainingSet2-Alexa.xml", None),
    "validation": ("MEDIQA2019-Task3-QA-ValidationSet.xml", "QA_validationSet_ground_truth.txt"),
    "test": ("MEDIQA2019-Task3-QA-TestSet-wLabels.xml", "QA_testSet_ground_truth_round_2.txt"),
}
DEFAULT_SHARE = 0.5


@dataclass(frozen=True)
class Answer:
    aid: str
    text: str
    url: str
    system_rank: int  # CHiQA's
    reference_rank: int
    reference_score: int  # 4 excellent, 3 correct but incomplete, 2 related, 1 incorrect
    correct: bool


@dataclass(frozen=True)
class Question:
    qid: str
    text: str
    answers: tuple[Answer, ...]  # in the file's order


def _folder(data: Path) -> Path:
    folder = data / "mediqa2019"
    for needed in (folder / "task3_qa", folder / "ground_truth"):
        if not needed.is_dir():
            raise InputError(f"MEDIQA 2019 data folder {needed} not found",
                             hint="pass --data or set MEDCITE_SHARED_DATA to the shared data folder")
    return folder


def _ground_truth(path: Path) -> dict[str, bool]:
    with path.open(newline="") as fh:
        rows = [r for r in csv.reader(fh) if r and r[0] != "question_id"]  # the test file has a header
    return {aid: label == "1" for _, aid, label in rows}


def load_split(data: Path, split: str = "test") -> list[Question]:
    """One split's questions; labels from the organisers' ground truth file where there is one,
    else ReferenceScore 3-4 (their README's rule), and the two must agree."""
    if split not in SPLITS:
        raise InputError(f"unknown MEDIQA split {split!r}; use one of {', '.join(SPLITS)}")
    folder = _folder(data)
    xml_name, truth_name = SPLITS[split]
    xml_path = folder / "task3_qa" / xml_name
    if not xml_path.is_file():
        raise InputError(f"MEDIQA 2019 file {xml_path} not found")
    truth = _ground_truth(folder / "ground_truth" / truth_name) if truth_name else None
    questions = []
    for node in etree.parse(str(xml_path)).getroot().iter("Question"):
        answers = []
        for a in node.iter("Answer"):
            score = int(a.get("ReferenceScore"))
            correct = score >= 3
            if truth is not None and truth.get(a.get("AID"), correct) != correct:
                raise InputError(f"{a.get('AID')}: ReferenceScore {score} disagrees with {truth_name}")
            answers.append(Answer(aid=a.get("AID"), text=(a.findtext("AnswerText") or "").strip(),
                                  url=(a.findtext("AnswerURL") or "").strip(),
                                  system_rank=int(a.get("SystemRank")),
                                  reference_rank=int(a.get("ReferenceRank")),
                                  reference_score=score, correct=correct))
        questions.append(Question(node.get("QID"), (node.findtext("QuestionText") or "").strip(),
                                  tuple(answers)))
    return questions


def training_questions(data: Path) -> list[Question]:
    """Training + validation questions: what a learned re-ranker may fit (never the test set)."""
    return load_split(data, "train") + load_split(data, "validation")


# --- metrics -------------------------------------------------------------------------------

def top_share(order: list[str], share: float) -> set[str]:
    """The answers a ranker labels correct: the first ceil(share * n) of its order."""
    return set(order[: math.ceil(share * len(order) - 1e-9)])


def _ranks(values: list[float]) -> list[float]:
    """1-based ranks, ties given their average rank."""
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def spearman(x: list[float], y: list[float]) -> float:
    """Spearman's rho (Pearson on ranks); NaN when either side has no spread."""
    rx, ry = _ranks(x), _ranks(y)
    n = len(x)
    if n < 2:
        return math.nan
    mx, my = sum(rx) / n, sum(ry) / n
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    vx, vy = sum((a - mx) ** 2 for a in rx), sum((b - my) ** 2 for b in ry)
    return cov / math.sqrt(vx * vy) if vx and vy else math.nan


def score(questions: list[Question], orders: dict[str, list[str]],
          labelled: dict[str, set[str]]) -> dict[str, float]:
    """Accuracy, MRR, precision and Spearman of one system (orders and labels per question)."""
    agree = total = predicted = true_positive = 0
    mrr = rho_sum = 0.0
    rho_questions = 0
    for q in questions:
        correct = {a.aid for a in q.answers if a.correct}
        reference = {a.aid: a.reference_rank for a in q.answers}
        order, chosen = orders[q.qid], labelled[q.qid]
        if sorted(order) != sorted(reference):
            raise ValueError(f"question {q.qid}: the order must hold each answer once")
        agree += sum((a.aid in chosen) == a.correct for a in q.answers)
        total += len(q.answers)
        predicted += len(chosen)
        true_positive += len(chosen & correct)
        first = next((i for i, aid in enumerate(order, 1) if aid in correct), None)
        mrr += 1.0 / first if first else 0.0
        hits = [aid for aid in order if aid in chosen and aid in correct]
        rho = spearman(list(range(len(hits))), [reference[aid] for aid in hits]) if hits else 0.0
        if not math.isnan(rho):  # one hit: undefined, left out of the mean as in their script
            rho_sum += rho
            rho_questions += 1
    n = len(questions) or 1
    return {"accuracy": agree / (total or 1), "MRR": mrr / n,
            "precision": true_positive / predicted if predicted else 0.0,
            "Spearman": rho_sum / rho_questions if rho_questions else 0.0}


# --- systems -------------------------------------------------------------------------------

def _complete(question: Question, ranked: list[str]) -> list[str]:
    """A system's order over all of the question's answers. Answers it did not score go last,
    in an order unrelated to CHiQA's (the file lists answers by SystemRank, and AIDs mostly
    number them so), so no system borrows the CHiQA order."""
    own = {a.aid for a in question.answers}
    seen = list(dict.fromkeys(aid for aid in ranked if aid in own))
    rest = sorted(own - set(seen), key=lambda aid: zlib.crc32(aid.encode()))
    return seen + rest


def _task(name: str, questions: list[Question]) -> Task:
    documents = [Document(key=a.aid, source_type=SourceType.CONSUMER_HEALTH, title="",
                          sections=[Section(text=a.text)]) for q in questions for a in q.answers]
    return Task(name, [(q.qid, q.text) for q in questions],
                {q.qid: {a.aid for a in q.answers if a.correct} for q in questions}, documents)


def _plain_bm25(baseline: PlainBM25, stop: frozenset[str]) -> Callable[[Question], list[str]]:
    from medcite.evaluation.retrieval import _WORD

    def rank(q: Question) -> list[str]:
        terms = [w for w in dict.fromkeys(w.lower() for w in _WORD.findall(q.text)) if w not in stop]
        return baseline.rank_among(terms, [a.aid for a in q.answers])
    return rank


def _medcite(searcher, store) -> Callable[[Question], list[str]]:
    stats = store.stats()

    def rank(q: Question) -> list[str]:
        # Every document and passage of the split may be asked for, so the whole list is ranked.
        results = searcher.search(q.text, limit=stats.documents, candidates=stats.passages)
        return [r.document.key for r in results]
    return rank


def run_system(name: str, rank: Callable[[Question], list[str]], questions: list[Question],
               progress: bool | None = None) -> tuple[dict[str, list[str]], list[float]]:
    orders, latencies = {}, []
    # Counts and rate on a terminal; disable=None hides the bar when stderr is not one.
    with tqdm(questions, desc=name, unit=" questions",
              disable=None if progress is None else not progress) as bar:
        for q in bar:
            start = time.perf_counter()
            orders[q.qid] = _complete(q, rank(q))
            latencies.append((time.perf_counter() - start) * 1000)
    return orders, latencies


def evaluate(data: Path, cache: Path, *, split: str = "test", dense: bool = True,
             questions: int | None = None, share: float = DEFAULT_SHARE,
             submissions: Path | None = None, progress: bool | None = None) -> list[str]:
    """Markdown lines: every system's figures on one split, side by side."""
    from medcite.evaluation.retrieval import stopwords
    from medcite.retrieval.search import Searcher
    from medcite.settings import Settings
    from medcite.vocab import Vocabulary

    if not 0 < share <= 1:
        raise InputError(f"--correct-share must be in (0, 1], not {share}")
    asked = load_split(data, split)
    chosen = asked[:questions] if questions else asked
    # A partial run indexes only its own questions' answers, under its own name.
    name = f"MEDIQA 2019 {split}" + (f" first {len(chosen)}" if len(chosen) < len(asked) else "")
    task = _task(name, chosen)
    store = build_store(task, cache)
    baseline = build_baseline(task, cache)
    settings = Settings.load()
    vocabulary = Vocabulary.load(settings)
    rankers: list[tuple[str, Callable[[Question], list[str]]]] = [
        ("plain BM25 (baseline)", _plain_bm25(baseline, stopwords())),
        ("medcite lexical", _medcite(Searcher(store, vocabulary=vocabulary), store)),
    ]
    if dense:
        from medcite.retrieval.dense import (
            DEFAULT_SPEC,
            DenseIndex,
            build_dense_index,
            passage_encoder,
            query_encoder,
        )

        models = settings.cache_path / "models"
        folder = Path(f"{store.location}.vectors-{DEFAULT_SPEC.slug}")
        build_dense_index(store, passage_encoder(DEFAULT_SPEC, models).encode,
                          progress=progress is not False, folder=folder, spec=DEFAULT_SPEC)
        hybrid = Searcher(store, vocabulary=vocabulary, encoder=query_encoder(DEFAULT_SPEC, models),
                          dense_index=DenseIndex.load(store, folder))
        rankers.append(("medcite hybrid (BM25 + MiniLM, RRF)", _medcite(hybrid, store)))

    chiqa = {q.qid: [a.aid for a in sorted(q.answers, key=lambda a: a.system_rank)] for q in chosen}
    rows: list[tuple[str, dict[str, list[str]], dict[str, set[str]], list[float] | None]] = [
        ("CHiQA order, all labelled correct (organisers' baseline)", chiqa,
         {q: set(o) for q, o in chiqa.items()}, None),
        (f"CHiQA order, top {share:.0%} labelled correct", chiqa,
         {q: top_share(o, share) for q, o in chiqa.items()}, None),
    ]
    for label, rank in rankers:
        orders, latencies = run_system(label, rank, chosen, progress)
        rows.append((label, orders, {q: top_share(o, share) for q, o in orders.items()}, latencies))
    store.close()
    baseline.close()

    n_answers = sum(len(q.answers) for q in chosen)
    correct = sum(a.correct for q in chosen for a in q.answers)
    lines = [f"\n### MEDIQA 2019 Task 3, {split} set: {len(chosen)} questions, {n_answers:,} answers "
             f"({correct / n_answers:.1%} correct); rankers label their top {share:.0%} correct\n",
             "| system | accuracy | MRR | precision | Spearman | p50 ms | p95 ms |",
             "|---|---|---|---|---|---|---|"]
    for label, orders, labelled, latencies in rows:
        m = score(chosen, orders, labelled)
        times = (f"{percentile(latencies, 50):.1f} | {percentile(latencies, 95):.1f}"
                 if latencies else "— | —")
        lines.append(f"| {label} | {m['accuracy']:.3f} | {m['MRR']:.3f} | {m['precision']:.3f} | "
                     f"{m['Spearman']:.3f} | {times} |")
        if submissions is not None:
            write_submission(submissions / f"{split}-{_slug(label)}.csv", chosen, orders, labelled)
    return lines


def _slug(label: str) -> str:
    return "-".join("".join(c if c.isalnum() else " " for c in label.lower()).split())[:60]


def write_submission(path: Path, questions: list[Question], orders: dict[str, list[str]],
                     labelled: dict[str, set[str]]) -> None:
    """The organisers' submission format (qid,aid,label; labelled-correct answers first, in
    rank order), so their own script can score the same run."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        out = csv.writer(fh)
        for q in questions:
            chosen = labelled[q.qid]
            order = [a for a in orders[q.qid] if a in chosen] + [a for a in orders[q.qid] if a not in chosen]
            out.writerows([q.qid, aid, int(aid in chosen)] for aid in order)


def run(data: Path, *, split: str = "test", dense: bool = True, questions: int | None = None,
        share: float = DEFAULT_SHARE, submissions: Path | None = None, cache: Path | None = None,
        progress: bool | None = None, echo=print) -> None:
    """Evaluate and print the markdown table (baseline and medcite side by side)."""
    from medcite.settings import Settings

    _folder(data)  # a missing data folder is named before anything is printed
    cache = cache or Settings.load().cache_path / "bench-mediqa"
    echo(f"machine: {machine()}")
    for line in evaluate(data, cache, split=split, dense=dense, questions=questions, share=share,
                         submissions=submissions, progress=progress):
        echo(line)
    echo(f"\npeak RSS: {peak_rss_mb():,.0f} MB")
