"""The default answer backend: offline, deterministic, extractive.

Every clinical statement is a verbatim sentence of a cited passage. The only other statements
are facts about the evidence base (what was searched, how many documents matched each entity,
that none addressed them together), marked ``evidence_base``. Same store and question, same
article.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from medcite.models import (
    Article,
    ArticleSection,
    Statement,
    StatementKind,
    SubSection,
)
from medcite.retrieval.evidence import RANK
from medcite.synthesis.base import AnswerRequest, Evidence
from medcite.synthesis.references import ReferenceBook
from medcite.synthesis.sentences import AskedForm, Candidate, candidates_from, is_near_duplicate
from medcite.vocab.salts import counter_ions

EVIDENCE_REVIEW = "Evidence Review"
IMPLICATIONS = "Clinical Implications"
PITFALLS = "Common Pitfalls to Avoid"


@dataclass(frozen=True)
class Caps:
    """How many statements each part of the article may hold (tunable)."""

    per_subsection: int = 4
    per_document: int = 2  # within one sub-section, so one source cannot fill it
    implications: int = 4
    pitfalls: int = 4


class ExtractiveBackend:
    name = "extractive"
    cpu_bound = True

    def __init__(self, caps: Caps | None = None) -> None:
        self.caps = caps or Caps()

    def write(self, request: AnswerRequest) -> Article:
        plan = _Plan(request, self.caps)
        return plan.article()


class _Plan:
    """Builds one article; holds the reference numbering and the statements already used."""

    def __init__(self, request: AnswerRequest, caps: Caps) -> None:
        self.request = request
        self.caps = caps
        self.book = ReferenceBook()
        self.used: list[Candidate] = []
        analysis = request.analysis
        self.concepts = _ordered_concepts(analysis)
        self.names = {cid: names for cid, (_, names) in self.concepts.items()}
        years = [e.document.year for e in request.evidence if e.document.year]
        name_words = {w for names in self.names.values() for n in names for w in _words(n)}
        self.terms = [t for t in analysis.terms if t.lower() not in name_words]
        self.candidates = candidates_from(
            _unique_evidence(request.evidence, request.by_concept), self.names,
            self.terms, max(years, default=2024), _context(request.by_concept, name_words),
            _asked_forms(analysis))

    # -- statements ---------------------------------------------------------------------------

    def _take(self, pool: list[Candidate], limit: int) -> list[Statement]:
        taken: list[Statement] = []
        from_document: Counter[str] = Counter()
        for candidate in pool:
            if len(taken) == limit:
                break
            if candidate in self.used or is_near_duplicate(candidate, self.used):
                continue
            if from_document[candidate.evidence.document.key] >= self.caps.per_document:
                continue
            from_document[candidate.evidence.document.key] += 1
            self.used.append(candidate)
            number = self.book.cite(candidate.evidence)
            taken.append(Statement(
                text=candidate.quote, quote=candidate.quote, citations=[number],
                kind=StatementKind.CLINICAL, passage_keys=[candidate.evidence.passage.key],
            ))
        return taken

    def _covers_terms(self, candidate: Candidate) -> bool:
        """Without named concepts, a sentence must carry at least half of the weight of the
        user's words (rare words weigh most) and at least two of them."""
        weights = self.request.term_weights
        total = sum(weights.get(t, 1.0) for t in self.terms)
        covered = sum(weights.get(t, 1.0) for t in self.terms if t.lower() in candidate.tokens)
        return candidate.term_hits >= 2 and total > 0 and covered >= 0.5 * total

    @staticmethod
    def _fact(text: str) -> Statement:
        return Statement(text=text, kind=StatementKind.EVIDENCE_BASE)

    # -- sections -----------------------------------------------------------------------------

    def article(self) -> Article:
        request, searched = self.request, self.request.searched
        agents = [cid for cid, (kind, _) in self.concepts.items() if kind in ("drug", "supplement")]
        combination = len(agents) >= 2
        absent_together = combination and searched.documents_addressing_all == 0
        review: list[SubSection] = []

        if absent_together:
            review.append(SubSection(heading="Absence of evidence for the combination",
                                     statements=[self._fact(self._absence_sentence(agents)),
                                                 self._fact(self._scope_sentence())]))
        elif combination:
            together = [c for c in self.candidates if set(agents) <= c.concepts]
            statements = self._take(together, self.caps.per_subsection)
            if statements:
                review.append(SubSection(heading=self._joined(agents) + " together",
                                         statements=statements))

        several = len(self.concepts) >= 2
        for cid, (kind, _) in self.concepts.items():
            # With several concepts asked about, a sentence that merely names one of them (a
            # bacterial study that uses magnesium ions) is not evidence for the reader's question.
            pool = [c for c in self.candidates if cid in c.concepts and not c.caution
                    and (c.on_topic or not several)]
            statements = self._take(pool, self.caps.per_subsection)
            if statements:
                review.append(SubSection(heading=self._display(cid), statements=statements))

        if not self.concepts:
            general = [c for c in self.candidates if self._covers_terms(c)]
            statements = self._take(general, self.caps.per_subsection)
            if statements:
                review.append(SubSection(heading="What the indexed evidence says",
                                         statements=statements))

        relevant = [c for c in self.candidates
                    if (c.concepts and c.on_topic) or (not self.concepts and self._covers_terms(c))]
        implications = self._take([c for c in relevant if c.recommendation and not c.caution],
                                  self.caps.implications)
        pitfalls = self._take([c for c in relevant if c.caution], self.caps.pitfalls)

        has_clinical = any(s.kind is StatementKind.CLINICAL for sub in review for s in sub.statements) \
            or implications or pitfalls
        if not has_clinical:
            review = [SubSection(heading="Absence of indexed evidence", statements=[
                self._fact(self._nothing_sentence()), self._fact(self._scope_sentence())])]

        sections = [ArticleSection(heading=EVIDENCE_REVIEW, subsections=review)]
        if implications:
            sections.append(ArticleSection(heading=IMPLICATIONS, subsections=[
                SubSection(heading="What the sources recommend", statements=implications)]))
        if pitfalls:
            sections.append(ArticleSection(heading=PITFALLS, subsections=[
                SubSection(heading="Cautions stated in the sources", statements=pitfalls)]))

        return Article(
            question=request.analysis.question,
            slug="",
            headline=self._headline(agents, absent_together, has_clinical),
            bottom_line=self._bottom_line(agents, absent_together, has_clinical),
            sections=sections,
            references=self.book.references(),
            audience=request.audience,
            backend="extractive",
            intent=str(request.analysis.intent),
            searched=searched,
        )

    # -- evidence-base sentences --------------------------------------------------------------

    def _display(self, cid: str) -> str:
        for mention in self.request.analysis.mentions:
            if mention.concept.id == cid:
                name = mention.concept.name
                form = getattr(mention, "form", None)
                display = f"{name} ({form})" if form else name
                return display[:1].upper() + display[1:]
        return cid.split(":", 1)[-1]

    def _joined(self, cids: list[str]) -> str:
        names = [self._display(c) for c in cids]
        return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]

    def _count(self, cid: str) -> int:
        for entity in self.request.searched.entities:
            if entity.concept_id == cid:
                return entity.documents_matched
        return 0

    def _absence_sentence(self, agents: list[str]) -> str:
        counts = "; ".join(f"{self._display(c)}: {self._count(c):,} documents" for c in agents)
        return (f"No indexed document addresses {self._joined(agents).lower()} together "
                f"(documents matching each agent — {counts}).")

    def _scope_sentence(self) -> str:
        searched = self.request.searched
        kinds = ", ".join(f"{n:,} {k.replace('_', ' ')}" for k, n in sorted(searched.corpus_by_source_type.items()))
        terms = ", ".join(searched.terms[:12])
        return (f"Searched {searched.corpus_documents:,} indexed documents ({kinds}) for: {terms}.")

    def _nothing_sentence(self) -> str:
        return ("No indexed passage addresses this question; ingest guidelines, drug labels or "
                "research on the topic (medcite ingest PATH) and ask again.")

    def _headline(self, agents: list[str], absent_together: bool, has_clinical: bool) -> str:
        subject = self._joined(list(self.concepts)) if self.concepts else "This question"
        if not has_clinical:
            return f"{subject}: no indexed evidence found"
        if absent_together:
            return f"{self._joined(agents)}: no indexed evidence on the combination"
        documents = len(self.book.documents())
        return f"{subject}: what {documents} indexed source{'s' if documents != 1 else ''} say"

    def _bottom_line(self, agents: list[str], absent_together: bool, has_clinical: bool) -> list[Statement]:
        if not has_clinical:
            return [self._fact(self._nothing_sentence())]
        lines: list[Statement] = []
        if absent_together:
            lines.append(self._fact(
                f"No indexed document addresses {self._joined(agents).lower()} together, so the "
                f"combination is unsupported by this evidence base; what follows is the evidence on "
                f"each agent separately."))
        # The cited half of the bottom line: the strongest on-topic statement already chosen,
        # about a drug before a supplement (the therapy asked about, not the add-on).
        drugs = {cid for cid, (kind, _) in self.concepts.items() if kind == "drug"}
        strongest = min(self.used, key=lambda c: (not c.on_topic, not (c.concepts & drugs),
                                                  _design_rank(c), -c.score), default=None)
        if strongest is not None:
            lines.append(Statement(
                text=strongest.quote, quote=strongest.quote,
                citations=[self.book.cite(strongest.evidence)],
                passage_keys=[strongest.evidence.passage.key]))
        return lines


def _design_rank(candidate: Candidate) -> int:
    return RANK[candidate.evidence.design]


def _asked_forms(analysis) -> dict[str, AskedForm]:
    """Concepts the reader named in a particular salt or form, with the substance's own names."""
    asked: dict[str, AskedForm] = {}
    for mention in analysis.mentions:
        if mention.form and mention.concept.id not in asked:
            concept = mention.concept
            names = {concept.name.lower(), *(s.lower() for s in concept.synonyms
                                             if not set(s.lower().split()) & counter_ions())}
            asked[concept.id] = AskedForm(moiety_names=tuple(sorted(names)),
                                          words=frozenset(mention.form.lower().split()))
    return asked


def _ordered_concepts(analysis) -> dict[str, tuple[str, list[str]]]:
    """Concept id → (kind, names to look for), in the order the question names them."""
    concepts: dict[str, tuple[str, list[str]]] = {}
    for mention in analysis.mentions:
        cid = mention.concept.id
        names = [mention.concept.name, mention.surface, *analysis.expansions.get(cid, [])]
        kind, known = concepts.get(cid, (mention.concept.kind, []))
        concepts[cid] = (kind, list(dict.fromkeys([*known, *names])))
    return concepts


_WORD = re.compile(r"[a-z0-9]+")
CONTEXT_WORDS = 15


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _context(by_concept: dict[str, list[Evidence]], name_words: set[str]) -> dict[str, frozenset[str]]:
    """For each concept, the words most typical of the other concepts' evidence."""
    from medcite.retrieval.analysis import stopwords

    stop = stopwords() | name_words
    typical: dict[str, list[str]] = {}
    for cid, items in by_concept.items():
        counts: Counter[str] = Counter()
        for item in items[:10]:
            counts.update({w for w in _words(item.passage.text) if len(w) >= 5 and w not in stop})
        typical[cid] = [w for w, n in counts.most_common(CONTEXT_WORDS) if n >= 2]
    return {cid: frozenset(w for other, words in typical.items() if other != cid for w in words)
            for cid in by_concept}


def _unique_evidence(evidence: list[Evidence], by_concept: dict[str, list[Evidence]]) -> list[Evidence]:
    seen: dict[int, Evidence] = {}
    for item in [*evidence, *(e for items in by_concept.values() for e in items)]:
        seen.setdefault(item.passage.id, item)
    return list(seen.values())
