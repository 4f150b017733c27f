"""Evidence hierarchy: what kind of study a document is, and how much ranking favours it.

The design comes from the source type, then PubMed publication types, then words in the title
(many 2021 records are not yet indexed with publication types). Priors multiply fused retrieval
scores; they are gentle on purpose so that relevance still dominates.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

from medcite.models import DocumentRecord, SourceType, StudyDesign

# Strongest first; used for ordering evidence inside an article.
HIERARCHY: tuple[StudyDesign, ...] = (
    StudyDesign.GUIDELINE,
    StudyDesign.SYSTEMATIC_REVIEW,
    StudyDesign.RCT,
    StudyDesign.COHORT,
    StudyDesign.DRUG_LABEL,
    StudyDesign.REVIEW,
    StudyDesign.CASE_REPORT,
    StudyDesign.CONSUMER,
    StudyDesign.OTHER,
    StudyDesign.PRECLINICAL,
)
RANK = {design: i for i, design in enumerate(HIERARCHY)}

DEFAULT_PRIORS: dict[StudyDesign, float] = {
    StudyDesign.GUIDELINE: 1.25,
    StudyDesign.SYSTEMATIC_REVIEW: 1.2,
    StudyDesign.RCT: 1.15,
    StudyDesign.COHORT: 1.05,
    StudyDesign.DRUG_LABEL: 1.1,
    StudyDesign.REVIEW: 1.0,
    StudyDesign.CASE_REPORT: 0.9,
    StudyDesign.CONSUMER: 1.0,
    StudyDesign.OTHER: 1.0,
    StudyDesign.PRECLINICAL: 0.8,
}

_PUBLICATION_TYPES: tuple[tuple[StudyDesign, frozenset[str]], ...] = (
    (StudyDesign.GUIDELINE, frozenset({"practice guideline", "guideline", "consensus development conference"})),
    (StudyDesign.SYSTEMATIC_REVIEW, frozenset({"systematic review", "meta-analysis", "network meta-analysis"})),
    (StudyDesign.RCT, frozenset({"randomized controlled trial", "controlled clinical trial",
                                 "clinical trial, phase iii", "clinical trial, phase ii",
                                 "equivalence trial", "pragmatic clinical trial"})),
    (StudyDesign.COHORT, frozenset({"observational study", "multicenter study", "comparative study",
                                    "clinical trial", "clinical study", "evaluation study"})),
    (StudyDesign.CASE_REPORT, frozenset({"case reports"})),
    (StudyDesign.REVIEW, frozenset({"review", "scoping review"})),
)

_TITLE_PATTERNS: tuple[tuple[StudyDesign, re.Pattern[str]], ...] = (
    (StudyDesign.SYSTEMATIC_REVIEW, re.compile(r"systematic review|meta-?analys|umbrella review", re.I)),
    (StudyDesign.RCT, re.compile(r"randomi[sz]ed|placebo-controlled|controlled trial", re.I)),
    (StudyDesign.COHORT, re.compile(r"\bcohort\b|case-control|prospective|retrospective|observational|cross-sectional", re.I)),
    (StudyDesign.CASE_REPORT, re.compile(r"case report|a case of\b|case series", re.I)),
    (StudyDesign.REVIEW, re.compile(r"\breview\b", re.I)),
)


# Work on animals, cells or microbes: MeSH indexes it with "Animals" and without "Humans"; the
# title of a record not yet indexed names the model.
_PRECLINICAL_TITLE = re.compile(
    r"\b(rats?|mice|murine|mouse|rodents?|rabbits?|zebrafish|drosophila|porcine|bovine|canine|"
    r"in vitro|in silico|cell lines?|cultured cells|bacillus|strains? of|yeast|larvae|piglets?|"
    r"hamsters?|guinea pigs?|xenograft\w*)\b", re.I)


# An animal model named in the title outweighs MeSH: older records about monkeys or dogs are
# often indexed with "Humans" too ("Reinforcing properties of procaine in rhesus monkeys").
_ANIMAL_TITLE = re.compile(
    r"\b(rats?|mice|murine|mouse|rodents?|rabbits?|zebrafish|drosophila|monkeys?|macaques?|baboons?|"
    r"(non-?human )?primates|dogs|beagles|cats|sheep|ewes|lambs|pigs|swine|piglets?|ferrets?|hamsters?|guinea pigs?|"
    r"cattle|calves|horses|chick embryos?)\b", re.I)
_PEOPLE_TITLE = re.compile(
    r"\b(humans?|patients?|people|persons|men|women|children|infants|adults|volunteers|subjects|"
    r"participants|clinical|users|smokers|veterans|adolescents)\b", re.I)


def preclinical(document: DocumentRecord) -> bool:
    """Animal, in-vitro or microbial research (never a clinical design)."""
    if document.source_type is not SourceType.RESEARCH:
        return False
    if _ANIMAL_TITLE.search(document.title) and not _PEOPLE_TITLE.search(document.title):
        return True
    mesh = {m.split("/", 1)[0].strip().lower() for m in document.mesh_terms}
    if "animals" in mesh and "humans" not in mesh:
        return True
    if mesh and "humans" not in mesh and any(
            "bacteri" in m or "in vitro" in m or _PRECLINICAL_TITLE.search(m) for m in mesh):
        return True
    # Title words decide only for records MeSH has not indexed yet.
    return not mesh and bool(_PRECLINICAL_TITLE.search(document.title))


class _Facts(NamedTuple):
    source_type: SourceType
    publication_types: tuple[str, ...]
    title: str


def study_design(document: DocumentRecord) -> StudyDesign:
    """Classify a stored document on the evidence hierarchy."""
    if preclinical(document):
        return StudyDesign.PRECLINICAL
    return _design(document.source_type, tuple(document.publication_types), document.title)


@lru_cache(maxsize=65_536)
def _design(source_type: SourceType, publication_types: tuple[str, ...], title: str) -> StudyDesign:
    document = _Facts(source_type, publication_types, title)
    if document.source_type is SourceType.GUIDELINE:
        return StudyDesign.GUIDELINE
    if document.source_type is SourceType.DRUG_LABEL:
        return StudyDesign.DRUG_LABEL
    if document.source_type is SourceType.CONSUMER_HEALTH:
        return StudyDesign.CONSUMER
    types = {t.lower() for t in document.publication_types}
    for design, names in _PUBLICATION_TYPES:
        if types & names:
            return design
    for design, pattern in _TITLE_PATTERNS:
        if pattern.search(document.title):
            return design
    return StudyDesign.OTHER
