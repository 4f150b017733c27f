"""DailyMed SPL drug labels on the five openFDA test labels."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from medcite.ingest.spl import LOINC_SECTIONS, SplIngestor
from medcite.models import Document, SourceType


@pytest.fixture(scope="module")
def labels(shared_data: Path) -> dict[str, Document]:
    folder = shared_data / "dailymed_spl_samples"
    parsed = {}
    for name in ("humira", "lipitor-orig", "lipitor-repack", "cough", "no-title"):
        (doc,) = SplIngestor().parse(folder / f"{name}.xml")
        parsed[name] = doc
    return parsed


def codes(doc: Document) -> set[str]:
    return {s.code for s in doc.sections if s.code}


def test_humira(labels: dict[str, Document]) -> None:
    doc = labels["humira"]
    set_id = "608d4f0d-b19f-46d3-749a-7159aa5f933d"
    assert doc.key == f"spl:{set_id}" and doc.spl_set_id == set_id
    assert doc.source_type is SourceType.DRUG_LABEL
    assert doc.title == "HUMIRA (adalimumab) injection, for subcutaneous use"
    assert doc.source == "AbbVie Inc." and doc.year == 2013
    assert doc.spl_version == "1560" and doc.revision == 1560
    assert doc.url == f"https://dailymed.nlm.nih.gov/dailymed/drugInfo.cfm?setid={set_id}"
    assert {"34070-3", "43685-7", "34066-1", "34084-4"} <= codes(doc)  # contraindications ...
    assert doc.keywords == ["Humira", "Adalimumab"]
    boxed = next(s for s in doc.sections if s.code == "34066-1")
    assert boxed.label == "WARNING: SERIOUS INFECTIONS AND MALIGNANCY"
    assert "SERIOUS INFECTIONS" in boxed.text
    # Unclassified subsections inherit their parent's code and nest their labels.
    serious = next(s for s in doc.sections if s.label.endswith("5.1 Serious Infections"))
    assert serious.code == "43685-7"
    assert serious.label == "5 WARNINGS AND PRECAUTIONS > 5.1 Serious Infections"


def test_lipitor_drug_interactions(labels: dict[str, Document]) -> None:
    doc = labels["lipitor-orig"]
    assert doc.title == "LIPITOR® (atorvastatin calcium) Tablets for oral administration"
    interactions = [s for s in doc.sections if s.code == "34073-7"]
    assert interactions and interactions[0].label == "7 DRUG INTERACTIONS"
    assert any("Grapefruit" in s.label for s in interactions)
    assert any("Clarithromycin" in s.text for s in interactions)
    # A contraindication written only as a subsection title is kept as text.
    contraindications = " ".join(s.text for s in doc.sections if s.code == "34070-3")
    assert "Active liver disease" in contraindications
    assert "atorvastatin calcium" in doc.keywords
    # Lists and tables become lines, never markup.
    for section in doc.sections:
        assert not re.search(r"<[a-zA-Z]", section.text)
    assert any(line.startswith("- ") for s in doc.sections for line in s.text.splitlines())
    assert any(" | " in s.text for s in doc.sections)


def test_repackager_label_is_its_own_document(labels: dict[str, Document]) -> None:
    orig, repack = labels["lipitor-orig"], labels["lipitor-repack"]
    assert repack.key == "spl:17a163ef-b349-4e32-bc8c-b02bac7f65d6" != orig.key
    assert repack.year == 2012 and repack.source != orig.source


def test_titles_from_products(labels: dict[str, Document]) -> None:
    assert labels["no-title"].title == "Haloperidol tablet"
    assert labels["no-title"].year == 2010 and labels["no-title"].revision == 1
    # An OTC label titled only "Drug Facts" is named after its product.
    cough = labels["cough"]
    assert cough.title.startswith("TRIAMINIC Childrens Night Time Cold and Cough")
    assert {"55106-9", "55105-1", "50570-1"} <= codes(cough)  # active ingredient, purpose ...


def test_sections_are_coded_and_non_empty(labels: dict[str, Document]) -> None:
    for doc in labels.values():
        assert doc.sections
        for section in doc.sections:
            assert section.text.strip() and section.label
            assert section.code and re.fullmatch(r"\d{4,5}-\d", section.code)
        assert "48780-1" not in codes(doc)  # product data elements carry no text
    assert LOINC_SECTIONS["34073-7"] == "Drug Interactions"
