"""Guidelines: open-medicine JSON lines and wheel, NGC summaries, Markdown and HTML pages."""

from __future__ import annotations

from pathlib import Path

import pytest

from medcite.errors import IngestInputError
from medcite.ingest.guidelines import (GuidelineDocumentIngestor, NgcJsonlIngestor,
                                       OpenMedicineJsonlIngestor,
                                       documents_from_open_medicine_wheel, markdown_tokens)
from medcite.models import Document, RecordError, SourceType


@pytest.fixture(scope="module")
def open_medicine(shared_data: Path) -> list:
    return list(OpenMedicineJsonlIngestor().parse(
        shared_data / "open_medicine_guidelines" / "guideline_sections.jsonl"))


def test_open_medicine_jsonl(open_medicine: list) -> None:
    assert len(open_medicine) == 43 and all(isinstance(d, Document) for d in open_medicine)
    apa = next(d for d in open_medicine if d.key == "guideline:apa_mdd_2023")
    assert apa.source_type is SourceType.GUIDELINE and apa.source == "APA"
    assert apa.year == 2023 and apa.doi == "10.1037/amp0001174"
    assert apa.url == "https://doi.org/10.1037/amp0001174" and "mirtazapine" in apa.keywords
    labels = [s.label for s in apa.sections]
    assert labels[0] == "pharmacotherapy > Overview"
    assert ("pharmacotherapy > First-Line Pharmacotherapy for Adults > "
            "Other Second-Generation Antidepressants") in labels
    assert {label.split(" > ")[0] for label in labels} == {
        "pharmacotherapy", "psychotherapy", "special populations", "treatment monitoring"}
    text = "\n".join(s.text for s in apa.sections)
    assert "Mirtazapine | 15 mg/day PO at bedtime | 15-45 mg/day | 45 mg/day" in text
    assert sum("mirtazapine" in s.text.lower() for s in apa.sections) == 3
    for doc in open_medicine:
        for section in doc.sections:
            assert "**" not in section.text and "|---" not in section.text
            assert not section.text.startswith("#")


def test_wheel_gives_the_same_documents(open_medicine: list, open_medicine_wheel: Path) -> None:
    from_wheel = list(documents_from_open_medicine_wheel(open_medicine_wheel))
    assert [d.model_dump() for d in from_wheel] == [d.model_dump() for d in open_medicine]


def test_wheel_that_is_not_a_zip(tmp_path: Path) -> None:
    bad = tmp_path / "open_medicine.whl"
    bad.write_bytes(b"not a zip")
    with pytest.raises(IngestInputError, match="open_medicine.whl"):
        list(documents_from_open_medicine_wheel(bad))


def test_ngc_summaries(shared_data: Path) -> None:
    docs = list(NgcJsonlIngestor().parse(
        shared_data / "ngc_guideline_summaries_public" / "ngc_summaries_public_subset.jsonl"))
    assert len(docs) == 106 and len({d.key for d in docs}) == 106
    first = next(d for d in docs if d.key == "ngc:ngc-9568")
    assert first.source == "U.S. Preventive Services Task Force - Independent Expert Panel"
    assert first.year == 2013  # "1996 (revised 2013 Mar 19)": the text is the 2013 release
    assert [s.label for s in first.sections] == [
        "Major recommendations", "Potential benefits", "Potential harms", "Target population",
        "Interventions and practices considered", "Conditions"]
    assert first.url is None and first.source_type is SourceType.GUIDELINE
    assert sum("mirtazapine" in " ".join(s.text for s in d.sections).lower() for d in docs) == 3


def test_markdown_conversion() -> None:
    tokens = markdown_tokens(
        "# Title\n\nSome **bold** and *italic* text\ncontinued [here](https://x).\n\n"
        "## Dosing\n\n- **Apixaban:** 5 mg BID\n  - *Reduce* to 2.5 mg\n1. first\n\n"
        "| Drug | Dose |\n|---|---|\n| **A** | 1 mg |\n\nHLA-B*5801 and eGFR < 30 &amp; more\n")
    assert tokens == [(1, "Title"), (0, "Some bold and italic text continued here."),
                      (2, "Dosing"), (0, "- Apixaban: 5 mg BID"), (0, "- Reduce to 2.5 mg"),
                      (0, "1. first"), (0, "Drug | Dose"), (0, "A | 1 mg"),
                      (0, "HLA-B*5801 and eGFR < 30 & more")]


MARKDOWN = """---
title: "Magnesium for Leg Cramps"
organization: Example Society
year: 2021
doi: https://doi.org/10.1000/xyz
topics: [magnesium, cramps]
---
# Magnesium for Leg Cramps

Intro text.

## Recommendations

- Do not offer **magnesium** (weak).

### Table

| Agent | Effect |
|---|---|
| Magnesium | none |
"""


def test_markdown_guideline(tmp_path: Path) -> None:
    path = tmp_path / "cramps.md"
    path.write_text(MARKDOWN)
    ingestor = GuidelineDocumentIngestor()
    assert ingestor.sniff(path.read_bytes())
    (doc,) = ingestor.parse(path)
    assert doc.key == "guideline:magnesium-for-leg-cramps"
    assert doc.title == "Magnesium for Leg Cramps"
    assert (doc.source, doc.year) == ("Example Society", 2021)
    assert doc.doi == "10.1000/xyz" and doc.url == "https://doi.org/10.1000/xyz"
    assert doc.keywords == ["magnesium", "cramps"]
    assert [(s.label, s.text) for s in doc.sections] == [
        ("", "Intro text."),
        ("Recommendations", "- Do not offer magnesium (weak)."),
        ("Recommendations > Table", "Agent | Effect\nMagnesium | none"),
    ]


HTML = b"""<!DOCTYPE html>
<html lang="en"><head><title>Page title</title>
<meta name="citation_title" content="Hypertension &amp; Pregnancy">
<meta name="citation_publisher" content="Example College">
<meta name="citation_date" content="2019/05/01">
<meta name="citation_doi" content="10.1000/htn">
<script>alert("never run, never indexed")</script><style>p {color: red}</style></head>
<body><nav>Home | About</nav><h1>Hypertension &amp; Pregnancy</h1><p>Lead paragraph.</p>
<h2>Treatment</h2><p>Offer <b>labetalol</b>.<br>Second line.</p>
<ul><li>Nifedipine</li><li>Methyldopa</li></ul>
<table><tr><th>Drug</th><th>Dose</th></tr><tr><td>Labetalol</td><td>100 mg</td></tr></table>
<script>document.write("evil")</script><p onclick="evil()">Caf\xc3\xa9 note.</p></body></html>"""


def test_html_guideline(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    path.write_bytes(HTML)
    ingestor = GuidelineDocumentIngestor()
    assert ingestor.sniff(HTML)
    (doc,) = ingestor.parse(path)
    assert doc.title == "Hypertension & Pregnancy" and doc.key == "guideline:hypertension-pregnancy"
    assert (doc.source, doc.year, doc.doi, doc.language) == ("Example College", 2019,
                                                             "10.1000/htn", "en")
    assert [(s.label, s.text) for s in doc.sections] == [
        ("", "Lead paragraph."),
        ("Treatment", "Offer labetalol.\nSecond line.\n- Nifedipine\n- Methyldopa\n"
                      "Drug | Dose\nLabetalol | 100 mg\nCafé note."),
    ]
    text = " ".join(s.text for s in doc.sections)
    assert "alert" not in text and "evil" not in text and "color" not in text
    assert "Home" not in text


def test_guideline_errors(tmp_path: Path) -> None:
    bad_line = tmp_path / "sections.jsonl"
    bad_line.write_text('{"guideline_id": "g1", "title": "T", "section": "s", '
                        '"text_markdown": "## H\\ntext", "year": 2020}\n{not json\n'
                        '{"guideline_id": "g1", "title": "T"}\n')
    records = list(OpenMedicineJsonlIngestor().parse(bad_line))
    errors = [r for r in records if isinstance(r, RecordError)]
    assert [e.record_id for e in errors] == ["line 2", "line 3"]
    assert "text_markdown" in errors[1].message
    (doc,) = [r for r in records if isinstance(r, Document)]
    assert doc.key == "guideline:g1" and doc.sections[0].label == "s > H"
    no_title = tmp_path / "x.md"
    no_title.write_text("---\nyear: 2020\ntitle:\n---\nbody\n")
    with pytest.raises(IngestInputError, match="no title"):
        list(GuidelineDocumentIngestor().parse(no_title))
