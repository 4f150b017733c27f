"""MedQuAD consumer-health pairs: the original XML samples and the answered JSON lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from medcite.ingest.medquad import MedquadJsonlIngestor, MedquadXmlIngestor, medquad_key
from medcite.models import Document, SourceType


def keyed(documents: dict[str, Document], qid_key: str) -> Document:
    """The one document of ``medquad:<source>/<qid>`` (keys end in ~<question hash>)."""
    (doc,) = [d for k, d in documents.items() if k.split("~")[0] == qid_key]
    return doc


@pytest.fixture(scope="module")
def xml_documents(shared_data: Path) -> dict[str, Document]:
    ingestor = MedquadXmlIngestor()
    documents: dict[str, Document] = {}
    skipped = 0
    for path in sorted((shared_data / "medquad" / "xml_samples").glob("*.xml")):
        for doc in ingestor.parse(path):
            assert isinstance(doc, Document)
            documents[doc.key] = doc
        skipped += ingestor.skipped
    assert skipped == 38  # the MedlinePlus drug and herb pairs, answers removed upstream
    return documents


def test_xml_samples(xml_documents: dict[str, Document]) -> None:
    assert len(xml_documents) == 115
    assert not any(k.startswith("medquad:MPlus") and "HealthTopics" not in k
                   for k in xml_documents)
    doc = keyed(xml_documents, "medquad:GARD/0000004-1")
    assert doc.key == medquad_key("GARD", "0000004-1", doc.title)
    assert doc.source_type is SourceType.CONSUMER_HEALTH
    assert doc.title == "What are the symptoms of ABCD syndrome ?"
    assert doc.source == "Genetic and Rare Diseases Information Center (GARD)"
    assert doc.url == "https://rarediseases.info.nih.gov/gard/335/abcd-syndrome"
    assert doc.keywords[0] == "ABCD syndrome" and len(doc.keywords) == 2  # focus + synonym
    assert doc.year is None and doc.mesh_terms == []
    (section,) = doc.sections
    assert section.label == "symptoms" and "Human Phenotype Ontology" in section.text
    sources = {d.source for d in xml_documents.values()}
    assert {"MedlinePlus", "Genetics Home Reference", "National Cancer Institute"} <= sources


def test_jsonl_matches_xml(shared_data: Path, xml_documents: dict[str, Document]) -> None:
    ingestor = MedquadJsonlIngestor()
    documents = list(ingestor.parse(shared_data / "medquad" / "medquad_answered.jsonl"))
    assert len(documents) == 16_407 and ingestor.skipped == 0
    keys = {d.key for d in documents}
    assert len(keys) == 16_407  # qids repeat across (and within) sources; keys do not
    assert {k.split("~")[0] for k in keys} >= {"medquad:GHR/0000004-1", "medquad:GARD/0000004-1"}
    by_key = {d.key: d for d in documents}
    for key, doc in xml_documents.items():
        assert by_key[key] == doc, key


def test_unanswered_questions_yield_nothing(shared_data: Path) -> None:
    ingestor = MedquadJsonlIngestor()
    path = shared_data / "medquad" / "medquad_unanswered_questions.jsonl"
    assert list(ingestor.parse(path)) == [] and ingestor.skipped == 13_686


def test_repeated_qids_are_keyed_by_their_question_not_their_order(tmp_path: Path) -> None:
    pairs = ['<QAPair pid="1"><Question qid="1-1" qtype="t">Q1?</Question><Answer>A1</Answer></QAPair>',
             '<QAPair pid="2"><Question qid="1-1" qtype="t">Q2?</Question><Answer>A2</Answer></QAPair>']
    keys = []
    for order in (pairs, pairs[::-1]):
        path = tmp_path / "dup.xml"
        path.write_text('<?xml version="1.0"?><Document id="1" source="CancerGov" url="u"><Focus>F'
                        "</Focus><QAPairs>" + "".join(order) + "</QAPairs></Document>")
        keys.append({d.key for d in MedquadXmlIngestor().parse(path)})
    assert keys[0] == keys[1] == {medquad_key("CancerGov", "1-1", "Q1?"),
                                  medquad_key("CancerGov", "1-1", "Q2?")}
    assert len(keys[0]) == 2
