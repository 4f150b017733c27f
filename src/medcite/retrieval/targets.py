"""Targeted searches from the question frame: where the asked-for thing is written down.

The main search ranks passages by the question's words. An answer often sits where those words
are not: the interaction in the other drug's label ("clarithromycin" AND "atorvastatin"), the
class a drug belongs to ("St John's wort" AND "antidepressants"), a mechanism ("St John's wort"
AND "CYP3A4"), the child's dose in a paediatric passage. Each ``Target`` is a conjunction of
term groups, optionally limited to source types; the engine runs them and adds what they find
to the evidence, tagged with the agent they are about.
"""

from __future__ import annotations

from dataclasses import dataclass

from medcite.models import AgentFrame, AskedFor, QuestionFrame, SourceType

CLINICAL_SOURCES = (SourceType.DRUG_LABEL, SourceType.GUIDELINE, SourceType.CONSUMER_HEALTH)

# Words a passage stating each item tends to use (plain phrases; the store quotes them).
ITEM_WORDS: dict[AskedFor, tuple[str, ...]] = {
    AskedFor.DOSE: ("dose", "dosage", "dosing", "mg/kg", "mg"),
    AskedFor.MAXIMUM_DOSE: ("not exceed", "maximum", "exceed", "no more than", "up to", "dosage range", "dose range"),
    AskedFor.TIMING: ("with food", "bedtime", "morning", "once daily", "empty stomach"),
    AskedFor.DURATION: ("duration", "days", "weeks", "course"),
    AskedFor.THRESHOLD: ("threshold", "below", "above", "eGFR", "less than"),
    AskedFor.CONTRAINDICATION: ("contraindicated", "avoid", "should not", "not recommended", "warning"),
    AskedFor.INDICATION: ("recommends", "should be offered", "indicated", "eligible", "adults aged",
                          "screening", "risk"),
    AskedFor.INTERACTION: ("interaction", "interactions", "interacts", "interact", "concomitant",
                           "coadministration", "CYP3A4", "induces", "inhibitor", "inducer", "concurrent",
                           # a rule on taking it apart from everything else (a bisphosphonate
                           # on an empty stomach, no other medicine for 30 minutes)
                           "other medications", "other medicines", "other drugs", "minutes before",
                           "hours before", "hours after"),
    AskedFor.ADVERSE_EFFECTS: ("side effects", "adverse reactions", "adverse", "risk"),
    AskedFor.EFFICACY: ("effective", "efficacy", "improved", "reduced", "benefit"),
    AskedFor.FIRST_LINE: ("first-line", "first line", "recommended", "preferred", "treatment"),
    AskedFor.TREATMENT: ("treatment", "treated", "relieve", "relief", "medicines", "medications", "may help",
                         "options"),
    AskedFor.COMPARISON: ("compared", "versus", "than"),
    AskedFor.DEFINITION: ("is a", "is an", "refers to", "inflammation", "condition"),
    AskedFor.SYMPTOMS: ("symptoms", "signs", "include", "may have"),
    AskedFor.CAUSE: ("caused by", "causes", "cause", "risk factors", "spread"),
    AskedFor.INHERITANCE: ("inherited", "chance", "autosomal", "pattern", "gene"),
    AskedFor.MISSED_DOSE: ("missed dose", "miss a dose", "as soon as you remember", "next dose"),
    AskedFor.MECHANISM: ("mechanism", "inhibits", "blocks", "receptor"),
    AskedFor.ONSET: ("onset", "within", "weeks", "full effect", "peak"),
    AskedFor.ELIMINATION: ("half-life", "elimination", "excreted", "clearance", "detected"),
    AskedFor.APPEARANCE: ("debossed", "imprinted", "film-coated", "round", "oval", "white", "capsules",
                          "tablets are"),
    AskedFor.INGREDIENTS: ("inactive ingredients", "active ingredient", "each tablet contains", "contains",
                           "excipients"),
    AskedFor.STRENGTH: ("strengths", "containing", "providing", "each tablet contains", "available as",
                         "supplied as"),
    AskedFor.STORAGE: ("store", "refrigerate", "refrigerator", "room temperature", "discard", "dispose",
                       "do not freeze"),
}
# Items a drug class's evidence answers for its members (not a dose, a label's own facts, or
# its look), when nothing names the drug itself.
CLASS_ITEMS = (AskedFor.ONSET, AskedFor.ADVERSE_EFFECTS, AskedFor.CONTRAINDICATION, AskedFor.MECHANISM,
               AskedFor.INTERACTION)
ALLERGY_WORDS = ("allergy", "allergic", "allergies", "hypersensitivity", "anaphylaxis")
POPULATION_WORDS = {
    "child": ("children", "child", "pediatric", "paediatric", "infants", "kg"),
    "pregnancy": ("pregnancy", "pregnant", "trimester", "fetal"),
    "lactation": ("breastfeeding", "breast-feeding", "lactation", "breast milk", "nursing"),
    "renal": ("renal", "eGFR", "kidney", "creatinine clearance", "dialysis"),
    "hepatic": ("hepatic", "liver", "cirrhosis"),
}


@dataclass(frozen=True)
class Target:
    """One conjunctive search: a passage must match a term of every group."""

    about: str  # concept id of the agent the found passages are evidence on
    groups: tuple[tuple[str, ...], ...]
    source_types: tuple[SourceType, ...] = ()
    limit: int = 12


def _population_groups(frame: QuestionFrame) -> list[tuple[str, ...]]:
    population = frame.population
    wanted = []
    if population.age_group in ("infant", "child", "adolescent"):
        wanted.append("child")
    for flag, group in ((population.pregnancy, "pregnancy"), (population.lactation, "lactation"),
                        (population.renal_impairment, "renal"), (population.hepatic_impairment, "hepatic")):
        if flag:
            wanted.append(group)
    return [POPULATION_WORDS[g] for g in wanted]


def _class_names(agent: AgentFrame) -> tuple[str, ...]:
    return tuple(dict.fromkeys(n for names in agent.classes.values() for n in names))


def targets(frame: QuestionFrame) -> list[Target]:
    """The targeted searches a frame calls for, most specific first."""
    found: list[Target] = []
    item = ITEM_WORDS.get(frame.asked_for)
    populations = _population_groups(frame)
    for agent in frame.subjects():
        names = tuple(agent.names)
        if not names:
            continue
        if item:
            found.append(Target(agent.concept_id, (names, item), CLINICAL_SOURCES))
            classes = _class_names(agent)
            if classes and frame.asked_for in CLASS_ITEMS and len(frame.agents) == 1:
                # what holds for its class ("antidepressants may take several weeks to help")
                found.append(Target(agent.concept_id, (classes, item), CLINICAL_SOURCES, limit=8))
        for group in populations:
            found.append(Target(agent.concept_id, (names, group), CLINICAL_SOURCES))
            if item:
                found.append(Target(agent.concept_id, (names, item, group), limit=8))
    for agent in frame.agents if frame.allergies else ():
        # what the sources say about the allergy, by the agent's names or its classes'
        names = tuple(dict.fromkeys([*agent.names, *_class_names(agent)]))
        found.append(Target(agent.concept_id, (names, ALLERGY_WORDS), CLINICAL_SOURCES, limit=15))
    agents = frame.agents
    if len(agents) >= 2 and not frame.alternatives:
        for first in agents:
            for other in agents:
                if other is first:
                    continue
                if first.names and other.names and first.concept_id < other.concept_id:
                    found.append(Target(first.concept_id, (tuple(first.names), tuple(other.names)), limit=20))
                # Class level: the other agent named by its class ("drugs for depression").
                classes = _class_names(other)
                if first.names and classes:
                    found.append(Target(first.concept_id, (tuple(first.names), classes), limit=15))
                # Both by class ("NSAIDs with corticosteroids": the ulcer risk of the pair).
                own_classes = _class_names(first)
                if own_classes and classes and first.concept_id < other.concept_id:
                    found.append(Target(first.concept_id, (own_classes, classes), limit=15))
                    # Two classes are named together in treatment lists far more often than in
                    # a warning on the pair; the warning is looked for on its own.
                    # (BM25 favours short treatment lists here too, hence the deeper limit.)
                    found.append(Target(first.concept_id, (own_classes, classes,
                                                           ITEM_WORDS[AskedFor.INTERACTION]), limit=40))
                # Mechanism level: the agent's own interaction evidence (an inducer of CYP3A4),
                # and its class's (how oral bisphosphonates are taken apart from other medicines).
                if first.names:
                    found.append(Target(first.concept_id, (tuple(first.names),
                                                           ITEM_WORDS[AskedFor.INTERACTION]),
                                        CLINICAL_SOURCES, limit=10))
                if own_classes:
                    found.append(Target(first.concept_id, (own_classes, ITEM_WORDS[AskedFor.INTERACTION]),
                                        (SourceType.DRUG_LABEL, SourceType.GUIDELINE), limit=10))
    return found
