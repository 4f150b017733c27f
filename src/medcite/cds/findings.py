"""What the indexed corpus documents for a medication order: interactions and label warnings.

An interaction is what medcite's own answer says: the question "Does X interact with Y?" is
answered by the engine (an article stored like any other asked question, so a card can link
to it), and only the article's verified clinical statements that are about both drugs, state
an interaction and state a harm, a precaution or a change in exposure count: a trial that gave
both drugs, or "had no clinically significant effect", is nothing to act on at the moment of
ordering. "About both" is checked again on the sentence itself, without the section heading
the article may lean on: each drug is named, by name or by a class it belongs to, or the
document is its own label ("Dosage in Patients Taking Cyclosporine, Clarithromycin, ..." does
not make a sentence about Lipitor with cyclosporine one about clarithromycin). A drug label's
sentence counts only for a pair with the label's own drug, and two drugs that are items of one
list ("risk increased with drug interactions (e.g., cyclosporine, gemfibrozil, ...)") are each
another drug's co-medication, not a pair. Nothing found is no finding: a card never says "no
interaction". A pair no indexed document names together (by name, class, or one drug's own
label naming the other) is not asked at all, which keeps a hook fast and stores no empty
article.

A label warning is a sentence of the drug's own DailyMed label under its boxed warning or its
contraindications, read from the store verbatim.

Both are cached per drug (pair) and corpus generation for ``CACHE_SECONDS``.
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from medcite.models import AgentFrame, Article, AskedFor, DocumentRecord, SourceType, StatementKind
from medcite.store.base import SearchFilters, Store
from medcite.synthesis.relevance import (
    aboutness,
    document_subject,
    emphasised,
    names_any,
    states_item,
)
from medcite.vocab.classes import classes_of
from medcite.vocab.concepts import Concept

CACHE_SECONDS = 600.0
CACHE_ENTRIES = 4096
QUOTES_PER_CARD = 3
LABEL_SENTENCES = 4
MIN_SENTENCE_CHARS = 12  # "None." under Contraindications states none

# A combination the source forbids; "is not contraindicated" is no such statement.
_FORBIDS = re.compile(r"(?<!\bnot )\bcontraindicat\w*|\bdo not (combine|co-?administer|use\b[^.]{0,40}\bwith)"
                      r"|\bmust not\b|\bshould never\b", re.I)
# A harm or a precaution the sentence states about taking the two together.
_CAUTIONS = re.compile(r"\bavoid\w*|\bnot (be )?recommended\b|\bcaution\w*|\b(increase[sd]?|higher|greater)"
                       r" (the )?(risk|proportion|incidence|rate)s?\b|\brisks? of\b|\bshould be limited\b"
                       r"|\bmonitor\w*|\bdos(e|age) (adjustment|reduction)|\breduc\w* the dos(e|age)|\bserious\b"
                       r"|\btoxicit\w*|\bmyopathy\b|\brhabdomyolysis\b|\bbleeding\b|\bserotonin syndrome\b"
                       # a change in exposure: "Atorvastatin AUC was significantly increased"
                       r"|\b(AUC|Cmax|exposure|concentrations?|levels?)\b[^.]{0,40}\b(increas|decreas|reduc)\w*"
                       r"|\b(increas|decreas|reduc)\w*[^.]{0,30}\b(AUC|Cmax|exposure|concentrations?|levels?)\b", re.I)
_BOXED = re.compile(r"^(boxed warning\b|warning:)", re.I)
_CONTRAINDICATIONS = re.compile(r"^(\d+(\.\d+)*\s+)?contraindications?\b", re.I)


class Indicator(StrEnum):
    """How urgent a card is, in CDS Hooks' words."""

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class LabelSection(StrEnum):
    BOXED_WARNING = "boxed warning"
    CONTRAINDICATIONS = "contraindications"


@dataclass(frozen=True)
class Quote:
    """A verbatim sentence of an indexed document and where it stands."""

    text: str
    where: str  # "LIPITOR® (atorvastatin calcium) Tablets …, 7 DRUG INTERACTIONS > 7.4 Gemfibrozil"
    source_title: str
    source_type: str  # "Drug label", "Guideline", ...
    source_url: str | None


@dataclass(frozen=True)
class Interaction:
    """A documented interaction of two drugs, from the article answering whether they interact."""

    agents: tuple[str, str]
    quotes: tuple[Quote, ...]
    indicator: Indicator
    question: str
    article_slug: str


@dataclass(frozen=True)
class LabelWarning:
    """Sentences of a drug's own label under its boxed warning or contraindications."""

    agent: str
    section: LabelSection
    quotes: tuple[Quote, ...]
    indicator: Indicator


# The answer pipeline as the web app runs it: a question in, the stored article out.
Answer = Callable[[str], Article]


def interaction_question(a: Concept, b: Concept) -> str:
    return f"Does {a.name} interact with {b.name}?"


def label_question(a: Concept) -> str:
    return f"What are the contraindications of {a.name}?"


class Findings:
    """Interactions and label warnings for one store, cached."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._cache: OrderedDict[tuple, tuple[float, object]] = OrderedDict()
        self._lock = threading.Lock()

    def interaction(self, a: Concept, b: Concept, answer: Answer) -> Interaction | None:
        """The pair's documented interaction; ``answer`` is called only when the pair is asked
        (not cached, and named together somewhere in the store)."""
        first, second = sorted((a, b), key=lambda c: c.id)
        return self._cached(("pair", first.id, second.id),
                            lambda: self._interaction(first, second, answer))

    def label_warnings(self, a: Concept) -> list[LabelWarning]:
        return self._cached(("label", a.id), lambda: self._label_warnings(a))

    def label_article(self, a: Concept, answer: Answer) -> Article:
        """The article a label warning card links to, to read the drug's safety in full."""
        return self._cached(("label-article", a.id), lambda: answer(label_question(a)))

    # -- interactions -------------------------------------------------------------------------

    def _interaction(self, a: Concept, b: Concept, answer: Answer) -> Interaction | None:
        if not self._documents(a) & self._documents(b):
            return None  # nothing indexed names both: no answer can be about the pair
        article = answer(interaction_question(a, b))
        if not article.verification.passed:
            return None  # a cited source changed and the article is not re-verified yet
        references = {r.number: r for r in article.references}
        quotes: list[Quote] = []
        for statement in article.statements():
            quote = statement.quote
            if (statement.kind is not StatementKind.CLINICAL or not quote or not statement.citations
                    or not {a.id, b.id} <= set(statement.about)
                    or not states_item(quote, AskedFor.INTERACTION)
                    or _indicator([quote]) is Indicator.INFO or _repeats(quote, quotes)):
                continue
            reference = references.get(statement.citations[0])
            if reference is None or not _names_both(quote, article, (a, b),
                                                    self.store.document(reference.document_key)):
                continue
            quotes.append(Quote(text=quote, where=statement.where or reference.title,
                                source_title=reference.title, source_type=reference.type_label,
                                source_url=reference.url))
            if len(quotes) == QUOTES_PER_CARD:
                break
        if not quotes:
            return None
        assert article.slug
        return Interaction(agents=(a.name, b.name), quotes=tuple(quotes),
                           indicator=_indicator(q.text for q in quotes), question=article.question,
                           article_slug=article.slug)

    def _documents(self, a: Concept) -> set[int]:
        """Documents naming the drug or a class it belongs to."""
        names = _names(a)
        classes = classes_of(*names)
        return self._cached(("documents", a.id), lambda: self.store.matching_documents(
            [*names, *(n for class_names in classes.values() for n in class_names)]))

    # -- label warnings -----------------------------------------------------------------------

    def _label_warnings(self, a: Concept) -> list[LabelWarning]:
        names = _names(a)
        hits = self.store.lexical_search(names, limit=50,
                                         filters=SearchFilters(source_types=(SourceType.DRUG_LABEL,)))
        ranked = list(dict.fromkeys(h.document_id for h in hits))
        records = self.store.documents(ranked)
        labels = [records[i] for i in ranked if i in records and names_any(records[i].title, names)]
        found: dict[LabelSection, LabelWarning] = {}
        for label in labels:
            sentences: dict[LabelSection, list[Quote]] = {}
            for passage in self.store.passages_of(label.key):
                top = passage.section.split(">", 1)[0].strip()
                section = (LabelSection.BOXED_WARNING if _BOXED.match(top) else
                           LabelSection.CONTRAINDICATIONS if _CONTRAINDICATIONS.match(top) else None)
                if section is None or section in found:
                    continue
                taken = sentences.setdefault(section, [])
                for sentence in passage.sentence_texts():
                    sentence = sentence.strip()
                    # A run-in heading ("SERIOUS INFECTIONS") is no sentence of the warning.
                    if (len(sentence) >= MIN_SENTENCE_CHARS and len(taken) < LABEL_SENTENCES
                            and any(ch.islower() for ch in sentence)
                            and all(q.text != sentence for q in taken)):
                        taken.append(Quote(text=sentence, where=f"{label.title}, {passage.section}",
                                           source_title=label.title, source_type=label.source_type.label,
                                           source_url=label.url))
            for section, quotes in sentences.items():
                if quotes:
                    indicator = (Indicator.CRITICAL if section is LabelSection.BOXED_WARNING
                                 else Indicator.WARNING)
                    found[section] = LabelWarning(agent=a.name, section=section,
                                                  quotes=tuple(quotes), indicator=indicator)
        return [found[s] for s in LabelSection if s in found]

    # -- cache --------------------------------------------------------------------------------

    def _cached(self, key: tuple, make: Callable[[], object]):
        key = (*key, self.store.corpus_generation())
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None and hit[0] > now:
                self._cache.move_to_end(key)
                return hit[1]
        value = make()  # outside the lock: two hooks may both work it out, harmlessly
        with self._lock:
            self._cache[key] = (now + CACHE_SECONDS, value)
            while len(self._cache) > CACHE_ENTRIES:
                self._cache.popitem(last=False)
        return value


def _names(a: Concept) -> list[str]:
    return list(dict.fromkeys(n.lower() for n in [a.name, *a.synonyms, *a.brands] if n))


def _names_both(quote: str, article: Article, pair: tuple[Concept, Concept],
                document: DocumentRecord | None) -> bool:
    frames = [article.frame.subject(c.id) if article.frame else None for c in pair]
    if any(frame is None for frame in frames):
        return False
    found = [aboutness(quote, frame, document) for frame in frames if frame is not None]
    if not all(f.about for f in found) or all(f.via_document for f in found):
        return False
    if document is not None and document.source_type is SourceType.DRUG_LABEL and not any(
            document_subject(document, frame) for frame in frames if frame is not None):
        return False
    return not _co_listed(quote, [f for f in frames if f is not None])


_BETWEEN_ITEMS = re.compile(r"^[\s,;/]*(?:and|or|and/or)?[\s,;/]*$", re.I)


def _co_listed(quote: str, frames: list[AgentFrame]) -> bool:
    """The two drugs are next to each other in one list, or inside one parenthesis."""
    spans = [_mentions(quote, [*f.names, *(n for ns in f.classes.values() for n in ns)])
             for f in frames]
    for start_a, end_a in spans[0]:
        for start_b, end_b in spans[1]:
            first, second = sorted([(start_a, end_a), (start_b, end_b)])
            if _BETWEEN_ITEMS.match(quote[first[1]:second[0]]):
                return True
            opened = quote.rfind("(", 0, first[0])
            if opened != -1 and quote.find(")", opened) > second[1] and ")" not in quote[opened:first[0]]:
                return True
    return False


def _mentions(text: str, names: list[str]) -> list[tuple[int, int]]:
    found = []
    for name in names:
        if name:
            pattern = r"(?<!\w)" + r"\W+".join(map(re.escape, name.split())) + r"(?!\w)"
            found += [m.span() for m in re.finditer(pattern, text, re.I)]
    return found


def _repeats(quote: str, quotes: list[Quote]) -> bool:
    """The sentence is already quoted, alone or within a longer quote (or it holds one)."""
    text = " ".join(quote.split())
    return any(text in other or other in text for other in (" ".join(q.text.split()) for q in quotes))


def _indicator(quotes) -> Indicator:
    texts = list(quotes)
    if any(_FORBIDS.search(t) for t in texts):
        return Indicator.CRITICAL
    if any(_CAUTIONS.search(t) or emphasised(t, AskedFor.INTERACTION) for t in texts):
        return Indicator.WARNING
    return Indicator.INFO
