"""Answers the benchmark questions with whichever medcite is first on ``sys.path``.

Run by ``run.py`` in a subprocess, once per build: ``PYTHONPATH=<a build's src>`` picks the code,
so the current tree and an older commit answer the same questions against copies of the same
store. Standard library and medcite imports only (no bench code: it may not match the build).

    worker.py engine|bm25 STORE_PATH  < questions (JSON lines: id, question)  > JSON lines

The first line written describes the build (where medcite was imported from, whether the store's
schema is one it knows); then one line per question, in order.
"""

from __future__ import annotations

import json
import re
import sqlite3
import sys
import time

WARM_UP = "What is the usual dose of ibuprofen for adults?"  # not a benchmark question


def _schema_unknown(store_path: str) -> list[str]:
    """Migrations recorded in the store that this build does not define."""
    from medcite.store.migrations import MIGRATIONS

    with sqlite3.connect(f"file:{store_path}?mode=ro", uri=True) as conn:
        done = {row[0] for row in conn.execute("SELECT name FROM schema_migrations")}
    return sorted(done - {name for name, _ in MIGRATIONS})


def _engine_answers(store_path: str):
    from medcite.answer import ask
    from medcite.models import Audience
    from medcite.settings import Settings
    from medcite.store import open_store
    from medcite.synthesis.audience import adapt

    settings = Settings.load(store_url=store_path, dense="off")
    store = open_store(settings)
    ask(WARM_UP, store=store, settings=settings, save=False)  # vocabulary and engine load

    def answer(question: str) -> dict:
        started = time.perf_counter()
        article = ask(question, store=store, settings=settings, save=False)
        seconds = time.perf_counter() - started
        patient = adapt(article, Audience.PATIENT).model_dump(mode="json")
        return {"seconds": seconds, "article": article.model_dump(mode="json"),
                "patient": patient}

    return answer


def _bm25_answers(store_path: str):
    """The plain baseline: the first sentence of the top BM25 passage is the headline."""
    from medcite.settings import Settings
    from medcite.store import open_store
    from medcite.synthesis.support import STOPWORDS

    store = open_store(Settings.load(store_url=store_path, dense="off"))

    def answer(question: str) -> dict:
        started = time.perf_counter()
        words = re.findall(r"[a-z0-9]+", question.lower())
        terms = [w for w in dict.fromkeys(words) if len(w) > 1 and w not in STOPWORDS]
        hits = store.lexical_search(terms, limit=1)
        headline, statements = "", []
        if hits:
            passage = store.passages([hits[0].passage_id])[hits[0].passage_id]
            spans = passage.sentences
            first = passage.text[spans[0].start:spans[0].end] if spans else passage.text
            headline = first.strip()
            statements = [{"text": headline, "quote": headline, "kind": "clinical"}]
        seconds = time.perf_counter() - started
        article = {"headline": headline, "bottom_line": statements, "sections": [],
                   "emergency_notice": None, "verification": {"passed": True}}
        return {"seconds": seconds, "article": article,
                "patient": {"plain_summary": [], "bottom_line": statements, "sections": []}}

    return answer


def main() -> None:
    mode, store_path = sys.argv[1], sys.argv[2]
    import medcite

    unknown = _schema_unknown(store_path)
    print(json.dumps({"medcite": medcite.__file__, "unknown_migrations": unknown}), flush=True)
    if unknown:
        return
    answer = _engine_answers(store_path) if mode == "engine" else _bm25_answers(store_path)
    for line in sys.stdin:
        item = json.loads(line)
        try:
            row = answer(item["question"])
        except Exception as error:  # a crash on one question is a result, not the end of the run
            row = {"seconds": None, "article": None, "error": f"{type(error).__name__}: {error}"}
        print(json.dumps({"id": item["id"], **row}), flush=True)


if __name__ == "__main__":
    main()
