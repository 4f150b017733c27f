"""Questions as patients write them (issue #10, brittle question analysis): a misspelt word inside
a condition's name, everyday words for a complaint, and "anything I can take for it?" asked as
a treatment question; on the vocabulary and the real clinical store."""

from __future__ import annotations

import re

import pytest

from medcite.answer import Engine
from medcite.models import AskedFor, StatementKind
from medcite.retrieval.analysis import analyse
from medcite.retrieval.frame import asked_for
from medcite.settings import Settings
from medcite.web.render import correction_line


@pytest.fixture(scope="module")
def engine(clinical_store):
    return Engine(clinical_store, Settings.load(dense="off"))


def read(engine: Engine, question: str):
    return analyse(question, engine.searcher.vocabulary, settings=engine.settings,
                   frequency=engine._passages_with)


@pytest.mark.parametrize(("question", "typed", "condition"), [
    ("symptoms of chronic fatique syndrome", "fatique", "condition:chronic-fatigue-syndrome"),
    ("is restless legs syndrom hereditary", "syndrom", "condition:restless-legs-syndrome"),
    ("treatment of seratonin syndrome", "seratonin", "condition:serotonin-syndrome"),
])
def test_a_misspelt_word_inside_a_condition_name_is_corrected_by_the_name(engine, question, typed,
                                                                          condition):
    """The corpus stems "syndrom" to the same word as "syndrome", so counting passages cannot
    tell it is misspelt; the whole name can: corrected, it is a known condition."""
    analysis = read(engine, question)
    assert [c.typed for c in analysis.frame.corrections] == [typed]
    assert analysis.frame.corrections[0].kind == "spelling"
    assert condition in {m.concept.id for m in analysis.mentions}


def test_a_correct_name_and_an_ordinary_phrase_are_left_alone(engine):
    for question in ("what is serotonin syndrome", "what helps with chronic pain", "my medicine list"):
        assert read(engine, question).frame.corrections == [], question


def test_an_everyday_word_is_read_as_the_condition_and_the_article_says_so(engine):
    analysis = read(engine, "Is there any kind of medication you can prescribe to help reduce my sweating?")
    assert [(c.typed, c.corrected, c.kind) for c in analysis.frame.corrections] == [
        ("sweating", "hyperhidrosis", "everyday word")]
    assert "condition:hyperhidrosis" in {m.concept.id for m in analysis.mentions}
    assert "sweating" in analysis.terms  # still one of the question's words
    # "sweating" is not searched as the condition's own name: a sentence naming it as a
    # symptom of something else (alcohol withdrawal) is not evidence on hyperhidrosis.
    subject = analysis.frame.conditions[0]
    assert "sweating" not in subject.names
    article = engine.write_article(analysis)
    assert correction_line(article) == "Read \u201csweating\u201d as hyperhidrosis"
    for statement in article.statements():
        if statement.kind is StatementKind.CLINICAL:
            assert not re.search(r"withdrawal|alcohol", statement.quote, re.I), statement.quote


@pytest.mark.parametrize("question", [
    "Anything I can do for the congestion?",
    "Is there any kind of medication you can prescribe in the meantime to help reduce my sweating?",
    "NSAIDs bother my stomach, is there anything I can take with that to prevent irritation?",
    "What can I take for hives?",
    "how can I get rid of a stuffy nose",
])
def test_what_can_i_take_for_it_is_a_treatment_question(question):
    assert asked_for(question, 0) is AskedFor.TREATMENT
    assert asked_for(question, 1) is AskedFor.TREATMENT


def test_a_treatment_for_a_drugs_own_harm_is_answered_with_the_words_of_the_complaint(engine):
    """"NSAIDs bother my stomach: anything to take with them?" is not answered by "NSAIDs are
    recommended first-line for gout": the lead must carry the question's own words (stomach)."""
    article = engine.ask("NSAIDs bother my stomach, is there anything I can take with that to prevent irritation?",
                         save=False)
    assert article.frame.asked_for is AskedFor.TREATMENT
    lead = article.bottom_line[0]
    assert lead.kind is StatementKind.CLINICAL
    assert re.search(r"stomach|gastr|ulcer", lead.quote, re.I), lead.quote
    assert "first-line option" not in article.headline


def test_another_route_is_told_apart_from_the_asked_form():
    from medcite.vocab.routes import another_route

    cream = frozenset({"cream"})
    assert another_route("Corticosteroid injections into the heel relieve plantar fasciitis.", cream)
    assert another_route("An epidural steroid was given.", frozenset({"topical"}))
    assert not another_route("Apply the steroid cream or ointment twice daily.", cream)
    assert not another_route("Corticosteroids relieve inflammation.", cream)  # no route named
    assert not another_route("Steroid injections may help.", frozenset({"glycinate"}))  # a salt


@pytest.mark.parametrize("question", [
    "Can I use a steroid cream for an insect bite on my face?",
    "What is an example of a topical steroid",
])
def test_a_steroid_cream_is_not_answered_with_steroid_injections(engine, question):
    """The route asked for, before the name ("topical steroid") or after it ("steroid cream"),
    keeps out sentences that give the drug only by another route (heel, epidural, facet
    injections)."""
    article = engine.ask(question, save=False)
    agent = article.frame.agents[0]
    assert agent.concept_id == "drug:corticosteroids" and agent.form in ("cream", "topical")
    for statement in article.statements():
        if statement.kind is StatementKind.CLINICAL and "drug:corticosteroids" in statement.about:
            assert not re.search(r"inject|epidural|intra-?articular|intravenous|\boral\b", statement.quote,
                                 re.I), statement.quote


@pytest.mark.parametrize(("question", "wanted"), [
    ("is BV an STD?", {"condition:bacterial-vaginosis", "condition:sexually-transmitted-infections"}),
    ("can TB be cured", {"condition:tuberculosis"}),
    ("what is PCOS", {"condition:polycystic-ovary-syndrome"}),
])
def test_conditions_named_by_their_abbreviation_are_recognised(engine, question, wanted):
    assert wanted <= {m.concept.id for m in read(engine, question).mentions}


@pytest.mark.parametrize(("question", "effect"), [
    ("Can anemia cause fatigue?", "fatigue"),
])
def test_a_question_linking_two_conditions_is_answered_by_a_sentence_naming_both(engine, question, effect):
    """"Does low thyroid contribute to weight gain?": a reference page listing the effect among
    the condition's symptoms is the answer; the headline quotes the stretch naming it."""
    article = engine.ask(question, save=False)
    lead = article.bottom_line[0]
    assert lead.kind is StatementKind.CLINICAL, article.headline
    assert len(lead.about) == 2
    assert re.search(effect, article.headline.split(":", 1)[1], re.I), article.headline
    assert "as an adverse effect" not in article.headline


@pytest.mark.parametrize(("question", "subject"), [
    ("What are the symptoms of anemia?", "anemia"),
])
def test_a_reference_question_is_answered_from_the_page_on_its_subject(engine, question, subject):
    """Not from another disease's page that mentions it, nor with a statement on some cases
    only ("Inherited cases of ... are caused by")."""
    article = engine.ask(question, save=False)
    lead = article.bottom_line[0]
    assert lead.kind is StatementKind.CLINICAL, article.headline
    cited = {r.number: r for r in article.references}[lead.citations[0]]
    assert cited.type_label == "Consumer health" and subject in cited.title.lower(), cited.title
    assert not re.match(r"(inherited|familial|rare|some)\b", lead.quote, re.I), lead.quote


@pytest.mark.parametrize(("question", "item"), [
    ("what color is 30mg prednisone", AskedFor.APPEARANCE),  # a strength is no dose asked for
    ("qvar 40mg what is it for", AskedFor.TREATMENT),
    ("what is metformin used for", AskedFor.TREATMENT),
    ("What is the dose of amoxicillin for a child?", AskedFor.DOSE),
])
def test_what_a_drug_looks_like_or_is_for_is_not_read_as_its_dose(question, item):
    assert asked_for(question, 1) is item


def test_how_long_a_condition_lasts_is_its_course_not_a_treatments_duration(engine):
    """A trial's "2 times per week for 24 weeks" is no answer to how long a strain hurts; "how
    long should it be anticoagulated" still asks for the treatment's duration."""
    article = engine.ask("If this is just muscle strain, how many days should I expect the pain to go away?",
                         save=False)
    assert article.frame.asked_for is AskedFor.DURATION and article.frame.course
    lead = article.bottom_line[0]
    if lead.kind is StatementKind.CLINICAL:
        assert re.search(r"heal|recover|go(es)? away|resolv|last", lead.quote, re.I), lead.quote
    else:
        assert "how long it lasts" in article.headline
    assert not read(engine, "How long should anticoagulation continue after a first DVT?").frame.course


def test_an_algorithm_branch_or_a_bare_table_heading_is_never_quoted():
    from medcite.synthesis.sentences import quotable

    assert quotable("-> Neither topiramate nor gabapentin should be used in this case") is None
    assert quotable("CrCl (mL/min) | Recommended Maximum Daily Dose | Dose Regimen") is None
    assert quotable("Neither topiramate nor gabapentin should be used in pregnancy.") is not None


@pytest.mark.parametrize("question", [
    "what is actonel prescribed for?",
    "My wife had mentioned some kind of oral med that was available for foot fungus issues?",
    "Is there a medicine for hives?",
])
def test_a_medicine_for_it_is_a_treatment_question(question):
    assert asked_for(question, 1) is AskedFor.TREATMENT


def test_whether_it_works_for_a_named_condition_counts_only_sources_on_that_condition(engine):
    """"Will the antibiotics prevent the lyme disease from progressing?" was answered "3 sources
    report no benefit" from guidelines on pancreatitis and sepsis (judged dangerous)."""
    article = engine.ask("Will the antibiotics prevent the lyme disease from progressing?", save=False)
    assert article.frame.asked_for is AskedFor.EFFICACY
    lead = article.bottom_line[0]
    if lead.kind is StatementKind.CLINICAL:
        assert "condition:lyme-disease" in lead.about, lead.quote
    else:
        assert "no indexed source states" in article.headline, article.headline


def test_a_cure_is_a_benefit_and_a_caveat_on_a_narrower_group_is_not_the_sources_verdict():
    from medcite.synthesis.relevance import direction

    assert direction("Antibiotics can cure most cases of Lyme disease.") == 1
    assert direction("Long-term antibiotics have not been shown to help with PLDS.") == -1


@pytest.mark.parametrize(("question", "condition"), [
    ("Would it be possible to prescribe something today to help short-term (even a week) for my heart burn?",
     "condition:gastroesophageal-reflux-disease"),
    ("I have a mouth ulcer, what helps?", "condition:aphthous-stomatitis"),
])
def test_what_helps_a_complaint_is_a_treatment_question_on_the_condition(engine, question, condition):
    """With no drug named, "whether it works" has nothing to test: the question asks what helps
    the condition; "heart burn" and "mouth ulcer" are heartburn and canker sores, not peptic ulcer."""
    read_frame = read(engine, question).frame
    assert read_frame.asked_for is AskedFor.TREATMENT
    assert [c.concept_id for c in read_frame.conditions] == [condition]
