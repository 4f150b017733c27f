"""Typed domain models shared by every pipeline stage.

Ingestion produces ``Document`` objects made of ``Section`` texts; the store splits them into
``Passage`` rows with sentence spans. Retrieval returns ``PassageHit``; synthesis builds an
``Article`` whose ``Statement`` objects cite numbered ``Reference`` entries.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class SourceType(StrEnum):
    """Kind of evidence a document is; drives reference labels and the evidence hierarchy."""

    GUIDELINE = "guideline"
    RESEARCH = "research"
    DRUG_LABEL = "drug_label"
    CONSUMER_HEALTH = "consumer_health"

    @property
    def label(self) -> str:
        return _SOURCE_LABELS[self]


_SOURCE_LABELS = {
    SourceType.GUIDELINE: "Guideline",
    SourceType.RESEARCH: "Research",
    SourceType.DRUG_LABEL: "Drug label",
    SourceType.CONSUMER_HEALTH: "Consumer health",
}


class Section(BaseModel):
    """A labelled block of a document's text, as the source laid it out."""

    model_config = ConfigDict(frozen=True)

    label: str = ""
    text: str
    code: str | None = None  # e.g. a LOINC code for drug-label sections


class Document(BaseModel):
    """One source document with the metadata a reference needs.

    ``key`` is the stable identity used for idempotent re-ingestion, e.g. ``pmid:34092821``,
    ``pmc:PMC3166277``, ``spl:<set id>``, ``guideline:apa_mdd_2023/pharmacotherapy``,
    ``medquad:0000001_1-1``.
    """

    key: str
    source_type: SourceType
    title: str
    sections: list[Section] = Field(default_factory=list)
    source: str | None = None  # journal or issuing body
    year: int | None = None
    pmid: str | None = None
    pmcid: str | None = None
    doi: str | None = None
    spl_set_id: str | None = None
    spl_version: str | None = None
    url: str | None = None
    publication_types: list[str] = Field(default_factory=list)
    mesh_terms: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)
    language: str | None = None
    # Source revision (PubMed <PMID Version>, SPL versionNumber): a higher one replaces a lower one.
    revision: int = 1
    title_only: bool = False  # PubMed records without an abstract


class Deletion(BaseModel):
    """A record that tells the store to remove a document (PubMed ``DeleteCitation``)."""

    key: str


class RecordError(BaseModel):
    """A record that could not be parsed; the rest of its file still goes in."""

    path: str
    record_id: str | None = None
    message: str


class SentenceSpan(BaseModel):
    """Character offsets of one sentence inside its passage's text."""

    model_config = ConfigDict(frozen=True)

    start: int
    end: int


class Passage(BaseModel):
    """A retrievable chunk of a document: one section, or a window of a long section."""

    id: int
    key: str  # "<document key>#<ordinal>", stable across re-ingestion of the same revision
    document_key: str
    ordinal: int
    section: str
    text: str
    char_start: int  # offset of this passage inside the section text
    char_end: int
    sentences: list[SentenceSpan] = Field(default_factory=list)

    def sentence_texts(self) -> list[str]:
        return [self.text[s.start : s.end] for s in self.sentences]


class DocumentRecord(BaseModel):
    """A stored document's metadata (no text), as references and filters need it."""

    id: int
    key: str
    source_type: SourceType
    title: str
    source: str | None = None
    year: int | None = None
    pmid: str | None = None
    pmcid: str | None = None
    doi: str | None = None
    spl_set_id: str | None = None
    spl_version: str | None = None
    url: str | None = None
    publication_types: list[str] = Field(default_factory=list)
    mesh_terms: list[str] = Field(default_factory=list)
    language: str | None = None
    revision: int = 1
    title_only: bool = False


class CorpusStats(BaseModel):
    """Counts that describe what the store holds; also the article's corpus fingerprint."""

    documents: int
    passages: int
    by_source_type: dict[str, int]
    by_year: dict[str, int]
    title_only: int
    last_ingest: datetime | None = None
