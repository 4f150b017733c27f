"""Train the learned re-ranker (``medcite.retrieval.rerank``): one command, fixed seed.

    python -m medcite.retrieval.train_reranker [--data ../shared/data] [--out DIR]

(also ``medcite train-reranker``). Needs LightGBM (``pip install 'medcite[train]'``) and the
shared evaluation data; dense features need the MiniLM encoder (``medcite[dense]``): each
corpus is embedded once into the benchmarks' cache, as ``medcite eval`` does.

Training data (never a split reported as test):

* MEDIQA 2019 Task 3 training (Alexa) + validation sets: each question's own CHiQA answer
  list, graded by ReferenceScore (4 -> 3, 3 -> 2, 2 -> 1, 1 -> 0). Features come from retrieval
  over a store of the split's answers, as in ``medcite eval mediqa``.
* MedQuAD question-answer pairs (a fixed sample by CRC32 of the pair id): the question searched
  in the MedicationQA corpus (MedQuAD's answers + MedicationQA's gold answers); its own answer
  (or one with identical text) is the positive, the other fused candidates are mined negatives.
  MedicationQA's gold answers are left out of these candidate lists.
* MedicationQA, training fold only: questions with CRC32(id) even. Reports use the odd fold.
* PubMedQA PQA-L, the 500 questions outside the official test split (``test_ground_truth.json``).
  Reports use the 500 test questions.

Two models are written: ``reranker-hybrid.txt`` (candidates from BM25 + dense vectors) and
``reranker-lexical.txt`` (BM25 only), with ``reranker.json``: files and their SHA-256, splits,
counts, how negatives were mined, parameters, and held-out figures (an ablation: fused order,
with the evidence-type prior as a boost, re-ranked with the prior as a feature, without it, and
with it as a boost on the fused score).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from medcite.errors import ConfigurationError, InputError
from medcite.retrieval.rerank import (
    FEATURES,
    INDEX,
    MODEL_FILES,
    PRIOR_FEATURES,
    PROVENANCE_FILE,
    RERANK_DEPTH,
    FeatureExtractor,
)

SEED = 20261203
MEDQUAD_SAMPLE = 1500
PARAMS = {
    "objective": "lambdarank",
    "metric": "ndcg",
    "eval_at": [10],
    "learning_rate": 0.05,
    "num_leaves": 15,
    "min_data_in_leaf": 40,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "lambdarank_truncation_level": 20,
    "deterministic": True,
    "force_row_wise": True,
    "num_threads": 2,
    "verbosity": -1,
}
MAX_ROUNDS = 600
EARLY_STOP = 40


def heldout_medicationqa(qid: str) -> bool:
    """MedicationQA's reported fold: CRC32 of the query id odd (the even fold may train)."""
    return zlib.crc32(qid.encode()) % 2 == 1


def pubmedqa_test_ids(data: Path) -> set[str]:
    """The official PubMedQA test split (its 500 PMIDs): reported, never trained on."""
    return set(json.loads((data / "pubmedqa" / "test_ground_truth.json").read_text()))


@dataclass
class Group:
    """One question's candidates: features, labels, and what scoring needs."""

    source: str
    qid: str
    x: np.ndarray
    labels: np.ndarray
    docs: list[str]  # document key per row
    passage_ids: list[int]
    relevant: set[str] = field(default_factory=set)  # for retrieval metrics
    extra: dict = field(default_factory=dict)


# --- candidate extraction ------------------------------------------------------------------

def dense_parts(store, cache_models: Path, *, progress: bool = True, spec=None):
    """(query encoder, dense index) for a store, embedding its passages first if needed.
    The vectors are the default encoder's (or ``spec``'s), in ``<store>.vectors-<slug>`` as
    ``medcite eval retrieval`` and ``medcite eval mediqa`` keep them, so the re-ranker learns
    from and is measured on the vectors a new store gets, never an older encoder's folder."""
    from medcite.retrieval import dense

    spec = spec or dense.DEFAULT_SPEC
    folder = Path(f"{store.location}.vectors-{spec.slug}")
    dense.embed_store(store, cache_models, progress=progress, folder=folder, spec=spec)
    return dense.query_encoder(spec, cache_models), dense.DenseIndex.load(store, folder)


def _progress(label: str, items: list, echo) -> Iterable:
    start = time.perf_counter()
    every = max(1, len(items) // 10)
    for i, item in enumerate(items, 1):
        yield item
        if i % every == 0 or i == len(items):
            elapsed = time.perf_counter() - start
            echo(f"  {label}: {i:,}/{len(items):,} questions, {i / elapsed:.1f}/s")


def extract(searcher, extractor: FeatureExtractor, queries: list[tuple[str, str]],
            label_of: Callable[[str, str], float], *, source: str, echo,
            depth: int = RERANK_DEPTH, keep: Callable[[str, str], bool] | None = None,
            candidates: int = 100, relevant: dict[str, set[str]] | None = None) -> list[Group]:
    """Feature groups for questions: the fused head the re-ranker sees at run time.
    ``keep(qid, doc_key)`` restricts a group's rows (MEDIQA: the question's own answers)."""
    groups = []
    for qid, question in _progress(source, queries, echo):
        analysis, cands, passages, context = searcher.candidates(question, depth=depth, candidates=candidates)
        if keep is not None:
            cands = [c for c in cands if keep(qid, c.document.key)]
        if not cands:
            continue
        x = extractor.matrix(analysis, cands, passages, vector=context.vector,
                             dense_index=searcher.dense_index)
        docs = [c.document.key for c in cands]
        labels = np.asarray([label_of(qid, d) for d in docs], dtype=np.float64)
        groups.append(Group(source, qid, x, labels, docs, [c.passage_id for c in cands],
                            relevant=(relevant or {}).get(qid, set())))
    return groups


@dataclass
class Sets:
    train: list[Group] = field(default_factory=list)
    heldout: dict[str, list[Group]] = field(default_factory=dict)
    counts: dict[str, dict] = field(default_factory=dict)


def build_sets(data: Path, *, dense: bool, medquad: int, echo, progress: bool = False) -> Sets:
    """Extract every training group and every held-out group for one retrieval mode."""
    from medcite.evaluation import mediqa
    from medcite.evaluation.corpora import build_store, medicationqa, pubmedqa
    from medcite.retrieval.search import Searcher
    from medcite.settings import Settings
    from medcite.vocab import Vocabulary

    settings = Settings.load()
    vocabulary = Vocabulary.load(settings)
    models = settings.cache_path / "models"
    sets = Sets()

    def searcher(store):
        if not dense:
            return Searcher(store, vocabulary=vocabulary)
        encoder, index = dense_parts(store, models, progress=progress)
        spec = getattr(index, "spec", None)
        sets.counts.setdefault("vectors", {})[Path(store.location).name] = (
            spec.label if spec is not None else "all-MiniLM-L6-v2 fp32, 128 tokens")
        return Searcher(store, vocabulary=vocabulary, encoder=encoder, dense_index=index)

    # MEDIQA: each split's answers in one store; a question's rows are its own answers.
    cache = settings.cache_path / "bench-mediqa"
    for split in ("train", "validation", "test"):
        questions = mediqa.load_split(data, split)
        task = mediqa._task(f"MEDIQA 2019 {split}", questions)
        store = build_store(task, cache)
        s = searcher(store)
        stats = store.stats()
        grade = {a.aid: a.reference_score - 1 for q in questions for a in q.answers}
        own = {q.qid: {a.aid for a in q.answers} for q in questions}
        groups = extract(s, FeatureExtractor(store), [(q.qid, q.text) for q in questions],
                         lambda qid, d: grade[d], source=f"MEDIQA {split}", echo=echo,
                         depth=stats.passages, candidates=stats.passages,
                         keep=lambda qid, d: d in own[qid])
        by_qid = {q.qid: q for q in questions}
        for g in groups:
            g.extra["question"] = by_qid[g.qid]
        if split == "test":
            sets.heldout["MEDIQA 2019 test"] = groups
        else:
            sets.train += groups
        sets.counts[f"mediqa_{split}"] = {"questions": len(questions), "groups": len(groups),
                                          "rows": int(sum(len(g.labels) for g in groups))}
        store.close()

    # MedicationQA corpus: MedQuAD pairs (mined negatives) and MedicationQA's two folds.
    task = medicationqa(data)
    store = build_store(task, settings.cache_path / "bench-retrieval")
    s = searcher(store)
    extractor = FeatureExtractor(store)
    key_of_text: dict[str, str] = {}
    for d in task.documents:
        key_of_text.setdefault(d.sections[0].text, d.key)
    records = [json.loads(line) for line in (data / "medquad" / "medquad_answered.jsonl").open()]
    records = sorted(records, key=lambda r: (zlib.crc32(str(r["qid"]).encode()), str(r["qid"])))[:medquad]
    gold = {f"mq:{r['qid']}": key_of_text[r["answer"].strip()] for r in records}
    groups = extract(s, extractor, [(f"mq:{r['qid']}", r["question"]) for r in records],
                     lambda qid, d: float(d == gold[qid]), source="MedQuAD", echo=echo,
                     keep=lambda qid, d: not d.startswith("mqa-answer:"))
    groups = [g for g in groups if g.labels.any()]
    sets.train += groups
    sets.counts["medquad"] = {"questions": len(records), "groups_with_positive": len(groups),
                              "rows": int(sum(len(g.labels) for g in groups))}
    for fold in ("train", "heldout"):
        queries = [(q, t) for q, t in task.queries if heldout_medicationqa(q) == (fold == "heldout")]
        groups = extract(s, extractor, queries, lambda qid, d: float(d in task.gold[qid]),
                         source=f"MedicationQA {fold}", echo=echo, relevant=task.gold)
        if fold == "train":
            groups = [g for g in groups if g.labels.any()]
            sets.train += groups
        else:
            sets.heldout["MedicationQA held-out fold"] = groups
        sets.counts[f"medicationqa_{fold}"] = {"questions": len(queries), "groups": len(groups),
                                               "rows": int(sum(len(g.labels) for g in groups))}
    store.close()

    task = pubmedqa(data)
    test_ids = pubmedqa_test_ids(data)
    store = build_store(task, settings.cache_path / "bench-retrieval")
    s = searcher(store)
    extractor = FeatureExtractor(store)
    for fold in ("train", "heldout"):
        queries = [(q, t) for q, t in task.queries if (q in test_ids) == (fold == "heldout")]
        groups = extract(s, extractor, queries, lambda qid, d: float(d in task.gold[qid]),
                         source=f"PubMedQA {fold}", echo=echo, relevant=task.gold)
        if fold == "train":
            groups = [g for g in groups if g.labels.any()]
            sets.train += groups
        else:
            sets.heldout["PubMedQA test split"] = groups
        sets.counts[f"pubmedqa_{fold}"] = {"questions": len(queries), "groups": len(groups),
                                           "rows": int(sum(len(g.labels) for g in groups))}
    store.close()
    return sets


# --- training ------------------------------------------------------------------------------

def _matrix(groups: list[Group], columns: list[int], transform=None):
    xs = [g.x if transform is None else transform(g.x) for g in groups]
    x = np.concatenate(xs)[:, columns] if xs else np.zeros((0, len(columns)))
    y = np.concatenate([g.labels for g in groups]) if groups else np.zeros(0)
    return x, y, [len(g.labels) for g in groups]


def fit(groups: list[Group], *, columns: list[int] | None = None, transform=None,
        seed: int = SEED, echo=print) -> tuple[object, int]:
    """LambdaMART on the groups: the number of rounds by early stopping on a fixed fifth of
    the training groups (CRC32 of the question id), then a refit on all of them."""
    try:
        import lightgbm as lgb
    except ImportError as exc:
        raise ConfigurationError("training the re-ranker needs LightGBM",
                                 hint="pip install 'medcite[train]'") from exc
    columns = list(range(len(FEATURES))) if columns is None else columns
    names = [FEATURES[i] for i in columns]
    params = {**PARAMS, "seed": seed, "bagging_seed": seed, "feature_fraction_seed": seed,
              "data_random_seed": seed}
    dev = [g for g in groups if zlib.crc32(f"{g.source}:{g.qid}".encode()) % 5 == 0]
    fit_groups = [g for g in groups if zlib.crc32(f"{g.source}:{g.qid}".encode()) % 5 != 0]
    xt, yt, gt = _matrix(fit_groups, columns, transform)
    xd, yd, gd = _matrix(dev, columns, transform)
    train = lgb.Dataset(xt, yt, group=gt, feature_name=names, free_raw_data=False)
    valid = lgb.Dataset(xd, yd, group=gd, reference=train)
    start = time.perf_counter()
    booster = lgb.train(params, train, num_boost_round=MAX_ROUNDS, valid_sets=[valid],
                        callbacks=[lgb.early_stopping(EARLY_STOP, first_metric_only=True, verbose=False)])
    rounds = max(1, booster.best_iteration or MAX_ROUNDS)
    echo(f"  early stopping: {rounds} rounds on {len(fit_groups):,} groups "
         f"({len(yt):,} rows, {len(yt) / (time.perf_counter() - start):,.0f} rows/s), "
         f"dev {len(dev):,} groups")
    xa, ya, ga = _matrix(groups, columns, transform)
    start = time.perf_counter()
    booster = lgb.train(params, lgb.Dataset(xa, ya, group=ga, feature_name=names), num_boost_round=rounds)
    echo(f"  refit: {len(groups):,} groups, {len(ya):,} rows, {rounds} rounds, "
         f"{time.perf_counter() - start:.1f} s")
    return booster, rounds


# --- held-out figures ----------------------------------------------------------------------

def _doc_order(g: Group, scores: np.ndarray) -> list[str]:
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], g.docs[i], g.passage_ids[i]))
    return list(dict.fromkeys(g.docs[i] for i in order))


def evaluate_orders(name: str, groups: list[Group], scorer: Callable[[Group], np.ndarray]) -> dict[str, float]:
    """Figures of one ordering on a held-out set (retrieval metrics, or MEDIQA's)."""
    if name.startswith("MEDIQA"):
        from medcite.evaluation import mediqa

        questions = [g.extra["question"] for g in groups]
        orders = {g.qid: mediqa._complete(g.extra["question"], _doc_order(g, scorer(g))) for g in groups}
        labelled = {q: mediqa.top_share(o, mediqa.DEFAULT_SHARE) for q, o in orders.items()}
        return mediqa.score(questions, orders, labelled)
    from medcite.evaluation.retrieval import metrics

    rankings = {g.qid: _doc_order(g, scorer(g))[:10] for g in groups}
    return metrics(rankings, {g.qid: g.relevant for g in groups})


def fused(g: Group) -> np.ndarray:
    return g.x[:, INDEX["fused"]]


def with_prior(g: Group) -> np.ndarray:
    return g.x[:, INDEX["fused"]] * g.x[:, INDEX["prior"]]


def boosted(x: np.ndarray) -> np.ndarray:
    """The prior as a fixed boost applied before relevance: the fused score multiplied."""
    x = x.copy()
    x[:, INDEX["fused"]] *= x[:, INDEX["prior"]]
    return x


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def data_files(data: Path) -> list[Path]:
    from medcite.evaluation.mediqa import SPLITS

    names = [f"mediqa2019/task3_qa/{x}" for x, _ in SPLITS.values()]
    names += [f"mediqa2019/ground_truth/{t}" for _, t in SPLITS.values() if t]
    names += ["medquad/medquad_answered.jsonl", "medicationqa/medicationqa.jsonl",
              "pubmedqa/ori_pqal.json", "pubmedqa/test_ground_truth.json",
              "pubmed_medline_sample/pubmed21n1298_abstracts.jsonl"]
    return [data / n for n in names]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m medcite.retrieval.train_reranker",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=None, help="shared data folder (default: MEDCITE_SHARED_DATA)")
    parser.add_argument("--out", type=Path, default=None, help="where the models go (default: the package's data folder)")
    parser.add_argument("--medquad", type=int, default=MEDQUAD_SAMPLE, help="MedQuAD pairs to train on")
    parser.add_argument("--modes", default="hybrid,lexical", help="hybrid, lexical or both")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    from medcite.settings import Settings

    data = args.data or Path(Settings.load().shared_data)
    if not (data / "mediqa2019").is_dir():
        raise InputError(f"shared data folder {data} not found", hint="pass --data or set MEDCITE_SHARED_DATA")
    out = args.out or Path(__file__).resolve().parent / "data"
    out.mkdir(parents=True, exist_ok=True)

    def echo(line: str) -> None:
        print(line, flush=True)

    try:
        import lightgbm
    except ImportError as exc:
        raise ConfigurationError("training the re-ranker needs LightGBM",
                                 hint="pip install 'medcite[train]'") from exc

    provenance: dict = {
        "command": "python -m medcite.retrieval.train_reranker" + (f" --medquad {args.medquad}" if args.medquad != MEDQUAD_SAMPLE else ""),
        "seed": args.seed, "lightgbm": lightgbm.__version__, "params": PARAMS,
        "max_rounds": MAX_ROUNDS, "early_stopping": EARLY_STOP, "rerank_depth": RERANK_DEPTH,
        "features": list(FEATURES),
        "data": [{"file": str(p.relative_to(data)), "sha256": _sha256(p)} for p in data_files(data)],
        "splits": {
            "train": ["MEDIQA 2019 Task 3 training (Alexa) + validation: each question's own answers, "
                      "graded ReferenceScore - 1",
                      f"MedQuAD: {args.medquad} pairs, the lowest CRC32 of the pair id; positive = the pair's "
                      "answer (or identical text); negatives = the other fused candidates (top "
                      f"{RERANK_DEPTH} of BM25 + dense RRF) in the MedicationQA corpus, MedicationQA's gold "
                      "answers left out",
                      "MedicationQA: questions with CRC32(id) even",
                      "PubMedQA PQA-L: the 500 questions outside test_ground_truth.json"],
            "heldout (reported)": ["MEDIQA 2019 Task 3 test (150 questions)",
                                   "MedicationQA: questions with CRC32(id) odd",
                                   "PubMedQA: the official 500-question test split"],
            "groups without a positive among the candidates": "left out of training",
            "early stopping": "on a fixed fifth of the training groups (CRC32 of source:qid % 5 == 0), "
                              "then refit on all training groups with that many rounds",
        },
        "licences": "MedQuAD CC BY 4.0; PubMedQA MIT; MEDIQA 2019 and MedicationQA: NLM shared-task "
                    "data with no licence file (the model holds tree thresholds, no text)",
        "models": {},
    }
    previous = out / PROVENANCE_FILE
    if previous.is_file():  # a run of one mode keeps the other's record
        try:
            provenance["models"] = json.loads(previous.read_text()).get("models", {})
        except ValueError:
            pass
    for mode in [m.strip() for m in args.modes.split(",") if m.strip()]:
        if mode not in MODEL_FILES:
            raise InputError(f"unknown mode {mode!r}; use hybrid or lexical")
        echo(f"== {mode}: extracting candidates and features")
        start = time.perf_counter()
        sets = build_sets(data, dense=mode == "hybrid", medquad=args.medquad, echo=echo)
        echo(f"  extraction: {time.perf_counter() - start:.0f} s; training groups {len(sets.train):,}")
        echo(f"== {mode}: training")
        booster, rounds = fit(sets.train, seed=args.seed, echo=echo)
        path = out / MODEL_FILES[mode]
        booster.save_model(str(path))
        echo(f"  wrote {path} ({path.stat().st_size / 1024:.0f} KiB)")
        # Ablation variants, for the figures only (not shipped).
        no_prior = [i for i, n in enumerate(FEATURES) if n not in PRIOR_FEATURES]
        variant_np, _ = fit(sets.train, columns=no_prior, seed=args.seed, echo=echo)
        variant_boost, _ = fit(sets.train, columns=no_prior, transform=boosted, seed=args.seed, echo=echo)
        systems: list[tuple[str, Callable[[Group], np.ndarray]]] = [
            ("fused (RRF), no prior", fused),
            ("fused x prior (the previous ranking)", with_prior),
            ("re-ranker, prior as a feature (shipped)", lambda g: booster.predict(g.x)),
            ("re-ranker, no prior", lambda g: variant_np.predict(g.x[:, no_prior])),
            ("re-ranker, prior as a boost on the fused score",
             lambda g: variant_boost.predict(boosted(g.x)[:, no_prior])),
        ]
        figures: dict[str, dict[str, dict[str, float]]] = {}
        for set_name, groups in sets.heldout.items():
            echo(f"\n{mode}, {set_name} ({len(groups)} questions with candidates)")
            figures[set_name] = {}
            for label, scorer in systems:
                m = evaluate_orders(set_name, groups, scorer)
                figures[set_name][label] = {k: round(v, 4) for k, v in m.items()}
                echo(f"  {label}: " + ", ".join(f"{k} {v:.3f}" for k, v in m.items()))
        importance = booster.feature_importance("gain")
        total = float(importance.sum()) or 1.0
        provenance["models"][mode] = {
            "file": MODEL_FILES[mode], "sha256": _sha256(path), "rounds": rounds,
            "training_groups": len(sets.train),
            "training_rows": int(sum(len(g.labels) for g in sets.train)),
            "counts": sets.counts, "heldout": figures,
            "gain_share": {FEATURES[i]: round(float(v) / total, 4)
                           for i, v in sorted(enumerate(importance), key=lambda t: -t[1])[:15]},
        }
        (out / PROVENANCE_FILE).write_text(json.dumps(provenance, indent=1) + "\n")
    echo(f"\nwrote {out / PROVENANCE_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
