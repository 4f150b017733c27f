"""The one-line verdict: the asked-for thing, stated from the strongest relevant source, or a
plain statement that no indexed source states it.

The headline never promotes a sentence that does not state what was asked: a maximum-dose
question gets the capped dose ("do not exceed 20 mg"), an interaction question the documented
interaction (joint, then for the agent's class, then a mechanism of the agent alone), an
efficacy question how many sources report benefit and how many none. The words of the verdict
come verbatim from a cited sentence, marked with quotation marks and its source type.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from medcite.models import AgentFrame, AskedFor, QuestionFrame, SourceType
from medcite.retrieval.evidence import RANK
from medcite.retrieval.targets import CLASS_ITEMS
from medcite.synthesis.bands import kidney_fits, weight_fits
from medcite.synthesis.relevance import (direction, document_subject, dose_adjustment_span, emphasis_span,
                                         item_span, names_any, names_other_agent, names_treatment,
                                         reports_study)
from medcite.synthesis import allergy as allergy_rules
from medcite.synthesis.base import joined
from medcite.synthesis import own_change
from medcite.synthesis.selection import FrameFit, clinically_typed
from medcite.synthesis.sentences import Candidate
from medcite.vocab.classes import class_members, class_names

CLAUSE_CHARS = 150
# Whom a recommendation is for is its list of criteria: a headline keeps more of it.
INDICATION_CLAUSE_CHARS = 400
MIN_CLAUSE_WORDS = 6
PAIR_CLAUSE_CHARS = 260
LEAD_POOL = 15  # best-weighted candidates the lead is chosen among
EMPHASIS_WORDS = 1.5  # an emphasised statement counts as this many of the question's words
ASKED_NAME_WORDS = 2  # so does one naming the subject as the reader did ("genital warts", not "HPV")
STUDY_REPORT_WORDS = 3  # a report of what a study gave counts against it as this many
TABLE_ROW_WORDS = 2  # so does a flattened table row, whose cells lose their column headings
SUBSET_WORDS = 1  # and, for what a condition is or causes, a statement on some cases only
_SUBSET = re.compile(r"^(?:inherited|familial|hereditary|rare|rarely|some|a few|in (?:some|rare|a few) cases)\b", re.I)
# Clause ends: a semicolon, a dash, a full stop after a word (not "St." or "e.g.").
# Clause breaks; a colon after a list's lead-in ("symptoms may include: ...") is not one.
_CLAUSE_BREAK = re.compile(r";\s+|\s*\n\s*(?:[-\u2022*]\s+)?|(?<=[a-z0-9)\]]{3})\.\s+(?=[A-Z])|(?<=\])\.\s+(?=[A-Z])|\s+\u2014\s+|(?<!include)(?<!includes)(?<!following)(?<! are)(?<!follows):\s+(?=[A-Z])")
_BULLET = re.compile(r"^\s*[-\u2022*]\s+")
_CONDITION_INTRO = re.compile(r"^(?:in|for|among) (?:patients|adults|children|women|people)\b[^,]{0,60},"
                              r"|^(?:if|when|unless)\b[^,]{0,60},", re.I)
_CROSS_REFERENCE = re.compile(r"\s*[\[(]see [^\])]*[\])]?.*$", re.I)
_SOURCE_WORDS = {"guideline": "guideline", "drug_label": "drug label", "research": "research",
                 "consumer_health": "consumer health page"}


@dataclass
class Verdict:
    headline: str
    lead: Candidate | None = None  # the sentence the verdict rests on (first in the bottom line)
    support: list[Candidate] = field(default_factory=list)  # further sentences it counts
    facts: list[str] = field(default_factory=list)  # evidence-base statements for the bottom line
    level: str = "direct"  # direct | class | mechanism | none


def _in_sentence(subject: str) -> str:
    """The headline's subject as it reads inside a sentence ("Metformin" -> "metformin")."""
    return subject[:1].lower() + subject[1:]


def subject_phrase(frame: QuestionFrame, display: dict[str, str]) -> str:
    """"Atorvastatin with clarithromycin", "Cetirizine or loratadine", "Ibuprofen in pregnancy"."""
    agents = [display.get(a.concept_id, a.name) for a in frame.agents] or \
             [display.get(c.concept_id, c.name) for c in frame.conditions]
    if not agents:
        phrase = "This question"
    elif len(agents) == 1:
        phrase = agents[0]
    else:
        joiner = " or " if frame.alternatives else (
            " versus " if frame.asked_for is AskedFor.COMPARISON else " with ")
        phrase = agents[0] + "".join(
            (", " if i < len(agents) - 1 else joiner) + a.lower() for i, a in enumerate(agents[1:], 1))
    population = frame.population
    if population.stated:
        phrase += _population_words(frame)
    return phrase[:1].upper() + phrase[1:]


def _population_words(frame: QuestionFrame) -> str:
    population = frame.population
    parts = []
    if population.age_group:
        age = f", {population.age_years:g} years" if population.age_years is not None else ""
        weight = f", {population.weight_kg:g} kg" if population.weight_kg is not None else ""
        parts.append(f"for {'an' if population.age_group[0] in 'aeiou' else 'a'} {population.age_group}{age}{weight}")
    if population.pregnancy:
        parts.append("in pregnancy")
    if population.lactation:
        parts.append("while breastfeeding")
    if population.renal_impairment:
        value = f"eGFR {population.egfr:g}" if population.egfr is not None else (
            f"CrCl {population.crcl:g}" if population.crcl is not None else "")
        parts.append("on dialysis" if population.dialysis and not value
                     else "with reduced kidney function" + (f" ({value})" if value else ""))
    if population.hepatic_impairment:
        parts.append("with liver impairment")
    if population.species:
        parts.append(f"for a {population.species}")
    return " " + " ".join(parts) if parts else ""


_LEADS_IN = re.compile(r"\b(including|include|includes|such as|the following|as follows)\s*[:,-]?\s*$|:\s*$", re.I)


def clause(quote: str, item: AskedFor, keep: tuple[str, ...] = ()) -> str:
    """The clause of ``quote`` that states the item, verbatim, at most ``CLAUSE_CHARS``; when
    a name in ``keep`` follows the item's words closely, the window reaches it (the ulcer risk
    of NSAIDs "with concurrent ... corticosteroid therapy" needs its last words)."""
    if item is AskedFor.INDICATION:
        return _recommendation_clause(quote)
    if item is AskedFor.MISSED_DOSE and len(quote) <= INDICATION_CLAUSE_CHARS:
        return quote.strip().rstrip(".")  # "take it when you remember" needs its time limit
    if keep and len(quote) <= PAIR_CLAUSE_CHARS and "\n" not in quote.strip():
        return quote.strip().rstrip(".")  # a statement on a pair is read whole, both names in it
    span = item_span(quote, item)
    # A list's items are clauses of their own, read without their bullets.
    pieces = [_BULLET.sub("", p) for p in _CLAUSE_BREAK.split(quote) if _BULLET.sub("", p).strip()] or [quote]
    # The weightier clause first: of "AUC was increased ... The co-administration should be
    # avoided", the avoidance.
    weighty = emphasis_span(quote, item)
    if weighty is None and item in (AskedFor.DOSE, AskedFor.MAXIMUM_DOSE) and not span:
        weighty = dose_adjustment_span(quote)  # "thus, dosage adjustment ... is not necessary"
    chosen = next((p for p in pieces if weighty and weighty in p), None) \
        or (next((p for p in pieces if names_any(p, keep)), None) if item is AskedFor.DEFINITION else None) \
        or next((p for p in pieces if span and span in p), pieces[0])
    if _LEADS_IN.search(chosen) and chosen in pieces[:-1]:
        # "... can also cause hypoglycemia, including" is read with the item it leads into
        chosen = f"{chosen.rstrip()} {pieces[pieces.index(chosen) + 1].strip()}"
    if weighty and weighty in chosen:
        span = item_span(chosen, item) or span
        listed = _with_its_list(chosen.strip().rstrip("."), weighty)
        if listed:
            return listed
        late = chosen.find(weighty) + len(weighty) > CLAUSE_CHARS
        if late and len(chosen) > CLAUSE_CHARS:
            return _head_and_instruction(chosen.strip().rstrip(".;:,"), weighty)
    if len(chosen.split()) < MIN_CLAUSE_WORDS:
        chosen = quote  # a fragment ("No Benefit, LOE A)") says less than its sentence
    chosen = _CROSS_REFERENCE.sub("", chosen).strip().rstrip(".;:,")
    if len(chosen) > CLAUSE_CHARS:
        # Keep the words that state the item: the window ends just after them when they lie late.
        at = chosen.find(span) if span else -1
        end = max(CLAUSE_CHARS, at + len(span)) if at >= 0 else CLAUSE_CHARS
        reach = [m.end() for name in keep for m in re.finditer(rf"\b{re.escape(name)}\b", chosen, re.I)
                 if end < m.end() <= max(at, 0) + CLAUSE_CHARS]
        end, reached = max([end, *reach]), bool(reach)
        start = max(0, end - CLAUSE_CHARS)
        if start:
            start = chosen.find(" ", start) + 1
        cut = chosen[start:end]
        if end < len(chosen):
            space = cut.rfind(" ")
            cut = (cut[:space] if space > len(cut) // 2 and not reached
                   and (at < 0 or start + space >= at + len(span)) else cut) + " …"
        intro = _CONDITION_INTRO.match(chosen)
        if start and intro:
            # Keep the condition it holds under ("In patients taking clarithromycin, …").
            cut = intro.group(0).rstrip(" ,") + ", … " + chosen[start:end].lstrip()
            cut = cut if end >= len(chosen) else cut + " …"
            chosen = cut
        else:
            chosen = ("… " if start else "") + cut
    return chosen


_ASIDE = re.compile(r"\s*\((?:i\.e\.|e\.g\.|such as)[^()]*\)")
_RECOMMENDING = re.compile(r"\b(?:recommends?|suggests?|should|is indicated|are indicated)\b")
_RECOMMENDER = re.compile(r"\b(?:The|We|Our)\b(?=[^.;:]*$)")  # its subject, after a glued heading


def _with_its_list(text: str, weighty: str) -> str | None:
    """A long sentence whose weighty words introduce a list ("The most commonly reported adverse
    reactions ... were: nasopharyngitis (8.3%), arthralgia ..."): the lead-in up to those words
    and the list, the words between elided; None when it is short or lists nothing."""
    colon = text.find(": ")
    at = text.find(weighty)
    if len(text) <= CLAUSE_CHARS or colon < 0 or not 0 <= at < colon:
        return None
    end = at + len(weighty)
    following = re.match(r"(?:\s+[\w-]+){0,3}", text[end:colon])  # "... reported adverse reactions"
    head = text[:end + (following.end() if following else 0)]
    listed = text[colon + 2:]
    room = max(CLAUSE_CHARS - len(head), CLAUSE_CHARS // 2)
    if len(listed) > room:
        listed = listed[:listed.rfind(" ", 0, room)] + " \u2026"
    return f"{head} \u2026: {listed}"


def _head_and_instruction(text: str, weighty: str) -> str:
    """A long sentence whose instruction comes late ("In patients taking cyclosporine or ...,
    therapy with LIPITOR should be avoided"): its opening, which names whom or what it is
    about, and the clause that holds the instruction, the words between elided."""
    at = text.find(weighty)
    clause_start = max(text.rfind(", ", 0, at), text.rfind("; ", 0, at))
    tail = text[clause_start + 2:] if clause_start >= 0 else text[at:]
    if len(tail) > CLAUSE_CHARS // 2 + len(weighty):
        cut = tail[:tail.find(weighty) + len(weighty) + CLAUSE_CHARS // 4]
        tail = cut[:cut.rfind(" ")] + " \u2026" if len(cut) < len(tail) else cut
    head = text[:CLAUSE_CHARS - min(len(tail), CLAUSE_CHARS // 2)]
    head = head[:head.rfind(" ")].rstrip(" ,(")
    return f"{head} \u2026 {tail}"


def _recommendation_clause(quote: str) -> str:
    """A recommendation from whoever makes it ("The USPSTF recommends that adults ...") with its
    criteria, which ";" separates and so are not cut off; only asides ("(i.e., ...)") are
    elided, marked "…"."""
    text = quote.strip().rstrip(".")
    verb = _RECOMMENDING.search(text)
    at = verb.start() if verb else -1
    start = 0
    if at > 0:
        recommender = _RECOMMENDER.search(text[:at])
        start = recommender.start() if recommender else 0
    chosen = _ASIDE.sub(" \u2026", text[start:])
    if len(chosen) > INDICATION_CLAUSE_CHARS:
        cut = chosen[:INDICATION_CLAUSE_CHARS]
        chosen = cut[:cut.rfind(" ")] + " \u2026"
    return ("\u2026 " if start else "") + chosen


def _source(candidate: Candidate) -> str:
    return _SOURCE_WORDS.get(str(candidate.evidence.document.source_type.value), "source")


def _quoted(candidate: Candidate, item: AskedFor, keep: tuple[str, ...] = ()) -> str:
    return f"\u201c{clause(candidate.quote, item, keep)}\u201d ({_source(candidate)})"


# Items whose verdict needs a sentence carrying some of the question's own words beyond the
# names: a general question ("weight gain", "live vaccines"), and what treats a complaint the
# vocabulary does not name ("NSAIDs bother my stomach: anything to take with them?").
WORDS_BOUND = (AskedFor.GENERAL, AskedFor.TREATMENT)


def _strongest(fit: FrameFit, pool: list[Candidate]) -> Candidate | None:
    """The candidate a verdict may rest on: states the item; label and guideline first; for
    ``WORDS_BOUND`` items one carrying the question's own words, not merely one that ranked
    first."""
    # (a treatment for a named condition needs no more words than the condition's)
    words_bound = fit.frame.asked_for in WORDS_BOUND and not (
        fit.frame.asked_for is AskedFor.TREATMENT and fit.frame.conditions)
    stated = [c for c in pool if fit.of(c).states_item
              and (not words_bound or (fit.topical(c) if fit.frame.asked_for is AskedFor.GENERAL
                                       else c.term_hits or not fit.has_terms))]
    if not stated:
        return None
    if fit.frame.asked_for is AskedFor.GENERAL:
        # A question of no known kind, answered by its words alone: a study of no clinical design
        # sharing them (a 1977 C-peptide assay for "could diabetes come on fast?") is no answer.
        stated = [c for c in stated if clinically_typed(c)]
        if not stated:
            return None
    if fit.frame.asked_for in (AskedFor.DOSE, AskedFor.MAXIMUM_DOSE) and not fit.frame.agents:
        # A dose asked of a condition ("how to take your medicine for diabetes") is a drug's
        # dose only where the sentence names the drug or what the question asked of ("30 mL/kg
        # of IV crystalloid"); "Starting dose: 2.5 mg weekly" names neither.
        stated = [c for c in stated if names_treatment(c.quote) or c.term_hits]
        if not stated:
            return None
    if not fit.frame.population.stated:
        # An unqualified question is about adults in general: not the paediatric maximum.
        stated = [c for c in stated if not fit.of(c).subgroup] or stated
    if fit.frame.asked_for is AskedFor.MAXIMUM_DOSE:
        # A maximum is a directive: what a trial happened to give, or a drug level measured, is
        # none ("no indexed source states a maximum dose" is the honest answer then).
        stated = [c for c in stated if not reports_study(c.quote)]
        if not stated:
            return None
    if fit.frame.agents and not fit.frame.combination:
        # Nor the dose that holds with a co-medication nobody asked about (a question on a
        # condition alone is answered by the drugs it names).
        own = [c for c in stated if not names_other_agent(c.quote, fit.frame.agents)]
        # a cap is the asked drug's own, never the prednisone maximum of a trial's co-medication
        stated = own if fit.frame.asked_for is AskedFor.MAXIMUM_DOSE else (own or stated)
        if not stated:
            return None
    best = fit.ranked(stated)[:LEAD_POOL]
    # The question's own words ("starting dose", "live vaccines") and the weightier statement of
    # the item ("do not exceed") first, then the source that is the authority on it.
    # A directive ("the recommended dose is") before a report of what a study gave.
    # "Antibiotics for pneumonia": a sentence on the agent in that condition counts as a word.
    conditions = {s.concept_id for s in fit.frame.conditions} if fit.frame.agents else set()
    # "The most common adverse reactions" answers "what are its side effects", not a question
    # on one effect ("muscle pain"), whose words then decide.
    weighs = not (fit.frame.asked_for is AskedFor.ADVERSE_EFFECTS and (fit.has_terms or conditions))
    asked_as = tuple(s.asked_as for s in fit.frame.subjects() if s.asked_as)
    return min(best, key=lambda c: (-(min(c.term_hits, 3) + EMPHASIS_WORDS * (fit.of(c).emphasised and weighs)
                                      + ASKED_NAME_WORDS * bool(asked_as and names_any(c.quote, asked_as))
                                      + bool(conditions & fit.of(c).about.keys())
                                      # (a half-life is a measurement: what studies found is the answer)
                                      - STUDY_REPORT_WORDS * (reports_study(c.quote)
                                                              and fit.frame.asked_for is not AskedFor.ELIMINATION)
                                      - TABLE_ROW_WORDS * ("|" in c.quote
                                                           and not weight_fits(c.quote, fit.frame.population))
                                      - SUBSET_WORDS * (fit.frame.asked_for in REFERENCE_ITEMS
                                                        and bool(_SUBSET.match(c.quote)))),
                                    _authority(c, fit.frame.asked_for) - _own_page(c, fit), -fit.weight(c)))


CONDITION_BOUND = (AskedFor.DOSE, AskedFor.MAXIMUM_DOSE, AskedFor.DURATION, AskedFor.TIMING, AskedFor.THRESHOLD,
                   AskedFor.FIRST_LINE, AskedFor.TREATMENT, AskedFor.CONTRAINDICATION)
# What a question linking two conditions may ask ("does low thyroid contribute to weight gain?").
LINK_ITEMS = (AskedFor.ADVERSE_EFFECTS, AskedFor.CAUSE, AskedFor.SYMPTOMS, AskedFor.GENERAL)
REFERENCE_ITEMS = (AskedFor.DEFINITION, AskedFor.SYMPTOMS, AskedFor.CAUSE, AskedFor.INHERITANCE)
LABEL_ITEMS = (AskedFor.MISSED_DOSE, AskedFor.DOSE, AskedFor.MAXIMUM_DOSE, AskedFor.CONTRAINDICATION, AskedFor.INTERACTION,
               AskedFor.ADVERSE_EFFECTS, AskedFor.TIMING, AskedFor.ELIMINATION, AskedFor.ONSET, AskedFor.APPEARANCE, AskedFor.INGREDIENTS,
               AskedFor.STRENGTH, AskedFor.STORAGE)


def _authority(candidate: Candidate, item: AskedFor) -> int:
    """The evidence hierarchy, except that a definition is best taken from a reference page and
    a dose, contraindication, interaction or adverse effect from the drug's label."""
    source = candidate.evidence.document.source_type
    if item in REFERENCE_ITEMS and source is SourceType.CONSUMER_HEALTH:
        return -1
    if item in LABEL_ITEMS and source is SourceType.DRUG_LABEL:
        return -1
    return RANK[candidate.evidence.design]


def _own_page(candidate: Candidate, fit: FrameFit) -> bool:
    """A reference question is best answered by the page on its subject ("What are the symptoms
    of kidney stones?") rather than by another disease's page that mentions it."""
    document = candidate.evidence.document
    return (fit.frame.asked_for in REFERENCE_ITEMS and document.source_type is SourceType.CONSUMER_HEALTH
            and any(document_subject(document, s) for s in fit.frame.subjects()))


def decide(frame: QuestionFrame, fit: FrameFit, display: dict[str, str],
           general: list[Candidate] | None = None) -> Verdict:
    """The verdict for ``frame`` from the candidates ``fit`` holds; ``general`` is the pool
    for a question that names no agent or condition (sentences covering its words)."""
    subject = subject_phrase(frame, display)
    item = frame.asked_for
    agents = frame.agents
    if frame.population.species:
        species = frame.population.species
        return Verdict(headline=f"{subject}: no indexed source addresses its use in a {species}; "
                                "the indexed evidence is on people — ask a veterinarian",
                       level="none",
                       facts=[f"Doses and safety limits for people do not carry over to a {species}; "
                              "medcite indexes human clinical evidence only."])
    if frame.self_change:
        return _own_change(frame, fit, subject)
    allergic = _allergy(frame, fit, subject)
    if allergic is not None:
        return allergic
    if frame.classes_asked and len(agents) == 1 and item in (AskedFor.GENERAL, AskedFor.DEFINITION):
        return _membership(frame, fit, subject, agents[0])
    if len(agents) >= 2 and item is AskedFor.COMPARISON:
        return _comparison(fit, subject, agents)
    if len(agents) >= 2 and not frame.alternatives:
        return _combination(frame, fit, subject, agents)
    if item is AskedFor.EFFICACY:
        return _efficacy(frame, fit, subject)
    subjects = frame.agents or frame.conditions
    # A single agent's verdict rests on a sentence that names it (or is its own label), not on
    # one about its class.
    pool = [c for s in subjects for c in fit.about_subject(s, item_required=True)
            if fit.of(c).by_name(s.concept_id) or fit.of(c).about[s.concept_id].via_document] \
        if subjects else [c for c in (general or []) if fit.of(c).states_item]
    if frame.population.stated or frame.scores:
        # A population question rests on a sentence that names that population (or the asked
        # band of a score) when one exists.
        named = [c for c in pool if fit.of(c).names_population]
        pool = named or pool
    named = {s.concept_id for s in frame.conditions} if frame.agents else set()
    if item is AskedFor.ADVERSE_EFFECTS and named:
        # "Does Humira cause hair loss?": the verdict is on that effect, or says it is not found.
        pool = [c for c in pool if named & fit.of(c).about.keys()]
    elif item is AskedFor.ADVERSE_EFFECTS and fit.has_terms:
        # The same when the effect is not a known condition: its words must be there (both
        # words of "yeast infection", not "infection" alone).
        pool = [c for c in pool if c.term_hits >= min(2, len(fit.terms))]
    elif named and item in CONDITION_BOUND:
        # "Humira for Crohn's disease": the dose for that indication when a sentence gives it,
        # not the psoriasis dose; without one, a label's or reference page's general statement,
        # never a guideline or study on another condition (the pneumonia course for strep throat).
        pool = [c for c in pool if fit.on_condition(c, named)] or [
            c for c in pool if c.evidence.document.source_type in (SourceType.DRUG_LABEL, SourceType.CONSUMER_HEALTH)]
    if not frame.agents and len(frame.conditions) >= 2:
        # "Does low thyroid contribute to weight gain?": a sentence on both, when there is one;
        # else one on the condition asked about first, never one on the other alone ("is BV an
        # STD?" is not answered by a sentence on STDs).
        first = frame.conditions[0].concept_id
        both = [c for c in pool if all(fit.of(c).is_about(s.concept_id) for s in frame.conditions)]
        linked = fit.about_all(frame.conditions) if not both and item in LINK_ITEMS else []
        if linked:
            # A reference page listing weight gain among hypothyroidism's symptoms states the
            # link asked about, in words no item cue knows.
            lead = linked[0]
            window = _around(lead.quote, tuple(n for c in frame.conditions[1:] for n in c.names))
            return Verdict(headline=f"{subject}: \u201c{window}\u201d ({_source(lead)})", lead=lead)
        pool = both or [c for c in pool if fit.of(c).is_about(first)]
    population = frame.population
    if population.egfr is not None or population.crcl is not None or population.dialysis:
        # "eGFR 25": a sentence whose eGFR range holds it first.
        pool = [c for c in pool if kidney_fits(c.quote, population)] or pool
    lead = _strongest(fit, pool)
    if len(frame.agents) == 1 and item in CLASS_ITEMS and (
            lead is None or lead.evidence.document.source_type is SourceType.RESEARCH):
        # Nothing names the drug, or only a study does: a guideline, label or reference page on
        # its class says more (the SSRIs' most common effects before one TDM study on one of them).
        by_class = _for_class(frame, fit, subject, named)
        if by_class is not None and (lead is None or by_class.lead.evidence.document.source_type
                                     is not SourceType.RESEARCH):
            return by_class
    if lead is None:
        return _not_found(frame, subject, fit)
    if item is AskedFor.DOSE and lead.evidence.document.source_type is SourceType.RESEARCH \
            and (reports_study(lead.quote) or not lead.recommendation):
        # What one trial gave is no dose to take: said so, with what it gave.
        named = _in_sentence(subject)
        return Verdict(headline=f"{subject}: no indexed source recommends a dose \u2014 a study reports "
                                f"{_quoted(lead, item)}", lead=lead, level="study",
                       # two short facts, so a patient's summary can restate each
                       facts=[f"No indexed source but a study states a dose of {named}.",
                              "The dose quoted is what one study gave, not a recommendation."])
    # what a drug is: the clause naming it ("antiviral medicines include ... valacyclovir")
    keep = tuple(n for s in subjects for n in s.names) if item is AskedFor.DEFINITION else ()
    headline = f"{subject}: {_quoted(lead, item, keep)}"
    if kidney_fits(lead.quote, population) is False:
        value = f"eGFR {population.egfr:g}" if population.egfr is not None else (
            f"CrCl {population.crcl:g}" if population.crcl is not None else None)
        outside, at = (value, f"at {value}") if value else ("Dialysis (eGFR below 15)", "on dialysis")
        headline += f" \u2014 {outside} lies outside that range, and no indexed source states what holds {at}"
    return Verdict(headline=headline, lead=lead)


def _for_class(frame: QuestionFrame, fit: FrameFit, subject: str, conditions: set[str]) -> Verdict | None:
    """What the drug's class's evidence states, declared as such ("documented for
    antidepressants, the class sertraline belongs to"); on the condition or population asked
    about when the question names one ("NSAIDs in renal impairment")."""
    agent = frame.agents[0]
    pool = [c for c in fit.about_subject(agent, item_required=True)
            if fit.of(c).about[agent.concept_id].via_class and not fit.of(c).by_name(agent.concept_id)
            and (not conditions or fit.on_condition(c, conditions) or fit.of(c).names_population)]
    lead = _strongest(fit, pool)
    if lead is None:
        return None
    cls = fit.of(lead).about[agent.concept_id].via_class
    return Verdict(headline=f"{subject}: documented for {cls}, the class {agent.name} belongs to \u2014 "
                            f"{_quoted(lead, frame.asked_for)}", lead=lead, level="class",
                   facts=_class_notes(cls, agent.name))


def _class_notes(cls: str, agent: str) -> list[str]:
    """Two short facts, what the evidence is on first: a patient's summary restates each."""
    return [f"This evidence is on {cls}, the drug class {agent} belongs to.",
            f"No indexed source names {agent} here."]


def _own_change(frame: QuestionFrame, fit: FrameFit, subject: str) -> Verdict:
    """Whether any source supports the change the reader means to make unsupervised, with what
    the sources say about how it is done."""
    pool = own_change.guidance(fit)
    change = own_change.change_phrase(frame)
    item = own_change.item_for(frame)
    allowed = own_change.allowing(fit, pool)
    if allowed is not None:
        return Verdict(headline=f"{subject}: {_quoted(allowed, item)} \u2014 make the change only with "
                                "your prescriber", lead=allowed)
    lead = pool[0] if pool else None
    headline = f"{subject}: no indexed source supports {change} without your prescriber"
    fact = (f"No indexed source supports {change} on your own; ask the prescriber before changing "
            f"{_in_sentence(subject)}.")
    if lead is None:
        return Verdict(headline=headline, level="none", facts=[fact])
    return Verdict(headline=f"{headline} \u2014 {_quoted(lead, item)}", lead=lead, facts=[fact])


def _allergy(frame: QuestionFrame, fit: FrameFit, subject: str) -> Verdict | None:
    """An agent of the class the reader is allergic to is named so first, with what the sources
    say about that allergy; None when no agent asked about is of the allergen's class."""
    found = next(((agent, cls) for agent in frame.agents for allergy in frame.allergies
                  if (cls := allergy_rules.allergen_class(agent, allergy))), None)
    if found is None:
        return None
    agent, cls = found
    what = (f"the drug the allergy is to" if cls == agent.name
            else f"one of the {cls}, the drug class of the allergy")
    facts = [f"{agent.name[:1].upper() + agent.name[1:]} "
             + ("is the drug named in the allergy." if cls == agent.name
                else f"belongs to the {cls} in medcite's drug-class table."),
             "Do not take it before asking the prescriber or pharmacist who knows about the allergy."]
    pool = allergy_rules.on_the_allergy(fit, agent)
    lead = min(pool[:LEAD_POOL], key=lambda c: (_authority(c, AskedFor.CONTRAINDICATION), -fit.weight(c)),
               default=None)
    if lead is None:
        return Verdict(headline=f"{subject}: {what}; no indexed source states that it is safe with this allergy",
                       level="none", facts=facts)
    return Verdict(headline=f"{subject}: {what} \u2014 {_quoted(lead, AskedFor.CONTRAINDICATION)}",
                   lead=lead, facts=facts)


def _membership(frame: QuestionFrame, fit: FrameFit, subject: str, agent: AgentFrame) -> Verdict:
    """ "Is pramoxine an NSAID?": a sentence naming the drug with the class when one exists, and
    what medcite's drug-class table says (a table that omits a drug does not deny it)."""
    cls = frame.classes_asked[0]
    member = cls in agent.classes
    names = class_names(cls) or [cls]
    pool = [c for c in fit.about_subject(agent, item_required=False)
            if fit.of(c).by_name(agent.concept_id) and clinically_typed(c) and _states_member(c.quote, agent.names, names)]
    lead = min(fit.ranked(pool)[:8], key=lambda c: (_authority(c, AskedFor.DEFINITION), -fit.weight(c)), default=None)
    name = agent.name[:1].upper() + agent.name[1:]
    facts = [f"{name} {'belongs to' if member else 'is not listed among'} the {cls} in medcite's drug-class table."]
    if lead is not None:
        return Verdict(headline=f"{subject}: {_quoted(lead, AskedFor.DEFINITION, tuple(agent.names))}",
                       lead=lead, facts=facts)
    table = f"one of the {cls}" if member else f"not listed among the {cls}"
    return Verdict(headline=f"{subject}: {table} in medcite's drug-class table; no indexed source states it",
                   level="none", facts=[*facts, f"No indexed source names {agent.name} as one of the {cls}."])


def _states_member(quote: str, agent_names: list[str], class_names_: list[str]) -> bool:
    """The sentence says the drug is one of the class ("NSAIDs, such as ibuprofen", "ibuprofen
    is an NSAID"), not merely that both are used ("antibiotics or oral isotretinoin")."""
    def alternatives(names: list[str]) -> str:
        return "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True) if n)
    drug, cls = alternatives(agent_names), alternatives(class_names_)
    if not drug or not cls:
        return False
    text = quote.lower()
    return bool(re.search(rf"\b({cls})\b[^.;]{{0,40}}\b(such as|e\.g\.|eg|including|like|for example|for instance"
                          rf"|especially)\W[^.;]{{0,60}}\b({drug})\b", text)
                or re.search(rf"\b({drug})\b[^.;]{{0,20}}\b(is|are|as) (a|an|one of the|another)\b[^.;]{{0,30}}\b({cls})\b", text))


def compared(fit: FrameFit, agents: list[AgentFrame]) -> list[Candidate]:
    """Sentences that compare the agents asked about with one another, each named: a treatment
    list naming both ("antivirals include acyclovir, valacyclovir") compares nothing."""
    return [c for c in fit.about_all(agents) if fit.of(c).states_item
            and all(fit.of(c).by_name(a.concept_id) for a in agents)]


def _comparison(fit: FrameFit, subject: str, agents: list[AgentFrame]) -> Verdict:
    """ "Is meloxicam the same as naproxen?": a sentence comparing them, or the plain absence of
    one (never the evidence on taking them together)."""
    keep = tuple(n for a in agents for n in a.names)
    lead = _strongest(fit, compared(fit, agents))
    if lead is not None:
        return Verdict(headline=f"{subject}: {_quoted(lead, AskedFor.COMPARISON, keep)}", lead=lead)
    names = joined([a.name for a in agents])
    return Verdict(headline=f"{subject}: no indexed source compares them directly", level="none",
                   facts=[f"No indexed source compares {names} directly.",
                          "The evidence on each is shown below."])


def _combination(frame: QuestionFrame, fit: FrameFit, subject: str, agents: list[AgentFrame]) -> Verdict:
    item = frame.asked_for
    # The headline's quote keeps the words naming each agent or its class.
    keep = tuple(n for a in agents for n in [*a.names, *(c for names in a.classes.values() for c in names)])
    joint = fit.about_all(agents)
    direct = [c for c in joint if all(fit.of(c).by_name(a.concept_id) or fit.of(c).about[a.concept_id].via_document
                                      for a in agents) and not fit.of(c).via_class()]
    lead = _strongest(fit, direct)
    if lead is not None:
        return Verdict(headline=f"{subject}: {_quoted(lead, item, keep)}", lead=lead)
    # Evidence on the drugs' classes stands for them only from a clinical source or design: an
    # untyped abstract that names both classes ("a combined treatment with beta-blockers") is none.
    lead = _strongest(fit, [c for c in joint if clinically_typed(c) and not _one_class_in_general(fit, c, agents)])
    if lead is not None:
        by_class = [(a, fit.of(lead).about[a.concept_id].via_class) for a in agents
                    if fit.of(lead).about[a.concept_id].via_class]
        distinct = list(dict.fromkeys(cls for _, cls in by_class))
        one_class = len(by_class) > 1 and len(distinct) == 1  # two NSAIDs: one class, not "NSAIDs with NSAIDs"
        classes = (f"{distinct[0]} taken together" if one_class else " with ".join(distinct)) or "the class"
        # Two short facts, what the evidence is on first: a patient's summary restates each.
        notes = ([f"This evidence is on {distinct[0]}, the drug class {joined([a.name for a, _ in by_class])} "
                  "both belong to." if one_class else
                  f"This evidence is on {joined(distinct)}, the drug classes "
                  f"{joined([a.name for a, _ in by_class])} belong to.", "No indexed source names them here."]
                 if len(by_class) > 1 else _class_notes(by_class[0][1], by_class[0][0].name)) if by_class else []
        return Verdict(headline=f"{subject}: documented for {classes} \u2014 {_quoted(lead, item, keep)}",
                       lead=lead, facts=notes, level="class")
    # Mechanism level: one agent's own interaction evidence (an enzyme inducer, a rule on taking
    # it apart from other medicines), or its class's, when the question is about harm from the
    # pair rather than benefit.
    mechanisms = []
    for agent in (agents if item in MECHANISM_ITEMS else []):
        own = [c for c in fit.about_subject(agent, item_required=False)
               if (fit.of(c).by_name(agent.concept_id) or fit.of(c).about[agent.concept_id].via_class)
               and _interaction_cue(c) and clinically_typed(c)
               # not a third drug's label ("LIPITOR with inducers ... e.g. rifampin" is
               # atorvastatin's interaction, not the antibiotics' in general)
               and not _another_drugs_label(c, agents)]
        members = set(class_members(agent.name))
        if members:
            # A class asked about ("antibiotics"): interactions stated of the class itself, not
            # one member's (rifampin's enzyme induction is no antibiotic's in general).
            own_names = [n for n in agent.names if n not in members]
            own = [c for c in own if names_any(c.quote, own_names)]
        if own:
            mechanisms.append((agent, own))
    if mechanisms:
        agent, own = mechanisms[0]
        # Its own name before its class; a named mechanism (an enzyme induced, a time apart)
        # says more than "be mindful of interactions".
        lead = min(fit.ranked(own)[:8], key=lambda c: (not fit.of(c).by_name(agent.concept_id),
                                                      not _ENZYME.search(c.quote), _authority(c, item),
                                                      -fit.weight(c)))
        cls = fit.of(lead).about[agent.concept_id].via_class
        plural = bool(class_members(agent.name))
        whose = f"{cls} (the class {agent.name} belongs to) have" if cls else \
            f"{agent.name} {'have' if plural else 'has'}"
        others = " and ".join(a.name for a in agents if a is not agent)
        return Verdict(
            headline=(f"{subject}: no indexed source names the pair, but {whose} documented "
                      f"interactions \u2014 {_quoted(lead, AskedFor.INTERACTION)}"),
            lead=lead, level="mechanism",
            facts=[f"The evidence below is on the interactions of {cls or agent.name}"
                   f" in general.",
                   f"No indexed source addresses {agent.name} with {others} directly or by drug class."])
    return Verdict(
        headline=f"{subject}: no indexed evidence on the combination",
        level="none", facts=[f"No indexed document addresses {' and '.join(a.name for a in agents)} together.",
                             "None addresses them by drug class or through a documented interaction "
                             "mechanism; what follows is the evidence on each agent separately."])


_TOGETHER = re.compile(r"\b(combin\w*|together|concomitant\w*|co-?administ\w*|add-on|added to|in addition to"
                       r"|with (another|other|a second)|two or more|dual|multiple)\b", re.I)


def _one_class_in_general(fit: FrameFit, candidate: Candidate, agents: list[AgentFrame]) -> bool:
    """Two drugs of one class (amlodipine and metoprolol, both antihypertensives) meet in a
    sentence on that class only when it speaks of combining them; "switching to an alternative
    antihypertensive agent" is about neither pair."""
    classes = {fit.of(candidate).about[a.concept_id].via_class for a in agents}
    return len(classes) == 1 and None not in classes and not (
        _TOGETHER.search(candidate.quote) or _interaction_cue(candidate))


def _around(quote: str, names: tuple[str, ...]) -> str:
    """The verbatim stretch of ``quote`` around the first of ``names`` it contains (at most
    ``CLAUSE_CHARS``), for a headline on a list that names it among others."""
    found = min((m for name in names for m in [re.search(rf"\b{re.escape(name)}\b", quote, re.I)] if m),
                key=lambda m: m.start(), default=None)
    if found is None or len(quote) <= CLAUSE_CHARS:
        return clause(quote, AskedFor.SYMPTOMS)
    start = max(0, found.start() - CLAUSE_CHARS // 3)
    end = min(len(quote), start + CLAUSE_CHARS)
    start = quote.find(" ", start) + 1 if start else 0
    end = quote.rfind(" ", 0, end) if end < len(quote) else end
    return ("\u2026 " if start else "") + quote[start:end].strip() + (" \u2026" if end < len(quote) else "")


MECHANISM_ITEMS = (AskedFor.INTERACTION, AskedFor.CONTRAINDICATION, AskedFor.ADVERSE_EFFECTS,
                   AskedFor.GENERAL, AskedFor.MAXIMUM_DOSE, AskedFor.DOSE)
# A drug interaction of the agent's own, not a molecule's ("interaction between a part of the
# ENPP1 protein and ...").
_MECHANISM = re.compile(r"\b(interact\w* with (other |many |some |several )?(drugs|medications|medicines|agents)"
                        r"|(drug|herb-drug|drug-drug|medication|medicine)[- ]interactions?|CYP\s?\d\w*|P-glycoprotein|serotonin syndrome"
                        r"|induc\w+ (of )?(the )?(CYP|cytochrome|metabolism|hepatic enzymes)"
                        r"|inhibit\w* (of )?(the )?(CYP|cytochrome|metabolism|clearance)"
                        # taken apart from everything else: "or take other medications for at
                        # least 30 minutes", "separate doses by 4 hours"
                        r"|\b(take|taking|with) (any )?other (oral )?(medications|medicines|drugs|supplements)\b"
                        r"|\bseparat\w+ (the )?(doses?|administration)\b|\bseparat\w+ by (at least )?\d+ ?(hours?|h|minutes?|min)\b)", re.I)


_ENZYME = re.compile(r"\b(CYP\s?\d\w*|cytochrome|P-glycoprotein|induc\w+|inhibit\w*)\b", re.I)


def _another_drugs_label(candidate: Candidate, agents: list[AgentFrame]) -> bool:
    document = candidate.evidence.document
    return document.source_type is SourceType.DRUG_LABEL and not any(document_subject(document, a) for a in agents)


def _interaction_cue(candidate: Candidate) -> bool:
    return bool(_MECHANISM.search(candidate.quote))


def _efficacy(frame: QuestionFrame, fit: FrameFit, subject: str) -> Verdict:
    pool = [c for s in (frame.agents or frame.conditions) for c in fit.about_subject(s, item_required=True)]
    # Counted are the sentences on what was asked ("for sleep"), not every result on the agent.
    conditions = {c.concept_id for c in frame.conditions} if frame.agents else set()
    if conditions:
        # "Do antibiotics stop Lyme disease?" is never answered by antibiotics in pancreatitis:
        # only sentences on the condition named (in their words or under its heading) count.
        pool = [c for c in pool if fit.on_condition(c, conditions)]
    elif fit.has_terms:
        # the question's own words where no condition was named: its rarest ("lyme" in "will
        # antibiotics stop lyme disease progressing?"), never only a common one ("prevent")
        pool = [c for c in pool if c.term_hits and fit.carries_rarest_term(c)]
    by_document: dict[str, int] = {}
    for candidate in pool:
        found = direction(candidate.quote)
        if found:
            key = candidate.evidence.document.key
            # A source reports what its sentence best on the question says ("antibiotics can
            # cure most cases of Lyme disease"), not a caveat later on a narrower group.
            by_document.setdefault(key, found)
    benefit = sum(1 for v in by_document.values() if v > 0)
    none = sum(1 for v in by_document.values() if v < 0)
    lead = _strongest(fit, [c for c in pool if direction(c.quote)]) or _strongest(fit, pool)
    if lead is None:
        return _not_found(frame, subject)
    if benefit and none:
        summary = f"evidence is mixed ({_reporting(benefit, 'benefit', 'sources')}, {_reporting(none, 'none')})"
    elif benefit:
        summary = _reporting(benefit, "benefit", "indexed sources")
    elif none:
        summary = _reporting(none, "no benefit", "indexed sources")
    else:
        summary = "sources discuss it without a clear result"
    return Verdict(headline=f"{subject}: {summary} \u2014 {_quoted(lead, AskedFor.EFFICACY)}", lead=lead)


def _reporting(n: int, finding: str, noun: str = "") -> str:
    """ "1 indexed source reports benefit", "3 report none"."""
    if noun:
        noun = " " + (noun if n != 1 else noun.removesuffix("s"))
    return f"{n}{noun} report{'s' if n == 1 else ''} {finding}"


_IT = re.compile(r"\bit\b")


def _not_found(frame: QuestionFrame, subject: str, fit: FrameFit | None = None) -> Verdict:
    item = frame.asked_for
    wanted = "an answer to this question" if item is AskedFor.GENERAL else item.phrase
    if item is AskedFor.ADVERSE_EFFECTS and frame.stopping:
        wanted = "what stopping it does"
    elif item is AskedFor.ADVERSE_EFFECTS and frame.agents and frame.conditions:
        wanted = " or ".join(c.name for c in frame.conditions) + " as an adverse effect"
    elif item in CONDITION_BOUND and frame.agents and frame.conditions:
        wanted += " in " + " or ".join(c.name for c in frame.conditions)
    elif item is AskedFor.ADVERSE_EFFECTS and fit is not None and fit.terms:
        # the effect in the question's words; of many, the rarest (the others are phrasing)
        words = fit.terms if len(fit.terms) <= 2 else (fit.rarest_term,)
        wanted = " ".join(words) + " as an adverse effect"
    elif item is AskedFor.DURATION and frame.course:
        wanted = "how long it lasts"  # a condition's course, not a treatment's duration
    named = _in_sentence(subject)
    if item in (AskedFor.TREATMENT, AskedFor.FIRST_LINE) and frame.agents and frame.conditions:
        # "What about diflucan for a yeast infection?": whether it is a treatment for that
        kind = "a first-line treatment" if item is AskedFor.FIRST_LINE else "a treatment"
        conditions = " or ".join(c.name for c in frame.conditions)
        agents = " or ".join(a.name for a in frame.agents)
        return Verdict(headline=f"{subject}: no indexed source states it as {kind} for {conditions}",
                       level="none", facts=[f"No indexed source states {agents} as {kind} for {conditions}."])
    if not frame.subjects():
        # A question naming no subject is not "for this question" twice over.
        wanted = "an answer to it" if item is AskedFor.GENERAL else wanted
        fact = f"No indexed source states {wanted}."
    elif _IT.search(wanted):
        fact = f"No indexed source states {_IT.sub(named, wanted, count=1)}."  # "what X looks like"
    else:
        # "... in pregnancy for amoxicillin in pregnancy": the subject already says it
        where = wanted.rpartition(" in ")[2]
        if " in " in wanted and named.endswith(f" in {where}"):
            wanted = wanted.rpartition(" in ")[0]
        fact = f"No indexed source states {wanted} for {named}."
    return Verdict(headline=f"{subject}: no indexed source states {wanted}", level="none", facts=[fact])
