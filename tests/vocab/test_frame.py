"""The question frame read from real clinical questions: what is asked for, about whom."""

from __future__ import annotations

import pytest

from medcite.models import AskedFor
from medcite.retrieval.analysis import analyse, follow_up


@pytest.mark.parametrize(("question", "item"), [
    ("What is the maximum dose of atorvastatin with clarithromycin?", AskedFor.MAXIMUM_DOSE),
    ("Can St John's wort be taken with sertraline?", AskedFor.INTERACTION),
    ("What is meningitis?", AskedFor.DEFINITION),
    ("Zyrtec or claritin for allergies?", AskedFor.COMPARISON),
    ("Can I take ibuprofen while pregnant?", AskedFor.CONTRAINDICATION),
    ("Is sertraline safe while breastfeeding?", AskedFor.CONTRAINDICATION),
    ("What dose of amoxicillin for a 2-year-old with an ear infection?", AskedFor.DOSE),
    ("Should metformin be stopped if eGFR falls below 30?", AskedFor.THRESHOLD),
    ("What are the side effects of adalimumab?", AskedFor.ADVERSE_EFFECTS),
    ("How long should I take amoxicillin for strep throat?", AskedFor.DURATION),
    ("Should atorvastatin be taken at bedtime?", AskedFor.TIMING),
    ("How does metformin work?", AskedFor.MECHANISM),
    ("What is the first-line treatment for hypertension?", AskedFor.FIRST_LINE),
    ("Who should be screened for hepatitis C?", AskedFor.INDICATION),
    ("Which adults should use a statin for primary prevention?", AskedFor.INDICATION),
    ("Is a 70-year-old a candidate for bariatric surgery?", AskedFor.INDICATION),
    ("Who should not take atorvastatin?", AskedFor.CONTRAINDICATION),
    ("What statin intensity is recommended for primary prevention?", AskedFor.FIRST_LINE),
    ("What are the symptoms of meningitis?", AskedFor.SYMPTOMS),
    ("How do I know if I have the flu?", AskedFor.SYMPTOMS),
    ("How often should adults be screened for high blood pressure?", AskedFor.INDICATION),
    ("Is aspirin recommended for primary prevention in adults aged 70?", AskedFor.INDICATION),
])
def test_the_asked_for_item(vocabulary, question, item):
    assert analyse(question, vocabulary).frame.asked_for is item


def test_alternatives_are_not_a_combination(vocabulary):
    frame = analyse("Zyrtec or claritin for allergies?", vocabulary).frame
    assert {a.name for a in frame.agents} == {"cetirizine", "loratadine"}
    assert frame.alternatives and not frame.combination


def test_two_agents_taken_together_are_a_combination_with_classes(vocabulary):
    frame = analyse("Can St John's wort be taken with sertraline?", vocabulary).frame
    assert frame.combination and not frame.alternatives
    sertraline = next(a for a in frame.agents if a.name == "sertraline")
    assert "selective serotonin reuptake inhibitors" in sertraline.classes
    assert "drugs for depression" in sertraline.classes["antidepressants"]


def test_a_measure_falling_below_a_number_is_not_a_condition(vocabulary):
    analysis = analyse("What if her eGFR falls below 30 on metformin?", vocabulary)
    assert "falls" not in {m.concept.name.lower() for m in analysis.mentions}
    population = analysis.frame.population
    assert population.renal_impairment and population.egfr == 30


@pytest.mark.parametrize(("question", "group", "age"), [
    ("What dose of amoxicillin for a 2-year-old with an ear infection?", "child", 2),
    ("Can a 6 month old baby take ibuprofen?", "infant", 0.5),
    ("Is aspirin safe for a 15-year-old?", "adolescent", 15),
    ("Statins for a 78-year-old man?", "older adult", 78),
])
def test_the_age_group_with_its_number(vocabulary, question, group, age):
    population = analyse(question, vocabulary).frame.population
    assert population.age_group == group and population.age_years == pytest.approx(age)


def test_numbers_with_units_are_kept(vocabulary):
    frame = analyse("Is atorvastatin 40 mg right for a 12% 10-year risk?", vocabulary).frame
    assert {(n.value, n.unit) for n in frame.numbers} >= {(40.0, "mg"), (12.0, "%")}


def test_a_follow_up_inherits_the_frame_and_changes_only_what_it_names(vocabulary):
    parent = analyse("What is the maximum dose of atorvastatin?", vocabulary)
    child = follow_up(parent, "And with clarithromycin?", vocabulary)
    assert {a.name for a in child.frame.agents} == {"atorvastatin", "clarithromycin"}
    assert child.frame.asked_for is AskedFor.MAXIMUM_DOSE
    pregnant = follow_up(parent, "What if she is pregnant?", vocabulary)
    assert pregnant.frame.population.pregnancy
    assert [a.name for a in pregnant.frame.agents] == ["atorvastatin"]


def test_a_misspelling_the_corpus_lacks_is_corrected_and_recorded(vocabulary):
    counts = {"atorvastatn": 1, "atorvastatin": 540}
    analysis = analyse("Maximum dose of atorvastatn?", vocabulary, frequency=lambda w: counts.get(w, 0))
    assert analysis.corrected == "Maximum dose of atorvastatin?"
    assert [(c.typed, c.corrected) for c in analysis.frame.corrections] == [("atorvastatn", "atorvastatin")]
    assert [a.name for a in analysis.frame.agents] == ["atorvastatin"]


def test_a_word_the_corpus_uses_often_is_never_corrected(vocabulary):
    counts = {"atorvastatn": 50, "atorvastatin": 540}
    analysis = analyse("Maximum dose of atorvastatn?", vocabulary, frequency=lambda w: counts.get(w, 0))
    assert analysis.corrected is None and not analysis.frame.corrections


@pytest.mark.parametrize(("question", "change"), [
    ("Should I double my warfarin dose?", "double"),
    ("Can I stop my blood pressure pills when I feel well?", "stop"),
    ("Is it okay to skip my metformin when I am not eating?", "skip"),
    ("Can I cut down my prednisone?", "reduce"),
    ("Should warfarin be stopped before surgery?", None),
    ("Can I take ibuprofen with my lisinopril?", None),
])
def test_a_change_readers_mean_to_make_themselves(vocabulary, question, change):
    assert analyse(question, vocabulary).frame.self_change == change


@pytest.mark.parametrize(("question", "species"), [
    ("Can I give atorvastatin to my 10 kg dog?", "dog"),
    ("Is ibuprofen safe for cats?", "cat"),
    ("Can I take cetirizine for a cat allergy?", None),
    ("Can my cat take ibuprofen?", "cat"),
    ("Is a dog bite dangerous for a child?", None),
])
def test_an_animal_patient_is_recognised(vocabulary, question, species):
    assert analyse(question, vocabulary).frame.population.species == species
