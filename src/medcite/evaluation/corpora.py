"""The two retrieval evaluation tasks of ../shared/data/README.md, built as medcite stores.

* MedicationQA: 690 consumer questions; corpus = their gold answers + the 16,407 MedQuAD answers;
  a hit is any document whose text is identical to the gold answer.
* PubMedQA open retrieval: 1,000 questions; corpus = their contexts (joined, no titles) + the
  18,445 abstracts of pubmed_medline_sample; a hit is the question's own abstract.

Documents carry no titles, as in the baseline, so medcite and plain BM25 see the same text.
Stores are built once into the bench cache and reused.
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from pathlib import Path

from medcite.ingest.prepare import write_documents
from medcite.models import Document, Section, SourceType
from medcite.store.baseline import PlainBM25
from medcite.store import Store, open_store

CORPUS_VERSION = "1"


@dataclass
class Task:
    name: str
    queries: list[tuple[str, str]]  # (query id, question)
    gold: dict[str, set[str]]  # query id -> relevant document keys
    documents: list[Document]


def _doc(key: str, text: str, source_type: SourceType) -> Document:
    return Document(key=key, source_type=source_type, title="", sections=[Section(text=text)])


def medicationqa(data: Path) -> Task:
    questions = [json.loads(line) for line in (data / "medicationqa" / "medicationqa.jsonl").open()]
    by_text: dict[str, str] = {}
    documents: list[Document] = []

    def add(key: str, text: str) -> str:
        text = text.strip()
        if text not in by_text:
            by_text[text] = key
            documents.append(_doc(key, text, SourceType.CONSUMER_HEALTH))
        return by_text[text]

    for record in (json.loads(line) for line in (data / "medquad" / "medquad_answered.jsonl").open()):
        add(f"medquad:{record['qid']}", record["answer"])
    queries, gold = [], {}
    for record in questions:
        if not record.get("answer", "").strip():
            continue
        qid = f"mqa:{record['id']}"
        queries.append((qid, record["question"]))
        gold[qid] = {add(f"mqa-answer:{record['id']}", record["answer"])}
    return Task("MedicationQA", queries, gold, documents)


def pubmedqa(data: Path) -> Task:
    pqal = json.loads((data / "pubmedqa" / "ori_pqal.json").read_text())
    documents, queries, gold = [], [], {}
    for pmid, record in pqal.items():
        contexts = record["CONTEXTS"]
        if isinstance(contexts, str):
            contexts = ast.literal_eval(contexts)
        documents.append(_doc(f"pqa:{pmid}", " ".join(contexts), SourceType.RESEARCH))
        queries.append((pmid, record["QUESTION"]))
        gold[pmid] = {f"pqa:{pmid}"}
    for line in (data / "pubmed_medline_sample" / "pubmed21n1298_abstracts.jsonl").open():
        record = json.loads(line)
        if record["pmid"] in pqal:
            continue
        documents.append(_doc(f"pmid:{record['pmid']}", record["abstract"], SourceType.RESEARCH))
    return Task("PubMedQA open", queries, gold, documents)


def build_store(task: Task, folder: Path) -> Store:
    """The task's medcite store, built once (keyed by CORPUS_VERSION)."""
    folder.mkdir(parents=True, exist_ok=True)
    location = folder / f"{task.name.replace(' ', '_').lower()}-v{CORPUS_VERSION}.sqlite"
    ready = location.with_suffix(".ready")
    store = open_store(location)
    if not ready.exists():
        for start in range(0, len(task.documents), 1000):
            write_documents(store, task.documents[start : start + 1000])
        ready.touch()
    return store


def build_baseline(task: Task, folder: Path) -> PlainBM25:
    """Plain BM25 exactly as the data README describes: one FTS5 table of whole documents."""
    location = folder / f"{task.name.replace(' ', '_').lower()}-bm25-v{CORPUS_VERSION}.sqlite"
    return PlainBM25(location, ((d.key, d.sections[0].text) for d in task.documents))
