"""Query analysis: entities, intent, terms, expansions, red flags, medical or not."""

from __future__ import annotations

import pytest

from medcite.errors import QueryError
from medcite.retrieval.analysis import Intent, QueryAnalysis, analyse, follow_up, lexical_query

QUESTION = "Can magnesium glycinate be used to support mirtazapine (Remeron) therapy?"


@pytest.fixture(scope="module")
def main(vocabulary) -> QueryAnalysis:
    return analyse(QUESTION, vocabulary)


def test_main_question_concepts(main):
    assert main.question == QUESTION
    assert [c.id for c in main.concepts] == ["supplement:magnesium", "drug:mirtazapine"]
    magnesium = main.mentions[0]
    assert (magnesium.surface, magnesium.form, magnesium.concept.kind) == (
        "magnesium glycinate", "glycinate", "supplement")
    # Remeron is the same concept as mirtazapine: a second mention, not a second concept.
    assert [(m.surface, m.match) for m in main.mentions if m.concept.id == "drug:mirtazapine"] == [
        ("mirtazapine", "exact"), ("Remeron", "brand")]


def test_main_question_intent_terms_and_flags(main):
    assert main.intent is Intent.INTERACTION
    assert main.terms == ["magnesium", "glycinate", "support", "mirtazapine", "remeron", "therapy"]
    assert main.red_flags == []
    assert main.medical


def test_expansions_are_short_and_useful(main):
    mirtazapine = main.expansions["drug:mirtazapine"]
    assert mirtazapine[0] == "mirtazapine"
    assert "remeron" in mirtazapine
    assert len(mirtazapine) <= 1 + 4 + 5 + 3
    magnesium = main.expansions["supplement:magnesium"]
    assert magnesium[0] == "magnesium"
    common_forms = ("magnesium oxide", "magnesium citrate", "magnesium sulfate")
    assert any(form in magnesium for form in common_forms)
    assert set(main.expansions) == {"supplement:magnesium", "drug:mirtazapine"}


def test_lexical_query_weights(main):
    weights = dict(lexical_query(main))
    assert weights["mirtazapine"] == 1.0
    assert weights["remeron"] == 1.0
    assert weights["magnesium"] == 1.0
    assert all(w == 0.5 for t, w in weights.items() if t not in main.terms)
    assert len(weights) == len(lexical_query(main))


@pytest.mark.parametrize(("question", "intent"), [
    ("Is it safe to take sertraline with ibuprofen?", Intent.INTERACTION),
    ("Does warfarin interact with anything?", Intent.INTERACTION),
    ("sertraline and ibuprofen", Intent.INTERACTION),
    ("Can I combine melatonin and zolpidem?", Intent.INTERACTION),
    ("What is the usual dose of sertraline?", Intent.DOSING),
    ("How much melatonin should I take?", Intent.DOSING),
    ("Is 50 mg of sertraline a lot?", Intent.DOSING),
    ("What are the side effects of mirtazapine?", Intent.ADVERSE_EFFECTS),
    ("Does sertraline cause weight gain?", Intent.ADVERSE_EFFECTS),
    ("How does mirtazapine work?", Intent.MECHANISM),
    ("What is the mechanism of action of metformin?", Intent.MECHANISM),
    ("Sertraline vs escitalopram for anxiety", Intent.COMPARISON),
    ("Is Zoloft better than Lexapro?", Intent.COMPARISON),
    ("What is metformin used for?", Intent.INDICATION),
    ("Can amoxicillin treat a sinus infection?", Intent.INDICATION),
    ("Is magnesium effective for migraine?", Intent.EFFICACY),
    ("Does ashwagandha help with anxiety?", Intent.EFFICACY),
    ("Tell me about atorvastatin", Intent.GENERAL),
])
def test_intents(vocabulary, question, intent):
    assert analyse(question, vocabulary).intent is intent


@pytest.mark.parametrize(("question", "flag"), [
    ("I took too many mirtazapine pills and feel faint, what should I do?", "overdose"),
    ("I think my son overdosed on Tylenol", "overdose"),
    ("I have crushing chest pain and sweating after starting sumatriptan", "chest pain"),
    ("My mum's face is drooping and her speech is slurred", "stroke signs"),
    ("my father has slurred speech and sudden weakness in his arm", "stroke signs"),
    ("I have suicidal thoughts on sertraline", "suicidal thoughts"),
    ("I want to die", "suicidal thoughts"),
    ("I just want to kill myself", "suicidal thoughts"),
    ("My throat is swelling after taking penicillin", "anaphylaxis"),
    ("I can't breathe after a bee sting", "anaphylaxis"),
    ("I can’t breathe", "anaphylaxis"),
    ("heavy bleeding that won't stop on warfarin", "severe bleeding"),
    ("my child is having a seizure right now", "seizure"),
    ("she is unconscious and not breathing", "unconscious"),
    ("my toddler swallowed bleach", "poisoning"),
])
def test_red_flags(vocabulary, question, flag):
    assert flag in analyse(question, vocabulary).red_flags


@pytest.mark.parametrize("question", [
    QUESTION, "Does poison ivy spread?", "What is the dose of aspirin after a heart attack?",
    "Is St John's wort effective for depression?",
])
def test_no_red_flags_in_ordinary_questions(vocabulary, question):
    assert analyse(question, vocabulary).red_flags == []


@pytest.mark.parametrize("question", [
    "What's the best pizza in town?", "write me a poem about cats",
    "Who won the football game last night?", "How do I change a car tyre?",
])
def test_non_medical_questions(vocabulary, question):
    assert analyse(question, vocabulary).medical is False


@pytest.mark.parametrize("question", [
    "What is an A1C test?", "Why do I wake up tired every morning?", "Is pizza healthy?",
    "write me a poem about depression", "Is it contagious?",
])
def test_medical_questions_without_drugs(vocabulary, question):
    assert analyse(question, vocabulary).medical is True


@pytest.mark.parametrize("question", ["", "   ", "\n\t"])
def test_empty_question_is_refused(vocabulary, question):
    with pytest.raises(QueryError, match="empty"):
        analyse(question, vocabulary)


def test_huge_question_is_refused(vocabulary):
    question = "x" * 100_000
    with pytest.raises(QueryError) as caught:
        analyse(question, vocabulary)
    assert caught.value.message == "question is 100000 characters; the limit is 2000"


def test_question_at_the_limit_is_accepted(vocabulary):
    question = ("Is magnesium safe? " * 200)[:2000]
    assert analyse(question, vocabulary).concepts[0].id == "supplement:magnesium"


def test_follow_up_adds_a_new_drug(vocabulary, main):
    child = follow_up(main, "what about with sertraline?", vocabulary)
    assert [c.id for c in child.concepts] == [
        "supplement:magnesium", "drug:mirtazapine", "drug:sertraline"]
    assert [m.inherited for m in child.mentions] == [True, True, True, False]
    assert child.intent is Intent.INTERACTION
    assert child.terms == ["sertraline"]
    assert child.parent_question == QUESTION
    assert set(child.expansions) == {"supplement:magnesium", "drug:mirtazapine", "drug:sertraline"}
    weights = dict(lexical_query(child))
    assert weights["sertraline"] == weights["mirtazapine"] == weights["magnesium"] == 1.0


def test_follow_up_without_entities_inherits(vocabulary, main):
    child = follow_up(main, "Is it safe in older adults?", vocabulary)
    assert [c.id for c in child.concepts] == ["supplement:magnesium", "drug:mirtazapine"]
    assert child.intent is Intent.ADVERSE_EFFECTS
    assert follow_up(main, "and for how long?", vocabulary).intent is Intent.INTERACTION


def test_follow_up_that_replaces_a_drug(vocabulary, main):
    child = follow_up(main, "What about sertraline instead?", vocabulary)
    assert [c.id for c in child.concepts] == ["supplement:magnesium", "drug:sertraline"]


def test_follow_up_is_checked_like_a_question(vocabulary, main):
    with pytest.raises(QueryError):
        follow_up(main, " ", vocabulary)


def test_analysis_serialises(main):
    data = main.model_dump(mode="json")
    assert data["intent"] == "interaction"
    assert QueryAnalysis.model_validate(data) == main


def test_unknown_brand_names_are_not_refused_as_non_medical(vocabulary):
    for question in ("what is aldactazide used for", "why to take vicodin", "what do percocets look like"):
        assert analyse(question, vocabulary).medical, question


def test_lethal_amount_question_is_a_red_flag(vocabulary):
    assert "overdose" in analyse("how much gravol to kill you", vocabulary).red_flags
