"""Which drugs a medication order is for, in medcite's drug vocabulary.

A name the order gives (its text, a coding's display, a referenced Medication's) is read by the
vocabulary's recognition, so "atorvastatin calcium 20 MG Oral Tablet" and "Lipitor" are both
atorvastatin, and a combination product is each of its ingredients. Spelling correction is off:
an order names its drug exactly, and a wrong guess would put a wrong drug on a card. A coding
with no display is looked up by the identifiers the vocabulary holds (FDA UNII, DrugBank);
an RxNorm code alone cannot be named offline (the vocabulary has no RxNorm table), so such an
order is reported as not identified.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from medcite.cds.request import OrderedMedication
from medcite.vocab.concepts import Concept
from medcite.vocab.vocabulary import Vocabulary

AGENT_KINDS = ("drug", "supplement")
# Code systems whose codes the vocabulary's concepts carry, by the identifier's name there.
CODE_SYSTEMS = {
    "http://fdasis.nlm.nih.gov": "unii",
    "http://www.drugbank.ca": "drugbank",
    "https://go.drugbank.com": "drugbank",
}
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"


@dataclass(frozen=True)
class IdentifiedOrder:
    """An order with the drugs it is for (empty when none could be identified)."""

    order: OrderedMedication
    concepts: tuple[Concept, ...]


def identify(orders: list[OrderedMedication], vocabulary: Vocabulary) -> list[IdentifiedOrder]:
    return [IdentifiedOrder(order=o, concepts=concepts_of(o, vocabulary)) for o in orders]


def concepts_of(order: OrderedMedication, vocabulary: Vocabulary) -> tuple[Concept, ...]:
    """The drugs the first name that names any gives, else those its codes identify."""
    for name in order.names:
        found = {m.concept.id: m.concept for m in vocabulary.recognise(name)
                 if m.concept.kind in AGENT_KINDS and m.match != "fuzzy"}
        if found:
            return tuple(found.values())
    by_code = _identifiers(vocabulary)
    found = {}
    for system, code in order.codes:
        scheme = CODE_SYSTEMS.get(system.rstrip("/"))
        concept = by_code.get((scheme, code.strip().upper())) if scheme else None
        if concept is not None:
            found[concept.id] = concept
    return tuple(found.values())


_indexes: dict[int, dict[tuple[str, str], Concept]] = {}
_lock = threading.Lock()


def _identifiers(vocabulary: Vocabulary) -> dict[tuple[str, str], Concept]:
    """(identifier name, code) -> concept, built once per loaded vocabulary."""
    with _lock:
        index = _indexes.get(id(vocabulary))
        if index is None:
            index = {}
            for kind in AGENT_KINDS:
                for concept in vocabulary.concepts(kind):
                    for scheme in ("unii", "drugbank"):
                        code = concept.identifiers.get(scheme)
                        if code:
                            index.setdefault((scheme, code.upper()), concept)
            _indexes[id(vocabulary)] = index
        return index
