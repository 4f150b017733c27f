"""MedQuAD consumer-health question/answer pairs (NIH sites), as the original XML or JSON lines.

One ``Document`` per answered pair, titled with the question, its answer as one section
labelled with the question type. Question ids repeat across sources (GARD and GHR both have
"0000004-1") and, in a few CancerGov documents, within one source (one qid for the same
question about each of several conditions), so a pair is identified by its source, its qid and
its question: the key is ``medquad:<source code>/<qid>~<first 8 hex of SHA-1 of the question
as stored (the title)>``, e.g. ``medquad:GARD/0000004-1~1f0e9c3a``. It depends on the record
alone, never on where it sits in its file, so the same pairs split over two files give the
same documents. (Until migration 0013 a repeat was keyed "~2", "~3" in file order; that
migration re-keys stored MedQuAD documents in place and keeps each old key as an alias, so
articles citing it still verify.) Pairs without an answer (the MedlinePlus subsets had theirs
removed for copyright) are skipped and counted in ``skipped``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lxml import etree

from medcite.ingest._common import (clean_lines, collapse, has_json_key, iter_json_lines,
                                    jsonl_first_line, parse_xml_tree, xml_root)
from medcite.ingest.base import ParsedRecord
from medcite.models import Document, RecordError, Section, SourceType

# The issuing site behind each MedQuAD source code, for the reference list.
SOURCES = {
    "CancerGov": "National Cancer Institute",
    "GARD": "Genetic and Rare Diseases Information Center (GARD)",
    "GHR": "Genetics Home Reference",
    "MPlusHealthTopics": "MedlinePlus",
    "MPlusDrugs": "MedlinePlus",
    "MPlusHerbsSupplements": "MedlinePlus",
    "ADAM": "A.D.A.M. Medical Encyclopedia (MedlinePlus)",
    "NIDDK": "National Institute of Diabetes and Digestive and Kidney Diseases (NIDDK)",
    "NINDS": "National Institute of Neurological Disorders and Stroke (NINDS)",
    "NIHSeniorHealth": "NIHSeniorHealth",
    "NHLBI": "National Heart, Lung, and Blood Institute (NHLBI)",
    "CDC": "Centers for Disease Control and Prevention (CDC)",
}


def medquad_key(source: str, qid: str, question: str) -> str:
    """The pair's own identity: source, qid and the question (migration 0013 computes the same
    from a stored key and title; change both together, or never)."""
    digest = hashlib.sha1(collapse(question).encode()).hexdigest()[:8]
    return f"medquad:{source}/{qid}~{digest}"


# UMLS semantic types of the Disorders group: a focus of one of these types is a condition the
# vocabulary may learn (a drug or supplement focus is not). The XML and JSONL forms both carry
# the types; the learned names still pass the vocabulary's own filters.
DISORDER_TYPES = frozenset({"T019", "T020", "T033", "T037", "T046", "T047", "T048", "T049",
                            "T050", "T184", "T190", "T191"})


def _document(key: str, source: str, question: str, qtype: str, answer: str, url: str | None,
              focus: str, synonyms: list[str], disorder: bool = False) -> Document:
    keywords = list(dict.fromkeys(k for k in (collapse(focus), *map(collapse, synonyms)) if k))
    return Document(
        key=key,
        source_type=SourceType.CONSUMER_HEALTH,
        title=collapse(question),
        sections=[Section(label=collapse(qtype), text=answer)],
        source=SOURCES.get(source, source or "MedQuAD"),
        year=None,  # MedQuAD does not date its answers
        url=(url or "").strip() or None,
        keywords=keywords,
        mesh_terms=[],
        condition_names=[keywords] if disorder and keywords else [],
    )


class MedquadXmlIngestor:
    name = "medquad-xml"

    def __init__(self) -> None:
        self.skipped = 0  # pairs without an answer in the last parse

    def sniff(self, head: bytes) -> bool:
        root = xml_root(head)
        return root is not None and root[0] == "Document" and (
            b"<QAPairs" in head or b"<Focus" in head)

    def parse(self, path: Path) -> Iterator[ParsedRecord]:
        path = Path(path)
        root = parse_xml_tree(path).getroot()
        self.skipped = 0
        documents = [root] if root.tag == "Document" else list(root.iter("Document"))
        for doc in documents:
            source = (doc.get("source") or "").strip()
            focus = collapse(doc.findtext("Focus"))
            synonyms = [s.text or "" for s in doc.iterfind("FocusAnnotations/Synonyms/Synonym")]
            disorder = any((t.text or "").strip() in DISORDER_TYPES for t in
                           doc.iterfind("FocusAnnotations/UMLS/SemanticTypes/SemanticType"))
            for ordinal, pair in enumerate(doc.iterfind("QAPairs/QAPair"), 1):
                question_el = pair.find("Question")
                answer = clean_lines(_text(pair.find("Answer")))
                if not answer:
                    self.skipped += 1
                    continue
                qid = (question_el.get("qid") or "").strip() if question_el is not None else ""
                question = _text(question_el)
                if not qid or not question:
                    yield RecordError(path=str(path), record_id=f"{doc.get('id')}/{ordinal}",
                                      message="QAPair without a question or its qid")
                    continue
                yield _document(medquad_key(source, qid, question), source, question,
                                question_el.get("qtype") or "", answer, doc.get("url"), focus,
                                synonyms, disorder)


def _text(el: etree._Element | None) -> str:
    return "".join(el.itertext()) if el is not None else ""


class MedquadJsonlIngestor:
    name = "medquad-jsonl"

    def __init__(self) -> None:
        self.skipped = 0

    def sniff(self, head: bytes) -> bool:
        line = jsonl_first_line(head)
        return has_json_key(line, "qid", "question") and has_json_key(line, "qtype")

    def parse(self, path: Path) -> Iterator[ParsedRecord]:
        path = Path(path)
        self.skipped = 0
        for lineno, row in iter_json_lines(path):
            if isinstance(row, str):
                yield RecordError(path=str(path), record_id=f"line {lineno}", message=row)
                continue
            answer = clean_lines(_str(row.get("answer")))
            if not answer:
                self.skipped += 1
                continue
            qid, question = _str(row.get("qid")).strip(), _str(row.get("question"))
            if not qid or not question.strip():
                yield RecordError(path=str(path), record_id=f"line {lineno}",
                                  message="a MedQuAD record needs qid and question")
                continue
            source = _str(row.get("source")).strip()
            synonyms = row.get("synonyms") if isinstance(row.get("synonyms"), list) else []
            types = row.get("semantic_types") if isinstance(row.get("semantic_types"), list) else []
            yield _document(medquad_key(source, qid, question), source, question,
                            _str(row.get("qtype")), answer,
                            _str(row.get("url")), _str(row.get("focus")),
                            [_str(s) for s in synonyms], bool(DISORDER_TYPES & set(map(_str, types))))


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ("" if value is None else str(value))
