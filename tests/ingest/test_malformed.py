"""Damaged and hostile input: a clear IngestInputError for the file, or a RecordError for the
record, never a crash, a hang or a memory blow-up."""

from __future__ import annotations

import gzip
import os
import resource
import time
from pathlib import Path

import pytest

from medcite.errors import IngestInputError
from medcite.ingest.formats import detect
from medcite.ingest.jats import JatsIngestor
from medcite.ingest.medquad import MedquadXmlIngestor
from medcite.ingest.pubmed import PubmedIngestor
from medcite.ingest.spl import SplIngestor
from medcite.models import Document, RecordError

RECORD = ('<PubmedArticle><MedlineCitation><PMID Version="1">{n}</PMID><Article>'
          "<ArticleTitle>Title {n}</ArticleTitle><Abstract><AbstractText>Text {n}.</AbstractText>"
          "</Abstract></Article></MedlineCitation></PubmedArticle>")


def pubmed_xml(count: int, title: str = "") -> bytes:
    records = "".join(RECORD.format(n=n) for n in range(1, count + 1))
    return ('<?xml version="1.0" encoding="UTF-8"?><PubmedArticleSet>' + records + title
            + "</PubmedArticleSet>").encode()


def bomb(root: str = "PubmedArticleSet") -> bytes:
    entities = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)]
    return (f'<?xml version="1.0"?><!DOCTYPE {root} [' + "".join(entities) + "]>"
            f"<{root}><PubmedArticle><MedlineCitation><PMID>3</PMID><Article>"
            f"<ArticleTitle>&lol9;</ArticleTitle></Article></MedlineCitation></PubmedArticle>"
            f"</{root}>").encode()


def parse(path: Path) -> list:
    return list(detect(path).parse(path))


def write(tmp_path: Path, name: str, content: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def test_truncated_gzip_mid_stream(tmp_path: Path) -> None:
    data = gzip.compress(pubmed_xml(20_000))  # 4 MB: the parser reads 1 MB at a time
    path = write(tmp_path, "cut.xml.gz", data[: len(data) * 2 // 3])
    records = []
    with pytest.raises(IngestInputError, match="truncated") as raised:
        for record in PubmedIngestor().parse(path):
            records.append(record)
    assert str(path) in str(raised.value) and records  # what came before is not lost


def test_truncated_gzip_at_the_start(tmp_path: Path) -> None:
    path = write(tmp_path, "cut.xml.gz", gzip.compress(pubmed_xml(50))[:200])
    with pytest.raises(IngestInputError, match="truncated or corrupt"):
        parse(path)


@pytest.mark.parametrize("ingestor, content", [
    (PubmedIngestor(), b'<?xml version="1.0"?><PubmedArticleSet><PubmedArticle><oops>'
                       b"</PubmedArticleSet>"),
    (PubmedIngestor(), pubmed_xml(5)[:-40]),  # a plain file cut mid-record
    (JatsIngestor(), b"<article><front><article-meta></front></article>"),
    (SplIngestor(), b'<document xmlns="urn:hl7-org:v3"><title>x</document>'),
    (MedquadXmlIngestor(), b'<Document id="1"><Focus>x</Document>'),
])
def test_invalid_xml(tmp_path: Path, ingestor, content: bytes) -> None:
    path = write(tmp_path, "bad.xml", content)
    with pytest.raises(IngestInputError, match="invalid XML") as raised:
        list(ingestor.parse(path))
    assert str(path) in str(raised.value)


def test_latin1_declared_utf8(tmp_path: Path) -> None:
    content = ('<?xml version="1.0" encoding="UTF-8"?><PubmedArticleSet><PubmedArticle>'
               '<MedlineCitation><PMID>2</PMID><Article><ArticleTitle>Caf\u00e9 \u00e9t\u00e9'
               "</ArticleTitle></Article></MedlineCitation></PubmedArticle>"
               "</PubmedArticleSet>").encode("latin-1")
    path = write(tmp_path, "latin1.xml", content)
    with pytest.raises(IngestInputError, match="not valid UTF-8") as raised:
        parse(path)
    assert str(path) in str(raised.value)


def test_empty_and_binary(tmp_path: Path) -> None:
    for name, content, message in (("empty.xml", b"", "empty"),
                                   ("garbage.bin", os.urandom(4096), "binary"),
                                   ("one-line.txt", b"x" * (5 << 20), "unrecognised")):
        with pytest.raises(IngestInputError, match=message):
            parse(write(tmp_path, name, content))
    with pytest.raises(IngestInputError, match="empty"):
        list(PubmedIngestor().parse(write(tmp_path, "empty2.xml", b"")))


@pytest.mark.parametrize("ingestor, root", [(PubmedIngestor(), "PubmedArticleSet"),
                                            (JatsIngestor(), "article"),
                                            (SplIngestor(), "document"),
                                            (MedquadXmlIngestor(), "Document")])
def test_entity_expansion_bomb(tmp_path: Path, ingestor, root: str) -> None:
    path = write(tmp_path, "bomb.xml", bomb(root))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    with pytest.raises(IngestInputError, match="entit") as raised:
        list(ingestor.parse(path))
    assert time.monotonic() - started < 2
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 100_000  # KiB
    assert str(path) in str(raised.value)


def test_bomb_declared_beyond_the_sniffed_head(tmp_path: Path) -> None:
    padded = bomb().replace(b"[<!ENTITY", b"[<!-- " + b"x" * 9000 + b" --><!ENTITY", 1)
    path = write(tmp_path, "bomb.xml", padded)
    with pytest.raises(IngestInputError, match="entit"):
        list(PubmedIngestor().parse(path))


def test_record_without_pmid(tmp_path: Path) -> None:
    xml = pubmed_xml(3).replace(b'<PMID Version="1">2</PMID>', b"")
    records = parse(write(tmp_path, "missing.xml", xml))
    assert [type(r) for r in records] == [Document, RecordError, Document]
    assert records[1].record_id == "record 2" and "no PMID" in records[1].message
    assert [r.key for r in records if isinstance(r, Document)] == ["pmid:1", "pmid:3"]


def test_no_records(tmp_path: Path) -> None:
    path = write(tmp_path, "none.xml", b"<PubmedArticleSet></PubmedArticleSet>")
    with pytest.raises(IngestInputError, match="no PubmedArticle"):
        parse(path)


def test_spl_without_set_id(tmp_path: Path) -> None:
    path = write(tmp_path, "label.xml", b'<document xmlns="urn:hl7-org:v3"><title>T</title>'
                                        b"</document>")
    (error,) = parse(path)
    assert isinstance(error, RecordError) and "setId" in error.message
