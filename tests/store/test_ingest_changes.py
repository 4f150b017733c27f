"""Issue #12 item 14: files that end early, change while read, or are reached twice; MedQuAD
keys that do not depend on where a record sits. Real records, written to tmp_path."""

from __future__ import annotations

import gzip
import re
import sqlite3
from pathlib import Path

import pytest

from medcite.errors import IngestInputError
from medcite.ingest.pubmed import PubmedIngestor
from medcite.ingest.runner import ingest_paths
from medcite.models import Document
from tests.store.test_ingest_runner import consistency


@pytest.fixture(scope="module")
def pubmed_1970s(demo_corpus) -> Path:
    return next(p for p in demo_corpus.research_files if p.name == "pubmed20n0014.xml.gz")


def pubmed_records(source: Path, count: int) -> tuple[str, list[str]]:
    """The XML head (declaration, root start tag) and the first ``count`` real records."""
    with gzip.open(source, "rt", encoding="utf-8") as fh:
        text = fh.read(8 << 20)
    head = text[: text.index("<PubmedArticle>")]
    records = re.findall(r"<PubmedArticle>.*?</PubmedArticle>", text, re.S)[:count]
    assert len(records) == count
    return head, records


def pubmed_file(head: str, records: list[str]) -> str:
    return head + "\n".join(records) + "\n</PubmedArticleSet>\n"


def stored_keys(location: str, prefix: str = "") -> set[str]:
    with sqlite3.connect(location) as conn:
        return {r[0] for r in conn.execute("SELECT key FROM documents WHERE key LIKE ?",
                                           (prefix + "%",))}


# -- a truncated file keeps the valid records of its last partial batch ----------------------


@pytest.mark.parametrize("aside", [False, True], ids=["parsed-in-process", "parsed-aside"])
def test_truncated_file_keeps_every_record_read_before_the_cut(store, tmp_path, pubmed_1970s,
                                                               monkeypatch, aside):
    if aside:
        monkeypatch.setattr("medcite.ingest.runner.PARSE_ASIDE_FROM_BYTES", 0)
    head, records = pubmed_records(pubmed_1970s, 1100)
    data = gzip.compress(pubmed_file(head, records).encode())
    path = tmp_path / "cut.xml.gz"
    path.write_bytes(data[: len(data) * 6 // 10])
    readable = []
    with pytest.raises(IngestInputError, match="truncated"):
        for record in PubmedIngestor().parse(path):
            readable.append(record)
    expected = {r.key for r in readable if isinstance(r, Document)}
    assert len(expected) > 500 and len(expected) % 500, "the cut must land in a partial batch"

    report = ingest_paths(store, [path], batch_size=500, progress=False)

    (failure,) = report.file_errors
    assert str(path) in failure and "truncated" in failure
    assert stored_keys(store.location) == expected
    consistency(store.location)
