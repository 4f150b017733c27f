"""How each candidate sentence fits the question frame, and the pools the article draws from.

A candidate may stand under a subject only when it is about that subject (by name, by a class the
vocabulary places the agent in, or as a sentence of the agent's own label or consumer page), fits
the population asked about, and is human evidence whenever human evidence exists. Among those,
sentences that state the asked-for item, name the asked population and come from the stronger
kinds of evidence come first.
"""

from __future__ import annotations

from dataclasses import dataclass

from medcite.models import AgentFrame, AskedFor, QuestionFrame, SourceType, StudyDesign
from medcite.synthesis.bands import score_fits
from medcite.synthesis.relevance import (
    Aboutness,
    aboutness,
    dose_adjustment,
    emphasised,
    fits_population,
    groups_named,
    in_section,
    name_spans,
    names_any,
    names_population,
    nonclinical_sentence,
    preclinical_sentence,
    pregnancy_safety,
    states_course,
    states_discontinuation,
    states_frequency,
    states_item,
    states_strength_in_section,
    supply_section,
)
from medcite.synthesis.sentences import Candidate, stem

# How much a sentence's standing in the frame multiplies its retrieval-and-evidence score.
ITEM_BOOST = 1.5
POPULATION_BOOST = 0.6
NAMED_BOOST = 0.3
CONDITION_BOOST = 0.5  # an agent's sentence that names the condition asked about
EMPHASIS_BOOST = 0.5  # the most common or serious effects, the boxed warning, "do not exceed"
# A question that names no population is about adults in general: a sentence about children or
# pregnancy only answers a narrower question.
SUBGROUP_PENALTY = 0.6
# Items whose answer differs by population: a child's dose is not an adult's, so these take
# only sentences that name the population asked about.
# How a statement lists the classes it is evidence on (no class name contains it).
CLASS_JOIN = " and "
POPULATION_BOUND = (AskedFor.DOSE, AskedFor.MAXIMUM_DOSE, AskedFor.CONTRAINDICATION)


@dataclass(frozen=True)
class Fit:
    """What a candidate is, read against the frame."""

    about: dict[str, Aboutness]  # subject concept id -> how the sentence is about it (only if it is)
    population_ok: bool
    names_population: bool
    states_item: bool
    preclinical: bool
    emphasised: bool = False
    subgroup: bool = False  # names a child, pregnancy or breastfeeding population
    nonclinical: bool = False  # materials or devices (a lithium anode), never evidence

    def is_about(self, concept_id: str) -> bool:
        return concept_id in self.about

    def by_name(self, concept_id: str) -> bool:
        found = self.about.get(concept_id)
        return found is not None and found.via_class is None and not found.via_document

    def via_class(self) -> str | None:
        """The classes the sentence names its subjects by ("NSAIDs and corticosteroids")."""
        classes = list(dict.fromkeys(a.via_class for a in self.about.values() if a.via_class))
        return CLASS_JOIN.join(classes) or None


def clinically_typed(candidate: Candidate) -> bool:
    """From a clinical source, or a study of a clinical design: not an untyped or preclinical
    study that merely shares the question's words (a pulse-signal circuit, a 1977 assay)."""
    return candidate.evidence.document.source_type is not SourceType.RESEARCH \
        or candidate.evidence.design not in (StudyDesign.OTHER, StudyDesign.PRECLINICAL)


def _key(candidate: Candidate) -> tuple[int, str]:
    return candidate.evidence.passage.id, candidate.quote


class FrameFit:
    """Fits of every candidate against one frame, computed once each."""

    def __init__(self, frame: QuestionFrame, candidates: list[Candidate], terms: tuple[str, ...] = (),
                 term_weights: dict[str, float] | None = None) -> None:
        self.frame = frame
        self.subjects = {s.concept_id: s for s in frame.subjects()}
        self.conditions = {c.concept_id for c in frame.conditions} if frame.agents else set()
        self._fits: dict[tuple[int, str], Fit] = {}
        self.candidates = candidates
        self.terms = terms  # the question's words beyond the names of its subjects and the item
        self.has_terms = bool(terms)
        weights = term_weights or {}
        # The word of the question the corpus has least often ("lyme" beside "progressing"):
        # the topic a sentence must carry when the vocabulary named none.
        self.rarest_term = max(terms, key=lambda t: weights.get(t, 0.0), default=None)
        # When no sentence carries the rarest word ("inhaler"), one of the others will do
        # ("oral"): a false absence is worse than a looser topic.
        self._rarest_found = self.rarest_term is not None and any(
            self.carries_rarest_term(c) for c in candidates)
        self.human_evidence = any(
            not self.of(c).preclinical and self.of(c).about for c in candidates)

    def of(self, candidate: Candidate) -> Fit:
        key = _key(candidate)
        fit = self._fits.get(key)
        if fit is None:
            fit = self._fit(candidate)
            self._fits[key] = fit
        return fit

    def _fit(self, candidate: Candidate) -> Fit:
        quote, document = candidate.quote, candidate.evidence.document
        about = {}
        for cid, subject in self.subjects.items():
            found = aboutness(quote, subject, document, candidate.evidence.passage.text,
                              candidate.evidence.passage.section)
            if subject.form and found.about and not (found.via_class or found.via_document) \
                    and cid not in candidate.concepts:
                continue  # it names another salt or form than the one asked about
            if found.about:
                about[cid] = found
        item = self.frame.asked_for
        stated = any(states_item(quote, item, self.subjects[c]) for c in about) if about else \
            states_item(quote, item)
        if item is AskedFor.DOSE and self.frame.frequency:
            stated = stated or states_frequency(quote)
        if item in (AskedFor.DOSE, AskedFor.MAXIMUM_DOSE) and supply_section(candidate.evidence.passage.section):
            stated = False
        if item is AskedFor.STRENGTH and about:
            stated = stated or states_strength_in_section(quote, candidate.evidence.passage.section)
        if item is AskedFor.ADVERSE_EFFECTS and self.frame.stopping:
            stated = states_discontinuation(quote)  # a withdrawal effect, or how to stop safely
        if item is AskedFor.DURATION and self.frame.course:
            stated = states_course(quote)
        population = self.frame.population
        if item is AskedFor.CONTRAINDICATION and (population.pregnancy or population.lactation):
            stated = stated or pregnancy_safety(quote)
        if item in (AskedFor.DOSE, AskedFor.MAXIMUM_DOSE) and (population.renal_impairment or population.hepatic_impairment):
            stated = stated or dose_adjustment(quote)
        located = in_section(quote, candidate.evidence.passage.section)
        scored = score_fits(located, self.frame.scores) if self.frame.scores else None
        return Fit(about=about, population_ok=fits_population(located, self.frame.population) and scored is not False,
                   names_population=names_population(located, self.frame.population) or scored is True,
                   states_item=stated,
                   preclinical=candidate.evidence.design is StudyDesign.PRECLINICAL or preclinical_sentence(located),
                   emphasised=stated and (emphasised(quote, item) or self._defines(quote, about)),
                   subgroup=bool(groups_named(located) & {"child", "pregnancy", "lactation"}),
                   nonclinical=nonclinical_sentence(quote))

    def _defines(self, quote: str, about: dict[str, Aboutness]) -> bool:
        """A definition that opens with the subject's name: "Meningitis is ..."."""
        return self.frame.asked_for is AskedFor.DEFINITION and any(
            start == 0 for cid in about for start, _ in name_spans(quote, tuple(self.subjects[cid].names)))

    def admissible(self, candidate: Candidate) -> bool:
        """Evidence at all: fits the population, and human evidence where there is some."""
        fit = self.of(candidate)
        if self.frame.population.species:
            return False  # evidence on people never stands for an animal patient
        return fit.population_ok and not fit.nonclinical and not (fit.preclinical and self.human_evidence)

    def weight(self, candidate: Candidate) -> float:
        fit = self.of(candidate)
        specific = self.frame.asked_for is not AskedFor.GENERAL
        boost = 1.0 + (ITEM_BOOST if specific and fit.states_item else 0.0) \
            + (POPULATION_BOOST if fit.names_population else 0.0) \
            + (NAMED_BOOST if any(fit.by_name(c) for c in fit.about) else 0.0) \
            + (CONDITION_BOOST if self.conditions & fit.about.keys() else 0.0) \
            + (EMPHASIS_BOOST if fit.emphasised else 0.0)
        if fit.subgroup and not self.frame.population.stated:
            boost *= SUBGROUP_PENALTY
        return candidate.score * boost

    def topical(self, candidate: Candidate) -> bool:
        """Carries the question's topic beyond its subjects ("cold" in "why am I so cold on
        Bystolic?"): its rarest word, or two of its words."""
        return not self.has_terms or candidate.term_hits >= 2 or (
            candidate.term_hits >= 1 and (self.carries_rarest_term(candidate) or not self._rarest_found))

    def carries_rarest_term(self, candidate: Candidate) -> bool:
        rare = self.rarest_term
        return rare is None or stem(rare.lower()) in {stem(t) for t in candidate.tokens}

    def ranked(self, pool: list[Candidate]) -> list[Candidate]:
        return sorted(pool, key=lambda c: (-self.weight(c), c.evidence.passage.key, c.quote))

    def about_subject(self, subject: AgentFrame, *, item_required: bool) -> list[Candidate]:
        """Admissible candidates about ``subject``, best first; with ``item_required`` only those
        stating the asked-for item or naming the asked population."""
        pool = [c for c in self.candidates if self.admissible(c) and self.of(c).is_about(subject.concept_id)
                and (not item_required or self.answers(c))]
        return self.ranked(pool)

    def on_condition(self, candidate: Candidate, condition_ids: set[str]) -> bool:
        """About one of the conditions, in its words or under a heading that names it (a
        label's "Heterozygous Familial Hypercholesterolemia in Pediatric Patients")."""
        if condition_ids & self.of(candidate).about.keys():
            return True
        section = candidate.evidence.passage.section or ""
        return any(names_any(section, tuple(self.subjects[c].names)) for c in condition_ids if c in self.subjects)

    @property
    def population_bound(self) -> bool:
        return self.frame.population.stated and self.frame.asked_for in POPULATION_BOUND

    def answers(self, candidate: Candidate) -> bool:
        """States the asked-for item, or names the asked population; for a population-bound
        item (a child's dose), states it and names the population."""
        fit = self.of(candidate)
        if self.population_bound:
            return fit.states_item and fit.names_population
        return fit.states_item or fit.names_population

    def about_all(self, agents: list[AgentFrame]) -> list[Candidate]:
        """Admissible candidates about every one of ``agents`` (by name, class or own label)."""
        pool = [c for c in self.candidates if self.admissible(c)
                and all(self.of(c).is_about(a.concept_id) for a in agents)
                # One label page is not about two drugs because of whose label it is.
                and sum(not self.of(c).about[a.concept_id].via_document for a in agents) >= len(agents) - 1]
        return self.ranked(pool)
