"""Comparisons and doses from studies (issue #10, headline is whatever ranked first): "is A the
same as B?" is answered by a sentence comparing them, or says none does, never with evidence on
taking them together; a dose one trial gave is reported as that, not as a dose to take. On the
real clinical store."""

from __future__ import annotations

import re

import pytest

from medcite.answer import Engine
from medcite.models import AskedFor, SourceType, StatementKind
from medcite.retrieval.frame import asked_for
from medcite.settings import Settings


@pytest.fixture(scope="module")
def engine(clinical_store):
    return Engine(clinical_store, Settings.load(dense="off"))


@pytest.mark.parametrize("question", [
    "Is meloxicam same as naproxen?", "is celecoxib safer than naproxen for the stomach?",
    "Whats the difference between Valtrex and Acyclovir?", "is ibuprofen stronger than acetaminophen",
])
def test_comparisons_are_read_as_comparisons(question):
    assert asked_for(question, 2) is AskedFor.COMPARISON


def test_a_comparison_is_not_answered_as_a_combination(engine):
    article = engine.ask("Is ibuprofen the same as naproxen?", save=False)
    assert article.frame.asked_for is AskedFor.COMPARISON and not article.frame.combination
    assert "versus" in article.headline
    assert not re.search(r"combination|together|documented for", article.headline, re.I), article.headline
    headings = [sub.heading for sec in article.sections for sub in sec.subsections]
    assert any(h.endswith(" compared") for h in headings), headings
    assert not any("together" in h for h in headings), headings
    lead = article.bottom_line[0]
    if lead.kind is StatementKind.CLINICAL:
        # a sentence naming both, comparing them
        assert re.search(r"ibuprofen", lead.quote, re.I) and re.search(r"naproxen", lead.quote, re.I), lead.quote
    else:
        assert "no indexed source compares" in article.headline


def test_each_drug_compared_stands_by_its_own_name(engine):
    """Under "Ibuprofen", a sentence on NSAIDs as a class that names only naproxen is not shown."""
    article = engine.ask("Is ibuprofen the same as naproxen?", save=False)
    for section in article.sections:
        for sub in section.subsections:
            if sub.heading in ("Ibuprofen", "Naproxen"):
                for statement in sub.statements:
                    assert re.search(sub.heading, statement.quote, re.I) or statement.where, statement.quote


def test_a_dose_a_trial_gave_is_not_a_dose_to_take(engine):
    """Melatonin has no label or guideline dose in the store; trials report what they gave."""
    article = engine.ask("How much melatonin should I take at night?", save=False)
    assert article.frame.asked_for is AskedFor.DOSE
    lead = article.bottom_line[0]
    if lead.kind is StatementKind.CLINICAL and {r.number: r for r in article.references}[
            lead.citations[0]].source_type is SourceType.RESEARCH:
        assert "no indexed source recommends a dose" in article.headline
        assert "a study reports" in article.headline
    else:
        assert "no indexed source" in article.headline.lower()


def test_a_price_is_no_dose_asked_for():
    assert asked_for("how much are ten mg dronabinol pills worth", 1) is AskedFor.GENERAL
    assert asked_for("how much does a 30 day supply of lipitor cost", 1) is AskedFor.GENERAL


def test_a_question_of_no_known_kind_is_not_answered_by_an_untyped_study(engine):
    """Its words alone anchor it: an untyped study sharing them ("onset" in a 1977 assay) is no
    verdict; a page of a clinical kind, or the absence, is."""
    from medcite.models import StudyDesign

    article = engine.ask("Could diabetes be so fast and onset?", save=False)
    assert article.frame.asked_for is AskedFor.GENERAL
    lead = article.bottom_line[0]
    if lead.kind is StatementKind.CLINICAL:
        reference = {r.number: r for r in article.references}[lead.citations[0]]
        assert reference.source_type is not SourceType.RESEARCH or reference.study_design not in (
            StudyDesign.OTHER, StudyDesign.PRECLINICAL, None), lead.quote


def test_the_class_a_drug_is_likened_to_is_no_second_drug():
    from medcite.retrieval.analysis import analyse

    frame = analyse("Is accutane like an antibiotic and would it affect a baby if I got pregnant?").frame
    assert [a.name for a in frame.agents] == ["isotretinoin"] and not frame.combination
    # the baby is unborn: a pregnancy question, not an infant's
    assert frame.population.pregnancy and frame.population.age_group is None
    assert frame.asked_for is AskedFor.CONTRAINDICATION
    # taken together, the class is a second agent as before
    both = analyse("Can I take accutane with antibiotics?").frame
    assert len(both.agents) == 2 and both.combination


def test_a_third_drugs_interaction_is_no_evidence_on_a_class(engine):
    """With no source on the pair, the class's interaction evidence is shown; the Lipitor label's
    "LIPITOR with inducers of CYP3A4 (e.g. rifampin)" is atorvastatin's, not the antibiotics'."""
    article = engine.ask("Can I take isotretinoin with antibiotics?", save=False)
    for statement in article.bottom_line:
        if statement.kind is StatementKind.CLINICAL:
            assert not re.search(r"lipitor|atorvastatin", statement.quote, re.I), statement.quote


def test_a_population_is_not_said_twice_in_an_absence(engine):
    article = engine.ask("can I take amoxicillin while pregnant", save=False)
    facts = " ".join(s.text for s in article.bottom_line if s.kind is StatementKind.EVIDENCE_BASE)
    assert facts.count("in pregnancy") <= 1, facts


def test_whether_a_drug_belongs_to_a_class_is_answered_from_a_sentence_saying_so(engine):
    """ "Is ibuprofen an NSAID?" asks about membership, not about taking the two together: a
    sentence that names the drug as one of the class, and what medcite's class table says."""
    from medcite.retrieval.analysis import analyse

    frame = analyse("is pramoxine a nsaid?").frame
    assert [a.name for a in frame.agents] == ["pramoxine"] and not frame.combination
    assert frame.classes_asked == ["nonsteroidal anti-inflammatory drugs"]
    article = engine.ask("Is ibuprofen an NSAID?", save=False)
    lead = article.bottom_line[0]
    assert lead.kind is StatementKind.CLINICAL
    assert re.search(r"(nsaids?|anti-inflammatory drugs)\W[^.]{0,60}such as ibuprofen|ibuprofen is an? ", lead.quote,
                     re.I), lead.quote
    facts = " ".join(s.text for s in article.bottom_line if s.kind is StatementKind.EVIDENCE_BASE)
    assert "belongs to the nonsteroidal anti-inflammatory drugs" in facts


def test_a_drug_outside_the_class_is_not_quoted_as_one_of_it(engine):
    """A sentence listing antibiotics beside isotretinoin as treatments says nothing of what
    isotretinoin is."""
    article = engine.ask("Is accutane like an antibiotic?", save=False)
    assert "not listed among the antibiotics" in article.headline, article.headline
    assert not [s for s in article.bottom_line if s.kind is StatementKind.CLINICAL]


def test_the_condition_a_drug_is_taken_for_is_no_side_effect_asked():
    from medcite.retrieval.analysis import analyse

    frame = analyse("amiodarone for afib what are side effects").frame
    assert frame.asked_for is AskedFor.ADVERSE_EFFECTS and not frame.conditions
    assert [c.name for c in analyse("Does amiodarone cause atrial fibrillation?").frame.conditions] == [
        "atrial fibrillation"]


def test_two_drugs_of_one_class_meet_only_in_a_sentence_on_combining_them(engine):
    """Amlodipine and metoprolol are both antihypertensives: a sentence on switching one
    antihypertensive for another, or on combining two other classes (ACE inhibitor + ARB), is no
    evidence on taking the pair; the headline does not say "antihypertensives with antihypertensives"."""
    article = engine.ask("what are the side effects of taking the two medication amlodipine metoprolol together",
                         save=False)
    assert "antihypertensives with antihypertensives" not in article.headline
    lead = article.bottom_line[0]
    if lead.kind is StatementKind.CLINICAL:
        assert re.search(r"combin|together|concomitant|with other|with another", lead.quote, re.I), lead.quote
        assert not re.search(r"ACE inhibitor \+ ARB|switching to an alternative", lead.quote), lead.quote
