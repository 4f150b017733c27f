"""Format detection: content decides, never the file name."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from medcite.errors import IngestInputError
from medcite.ingest.formats import INGESTORS, UnrecognisedFormatError, detect

REAL_FILES = {
    "pmc_oa_samples/pubmed-29768149.xml": "pubmed",
    "pmc_oa_samples/pone.0000217.nxml": "jats",
    "pmc_oa_samples/1472-6831-8-11.nxml": "jats",  # NLM archiving DTD 2.3
    "dailymed_spl_samples/humira.xml": "spl",
    "dailymed_spl_samples/no-title.xml": "spl",
    "medquad/xml_samples/2_GARD_QA__0000004.xml": "medquad-xml",
    "medquad/medquad_answered.jsonl": "medquad-jsonl",
    "open_medicine_guidelines/guideline_sections.jsonl": "open-medicine-jsonl",
    "ngc_guideline_summaries_public/ngc_summaries_public_subset.jsonl": "ngc-jsonl",
}


def test_real_files(shared_data: Path) -> None:
    for name, expected in REAL_FILES.items():
        assert detect(shared_data / name).name == expected, name


def test_demo_pubmed_file(pubmed_demo_file: Path) -> None:
    assert detect(pubmed_demo_file).name == "pubmed"


def test_name_does_not_matter(shared_data: Path, tmp_path: Path) -> None:
    renamed = tmp_path / "notes.txt"
    renamed.write_bytes((shared_data / "pmc_oa_samples" / "pone.0000217.nxml").read_bytes())
    assert detect(renamed).name == "jats"
    packed = tmp_path / "label.bin"
    label = shared_data / "dailymed_spl_samples" / "cough.xml"
    packed.write_bytes(gzip.compress(label.read_bytes()))
    assert detect(packed).name == "spl"


def test_bom_whitespace_declaration_doctype(tmp_path: Path) -> None:
    path = tmp_path / "x"
    path.write_bytes(b'\xef\xbb\xbf\n  <?xml version="1.0" encoding="UTF-8"?>\n<!-- made by hand -->'
                     b'\n<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle//EN" '
                     b'"x.dtd">\n<PubmedArticleSet></PubmedArticleSet>')
    assert detect(path).name == "pubmed"
    path.write_bytes(b"\xef\xbb\xbf---\ntitle: Something\n---\nbody")
    assert detect(path).name == "guideline-document"
    path.write_bytes(b"\n\n<!doctype html><html><title>t</title></html>")
    assert detect(path).name == "guideline-document"


@pytest.mark.parametrize("content, message", [
    (b"", "the file is empty"),
    (b"  \n\t\n", "only whitespace"),
    (bytes(range(256)) * 8, "binary data"),
    (gzip.compress(b"<PubmedArticleSet>" * 2000)[:24], "gzip data is truncated or corrupt"),
], ids=["empty", "whitespace", "binary", "truncated-gzip"])
def test_unreadable(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "input.xml"
    path.write_bytes(content)
    with pytest.raises(IngestInputError, match=message) as raised:
        detect(path)
    assert str(path) in str(raised.value)


def test_unrecognised(tmp_path: Path) -> None:
    readme = tmp_path / "SOURCE.md"
    readme.write_text("# Notes\nNot a corpus file.\n")
    with pytest.raises(UnrecognisedFormatError) as raised:
        detect(readme)
    assert str(raised.value) == (f"{readme}: unrecognised format (not PubMed XML, JATS, SPL, "
                                 "guideline or MedQuAD)")
    assert isinstance(raised.value, IngestInputError)
    with pytest.raises(IngestInputError, match="cannot be read"):
        detect(tmp_path / "missing.xml")


def test_ingestor_protocol() -> None:
    names = [i.name for i in INGESTORS]
    assert len(set(names)) == len(names) == 8
    assert all(callable(i.sniff) and callable(i.parse) for i in INGESTORS)
