"""Interaction questions answered from evidence on the pair's classes or on one agent's class,
never "no evidence on the combination" while a guideline in the store documents it (issue #10,
the two denied interactions a clinician judged dangerous), on the real clinical store."""

from __future__ import annotations

import re

import pytest

from medcite.answer import Engine
from medcite.models import Article, AskedFor, StatementKind
from medcite.settings import Settings
from medcite.synthesis.verdict import clause
from medcite.synthesis.verify import check_article


@pytest.fixture(scope="module")
def engine(clinical_store):
    return Engine(clinical_store, Settings.load(dense="off"))


def answer(engine: Engine, question: str) -> Article:
    return engine.ask(question, save=False)


def lead(article: Article):
    first = article.bottom_line[0]
    assert first.kind is StatementKind.CLINICAL, article.headline
    return first


@pytest.mark.parametrize("question", [
    "Can I take diclofenac with methylprednisolone?",  # the judged case (Cataflam with Medrol)
    "Is it safe to take naproxen with prednisone?",
    "Can I take ibuprofen while on dexamethasone?",
])
def test_an_nsaid_with_a_corticosteroid_is_answered_by_the_classes_ulcer_warning(engine, question):
    """No sentence names the two drugs; a guideline states the ulcer risk of NSAIDs with
    concurrent corticosteroid therapy. The headline says it is class evidence and keeps the
    words naming the corticosteroid; the statement declares both classes and passes
    verification (which recomputes that it is about each drug through its class)."""
    article = answer(engine, question)
    assert article.frame.asked_for is AskedFor.INTERACTION
    assert "no indexed evidence" not in article.headline
    assert "documented for nonsteroidal anti-inflammatory drugs with corticosteroids" in article.headline
    assert re.search(r"ulceration.*corticosteroid", article.headline), article.headline
    first = lead(article)
    assert first.via_class == "nonsteroidal anti-inflammatory drugs and corticosteroids"
    assert not check_article(article, engine.store).failures
    facts = " ".join(s.text for s in article.bottom_line if s.kind is StatementKind.EVIDENCE_BASE)
    assert "drug classes" in facts
    together = next(sub for section in article.sections for sub in section.subsections
                    if sub.heading.endswith(" together"))
    # Treatment lists naming both classes ("NSAIDs or corticosteroids may be recommended") are
    # no evidence on taking them together.
    assert all(re.search(r"concurrent|concomitant|combin|interact|risk", s.quote, re.I)
               for s in together.statements), [s.quote for s in together.statements]


@pytest.mark.parametrize(("question", "other"), [
    ("Can calcium supplements be taken with alendronate?", "calcium"),  # the judged case
    ("Can I take risedronate with my iron tablets?", "iron"),
])
def test_a_bisphosphonate_with_another_medicine_gets_the_classes_rule_on_taking_it_apart(
        engine, question, other):
    """The guideline's administration list sits under "Oral Bisphosphonate Administration" and
    names no member asked about: the heading makes it evidence on the class, and its rule (no
    other medication for 30 minutes) answers the question instead of a denial."""
    article = answer(engine, question)
    assert "no indexed evidence" not in article.headline
    assert "bisphosphonates (the class" in article.headline
    assert "take other medications for at least 30 minutes" in article.headline
    assert "- " not in article.headline.split("\u2014", 1)[1]  # a list item, read without bullets
    first = lead(article)
    assert first.via_class == "bisphosphonates" and "Bisphosphonate" in (first.where or "")
    assert not check_article(article, engine.store).failures
    facts = " ".join(s.text for s in article.bottom_line if s.kind is StatementKind.EVIDENCE_BASE)
    assert other in facts.lower() and "directly or by drug class" in facts


def test_a_pair_headline_keeps_the_words_naming_the_other_agent():
    quote = ("Administration of proton pump inhibitors, histamine 2 blockers or prostaglandin analog "
             "misoprostol along with these NSAIDs may reduce the risk of duodenal and gastric "
             "ulceration, in patients at higher risk for this adverse event (e.g., age >60, "
             "concurrent antiplatelet or corticosteroid therapy).")
    plain = clause(quote, AskedFor.INTERACTION)
    kept = clause(quote, AskedFor.INTERACTION, ("corticosteroid", "nsaids"))
    assert "corticosteroid" not in plain  # the window ends at the item's word
    assert "corticosteroid" in kept and "concurrent" in kept
    assert all(part.strip() in quote for part in kept.split("\u2026") if part.strip())  # verbatim


def test_a_mineral_named_only_as_another_drugs_counter_ion_is_not_evidence_on_it(engine):
    """The Lipitor label is titled "(atorvastatin calcium)"; it is no page on calcium, and its
    CYP3A4 sentences must not stand under "Calcium" in an answer on calcium supplements."""
    article = answer(engine, "Can calcium supplements be taken with alendronate?")
    assert not [r for r in article.references if "LIPITOR" in r.title], \
        [r.title for r in article.references]
    calcium = article.frame.subject("supplement:calcium") or next(
        a for a in article.frame.agents if a.name == "calcium")
    from medcite.synthesis.relevance import aboutness, counter_ion_only
    assert counter_ion_only("LIPITOR (atorvastatin calcium) Tablets", calcium)
    assert not counter_ion_only("Calcium and vitamin D with atorvastatin", calcium)
    assert aboutness("Take atorvastatin calcium once daily.", calcium).about is False
    assert aboutness("Calcium supplements are best taken with food.", calcium).about
