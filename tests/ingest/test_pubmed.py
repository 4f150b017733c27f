"""PubMed/MEDLINE XML on real NLM files and on small hand-made records."""

from __future__ import annotations

import gzip
from collections import Counter
from pathlib import Path

import pytest

from medcite.ingest.pubmed import NO_TITLE, PubmedIngestor
from medcite.models import Deletion, Document, RecordError, SourceType


@pytest.fixture(scope="module")
def pubmed_2021(pubmed_demo_file: Path) -> list:
    return list(PubmedIngestor().parse(pubmed_demo_file))


@pytest.fixture(scope="module")
def by_pmid(pubmed_2021: list) -> dict[str, Document]:
    return {r.pmid: r for r in pubmed_2021 if isinstance(r, Document)}


def test_update_file_counts(pubmed_2021: list) -> None:
    kinds = Counter(type(r).__name__ for r in pubmed_2021)
    docs = [r for r in pubmed_2021 if isinstance(r, Document)]
    assert kinds == {"Document": 20_788, "Deletion": 20}  # one DeleteCitation of 20 PMIDs
    assert sum(not d.title_only for d in docs) == 18_445
    assert all(d.title_only == (not d.sections) for d in docs)
    # Versioned records (F1000-style) repeat a PMID with <PMID Version="2"> ...: same key,
    # higher revision, which the store lets replace the lower one.
    assert len({d.key for d in docs}) == 20_783
    assert [d.revision for d in docs if d.pmid == "30271887"] == [1, 2, 3, 4]
    assert all(d.key == f"pmid:{d.pmid}" and d.url == f"https://pubmed.ncbi.nlm.nih.gov/{d.pmid}/"
               and d.source_type is SourceType.RESEARCH for d in docs)
    assert sum(d.year is None for d in docs) == 0
    deletions = [r for r in pubmed_2021 if isinstance(r, Deletion)]
    assert Deletion(key="pmid:31688362") in deletions


def test_mirtazapine_record_keeps_structured_labels(by_pmid: dict[str, Document]) -> None:
    doc = by_pmid["34092821"]
    assert "Mirtazapine" in doc.title
    assert [s.label for s in doc.sections][:3] == ["Introduction", "Objective",
                                                   "Material and Methods"]
    assert "CYP2D6" in doc.sections[0].text
    assert doc.year == 2021 and doc.language == "eng" and not doc.title_only
    assert doc.source and doc.publication_types
    assert all("<" not in s.text for s in doc.sections)


def test_metadata_fields(pubmed_2021: list, by_pmid: dict[str, Document]) -> None:
    docs = [r for r in pubmed_2021 if isinstance(r, Document)]
    assert sum(d.doi is not None for d in docs) > 19_000
    assert sum(d.pmcid is not None for d in docs) > 5_000
    assert all(d.pmcid.startswith("PMC") for d in docs if d.pmcid)
    assert sum(bool(d.mesh_terms) for d in docs) > 300  # most 2021 records not yet indexed
    assert sum(bool(d.keywords) for d in docs) > 5_000
    erratum = by_pmid["33977567"]  # an erratum with an empty ArticleTitle
    assert erratum.title == NO_TITLE and erratum.title_only
    assert "Published Erratum" in erratum.publication_types


@pytest.mark.slow
def test_1970s_file_counts(pubmed_1970s_file: Path) -> None:
    docs = [r for r in PubmedIngestor().parse(pubmed_1970s_file) if isinstance(r, Document)]
    assert len(docs) == 30_000
    assert sum(not d.title_only for d in docs) == 14_832


def test_efetch_record(shared_data: Path) -> None:
    (doc,) = PubmedIngestor().parse(shared_data / "pmc_oa_samples" / "pubmed-29768149.xml")
    assert doc.key == "pmid:29768149" and doc.year == 2018
    assert doc.doi == "10.1056/NEJMoa1715274"
    assert doc.source == "The New England journal of medicine"
    assert [s.label for s in doc.sections] == ["BACKGROUND", "METHODS", "RESULTS", "CONCLUSIONS"]
    # "&#946;\n<sub>2</sub>-agonist": the line break is layout, the <sub> text stays.
    assert "fast-acting β2-agonist" in doc.sections[0].text


ARTICLE = """<PubmedArticle><MedlineCitation Status="MEDLINE" Owner="NLM">{pmid}<Article>
<Journal><JournalIssue><PubDate>{date}</PubDate></JournalIssue><Title>J Test</Title></Journal>
{title}{abstract}
<AuthorList CompleteYN="Y"><Author><LastName>Doe</LastName></Author></AuthorList>
<Language>eng</Language>{extra}
<PublicationTypeList><PublicationType>Randomized Controlled Trial</PublicationType>
</PublicationTypeList></Article>
<MeshHeadingList><MeshHeading><DescriptorName UI="D1">Magnesium</DescriptorName>
<QualifierName>therapeutic use</QualifierName></MeshHeading></MeshHeadingList>
<KeywordList><Keyword>sleep <i>quality</i></Keyword></KeywordList></MedlineCitation>
<PubmedData><History><PubMedPubDate PubStatus="entrez"><Year>2020</Year></PubMedPubDate></History>
<ArticleIdList><ArticleId IdType="pubmed">1</ArticleId><ArticleId IdType="pmc">PMC42</ArticleId>
<ArticleId IdType="doi">10.1/idlist</ArticleId></ArticleIdList>
<ReferenceList><Reference><Citation>A ref</Citation><ArticleIdList>
<ArticleId IdType="pmc">PMC999</ArticleId></ArticleIdList></Reference>
<ReferenceList><Reference><Citation>Nested</Citation></Reference></ReferenceList>
</ReferenceList></PubmedData></PubmedArticle>"""


def article(pmid: str = '<PMID Version="1">1</PMID>', date: str = "<Year>2020</Year>",
            title: str = "<ArticleTitle>Magnesium and <i>sleep</i>.</ArticleTitle>",
            abstract: str = '<Abstract><AbstractText Label="AIM">To test.</AbstractText>'
                            "<AbstractText>Unlabelled part.</AbstractText></Abstract>",
            extra: str = "") -> str:
    return ARTICLE.format(pmid=pmid, date=date, title=title, abstract=abstract, extra=extra)


def write_set(path: Path, *records: str, gz: bool = False) -> Path:
    xml = ('<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE PubmedArticleSet PUBLIC '
           '"-//NLM//DTD PubMedArticle, 1st January 2019//EN" "pubmed_190101.dtd">\n'
           "<PubmedArticleSet>" + "".join(records) + "</PubmedArticleSet>").encode()
    path.write_bytes(gzip.compress(xml) if gz else xml)
    return path


def test_hand_made_records(tmp_path: Path) -> None:
    path = write_set(
        tmp_path / "set.xml.gz",
        article(),
        article(pmid='<PMID Version="3">2</PMID>', date="<MedlineDate>1998 Dec-1999 Jan</MedlineDate>",
                title="<ArticleTitle></ArticleTitle><VernacularTitle>Titre</VernacularTitle>",
                abstract="", extra='<ELocationID EIdType="doi" ValidYN="Y">10.1/eloc</ELocationID>'),
        article(pmid="<PMID>3</PMID>", date="", extra="<ArticleDate><Year>2011</Year></ArticleDate>"),
        "<DeleteCitation><PMID Version=\"1\">77</PMID><PMID Version=\"1\">78</PMID></DeleteCitation>",
        gz=True)
    records = list(PubmedIngestor().parse(path))
    first, second, third = records[:3]
    assert first.title == "Magnesium and sleep." and first.year == 2020
    assert [(s.label, s.text) for s in first.sections] == [("AIM", "To test."),
                                                          ("", "Unlabelled part.")]
    assert first.pmcid == "PMC42"  # PubmedData's list, not a reference's
    assert first.doi == "10.1/idlist" and first.mesh_terms == ["Magnesium"]
    assert first.keywords == ["sleep quality"] and first.language == "eng"
    assert first.publication_types == ["Randomized Controlled Trial"]
    assert second.title == "Titre" and second.year == 1998 and second.revision == 3
    assert second.doi == "10.1/eloc" and second.title_only and second.sections == []
    assert third.year == 2011
    assert records[3:] == [Deletion(key="pmid:77"), Deletion(key="pmid:78")]


def test_record_without_pmid_is_reported_and_the_rest_parsed(tmp_path: Path) -> None:
    path = write_set(tmp_path / "set.xml", article(),
                     article(pmid="", title="<ArticleTitle>Orphan record</ArticleTitle>"),
                     article(pmid="<PMID>5</PMID>"))
    records = list(PubmedIngestor().parse(path))
    assert [type(r) for r in records] == [Document, RecordError, Document]
    error = records[1]
    assert error.record_id == "record 2" and "no PMID" in error.message
    assert "Orphan record" in error.message and error.path == str(path)
    assert records[2].key == "pmid:5"


def test_book_article(tmp_path: Path) -> None:
    book = ("<PubmedBookArticle><BookDocument><PMID Version=\"1\">20301295</PMID>"
            "<Book><Publisher><PublisherName>University of Washington</PublisherName></Publisher>"
            "<BookTitle>GeneReviews</BookTitle><PubDate><Year>1993</Year></PubDate></Book>"
            "<ArticleTitle>Wilson Disease</ArticleTitle><Language>eng</Language>"
            "<Abstract><AbstractText Label=\"SUMMARY\">Copper.</AbstractText></Abstract>"
            "</BookDocument><PubmedBookData><ArticleIdList><ArticleId IdType=\"bookaccession\">"
            "NBK1512</ArticleId></ArticleIdList></PubmedBookData></PubmedBookArticle>")
    (doc,) = PubmedIngestor().parse(write_set(tmp_path / "books.xml", book))
    assert doc.key == "pmid:20301295" and doc.title == "Wilson Disease"
    assert doc.source == "GeneReviews" and doc.year == 1993
    assert doc.sections[0].label == "SUMMARY"


def test_sniff() -> None:
    sniff = PubmedIngestor().sniff
    assert sniff(b'\xef\xbb\xbf  <?xml version="1.0"?>\n<!-- c -->\n<!DOCTYPE PubmedArticleSet>'
                 b"\n<PubmedArticleSet>")
    assert not sniff(b"<article><front/></article>") and not sniff(b"PubmedArticleSet")


def test_unread_blocks_are_cut_safely_at_any_chunk_size(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from medcite.ingest import pubmed

    odd = article(pmid="<PMID>9</PMID>").replace(
        '<AuthorList CompleteYN="Y">', "<AuthorList/><AuthorListX/><AuthorList CompleteYN=\"Y\">")
    path = write_set(tmp_path / "set.xml", article(), odd, article(pmid="<PMID>8</PMID>"),
                     "<DeleteCitation><PMID>7</PMID></DeleteCitation>")
    expected = list(PubmedIngestor().parse(path))
    assert [getattr(r, "key", None) for r in expected] == ["pmid:1", "pmid:9", "pmid:8", "pmid:7"]
    for size in (1, 7, 64, 1000):  # records and tags cut at every possible place
        monkeypatch.setattr(pubmed, "_CHUNK", size)
        assert list(PubmedIngestor().parse(path)) == expected, size
    stripped = pubmed._RecordStripper().feed(path.read_bytes(), final=True)
    assert b"<ReferenceList" not in stripped and b"<History" not in stripped
    # The odd record's shapes are left for libxml2; the two ordinary records lose theirs.
    assert stripped.count(b"</AuthorList>") == 1 and b"<AuthorListX/>" in stripped
