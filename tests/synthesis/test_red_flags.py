"""Red flags in questions, and the emergency notice each one opens the article with.

Phrasings are the ways people ask in a hurry (first person, a parent about a child, a carer
about a parent); the ordinary questions are the kind a clinician asks every day and must not be
told to call an ambulance.
"""

from __future__ import annotations

import json

import pytest

from medcite.retrieval.analysis import red_flags
from medcite.synthesis.safety import EMERGENCY_NOTICE, emergency_notice


@pytest.mark.parametrize(("question", "labels"), [
    # A child's ingestion: poison control, and an overdose when the amount is stated.
    ("My 3-year-old swallowed about 20 iron pills", ["overdose", "poisoning"]),
    ("my toddler got into my blood pressure pills, what do I do", ["poisoning"]),
    ("My 18-month-old chewed on a laundry detergent pod", ["poisoning"]),
    ("what happens if your child ate a tylenol tablet", ["poisoning"]),
    ("our son (2) may have swallowed some of grandma's heart medication", ["poisoning"]),
    ("I accidentally took my husband's metoprolol instead of mine", ["poisoning"]),
    ("my kid drank some mouthwash, is that dangerous?", ["poisoning"]),
    # Batteries and magnets are not poisons but burn or perforate the gut.
    ("My daughter swallowed a button battery from the remote", ["swallowed battery or magnet"]),
    ("I think my 4 year old ate two of those little magnets", ["swallowed battery or magnet"]),
    # Overdose, phrased many ways.
    ("I took 30 of my sertraline an hour ago", ["overdose"]),
    ("took too many sleeping pills and feel weird", ["overdose"]),
    ("he swallowed a whole bottle of paracetamol", ["overdose"]),
    ("She took about 15 tylenol extra strength tablets", ["overdose"]),
    ("I took way more than the recommended amount of ibuprofen", ["overdose"]),
    ("I OD'd on my oxycodone last night", ["overdose"]),
    # Thunderclap headache.
    ("worst headache of my life, sudden", ["thunderclap headache"]),
    ("sudden severe headache while lifting weights", ["thunderclap headache"]),
    ("headache came on suddenly like being hit with a bat", ["thunderclap headache"]),
    ("is a thunderclap headache on sildenafil dangerous", ["thunderclap headache"]),
    # Suicidal intent, phrased many ways.
    ("I want to die, how many of my pills would it take", ["suicidal thoughts"]),
    ("thinking about ending my life since starting isotretinoin", ["suicidal thoughts"]),
    ("I have no reason to live anymore", ["suicidal thoughts"]),
    ("my family would be better off without me", ["suicidal thoughts"]),
    ("I don't want to be alive and I have a bottle of amitriptyline", ["suicidal thoughts"]),
    ("I'm going to kill myself tonight", ["suicidal thoughts"]),
    ("my brother says life isn't worth living and wants to end it all", ["suicidal thoughts"]),
    ("I wish I could just not wake up tomorrow", ["suicidal thoughts"]),
    # Chest pain with breathlessness, stroke (FAST), anaphylaxis, bleeding, seizures.
    ("crushing pain in my chest and I can't catch my breath", ["chest pain"]),
    ("I think I'm having a heart attack", ["chest pain"]),
    ("Dad's face is drooping on one side and his speech is slurred", ["stroke signs"]),
    ("my wife suddenly can't lift her left arm", ["stroke signs"]),
    ("my lips are swelling up after eating peanuts", ["anaphylaxis"]),
    ("stung by a bee, hives everywhere and trouble breathing", ["anaphylaxis"]),
    ("Should I use my EpiPen? My throat feels tight after shrimp", ["anaphylaxis"]),
    ("the cut on his leg won't stop bleeding", ["severe bleeding"]),
    ("I'm on Eliquis and hit my head on a cupboard", ["severe bleeding"]),
    ("soaking through a pad every hour after my miscarriage", ["severe bleeding"]),
    ("my son's seizure has lasted 6 minutes", ["seizure"]),
    ("he won't stop shaking and jerking, is it a fit", ["seizure"]),
    ("my dad collapsed and his lips are turning blue", ["unconscious"]),
    ("my 6 week old has a temperature of 38.3", ["infant fever"]),
    ("newborn feels hot to the touch and won't feed", ["infant fever"]),
    ("fever, stiff neck and a rash that doesn't fade", ["meningitis signs"]),
    # Typographic apostrophes as typed on phones.
    ("I don’t want to live anymore", ["suicidal thoughts"]),
])
def test_urgent_phrasings_get_their_label(question, labels):
    assert red_flags(question) == labels


@pytest.mark.parametrize("question", [
    "what is the maximum dose of ibuprofen",
    "headache after starting nitrates",
    "can children take iron supplements",
    "end-stage renal disease dosing of gabapentin",
    "What is the dose of aspirin after a heart attack?",
    "My father had a stroke last year; which statin should he take?",
    "Can ACE inhibitors cause lip swelling?",
    "how to use an epinephrine pen",
    "Does iron cause black stools?",
    "Is tranexamic acid used for heavy menstrual bleeding?",
    "Can you take too much vitamin D?",
    "Does poison ivy spread?",
    "what helps with food poisoning in adults",
    "palliative sedation at the end of life: which drugs?",
    "I took 2 tablets of paracetamol, can I take ibuprofen too?",
    "I took 10 mg of melatonin, is that too high?",
    "My daughter swallowed her antibiotic pill whole, is that ok?",
    "My son had seizures as a child; is bupropion safe for him?",
    "Does montelukast cause mood changes in children?",
    "What is the paracetamol dose for a 2-month-old after vaccines?",
    "Fever after vaccination in a 4-month-old: what is normal?",
    "I have a stiff neck and headache from sleeping wrong",
    "this migraine is killing me, can I take another sumatriptan",
    "Can I replace the battery in my glucose meter myself?",
    "I can't lift my arm above my head since the shoulder injury",
    "how long do sertraline side effects last",
])
def test_ordinary_clinical_questions_are_not_flagged(question):
    assert red_flags(question) == []


def test_consumer_questions_from_medicationqa_are_mostly_unflagged(shared_data):
    """Real consumer medication questions: the few flagged are about an overdose or a poisoning
    happening, never routine dosing or side-effect questions."""
    path = shared_data / "medicationqa" / "medicationqa.jsonl"
    if not path.exists():
        pytest.skip("MedicationQA is absent from the shared data")
    questions = [json.loads(line)["question"] for line in path.read_text().splitlines() if line]
    flagged = {q: red_flags(q) for q in questions if red_flags(q)}
    assert len(questions) > 600
    labels = {label for found in flagged.values() for label in found}
    assert labels <= {"overdose", "poisoning"}, flagged
    assert len(flagged) <= 8, flagged


def test_suicide_notice_gives_the_crisis_line():
    notice = emergency_notice(["suicidal thoughts"])
    assert "call or text 988 (US) or your local emergency number" in notice
    assert "crisis line" in notice
    assert notice.index("988") < notice.index("911")


def test_poisoning_notice_gives_poison_control_first():
    notice = emergency_notice(red_flags("My 3-year-old swallowed about 20 iron pills"))
    assert notice.startswith("For a poisoning")
    assert "1-800-222-1222 (US)" in notice and "emergency number" in notice
    # A small child's ingestion is not sent to a suicide crisis line.
    assert "988" not in notice


def test_overdose_notice_gives_poison_control_and_the_crisis_line():
    notice = emergency_notice(["overdose"])
    assert "1-800-222-1222" in notice and "988" in notice


@pytest.mark.parametrize(("label", "words"), [
    ("swallowed battery or magnet", "button battery"),
    ("chest pain", "heart attack"),
    ("stroke signs", "FAST"),
    ("thunderclap headache", "sudden, severe headache"),
    ("anaphylaxis", "epinephrine"),
    ("severe bleeding", "press firmly"),
    ("seizure", "5 minutes"),
    ("unconscious", "CPR"),
    ("infant fever", "under 3 months"),
    ("meningitis signs", "meningitis"),
])
def test_each_label_has_its_own_advice_then_the_numbers(label, words):
    notice = emergency_notice([label])
    assert words in notice
    assert notice.index(words) < notice.index("911")
    assert notice.endswith("Do not wait for an answer from this service.")


def test_several_flags_give_each_advice_once():
    notice = emergency_notice(["chest pain", "anaphylaxis", "chest pain"])
    assert notice.count("heart attack") == 1 and "epinephrine" in notice
    assert notice.count("911") == 1


def test_unknown_label_falls_back_to_the_general_notice():
    assert emergency_notice(["something new"]) == EMERGENCY_NOTICE


def test_every_label_in_the_data_file_has_specific_advice():
    from medcite.retrieval.analysis import _red_flags

    for label, _ in _red_flags():
        assert emergency_notice([label]) != EMERGENCY_NOTICE, label
