"""Recognition and normalisation of drugs and supplements."""

from __future__ import annotations

import pytest

from medcite.errors import NotFoundError
from medcite.vocab import Vocabulary


def only(vocabulary: Vocabulary, text: str):
    mentions = vocabulary.recognise(text)
    assert len(mentions) == 1, [(m.surface, m.concept.id) for m in mentions]
    return mentions[0]


@pytest.mark.parametrize(
    "text", ["Remeron", "REMERON 15 mg", "remeron", "Remeron®", "REMERON 15mg tablets"])
def test_brand_remeron_is_mirtazapine(vocabulary, text):
    mention = only(vocabulary, text)
    assert mention.concept.id == "drug:mirtazapine"
    assert mention.match == "brand"
    assert mention.surface.lower() == "remeron"
    assert mention.form is None


def test_generic_name_is_exact(vocabulary):
    mention = only(vocabulary, "mirtazapine")
    assert (mention.concept.id, mention.match, mention.concept.name) == (
        "drug:mirtazapine", "exact", "mirtazapine")


@pytest.mark.parametrize(("brand", "generic"), [
    ("Zoloft", "drug:sertraline"),
    ("Tylenol", "drug:acetaminophen"),
    ("Lipitor", "drug:atorvastatin"),
])
def test_brands_map_to_generics(vocabulary, brand, generic):
    mention = only(vocabulary, f"Is {brand} safe?")
    assert mention.concept.id == generic
    assert mention.match == "brand"
    assert mention.surface == brand


@pytest.mark.parametrize(("text", "form"), [
    ("magnesium glycinate", "glycinate"),
    ("Mg bisglycinate", "bisglycinate"),
    ("magnesium citrate", "citrate"),
    ("magnesium oxide", "oxide"),
    ("Magnesium L-threonate", "l threonate"),
])
def test_magnesium_salts_are_magnesium_with_form(vocabulary, text, form):
    mention = only(vocabulary, text)
    assert mention.concept.id == "supplement:magnesium"
    assert mention.concept.kind == "supplement"
    assert mention.concept.name == "magnesium"
    assert mention.match == "salt"
    assert mention.form == form
    assert mention.surface == text


@pytest.mark.parametrize(("text", "concept", "form"), [
    ("sertraline hydrochloride", "drug:sertraline", "hydrochloride"),
    ("sertraline HCl", "drug:sertraline", "hcl"),
    ("atorvastatin calcium", "drug:atorvastatin", "calcium"),
    ("atorvastatin calcium trihydrate", "drug:atorvastatin", "calcium trihydrate"),
    ("amlodipine besylate", "drug:amlodipine", "besylate"),
    ("metoprolol succinate", "drug:metoprolol", "succinate"),
    ("metoprolol tartrate", "drug:metoprolol", "tartrate"),
    ("esomeprazole magnesium", "drug:esomeprazole", "magnesium"),
    ("naproxen sodium", "drug:naproxen", "sodium"),
    ("ferrous sulfate", "supplement:iron", "sulfate"),
    ("zinc gluconate", "supplement:zinc", "gluconate"),
    ("potassium chloride", "supplement:potassium", "chloride"),
    ("lithium carbonate", "drug:lithium", "carbonate"),
])
def test_salt_rule_is_general(vocabulary, text, concept, form):
    mention = only(vocabulary, text)
    assert (mention.concept.id, mention.form, mention.match) == (concept, form, "salt")


@pytest.mark.parametrize("text", ["sodium chloride", "nitrous oxide"])
def test_salt_rule_needs_a_known_moiety(vocabulary, text):
    concept = vocabulary.normalise(text)
    assert concept is not None
    assert concept.id not in ("supplement:sodium", "drug:nitrous")


@pytest.mark.parametrize(("mineral", "kind"), [
    ("magnesium", "supplement"), ("calcium", "supplement"), ("zinc", "supplement"),
    ("iron", "supplement"), ("potassium", "supplement"), ("vitamin D", "supplement"),
    ("fish oil", "supplement"), ("omega-3", "supplement"), ("melatonin", "supplement"),
    ("St John's wort", "supplement"), ("St. John’s Wort", "supplement"), ("ginkgo", "supplement"),
    ("turmeric", "supplement"), ("curcumin", "supplement"), ("ashwagandha", "supplement"),
    ("probiotics", "supplement"), ("vitamin B12", "supplement"), ("CoQ10", "supplement"),
])
def test_supplements_are_their_own_kind(vocabulary, mineral, kind):
    mention = only(vocabulary, mineral)
    assert mention.concept.kind == kind


def test_supplement_synonyms_share_a_concept(vocabulary):
    assert vocabulary.normalise("curcumin") == vocabulary.normalise("turmeric")
    assert vocabulary.normalise("cholecalciferol").id == "supplement:vitamin-d"
    assert vocabulary.normalise("omega 3").id == vocabulary.normalise("fish oil").id


@pytest.mark.parametrize(("typo", "concept"), [
    ("rivatigmine", "drug:rivastigmine"),
    ("sertaline", "drug:sertraline"),
    ("mirtazepine", "drug:mirtazapine"),
    ("metforman", "drug:metformin"),
    ("ibruprofen", "drug:ibuprofen"),
])
def test_misspellings_within_edit_distance(vocabulary, typo, concept):
    mention = only(vocabulary, f"how does {typo} work")
    assert (mention.concept.id, mention.match, mention.surface) == (concept, "fuzzy", typo)


@pytest.mark.parametrize("text", [
    "sertr",      # too short to correct
    "sertxxine",  # too far
    "zertraline", # first letter differs
])
def test_no_correction_outside_the_rules(vocabulary, text):
    assert vocabulary.recognise(text) == []


ORDINARY = ("can used support therapy be with help sleep water today will ice pill dose acid "
            "salt oxygen may ask the all it counter action impact vision score program date "
            "senior orange glucose cholesterol ability ambient breathing static thanks "
            "tablet capsule daily morning night energy balance focus relief").split()


@pytest.mark.parametrize("word", ORDINARY)
def test_ordinary_words_are_not_names(vocabulary, word):
    assert vocabulary.recognise(word) == []
    assert vocabulary.recognise(word.upper()) == []


@pytest.mark.parametrize("word", ["depression", "pain"])
def test_condition_words_are_conditions_not_drugs(vocabulary, word):
    assert [m.concept.kind for m in vocabulary.recognise(word)] == ["condition"]


def test_aloe_is_a_supplement(vocabulary):
    # A decision: "aloe" alone means aloe vera, a supplement people ask about.
    assert only(vocabulary, "aloe").concept.id == "supplement:aloe-vera"


def test_sentence_of_ordinary_words_names_nothing(vocabulary):
    text = "Can it be used today to help with sleep? Ask the pharmacist, who will say it may."
    assert [m for m in vocabulary.recognise(text) if m.concept.kind != "condition"] == []


def test_recognise_is_longest_match_non_overlapping_with_offsets(vocabulary):
    text = "Can magnesium glycinate be used to support mirtazapine (Remeron) therapy?"
    mentions = vocabulary.recognise(text)
    assert [(m.surface, m.concept.id) for m in mentions] == [
        ("magnesium glycinate", "supplement:magnesium"),
        ("mirtazapine", "drug:mirtazapine"),
        ("Remeron", "drug:mirtazapine"),
    ]
    for mention in mentions:
        assert text[mention.start:mention.end] == mention.surface
    assert [m.match for m in mentions] == ["salt", "exact", "brand"]


def test_punctuation_separates_names(vocabulary):
    ids = [m.concept.id for m in vocabulary.recognise("sertraline, magnesium")]
    assert ids == ["drug:sertraline", "supplement:magnesium"]
    ids = [m.concept.id for m in vocabulary.recognise("take 15 mg magnesium")]
    assert ids == ["supplement:magnesium"]


def test_drug_classes(vocabulary):
    ids = [m.concept.id for m in vocabulary.recognise("magnesium with SSRIs")]
    assert ids == ["supplement:magnesium", "drug:selective-serotonin-reuptake-inhibitors"]
    assert only(vocabulary, "alcohol").concept.id == "drug:ethanol"


def test_normalise(vocabulary):
    assert vocabulary.normalise("REMERON 15 mg").id == "drug:mirtazapine"
    assert vocabulary.normalise("Magnesium bisglycinate").id == "supplement:magnesium"
    assert vocabulary.normalise("sertaline").id == "drug:sertraline"
    assert vocabulary.normalise("sertraline and magnesium") is None
    assert vocabulary.normalise("support") is None
    assert vocabulary.normalise("") is None


def test_concept_details(vocabulary):
    concept = vocabulary.concept("drug:mirtazapine")
    assert concept.identifiers["drugbank"] == "DB06678"
    assert concept.identifiers["mesh"] == "D058831"
    assert concept.identifiers["medlineplus"] == "a697009"
    assert concept.identifiers["unii"] == "A051Q2099Q"
    assert "remeron" in concept.brands
    assert concept.synonyms[0] == "mirtazapine"
    sertraline = vocabulary.concept("drug:sertraline")
    assert sertraline.forms[0] == "sertraline hydrochloride"
    assert {"zoloft", "lustral"} <= set(sertraline.brands)
    assert len(sertraline.synonyms) <= 30


def test_unknown_concept_is_not_found(vocabulary):
    with pytest.raises(NotFoundError):
        vocabulary.concept("drug:no-such-thing")


def test_merged_concept_ids_resolve(vocabulary):
    assert vocabulary.concept("drug:cholecalciferol").id == "supplement:vitamin-d"


def test_counts(vocabulary):
    counts = vocabulary.counts()
    assert counts["drug"] > 20_000
    assert counts["supplement"] >= 50
    assert counts["condition"] >= 50


def test_empty_and_huge_text(vocabulary):
    assert vocabulary.recognise("") == []
    assert vocabulary.recognise("?!  ...") == []
    text = "mirtazapine " * 10_000
    assert len(vocabulary.recognise(text)) == 10_000
