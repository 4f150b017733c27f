"""Audience renderings on real articles: quotes unaltered, plain words beside them, and a patient
summary that reads plainly and says nothing the article's statements do not."""

import re
import statistics

import pytest

from medcite.answer import Engine
from medcite.evaluation.readability import flesch_kincaid_grade
from medcite.models import (
    AgentFrame,
    Article,
    AskedFor,
    Audience,
    Population,
    QuestionFrame,
    Reference,
    SourceType,
    Statement,
    StatementKind,
)
from medcite.retrieval.analysis import analyse
from medcite.settings import Settings
from medcite.synthesis.audience import SUMMARY_MAX_WORDS, adapt, gloss, glossary, shorten

QUESTIONS = [
    "Can magnesium glycinate be used to support mirtazapine (Remeron) therapy?",
    "Does lithium interact with ibuprofen in older adults?",
    "What is the maximum atorvastatin dose with clarithromycin?",
    "What is an A1C test?",
    "What are the side effects of Humira?",
    "Can I take St John's wort with sertraline?",
    "Is atorvastatin safe in pregnancy?",
    "What is the first-line treatment for high blood pressure?",
]


@pytest.fixture(scope="module")
def articles(clinical_store):
    engine = Engine(clinical_store, Settings.load(dense="off"))
    return [engine.write_article(analyse(q, engine.searcher.vocabulary)) for q in QUESTIONS]


def _explained_terms(quote: str) -> bool:
    return any(not e.everyday and e.explanation.lower() != e.term.lower() and e.pattern.search(quote)
               for e in glossary())


def test_quoted_statements_keep_their_words_in_every_audience(articles):
    for article in articles:
        for audience in Audience:
            for statement in adapt(article, audience).statements():
                if statement.quote is not None:
                    assert statement.text == statement.quote, (audience, statement.quote)


def test_a_gloss_explains_the_glossary_terms_of_a_quote(articles):
    glossed = 0
    for article in articles:
        for audience in (Audience.PATIENT, Audience.STUDENT):
            for statement in adapt(article, audience).statements():
                if statement.quote and _explained_terms(statement.quote):
                    assert statement.gloss and statement.gloss.startswith("In plain words:")
                    assert statement.gloss != statement.quote
                    glossed += 1
                elif statement.quote:
                    assert statement.gloss is None
    assert glossed >= 3


def test_patients_get_a_short_plain_summary_and_clinicians_none(articles):
    for article in articles:
        assert adapt(article, Audience.CLINICIAN).plain_summary == []
        summary = adapt(article, Audience.PATIENT).plain_summary
        assert 2 <= len(summary) <= 5, summary
        assert all(len(line.split()) <= SUMMARY_MAX_WORDS for line in summary), summary
        assert "doctor or pharmacist" in summary[-1]


def test_the_patient_summary_reads_at_grade_nine_or_below(articles):
    grades = [flesch_kincaid_grade(" ".join(adapt(a, Audience.PATIENT).plain_summary)) for a in articles]
    assert statistics.median(grades) <= 9, grades


def test_the_patient_summary_states_no_number_the_article_does_not(articles):
    for article in articles:
        said = " ".join([article.headline, *(s.text for s in article.statements())])
        for line in adapt(article, Audience.PATIENT).plain_summary:
            for number in re.findall(r"\d+(?:\.\d+)?", line):
                assert number in said, (line, article.question)


def test_the_summary_says_what_was_asked_from_the_frame(articles):
    atorvastatin = adapt(articles[2], Audience.PATIENT).plain_summary
    assert atorvastatin[0].startswith("You asked") and "atorvastatin" in atorvastatin[0]


# -- hand-built articles: the rules one at a time ------------------------------------------------

LABEL_QUOTE = "LIPITOR is contraindicated in women who are or may become pregnant."


def _article(**fields) -> Article:
    statement = Statement(text=LABEL_QUOTE, quote=LABEL_QUOTE, citations=[1],
                          passage_keys=["spl:lipitor#4"], where="Lipitor label, Contraindications")
    values = dict(
        question="Is atorvastatin safe in pregnancy?", slug="unused",
        headline="Atorvastatin in pregnancy: “LIPITOR is contraindicated in women who are or may "
                 "become pregnant” (drug label)",
        bottom_line=[statement],
        references=[Reference(number=1, document_key="spl:lipitor", source_type=SourceType.DRUG_LABEL,
                              type_label="Drug label", title="LIPITOR label")],
        frame=QuestionFrame(asked_for=AskedFor.CONTRAINDICATION,
                            agents=[AgentFrame(concept_id="atorvastatin", name="atorvastatin", kind="drug")],
                            population=Population(pregnancy=True)),
    )
    return Article(**{**values, **fields})


def test_a_quote_inside_the_headline_is_not_reworded_for_patients():
    patient = adapt(_article(headline="Hypertension: “Edema is contraindicated here”"), Audience.PATIENT)
    assert patient.headline == "High blood pressure: “Edema is contraindicated here”"


def test_the_summary_restates_the_headline_quote_in_plain_words_with_its_source():
    summary = adapt(_article(), Audience.PATIENT).plain_summary
    assert summary == [
        "You asked whether atorvastatin is safe during pregnancy.",
        "The drug label says: LIPITOR is not to be used in women who are or may become pregnant.",
        "Ask your doctor or pharmacist before you start, stop or change atorvastatin.",
    ]


def test_a_headline_span_not_found_in_a_cited_quote_is_not_restated():
    article = _article(headline="Atorvastatin: “take it with grapefruit at any dose” (drug label)")
    assert not any("grapefruit" in line for line in adapt(article, Audience.PATIENT).plain_summary)


def test_without_a_frame_the_summary_still_has_a_verdict_and_advice():
    summary = adapt(_article(frame=None), Audience.PATIENT).plain_summary
    assert len(summary) == 2 and summary[0].startswith("The drug label says:")


def test_a_refusal_has_no_summary():
    assert adapt(_article(refusal="Outside scope."), Audience.PATIENT).plain_summary == []


def test_a_combination_question_is_restated_as_taking_them_together():
    frame = QuestionFrame(asked_for=AskedFor.INTERACTION, combination=True,
                          population=Population(age_group="older adult"), agents=[
                              AgentFrame(concept_id="lithium", name="lithium", kind="drug"),
                              AgentFrame(concept_id="ibuprofen", name="ibuprofen", kind="drug")])
    absence = Statement(text="No indexed document addresses lithium and ibuprofen together; "
                        "what follows is the evidence on each agent separately.",
                        kind=StatementKind.EVIDENCE_BASE)
    summary = adapt(_article(frame=frame, headline="Lithium with ibuprofen: no indexed evidence",
                             bottom_line=[absence]), Audience.PATIENT).plain_summary
    assert summary == [
        "You asked whether lithium and ibuprofen can be taken together for an older adult.",
        "No source we searched covers lithium and ibuprofen together.",
        "Ask your doctor or pharmacist before you take lithium and ibuprofen together.",
    ]


def test_shortening_never_drops_a_condition_or_exception():
    assert shorten("Use drug X at 10 mg daily in adults, which lowers blood pressure in most people "
                   "over a period of several weeks of treatment.") == "Use drug X at 10 mg each day in adults."
    assert shorten("Drug X is recommended for adults; do not use it if kidney function is reduced.") is None
    long_condition = ("Drug X is recommended for the treatment of high blood pressure in adults over sixty "
                      "years of age unless they have a history of kidney disease.")
    assert shorten(long_condition) is None
    assert shorten("Edema (swelling of the legs) is common.") == "Swelling is common."


def test_glosses_explain_terms_and_skip_everyday_words():
    assert gloss("Edema was reported in patients taking it daily.") == "In plain words: “Edema” means swelling."
    assert gloss("It was taken by patients each day.") is None
    assert "a serious reaction to too much serotonin" in gloss("Watch for serotonin syndrome.")


def test_students_see_the_quote_with_a_gloss_and_no_summary():
    student = adapt(_article(), Audience.STUDENT)
    statement = student.bottom_line[0]
    assert statement.text == LABEL_QUOTE and statement.gloss == (
        "In plain words: “contraindicated” means not to be used.")
    assert student.plain_summary == [] and student.headline == _article().headline


def test_a_patient_is_told_whom_to_ask_not_how_to_ingest_documents():
    from medcite.synthesis.safety import NOTHING_FOUND

    nothing = Statement(text=NOTHING_FOUND, kind=StatementKind.EVIDENCE_BASE)
    article = _article(headline="Prednisone: no indexed evidence found", bottom_line=[nothing])
    patient = adapt(article, Audience.PATIENT)
    assert "medcite ingest" not in patient.bottom_line[0].text
    assert "doctor or pharmacist" in patient.bottom_line[0].text
    assert adapt(article, Audience.CLINICIAN).bottom_line[0].text == NOTHING_FOUND


def test_guideline_shorthand_in_a_quote_is_explained_for_patients(shared_data):
    """Guidelines write "ACEi (or ARB)" and "SGLT2i"; a patient reading the quote is told what
    the letters stand for beside it, and the quote keeps its words."""
    import json

    lines = [json.loads(line) for line in
             (shared_data / "open_medicine_guidelines" / "guideline_sections.jsonl").open()]
    texts = [line for row in lines for line in row["text_markdown"].splitlines()]
    quote = next(t for t in texts if "ACEi (or ARB)" in t)
    explained = gloss(quote)
    assert explained is not None
    assert "“ACEi” means ACE inhibitor" in explained and "“ARB” means" in explained
    heart = next(t for t in texts if "SGLT2i" in t and "ARNi" in t)
    assert "“SGLT2i” means SGLT2 inhibitor" in (gloss(heart) or "")
