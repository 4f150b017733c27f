"""CDS Hooks 2.0 services and cards for medication orders.

``order-select`` checks the orders the clinician selected, ``order-sign`` every draft order,
each against the patient's active medications (prefetched) and the other draft orders: one card
per documented interaction of a pair, and one per boxed warning or contraindications section of
a checked drug's own label. Each card quotes the indexed sentence verbatim, names its source
(the document page where there is one, else the medcite article) and links to the medcite
article that answers the full question.
"""

from __future__ import annotations

import re
import uuid
from itertools import combinations

from pydantic import BaseModel, Field

from medcite.cds.findings import (
    Answer,
    Findings,
    Indicator,
    Interaction,
    LabelWarning,
    Quote,
    label_question,
)
from medcite.cds.medications import IdentifiedOrder, identify
from medcite.cds.request import MedicationOrders
from medcite.vocab.concepts import Concept
from medcite.vocab.vocabulary import Vocabulary

SUMMARY_CHARS = 140  # the CDS Hooks limit
SOURCE_LABEL_CHARS = 100


class ServiceDefinition(BaseModel):
    hook: str
    id: str
    title: str
    description: str
    prefetch: dict[str, str]


class Discovery(BaseModel):
    services: list[ServiceDefinition]


class CardSource(BaseModel):
    label: str
    url: str | None = None


class CardLink(BaseModel):
    label: str
    url: str
    type: str = "absolute"


class Card(BaseModel):
    uuid: str = Field(default_factory=lambda: str(uuid.uuid4()))
    summary: str = Field(max_length=SUMMARY_CHARS)
    detail: str
    indicator: Indicator
    source: CardSource
    links: list[CardLink] = Field(default_factory=list)


class CardsResponse(BaseModel):
    cards: list[Card]


PREFETCH = {
    "patient": "Patient/{{context.patientId}}",
    "medications": "MedicationRequest?patient={{context.patientId}}&status=active",
}
SERVICES = {
    "medcite-order-select": ServiceDefinition(
        hook="order-select", id="medcite-order-select",
        title="medcite: documented interactions and label warnings (selected orders)",
        description="For the medication orders selected, cards quoting the indexed drug labels, "
                    "guidelines and research on interactions with the patient's active "
                    "medications and the other draft orders, and the boxed warning and "
                    "contraindications of each drug's label, each linked to its medcite article.",
        prefetch=PREFETCH),
    "medcite-order-sign": ServiceDefinition(
        hook="order-sign", id="medcite-order-sign",
        title="medcite: documented interactions and label warnings (orders to sign)",
        description="Before the medication orders are signed, cards quoting the indexed drug "
                    "labels, guidelines and research on interactions among them and with the "
                    "patient's active medications, and the boxed warning and contraindications "
                    "of each drug's label, each linked to its medcite article.",
        prefetch=PREFETCH),
}


def discovery() -> Discovery:
    return Discovery(services=list(SERVICES.values()))


def cards_for(orders: MedicationOrders, findings: Findings, answer: Answer,
              vocabulary: Vocabulary, base_url: str) -> CardsResponse:
    """The cards for a medication-order hook; ``answer`` asks medcite a question (the stored
    article), ``base_url`` is where medcite's pages are."""
    checked = identify(orders.checked, vocabulary)
    others = identify([o for o in orders.drafts if o not in orders.checked] + orders.active,
                      vocabulary)
    cards: list[Card] = []
    for a, b in _pairs(checked, others):
        found = findings.interaction(a, b, answer)
        if found is not None:
            cards.append(_interaction_card(found, base_url))
    for concept in _unique(c for order in checked for c in order.concepts):
        warnings = findings.label_warnings(concept)
        if warnings:
            article = findings.label_article(concept, answer)
            cards.extend(_label_card(w, _article_url(base_url, article.slug), concept)
                         for w in warnings)
    unknown = [o for o in [*checked, *others] if not o.concepts]
    if unknown:
        cards.append(_unidentified_card(unknown, checked, base_url))
    return CardsResponse(cards=cards)


def _pairs(checked: list[IdentifiedOrder], others: list[IdentifiedOrder]):
    """Each checked drug with every other drug (checked or not), once per pair; the
    ingredients of one combination product are not a pair (its own label covers them)."""
    mine = _unique(c for o in checked for c in o.concepts)
    own = {m.id for m in mine}
    rest = [c for c in _unique(c for o in others for c in o.concepts) if c.id not in own]
    orders: dict[str, set[str]] = {}
    for order in [*checked, *others]:
        for concept in order.concepts:
            orders.setdefault(concept.id, set()).add(order.order.reference)
    seen: set[frozenset[str]] = set()
    for a, b in [*combinations(mine, 2), *((m, r) for m in mine for r in rest)]:
        key = frozenset((a.id, b.id))
        one_product = len(orders[a.id]) == 1 and orders[a.id] == orders[b.id]
        if len(key) == 2 and key not in seen and not one_product:
            seen.add(key)
            yield a, b


def _unique(concepts) -> list[Concept]:
    return list({c.id: c for c in concepts}.values())


# -- cards ------------------------------------------------------------------------------------


def _interaction_card(found: Interaction, base_url: str) -> Card:
    a, b = (_title(n) for n in found.agents)
    article = _article_url(base_url, found.article_slug)
    lead = found.quotes[0]
    detail = (f"Documented in the indexed sources on {_md(a)} with {_md(b)}:\n\n"
              + "\n\n".join(_quoted(q) for q in found.quotes)
              + f"\n\nQuoted verbatim from the medcite article answering “{_md(found.question)}”.")
    return Card(summary=_summary(f"{a} + {b}: ", lead.text), detail=detail,
                indicator=found.indicator, source=_source(lead, article),
                links=[CardLink(label=f"medcite: {found.question}", url=article)])


def _label_card(warning: LabelWarning, article: str, concept: Concept) -> Card:
    lead = warning.quotes[0]
    heading = "Boxed warning" if warning.section.value == "boxed warning" else "Contraindications"
    detail = (f"{heading} of the {_md(_title(warning.agent))} label:\n\n"
              + "\n\n".join(_quoted(q) for q in warning.quotes))
    return Card(summary=_summary(f"{heading} ({_title(warning.agent)}): ", lead.text),
                detail=detail, indicator=warning.indicator, source=_source(lead, article),
                links=[CardLink(label=f"medcite: {label_question(concept)}", url=article)])


def _unidentified_card(unknown: list[IdentifiedOrder], checked: list[IdentifiedOrder],
                       base_url: str) -> Card:
    drafts = [o for o in unknown if o in checked]
    count = len(unknown)
    summary = (f"medcite could not identify the drug of {count} medication order"
               f"{'s' if count > 1 else ''}; {'they were' if count > 1 else 'it was'} not checked")
    orders = ", ".join(_md(o.order.reference) for o in unknown)
    detail = (f"No drug in medcite's vocabulary is named by {orders} (an RxNorm code alone "
              "cannot be named offline; send the code's display or the medication text). "
              f"{len(drafts)} of them {'is a draft order' if len(drafts) == 1 else 'are draft orders'}.")
    return Card(summary=summary[:SUMMARY_CHARS], detail=detail, indicator=Indicator.INFO,
                source=CardSource(label="medcite drug vocabulary", url=base_url))


def _source(quote: Quote, article: str) -> CardSource:
    label = f"{quote.source_title} ({quote.source_type})"
    if len(label) > SOURCE_LABEL_CHARS:
        keep = SOURCE_LABEL_CHARS - len(quote.source_type) - 4
        label = f"{quote.source_title[:keep].rstrip()}… ({quote.source_type})"
    return CardSource(label=label, url=quote.source_url or article)


def _quoted(quote: Quote) -> str:
    return f"> {_md(quote.text)}\n\n— {_md(quote.where)} ({_md(quote.source_type)})"


def _summary(prefix: str, text: str) -> str:
    room = SUMMARY_CHARS - len(prefix)
    if len(text) <= room:
        return prefix + text
    cut = text[:room - 1].rsplit(" ", 1)[0].rstrip(" ,;:")
    return prefix + cut + "…"


def _title(name: str) -> str:
    return name[:1].upper() + name[1:]


def _article_url(base_url: str, slug: str) -> str:
    return f"{base_url.rstrip('/')}/articles/{slug}"


# Markdown's punctuation that could turn a quoted sentence into markup (a link, HTML, emphasis);
# escaped so the reader sees the sentence exactly as indexed.
_MARKDOWN = re.compile(r"([\\`*_\[\]<>&|~!#])")
# What makes a line a list item or a heading underline ("- ", "1. ", "=").
_LINE_START = re.compile(r"^(?:([+\-=])|(\d+)([.)]))")


def _md(text: str) -> str:
    """``text`` on one line, to be shown as it is by a Markdown renderer."""
    escaped = _MARKDOWN.sub(r"\\\1", " ".join(text.split()))
    return _LINE_START.sub(lambda m: "\\" + m.group(1) if m.group(1)
                           else m.group(2) + "\\" + m.group(3), escaped)
