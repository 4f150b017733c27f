"""Questions that name an allergy (issue #10; a clinician judged 'allergic to penicillin, can I
take amoxicillin?' dangerous when answered with a lab synergy study and amoxicillin's dose)."""

from __future__ import annotations

import re

import pytest

from medcite.answer import Engine
from medcite.models import AskedFor, StatementKind
from medcite.retrieval.analysis import analyse
from medcite.settings import Settings
from medcite.synthesis.allergy import allergen_class
from medcite.synthesis.verify import check_article


@pytest.fixture(scope="module")
def engine(clinical_store):
    return Engine(clinical_store, Settings.load(dense="off"))


def frame(engine, question):
    return analyse(question, engine.searcher.vocabulary, settings=engine.settings).frame


@pytest.mark.parametrize(("question", "agent", "allergen"), [
    ("if i'm allergic to penicillin can i take amoxicillin?", "amoxicillin", "penicillins"),
    ("I have a sulfa allergy, can I take Bactrim?", "trimethoprim/sulfamethoxazole", "sulfonamide antibiotics"),
    ("Can I take ibuprofen if I'm allergic to aspirin?", "ibuprofen", "aspirin"),
])
def test_the_allergen_is_what_the_reader_has_never_a_drug_taken(engine, question, agent, allergen):
    read = frame(engine, question)
    assert [a.name for a in read.agents] == [agent]
    assert [a.name for a in read.allergies] == [allergen]
    assert not read.combination and read.asked_for is AskedFor.CONTRAINDICATION
    assert "condition:allergy" not in {c.concept_id for c in read.conditions}


def test_the_allergen_asked_about_by_another_name_stays_the_agent(engine):
    read = frame(engine, "allergic to cephalexin, is Keflex ok?")
    assert [a.name for a in read.agents] == ["cephalexin"] == [a.name for a in read.allergies]
    assert allergen_class(read.agents[0], read.allergies[0]) == "cephalexin"


def test_only_a_cross_reactive_class_makes_another_drug_the_allergen(engine):
    amoxicillin = frame(engine, "allergic to ampicillin, can I take amoxicillin?")
    assert allergen_class(amoxicillin.agents[0], amoxicillin.allergies[0]) == "penicillins"
    azithromycin = frame(engine, "allergic to amoxicillin, can I take azithromycin?")
    # both are antibiotics, which do not cross-react as a class
    assert allergen_class(azithromycin.agents[0], azithromycin.allergies[0]) is None


@pytest.mark.parametrize(("question", "cls"), [
    ("if i'm allergic to penicillin can i take amoxicillin?", "penicillins"),
    ("Can I take ibuprofen if I'm allergic to aspirin?", "nonsteroidal anti-inflammatory drugs"),
])
def test_a_member_of_the_allergy_class_is_named_so_first(engine, question, cls):
    article = engine.ask(question, save=False)
    assert f"one of the {cls}, the drug class of the allergy" in article.headline
    facts = " ".join(s.text for s in article.bottom_line if s.kind is StatementKind.EVIDENCE_BASE)
    assert f"belongs to the {cls} in medcite's drug-class table" in facts
    assert "asking the prescriber or pharmacist" in facts
    lead = article.bottom_line[0]
    if lead.kind is StatementKind.CLINICAL:  # what the sources say about the allergy
        # ("aspirin-sensitive patients": the allergy in a guideline's words)
        assert re.search(r"allerg|sensitiv", lead.quote, re.I), lead.quote
    else:
        assert "no indexed source states that it is safe with this allergy" in article.headline
    assert "First-line" not in article.headline
    assert not check_article(article, engine.store).failures
