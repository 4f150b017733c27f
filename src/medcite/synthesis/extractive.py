"""The default answer backend: offline, deterministic, extractive.

Every clinical statement is a verbatim sentence of a cited passage. The only other statements
are facts about the evidence base (what was searched, how many documents matched each entity,
that none addressed them together), marked ``evidence_base``. Same store and question, same
article.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from medcite.models import (
    AgentFrame,
    Article,
    ArticleSection,
    AskedFor,
    SourceType,
    Statement,
    StatementKind,
    SubSection,
)
from medcite.synthesis.base import AnswerRequest, Evidence, joined
from medcite.synthesis.references import ReferenceBook
from medcite.synthesis import own_change
from medcite.synthesis.relevance import ITEM_NAMING_WORDS, document_subject
from medcite.synthesis.safety import NOTHING_FOUND, URGENT_BOTTOM_LINE
from medcite.synthesis.selection import FrameFit, clinically_typed
from medcite.synthesis.sentences import AskedForm, Candidate, candidates_from, is_near_duplicate
from medcite.synthesis.verdict import Verdict, compared, decide, subject_phrase
from medcite.vocab.salts import counter_ions

AGE_WORDS = frozenset({"year", "years", "old", "month", "months", "week", "weeks", "day", "days"})
EVIDENCE_REVIEW = "Evidence Review"
IMPLICATIONS = "Clinical Implications"
PITFALLS = "Common Pitfalls to Avoid"
HARM_ITEMS = (AskedFor.INTERACTION, AskedFor.CONTRAINDICATION, AskedFor.ADVERSE_EFFECTS)


@dataclass(frozen=True)
class Caps:
    """How many statements each part of the article may hold (tunable)."""

    per_subsection: int = 4
    per_document: int = 2  # within one sub-section, so one source cannot fill it
    implications: int = 4
    pitfalls: int = 4
    background: int = 2  # a subject's own pages, when nothing states what was asked


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
        # An age ("12-year-old") is the population, not a topic word a sentence should carry.
        age_words = AGE_WORDS if analysis.frame.population.age_years is not None else frozenset()
        # Nor are the words that only name the item ("side effects"): a label says "adverse
        # reactions", and states_item already looks for the item.
        item_words = ITEM_NAMING_WORDS.get(analysis.frame.asked_for, frozenset())
        self.terms = [t for t in analysis.terms if t.lower() not in name_words | age_words | item_words]
        self.candidates = candidates_from(
            _unique_evidence(request.evidence, request.by_concept), self.names,
            self.terms, max(years, default=2024), _context(request.by_concept, name_words),
            _asked_forms(analysis))
        self.frame = analysis.frame
        self.fit = FrameFit(self.frame, self.candidates, terms=tuple(self.terms),
                            term_weights=request.term_weights)
        self.display = {cid: self._display(cid) for cid in self.concepts}

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
            taken.append(self._statement(candidate))
        return taken

    def _statement(self, candidate: Candidate) -> Statement:
        fit = self.fit.of(candidate)
        return Statement(
            text=candidate.quote, quote=candidate.quote, citations=[self.book.cite(candidate.evidence)],
            kind=StatementKind.CLINICAL, passage_keys=[candidate.evidence.passage.key],
            about=sorted(fit.about), via_class=fit.via_class(), where=where_quoted(candidate),
        )

    def _covers_terms(self, candidate: Candidate) -> bool:
        """Without named concepts, a sentence must carry at least half of the weight of the
        user's words (rare words weigh most) and at least two of them."""
        weights = self.request.term_weights
        total = sum(weights.get(t, 1.0) for t in self.terms)
        covered = sum(weights.get(t, 1.0) for t in self.terms if t.lower() in candidate.tokens)
        return candidate.term_hits >= 2 and total > 0 and covered >= 0.5 * total

    def _topical(self) -> Callable[[Candidate], bool] | None:
        """What every shown statement must carry when the item alone does not say: how the
        change asked about is made ("how do I stop heparin?"), or the question's own topic
        words ("foods to avoid with metformin")."""
        frame, fit = self.frame, self.fit
        if frame.self_change:
            return lambda c: own_change.on_change(frame, c)
        if frame.asked_for is AskedFor.GENERAL and fit.has_terms:
            return fit.topical
        return None

    def _background(self, subject: AgentFrame) -> list[Candidate]:
        fit = self.fit
        return [c for c in fit.about_subject(subject, item_required=False)
                if c.evidence.document.source_type is not SourceType.RESEARCH
                and fit.of(c).by_name(subject.concept_id)
                and document_subject(c.evidence.document, subject)]

    @staticmethod
    def _fact(text: str) -> Statement:
        return Statement(text=text, kind=StatementKind.EVIDENCE_BASE)

    # -- sections -----------------------------------------------------------------------------

    def article(self) -> Article:
        request, searched = self.request, self.request.searched
        frame, fit = self.frame, self.fit
        agents = frame.agents
        comparison = len(agents) >= 2 and frame.asked_for is AskedFor.COMPARISON
        combination = len(agents) >= 2 and not frame.alternatives and not comparison
        specific = frame.asked_for is not AskedFor.GENERAL
        review: list[SubSection] = []

        if comparison:
            statements = self._take(fit.ranked(compared(fit, agents)), self.caps.per_subsection)
            review.append(SubSection(
                heading=self._joined([a.concept_id for a in agents]) + " compared",
                statements=statements or [self._fact(
                    f"No indexed source compares {self._joined([a.concept_id for a in agents]).lower()} "
                    "directly; each is shown on its own below."), self._fact(self._scope_sentence())]))

        if combination:
            joint = fit.about_all(agents)
            if specific:
                # Two drugs (or their classes) named in one treatment list is no evidence on
                # taking them together: the pair by name, or the item stated.
                joint = [c for c in joint if fit.answers(c)
                         or all(fit.of(c).by_name(a.concept_id) for a in agents)]
            statements = self._take(joint, self.caps.per_subsection)
            if statements:
                review.append(SubSection(heading=self._joined([a.concept_id for a in agents]) + " together",
                                         statements=statements))
            else:
                review.append(SubSection(heading="Absence of evidence for the combination", statements=[
                    self._fact(self._absence_sentence([a.concept_id for a in agents])),
                    self._fact(self._scope_sentence())]))

        # With agents named, the conditions are context (they rank sentences); the agents are the
        # subjects. A question naming no agent is about its conditions.
        subjects = agents or frame.conditions
        topical = None if combination else self._topical()
        for subject in subjects:
            # Beside a combination, each agent's own evidence is context for the reader, asked
            # for or not; a single agent's sub-section takes what answers the question.
            pool = fit.about_subject(subject, item_required=specific and not combination)
            if combination and frame.asked_for in HARM_ITEMS:
                # Context, but what bears on the harm asked about first (an NSAID's bleeding risk
                # with aspirin before its efficacy in back pain).
                pool.sort(key=lambda c: not (fit.answers(c) and (c.caution or c.recommendation)))
            if len(self.concepts) >= 2:
                # A sentence that merely names one of several concepts (a bacterial study that
                # uses magnesium ions) is not evidence for the reader's question.
                pool = [c for c in pool if c.on_topic or fit.of(c).states_item]
            if topical is not None:
                pool = [c for c in pool if topical(c)]
            if comparison:
                # Each drug compared on its own terms: by its name or its own label, not as one
                # more member of the class both belong to.
                pool = [c for c in pool if fit.of(c).by_name(subject.concept_id)
                        or fit.of(c).about[subject.concept_id].via_document]
            statements = self._take(pool, self.caps.per_subsection)
            if statements:
                review.append(SubSection(heading=self._display(subject.concept_id), statements=statements))
            elif topical is not None:
                # Nothing on what was asked: what the subject's own pages say, headed as such,
                # never a study that merely names it.
                background = self._take(self._background(subject), self.caps.background)
                if background:
                    review.append(SubSection(
                        heading=f"Background on {self._display(subject.concept_id).lower()} "
                                "(does not answer the question)", statements=background))

        # With no concept recognised the question's words are the only anchor: a study typed
        # by no clinical design (a pulse-signal circuit, a dye adsorbent) is no answer to them.
        general = [] if subjects else fit.ranked(
            [c for c in self.candidates if fit.admissible(c) and self._covers_terms(c) and clinically_typed(c)])
        if general:
            statements = self._take(general, self.caps.per_subsection)
            if statements:
                review.append(SubSection(heading="What the indexed evidence says", statements=statements))

        subject_ids = {s.concept_id for s in subjects}
        relevant = fit.ranked([c for c in self.candidates if fit.admissible(c)
                               and (subject_ids & fit.of(c).about.keys() or c in general)
                               and (fit.answers(c) or not specific)
                               and (topical is None or topical(c))
                               and (not comparison or any(fit.of(c).by_name(a.concept_id) for a in agents))])
        implications = self._take([c for c in relevant if c.recommendation and not c.caution],
                                  self.caps.implications)
        pitfalls = self._take([c for c in relevant if c.caution], self.caps.pitfalls)

        verdict = decide(frame, fit, self.display, general=general)
        has_clinical = any(s.kind is StatementKind.CLINICAL for sub in review for s in sub.statements) \
            or implications or pitfalls or verdict.lead is not None
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
            headline=self._headline(verdict, has_clinical),
            bottom_line=self._bottom_line(verdict, has_clinical),
            sections=sections,
            references=self.book.references(),
            audience=request.audience,
            backend="extractive",
            intent=str(request.analysis.intent),
            searched=searched,
            frame=frame,
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
        return joined([self._display(c) for c in cids])

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
        return (f"Searched {searched.corpus_documents:,} documents ({kinds}) for: {terms}.")

    def _nothing_sentence(self) -> str:
        return NOTHING_FOUND

    def _headline(self, verdict: Verdict, has_clinical: bool) -> str:
        subject = subject_phrase(self.frame, self.display)
        if self.request.analysis.red_flags:
            return f"{subject}: this may be an emergency \u2014 get urgent help now"
        # an animal's: why nothing applies; an item not found: what was asked for and not found
        if has_clinical or self.frame.population.species or (
                verdict.level == "none" and self.frame.subjects()):
            return verdict.headline
        return f"{subject}: no indexed evidence found"

    def _bottom_line(self, verdict: Verdict, has_clinical: bool) -> list[Statement]:
        if self.request.analysis.red_flags:
            # An emergency's bottom line is what to do now, nothing a source says in passing.
            return [self._fact(URGENT_BOTTOM_LINE)]
        lines: list[Statement] = []
        if verdict.lead is not None:
            lines.append(self._statement(verdict.lead))
        if has_clinical or self.frame.subjects():  # else the absence below says it all
            lines += [self._fact(f) for f in verdict.facts]
        if not has_clinical:
            lines.append(self._fact(self._nothing_sentence()))
        return lines


def where_quoted(candidate: Candidate) -> str | None:
    """Where in its source a quote stands, for a label or guideline whose sentences often name
    no drug: "HUMIRA (adalimumab) injection, Warnings and Precautions"."""
    document, section = candidate.evidence.document, candidate.evidence.passage.section.strip()
    if document.source_type not in (SourceType.DRUG_LABEL, SourceType.GUIDELINE):
        return None
    title = re.split(r"(?<=\))[,:]|, for |: ", document.title, maxsplit=1)[0].strip()
    title = title if len(title) <= 70 else title[:67].rsplit(" ", 1)[0] + " …"
    return f"{title}, {section}" if section and section.lower() not in title.lower() else title


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
