"""The answer-backend interface: one method, ``write``.

A backend receives the analysed question and the evidence the retriever selected (passages with
their documents, already ranked) and returns an ``Article``. The pipeline verifies every citation
afterwards, whatever the backend, so a backend cannot add a reference that is not in the store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from medcite.models import Article, Audience, DocumentRecord, Passage, SearchDescription, StudyDesign

if TYPE_CHECKING:
    from medcite.retrieval.analysis import QueryAnalysis


def joined(names: list[str], conjunction: str = "and") -> str:
    """ "a", "a and b", "a, b and c": how an article lists names in its own sentences."""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + f" {conjunction} " + names[-1]


# Called with the number of tokens received so far while a model writes (CLI meter, web page).
Progress = Callable[[int], None]


@dataclass(frozen=True)
class Evidence:
    """A retrieved passage with the document it belongs to and why it was chosen."""

    passage: Passage
    document: DocumentRecord
    score: float
    design: StudyDesign
    concepts: frozenset[str] = frozenset()  # concept ids the passage mentions


@dataclass
class AnswerRequest:
    """Everything a backend may use to write an article; nothing else is allowed in."""

    analysis: QueryAnalysis
    evidence: list[Evidence]
    audience: Audience
    searched: SearchDescription
    # Evidence per concept id, for "what the evidence says about each agent" sub-sections.
    by_concept: dict[str, list[Evidence]] = field(default_factory=dict)
    # Inverse document frequency of each of the user's terms in the store: rare words carry
    # the topic, so coverage is measured by weight, not by count.
    term_weights: dict[str, float] = field(default_factory=dict)
    # Told how far a slow backend has got; a backend that answers at once never calls it.
    progress: Progress | None = None


class AnswerBackend(Protocol):
    name: str
    # True when writing is computation in this process (extractive), False when it is waiting
    # on a model server: the pipeline runs computation one answer at a time per process.
    cpu_bound: bool

    def write(self, request: AnswerRequest) -> Article: ...
