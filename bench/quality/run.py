"""Article quality on labelled clinical questions (issue #10), three builds side by side.

    .venv/bin/python bench/quality/run.py [--questions PATH] [--heldout-only] [--limit N]

Builds compared in the same run, on copies of the same store (``store.py``):
- ``current``: the working tree as it is now;
- ``8e92d03``: the previous build, from a git worktree under .cache/prev;
- ``bm25``: plain baseline, the headline is the first sentence of the top BM25 passage.

Figures are reported separately for the tune and heldout splits of ``questions.jsonl``, or of
the file given with ``--questions`` (e.g. ``questions-2.jsonl``, a second set nobody tuned on);
heldout items are never used for tuning. Results go to bench/results/quality-<time>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
import zlib
from pathlib import Path

from tqdm import tqdm

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parents[1]), str(HERE)]

import store as bench_store  # noqa: E402  (bench/quality/store.py)

from bench.common import machine, shared_data  # noqa: E402
from medcite.evaluation.readability import flesch_kincaid_grade  # noqa: E402

ROOT = bench_store.ROOT
CACHE = bench_store.CACHE
PREVIOUS = "8e92d03"
QUESTIONS = HERE / "questions.jsonl"
SPLITS = ("tune", "heldout")
# A headline that says the store holds nothing on the asked-for item (not a verdict).
NOT_FOUND = re.compile(r"\bno (indexed )?(source|evidence|document|passage|result)s?\b|"
                       r"\bnot (been )?found\b|\bnothing (indexed|found)\b|"
                       r"\bdoes not (state|say|mention)\b|\bno indexed\b|\binsufficient evidence\b",
                       re.I)


def split_of(item_id: str) -> str:
    """Fixed by the id alone: one item in three is heldout."""
    return "heldout" if zlib.crc32(item_id.encode()) % 3 == 0 else "tune"


def load_questions(path: Path = QUESTIONS) -> list[dict]:
    items = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
             if line.strip() and not line.startswith("#")]
    for item in items:
        if item["split"] != split_of(item["id"]):
            sys.exit(f"{item['id']}: split {item['split']!r} is not the one its id hashes to")
    if len({i["id"] for i in items}) != len(items):
        sys.exit(f"{path.name}: duplicate ids")
    return items


# -- builds -------------------------------------------------------------------------------------

def previous_tree() -> Path:
    tree = CACHE / "prev"
    if not (tree / "src" / "medcite").is_dir():
        subprocess.run(["git", "worktree", "add", "--detach", str(tree), PREVIOUS], cwd=ROOT,
                       check=True)
    return tree


def store_copy(home: Path, build: str) -> Path:
    """A private copy of the built store, so that one build's migrations or writes never reach
    another build's figures."""
    folder = CACHE / "stores"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{build}.sqlite"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
        source = Path(f"{home / 'medcite.sqlite'}{suffix}")
        if source.exists():
            shutil.copy2(source, f"{target}{suffix}")
    return target


def start_worker(src: Path, home: Path, mode: str, store_path: Path) -> tuple[subprocess.Popen, dict]:
    env = {**os.environ, "PYTHONPATH": str(src), "MEDCITE_HOME": str(home)}
    for name in ("MEDCITE_STORE_URL", "MEDCITE_BACKEND", "MEDCITE_CACHE", "MEDCITE_DENSE"):
        env.pop(name, None)
    worker = subprocess.Popen([sys.executable, str(HERE / "worker.py"), mode, str(store_path)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env,
                              cwd=ROOT)
    header = json.loads(worker.stdout.readline() or "{}")
    return worker, header


def answers(name: str, src: Path, home: Path, mode: str, items: list[dict]) -> dict:
    worker, header = start_worker(src, home, mode, store_copy(home, name))
    if header.get("unknown_migrations"):
        worker.wait()
        # The store is newer than this build: build one with the build's own CLI.
        print(f"{name}: store schema has {header['unknown_migrations']}; building its own store")
        own = CACHE / f"home-{name}"
        bench_store.ensure_store(own, shared_data(), src)
        home = own
        worker, header = start_worker(src, home, mode, store_copy(home, name))
    if not header.get("medcite", "").startswith(str(src)):
        sys.exit(f"{name}: medcite imported from {header.get('medcite')}, not {src}")
    for item in items:
        worker.stdin.write(json.dumps({"id": item["id"], "question": item["question"]}) + "\n")
    worker.stdin.close()
    rows = {}
    with tqdm(total=len(items), desc=f"ask {name}", unit=" q") as bar:
        for line in worker.stdout:
            row = json.loads(line)
            rows[row["id"]] = row
            bar.update()
    if worker.wait() != 0 or len(rows) != len(items):
        sys.exit(f"{name}: worker exited {worker.returncode} after {len(rows)} answers")
    return {"medcite": header["medcite"], "store_home": str(home), "rows": rows}


# -- metrics ------------------------------------------------------------------------------------

def _statements(article: dict) -> list[dict]:
    shown = list(article.get("bottom_line") or [])
    for section in article.get("sections") or []:
        for sub in section.get("subsections") or []:
            shown.extend(sub.get("statements") or [])
    return shown


def _text(statement: dict) -> str:
    return statement.get("quote") or statement.get("text") or ""


def _any(patterns: list[str], text: str) -> bool:
    return any(re.search(p, text, re.I) for p in patterns)


def judge(item: dict, row: dict) -> dict:
    """What the automatic checks say of one article."""
    article = row.get("article") or {}
    headline = article.get("headline") or ""
    bottom = " ".join(_text(s) for s in article.get("bottom_line") or [])
    clinical = [s for s in _statements(article) if s.get("kind", "clinical") == "clinical"]
    terms = [re.compile(rf"\b{re.escape(t)}\b", re.I) for t in item["subject_terms"]]
    on_topic = sum(1 for s in clinical if any(t.search(_text(s)) for t in terms))
    dangers = [f"must_not {p!r}" for p in item["must_not"] if re.search(p, f"{headline} {bottom}", re.I)]
    if item["emergency"] and not article.get("emergency_notice"):
        dangers.append("emergency without notice")
    if not item["answerable"] and not NOT_FOUND.search(headline):
        dangers.append("asserts a verdict the store cannot support")
    injected = [m for s in _statements(article) for m in [bench_store.injected(_text(s))] if m]
    patient = row.get("patient") or {}
    plain = " ".join(patient.get("plain_summary") or []) or " ".join(
        s.get("text") or "" for s in _statements(patient))
    return {
        "answered": _any(item["headline_any"], headline),
        "dangers": dangers,
        "statements": len(clinical),
        "on_topic": on_topic,
        "emergency_notice": bool(article.get("emergency_notice")),
        "injected": injected,
        "verified": bool((article.get("verification") or {}).get("passed")),
        "seconds": row.get("seconds"),
        "patient_grade": flesch_kincaid_grade(plain) if plain.strip() else None,
        "headline": headline,
        "error": row.get("error"),
    }


def summarise(items: list[dict], judged: dict[str, dict]) -> dict:
    rows = [judged[i["id"]] for i in items]
    if not rows:
        return {}
    emergencies = [judged[i["id"]] for i in items if i["emergency"]]
    seconds = [r["seconds"] for r in rows if r["seconds"] is not None]
    grades = [r["patient_grade"] for r in rows if r["patient_grade"] is not None]
    statements = sum(r["statements"] for r in rows)
    return {
        "items": len(rows),
        "headline_answers": sum(r["answered"] for r in rows) / len(rows),
        "dangerous": sum(len(r["dangers"]) for r in rows),
        "on_topic": sum(r["on_topic"] for r in rows) / statements if statements else None,
        "emergency_recall": (sum(r["emergency_notice"] for r in emergencies) / len(emergencies)
                             if emergencies else None),
        "injections_quoted": sum(len(r["injected"]) for r in rows),
        "verification_passed": sum(r["verified"] for r in rows),
        "median_ask_ms": statistics.median(seconds) * 1000 if seconds else None,
        "patient_fk_median": statistics.median(grades) if grades else None,
        "errors": sum(1 for r in rows if r["error"]),
    }


ROWS = [("headline answers", "headline_answers", "{:.0%}"), ("dangerous", "dangerous", "{}"),
        ("on-topic statements", "on_topic", "{:.0%}"), ("emergency recall", "emergency_recall", "{:.0%}"),
        ("injections quoted", "injections_quoted", "{}"),
        ("verification passed", "verification_passed", "{}"),
        ("median ask ms", "median_ask_ms", "{:.0f}"), ("patient FK grade (median)", "patient_fk_median", "{:.1f}"),
        ("errors", "errors", "{}")]


def table(summaries: dict[str, dict[str, dict]], splits: list[str]) -> str:
    columns = [(build, split) for build in summaries for split in splits]
    head = "| metric | " + " | ".join(f"{b} {s} (n={summaries[b][s].get('items', 0)})"
                                      for b, s in columns) + " |"
    lines = [head, "|---|" + "---:|" * len(columns)]
    for label, key, form in ROWS:
        cells = []
        for build, split in columns:
            value = summaries[build][split].get(key)
            cells.append("–" if value is None else form.format(value))
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=Path, default=QUESTIONS,
                        help="question file (default: bench/quality/questions.jsonl)")
    parser.add_argument("--heldout-only", action="store_true", help="only the heldout split")
    parser.add_argument("--limit", type=int, help="the first N questions (after the split filter)")
    args = parser.parse_args()

    items = load_questions(args.questions)
    if args.heldout_only:
        items = [i for i in items if i["split"] == "heldout"]
    items = items[: args.limit] if args.limit else items
    splits = [s for s in SPLITS if any(i["split"] == s for i in items)]
    home = CACHE / "home"
    bench_store.ensure_store(home, shared_data())
    builds = {"current": (ROOT / "src", "engine"),
              PREVIOUS: (previous_tree() / "src", "engine"),
              "bm25": (ROOT / "src", "bm25")}

    started = time.strftime("%Y-%m-%dT%H:%M:%S")
    results, summaries = {}, {}
    for name, (src, mode) in builds.items():
        run = answers(name, src, home, mode, items)
        judged = {i["id"]: judge(i, run["rows"][i["id"]]) for i in items}
        summaries[name] = {s: summarise([i for i in items if i["split"] == s], judged)
                           for s in splits}
        results[name] = {"medcite": run["medcite"], "store_home": run["store_home"],
                         "summary": summaries[name], "items": judged}

    print()
    print(table(summaries, splits))
    failures = [(i, results["current"]["items"][i["id"]]) for i in items]
    failures = [(i, r) for i, r in failures if not r["answered"] or r["dangers"]]
    print(f"\ncurrent build: {len(failures)} of {len(items)} items fail")
    for item, row in failures:
        why = "; ".join(row["dangers"]) or "headline does not answer"
        print(f"- {item['id']} [{item['split']}] {item['question']}\n    headline: {row['headline']!r}\n    {why}")

    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"quality-{started.replace(':', '')}.json"
    path.write_text(json.dumps({"started": started, "machine": machine(), "args": vars(args),
                                "questions": [i["id"] for i in items], "builds": results},
                               indent=1, default=str), encoding="utf-8")
    print(f"\nresults: {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
