"""Typed domain models shared by every pipeline stage.

Ingestion produces ``Document`` objects made of ``Section`` texts; the store splits them into
``Passage`` rows with sentence spans. Retrieval returns ``PassageHit``; synthesis builds an
``Article`` whose ``Statement`` objects cite numbered ``Reference`` entries.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Literal

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
    ``medquad:GARD/0000004-1~<8 hex of the question's SHA-1>``.
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
    # Names the record says are conditions, each [name, *synonyms], for the vocabulary to learn
    # (a MedQuAD focus in the Disorders group, a MeSH heading with a disease-only qualifier).
    # Neither stored nor part of the content hash.
    condition_names: list[list[str]] = Field(default_factory=list, exclude=True)


class Deletion(BaseModel):
    """A record that tells the store to remove a document (PubMed ``DeleteCitation``)."""

    key: str


class RecordError(BaseModel):
    """A record that could not be parsed; the rest of its file still goes in."""

    path: str
    record_id: str | None = None
    message: str


def content_hash(doc: Document, key: str | None = None) -> str:
    """What identifies a document's content: a re-ingested record with the same hash changes
    nothing. ``key`` hashes it under another key (one it was stored under before a re-keying).
    Raises ``ValueError`` for text that is not Unicode (a lone surrogate)."""
    if key is not None:
        doc = doc.model_copy(update={"key": key})
    return hashlib.sha1(doc.model_dump_json().encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class PassageDraft:
    """A passage before it is stored: section label, text and sentence spans (plain tuples:
    ingest creates millions of them)."""

    section: str
    text: str
    char_start: int
    char_end: int
    sentences: tuple[tuple[int, int], ...]


@dataclass(frozen=True, slots=True)
class PreparedDocument:
    """A document ready to write: its content hash and its passages, computed by the ingest
    stage (in any process) so that a store only writes rows. ``problem`` says why it cannot be
    stored at all (the rest of its batch still is)."""

    document: Document
    content_hash: str
    passages: tuple[PassageDraft, ...]
    problem: str | None = None

    @property
    def key(self) -> str:
        return self.document.key


class SentenceSpan(BaseModel):
    """Character offsets of one sentence inside its passage's text."""

    model_config = ConfigDict(frozen=True)

    start: int
    end: int


class Passage(BaseModel):
    """A retrievable chunk of a document: one section, or a window of a long section."""

    id: int
    key: str  # "<document key>#<ordinal>", stable across re-ingestion of the same revision
    document_id: int
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
    full_text: int = 0  # research documents stored as full text (PMC), not abstracts
    last_ingest: datetime | None = None


# -- articles ---------------------------------------------------------------------------------


class Audience(StrEnum):
    """Who the reader is; the same evidence is rendered in language for them."""

    CLINICIAN = "clinician"
    STUDENT = "student"
    PATIENT = "patient"


class ReviewStatus(StrEnum):
    SUBMITTED = "submitted"
    UNDER_REVIEW = "under_review"
    APPROVED = "approved"
    REJECTED = "rejected"
    # Taken out of service by an editor, with a reason; never served as an answer. A corrected
    # version may bring it back through review.
    WITHDRAWN = "withdrawn"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").title()


class StatementKind(StrEnum):
    CLINICAL = "clinical"  # a verbatim span of a cited source
    EVIDENCE_BASE = "evidence_base"  # a fact about the evidence base itself (counts, absence)


class StudyDesign(StrEnum):
    """Evidence hierarchy, strongest first (the order is used for ranking)."""

    GUIDELINE = "guideline"
    SYSTEMATIC_REVIEW = "systematic review or meta-analysis"
    RCT = "randomized controlled trial"
    COHORT = "cohort or case-control study"
    CASE_REPORT = "case report"
    REVIEW = "narrative review"
    DRUG_LABEL = "drug label"
    CONSUMER = "consumer health information"
    OTHER = "other"
    # Animal, in-vitro or microbial work: never typed as a clinical design, ranked last.
    PRECLINICAL = "animal or in-vitro study"


class Statement(BaseModel):
    """One sentence of an article.

    A clinical statement's ``quote`` is a verbatim span of the passage behind each citation
    (``passage_keys``); ``text`` is what is shown: the quote itself for clinicians, or the quote
    with glossary plain words for patients. Verification always checks ``quote``.
    """

    text: str
    quote: str | None = None
    citations: list[int] = Field(default_factory=list)  # reference numbers, 1-based
    kind: StatementKind = StatementKind.CLINICAL
    passage_keys: list[str] = Field(default_factory=list)  # where each citation's span lives
    # Concept ids of the agents or conditions the statement stands under ("about"), and the
    # class name when it is about the agent only through a class it names ("SSRIs").
    about: list[str] = Field(default_factory=list)
    via_class: str | None = None
    # Where the quote comes from, for a reader: "Lipitor (atorvastatin) label, Drug Interactions".
    where: str | None = None
    # Plain words for the clinical terms of the quote (patients and students); the quote itself
    # is never altered.
    gloss: str | None = None


class SubSection(BaseModel):
    heading: str
    statements: list[Statement] = Field(default_factory=list)


class ArticleSection(BaseModel):
    heading: str  # "Evidence Review", "Clinical Implications", "Common Pitfalls to Avoid"
    subsections: list[SubSection] = Field(default_factory=list)


class Reference(BaseModel):
    """A numbered reference, built only from a stored document."""

    number: int
    document_key: str
    source_type: SourceType
    type_label: str  # Guideline / Research / Drug label / Consumer health
    title: str
    source: str | None = None
    year: int | None = None
    study_design: StudyDesign | None = None
    pmid: str | None = None
    pmcid: str | None = None
    doi: str | None = None
    spl_set_id: str | None = None
    url: str | None = None


class EntitySummary(BaseModel):
    """A recognised concept and how much of the corpus matched it."""

    concept_id: str
    name: str
    surface: str
    kind: str
    documents_matched: int = 0


class SearchDescription(BaseModel):
    """What was searched, so absence of evidence is an answer with its scope stated."""

    corpus_documents: int
    corpus_by_source_type: dict[str, int] = Field(default_factory=dict)
    terms: list[str] = Field(default_factory=list)
    entities: list[EntitySummary] = Field(default_factory=list)
    passages_considered: int = 0
    documents_addressing_all: int = 0  # documents that mention every entity together
    # What live search (MEDCITE_LIVE_SEARCH) fetched and ingested for this answer, one line a source.
    fetched: list[str] = Field(default_factory=list)


class Reverification(BaseModel):
    """The stored version checked again against the store after a cited source changed."""

    at: datetime
    checked: int  # statements checked
    no_longer_supported: int  # statements whose citations no longer support them
    failures: list[str] = Field(default_factory=list)  # why, one line per statement


class VerificationSummary(BaseModel):
    """Both checks run on every shown clinical statement: its wording is a span of the cited
    passage, and it is about its sub-section's agent and fits the question's population.

    ``passed`` is the state now: after a cited source changed it is the re-verification's
    outcome (false while that is pending), recorded in ``reverification``."""

    checked: int = 0
    dropped: int = 0
    passed: bool = True
    wording_dropped: int = 0
    relevance_checked: int = 0
    relevance_dropped: int = 0
    reverification: Reverification | None = None


class SourceChangeKind(StrEnum):
    WITHDRAWN = "withdrawn"  # removed from the store (a PubMed DeleteCitation)
    REVISED = "revised"  # replaced by a newer revision (or other content) of the same document


class SourceChange(BaseModel):
    """A document the article cites that was deleted or replaced after the article was written."""

    document_key: str
    change: SourceChangeKind
    at: datetime
    from_revision: int | None = None
    to_revision: int | None = None


class Withdrawal(BaseModel):
    """Who withdrew an article, when and why."""

    at: datetime
    by: str
    reason: str


# -- question frame -----------------------------------------------------------------------------


class AskedFor(StrEnum):
    """What the question asks for; the verdict must state it or say it was not found."""

    DOSE = "dose"
    MAXIMUM_DOSE = "maximum_dose"
    TIMING = "timing"
    DURATION = "duration"
    THRESHOLD = "threshold"
    CONTRAINDICATION = "contraindication"
    INDICATION = "indication"  # who should receive it: a screening or treatment recommendation
    INTERACTION = "interaction"
    ADVERSE_EFFECTS = "adverse_effects"
    EFFICACY = "efficacy"
    FIRST_LINE = "first_line"
    TREATMENT = "treatment"  # what treats or relieves it, asked as a patient asks
    COMPARISON = "comparison"
    DEFINITION = "definition"
    SYMPTOMS = "symptoms"  # how it shows: symptoms and signs
    CAUSE = "cause"  # what causes it, how it is caught
    INHERITANCE = "inheritance"  # the chance of inheriting or passing it on
    MISSED_DOSE = "missed_dose"  # what to do after a missed dose
    MECHANISM = "mechanism"
    ELIMINATION = "elimination"  # how long it stays in the body: half-life, clearance, detection
    ONSET = "onset"  # how soon it starts to work
    # What the product is, as a patient holding it asks: how it looks, what it holds, how it is
    # kept (a label's How Supplied, Description and Storage sections).
    APPEARANCE = "appearance"
    INGREDIENTS = "ingredients"
    STRENGTH = "strength"  # the strengths a product comes in (a label's Dosage Forms and Strengths)
    STORAGE = "storage"
    GENERAL = "general"

    @property
    def phrase(self) -> str:
        """How an article names it: "a maximum dose", "an interaction"."""
        return _ASKED_PHRASES[self]


_ASKED_PHRASES = {
    AskedFor.DOSE: "a dose", AskedFor.MAXIMUM_DOSE: "a maximum dose",
    AskedFor.TIMING: "when to take it", AskedFor.DURATION: "a duration of treatment",
    AskedFor.THRESHOLD: "a threshold", AskedFor.CONTRAINDICATION: "a contraindication or safety limit",
    AskedFor.INDICATION: "who should receive it",
    AskedFor.INTERACTION: "an interaction", AskedFor.ADVERSE_EFFECTS: "adverse effects",
    AskedFor.EFFICACY: "whether it works", AskedFor.FIRST_LINE: "a first-line choice",
    AskedFor.TREATMENT: "a treatment",
    AskedFor.COMPARISON: "a comparison", AskedFor.DEFINITION: "a definition", AskedFor.SYMPTOMS: "its symptoms",
    AskedFor.CAUSE: "its cause", AskedFor.INHERITANCE: "how it is inherited",
    AskedFor.MISSED_DOSE: "what to do after a missed dose",
    AskedFor.MECHANISM: "a mechanism", AskedFor.ELIMINATION: "how long it stays in the body",
    AskedFor.ONSET: "how soon it works",
    AskedFor.APPEARANCE: "what it looks like",
    AskedFor.INGREDIENTS: "what it contains", AskedFor.STRENGTH: "the strengths it comes in",
    AskedFor.STORAGE: "how to store it",
    AskedFor.GENERAL: "an answer",
}


class Population(BaseModel):
    """Who the question is about, as far as it says."""

    age_group: str | None = None  # infant, child, adolescent, adult, older adult
    age_years: float | None = None
    pregnancy: bool = False
    lactation: bool = False
    egfr: float | None = None  # mL/min/1.73 m2
    crcl: float | None = None  # mL/min
    renal_impairment: bool = False
    dialysis: bool = False  # kidney failure on dialysis: below every eGFR range a source states
    hepatic_impairment: bool = False
    weight_kg: float | None = None  # a child's weight decides a weight-banded dose
    species: str | None = None  # a non-human patient ("dog"): indexed evidence is on people

    @property
    def stated(self) -> bool:
        return any((self.age_group, self.pregnancy, self.lactation, self.renal_impairment,
                    self.hepatic_impairment, self.species))

    def describe(self) -> str:
        parts = []
        if self.age_group:
            parts.append(f"{self.age_group}" + (f" ({self.age_years:g} years)" if self.age_years is not None else ""))
        if self.pregnancy:
            parts.append("pregnancy")
        if self.lactation:
            parts.append("breastfeeding")
        if self.renal_impairment:
            value = f"eGFR {self.egfr:g}" if self.egfr is not None else (
                f"CrCl {self.crcl:g}" if self.crcl is not None else "")
            parts.append("reduced kidney function" + (f" ({value})" if value else ""))
        if self.hepatic_impairment:
            parts.append("liver impairment")
        if self.weight_kg is not None:
            parts.append(f"{self.weight_kg:g} kg")
        if self.species:
            parts.append(f"a {self.species}, not a person")
        return ", ".join(parts)


class AgentFrame(BaseModel):
    """An agent asked about: the names that identify it and the classes it belongs to."""

    concept_id: str
    name: str
    kind: str
    form: str | None = None
    names: list[str] = Field(default_factory=list)  # lower-case names a sentence may use
    classes: dict[str, list[str]] = Field(default_factory=dict)  # class name -> its names
    # The name the question used when it is not the preferred one ("genital warts" for HPV
    # infection): a sentence in the reader's own words answers them more directly.
    asked_as: str | None = None


class AskedNumber(BaseModel):
    value: float
    unit: str | None = None
    text: str


class Correction(BaseModel):
    """A word of the question read as another: a misspelling, or an everyday word for the
    condition it names ("sweating" read as hyperhidrosis)."""

    typed: str
    corrected: str
    kind: Literal["spelling", "everyday word"] = "spelling"


class QuestionFrame(BaseModel):
    """The question as the answer must address it (``medcite.retrieval.frame``)."""

    asked_for: AskedFor = AskedFor.GENERAL
    agents: list[AgentFrame] = Field(default_factory=list)
    conditions: list[AgentFrame] = Field(default_factory=list)
    population: Population = Field(default_factory=Population)
    numbers: list[AskedNumber] = Field(default_factory=list)
    alternatives: bool = False  # "zyrtec or claritin": either one, not both together
    combination: bool = False  # two or more agents taken together
    corrections: list[Correction] = Field(default_factory=list)
    # A change the reader means to make on their own ("double", "stop"): the answer is whether
    # any source supports it, never a dose to take instead.
    self_change: str | None = None
    # A clinical score the question gives ("CURB-65 score of 1" → {"curb-65": 1}): a statement
    # for another band of it (CURB-65 2) does not apply.
    scores: dict[str, float] = Field(default_factory=dict)
    # What the reader is allergic to ("allergic to penicillin, can I take amoxicillin?"): never
    # a drug taken, but the class an agent asked about may belong to.
    allergies: list[AgentFrame] = Field(default_factory=list)
    # "How long does the flu last?": a duration asked of the condition's course, not of a
    # treatment.
    course: bool = False
    # "How often is a booster needed?", "is it a daily injection?": how often it is given is
    # the dose asked for.
    frequency: bool = False
    # "Is there danger in stopping sertraline?": the effects asked are those of stopping it.
    stopping: bool = False
    # The drug classes asked whether an agent belongs to ("is pramoxine an NSAID?", "is accutane
    # like an antibiotic?"): no second agent taken with it.
    classes_asked: list[str] = Field(default_factory=list)

    def subjects(self) -> list[AgentFrame]:
        return [*self.agents, *self.conditions]

    def subject(self, concept_id: str) -> AgentFrame | None:
        return next((s for s in self.subjects() if s.concept_id == concept_id), None)


class Article(BaseModel):
    """The answer to a question: the product's main output."""

    id: str | None = None  # set when stored
    version: int = 1
    thread_id: str | None = None
    parent_id: str | None = None
    question: str
    slug: str
    headline: str
    bottom_line: list[Statement] = Field(default_factory=list)
    sections: list[ArticleSection] = Field(default_factory=list)
    references: list[Reference] = Field(default_factory=list)
    audience: Audience = Audience.CLINICIAN
    backend: str = "extractive"
    backend_note: str | None = None  # e.g. a declared fall-back from an LLM backend
    prompt_version: str | None = None
    intent: str = "general"
    emergency_notice: str | None = None
    refusal: str | None = None
    searched: SearchDescription | None = None
    frame: QuestionFrame | None = None
    # Plain-language summary built from the frame and the verdict (patients read it first).
    plain_summary: list[str] = Field(default_factory=list)
    verification: VerificationSummary = Field(default_factory=VerificationSummary)
    disclaimer: str = ""
    status: ReviewStatus = ReviewStatus.SUBMITTED
    # Review state read with the version, never part of its stored text: cited documents
    # deleted or replaced since it was written, the article's withdrawal, and the number of a
    # correction under review while this (approved) version is the one served.
    source_changes: list[SourceChange] = Field(default_factory=list)
    withdrawal: Withdrawal | None = None
    correction_pending: int | None = None
    corpus_fingerprint: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None

    def statements(self) -> list[Statement]:
        found = list(self.bottom_line)
        for section in self.sections:
            for sub in section.subsections:
                found.extend(sub.statements)
        return found
