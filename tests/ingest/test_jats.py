"""PMC JATS full text on the eight PMC Open Access samples and a hand-made article set."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from medcite.ingest.jats import JatsIngestor
from medcite.models import Document, RecordError

EXPECTED = {  # file: (PMCID, PMID, year)
    "1471-2180-11-174.nxml": ("PMC3166277", "21810267", 2011),
    "1472-6831-8-11.nxml": ("PMC2329613", "18405359", 2008),
    "6605965a.nxml": ("PMC2994229", "21045829", 2010),
    "ehp-116-1694.nxml": ("PMC2599765", "19079722", 2008),
    "mds526.nxml": ("PMC3574550", "23149571", 2012),
    "pntd.0002065.nxml": ("PMC3585041", "23469300", 2013),
    "pone.0000217.nxml": ("PMC1790863", "17299597", 2007),
    "pone.0046493.nxml": ("PMC3460867", "23029536", 2012),
}


@pytest.fixture(scope="module")
def articles(shared_data: Path) -> dict[str, Document]:
    folder = shared_data / "pmc_oa_samples"
    parsed = {}
    for name in EXPECTED:
        (doc,) = JatsIngestor().parse(folder / name)
        parsed[name] = doc
    return parsed


def test_identity_and_metadata(articles: dict[str, Document]) -> None:
    for name, (pmcid, pmid, year) in EXPECTED.items():
        doc = articles[name]
        assert (doc.key, doc.pmcid, doc.pmid, doc.year) == (f"pmc:{pmcid}", pmcid, pmid, year), name
        assert doc.url == f"https://www.ncbi.nlm.nih.gov/pmc/articles/{pmcid}/"
        assert doc.doi and doc.source and doc.title and not doc.title_only
        assert doc.publication_types == ["Journal Article"]  # research-article
    assert articles["1471-2180-11-174.nxml"].title == (
        "Factors influencing lysis time stochasticity in bacteriophage λ")
    assert articles["1471-2180-11-174.nxml"].source == "BMC Microbiology"
    assert "colorectal cancer" in articles["6605965a.nxml"].keywords


def test_sections(articles: dict[str, Document]) -> None:
    doc = articles["1471-2180-11-174.nxml"]
    labels = [s.label for s in doc.sections]
    assert labels[:3] == ["Abstract > Background", "Abstract > Results", "Abstract > Conclusions"]
    assert "Results > Effect of Host Growth Rates" in labels
    assert "Methods > Statistical analysis" in labels
    # Administrative sections and back matter stay out.
    assert not any(l.startswith(("Competing interests", "Authors' contributions",
                                 "Supplementary Material")) for l in labels)
    for article in articles.values():
        for section in article.sections:
            assert section.text and not re.search(r"<[a-z][\w:-]*[\s/>]", section.text)
    # Numeric citation markers go ("genotypes [1-9]."), other bracketed numbers stay.
    background = next(s.text for s in doc.sections if s.label == "Background")
    assert "despite identical environments and genotypes. Population" in background
    assert not re.search(r"\[\d+\]", background)
    assert any("F[1,12] = 8.42" in s.text for s in doc.sections)
    # Unstructured abstract, author summary, and body paragraphs before the first <sec>.
    assert [s.label for s in articles["pntd.0002065.nxml"].sections][:3] == [
        "Abstract", "Author Summary", "Introduction"]
    assert articles["6605965a.nxml"].sections[4].label == "Introduction"
    assert "(American Cancer Society, 2007)" in articles["6605965a.nxml"].sections[4].text


NXML = """<?xml version="1.0"?>
<!DOCTYPE pmc-articleset PUBLIC "-//NLM//DTD ARTICLE SET 2.0//EN" "articleset.dtd">
<pmc-articleset>
<article article-type="review-article" xml:lang="en"><front><journal-meta>
<journal-title-group><journal-title>Test Journal</journal-title></journal-title-group>
</journal-meta><article-meta><article-id pub-id-type="pmid">111</article-id>
<title-group><article-title>A <italic>review</italic><xref ref-type="fn" rid="f1">*</xref></article-title></title-group>
<pub-date pub-type="ppub"><year>2019</year></pub-date><pub-date pub-type="epub"><year>2018</year></pub-date>
<abstract><p>Short abstract.</p></abstract></article-meta></front>
<body><sec><title>Findings</title><p>Shown before [<xref ref-type="bibr" rid="b1">1</xref>].</p>
<table-wrap><table><tr><td>cell noise</td></tr></table></table-wrap>
<list><list-item><p>first item</p></list-item><list-item><p>second item</p></list-item></list>
<sec><title>Detail</title><p>Nested text.</p></sec></sec>
<sec sec-type="COI-statement"><title>Conflicts of interest</title><p>None.</p></sec></body>
</article>
<article><front><article-meta><title-group><article-title>No ids</article-title></title-group>
</article-meta></front></article>
</pmc-articleset>"""


def test_article_set_and_fallbacks(tmp_path: Path) -> None:
    path = tmp_path / "set.xml"
    path.write_text(NXML)
    assert JatsIngestor().sniff(path.read_bytes()[:8192])
    doc, error = JatsIngestor().parse(path)
    assert doc.key == "pmid:111" and doc.pmcid is None and doc.year == 2018  # epub first
    assert doc.title == "A review" and doc.publication_types == ["Review"]
    assert doc.language == "en"
    assert [(s.label, s.text) for s in doc.sections] == [
        ("Abstract", "Short abstract."),
        ("Findings", "Shown before.\n- first item\n- second item"),
        ("Findings > Detail", "Nested text."),
    ]
    assert isinstance(error, RecordError) and error.record_id == "article 2"
