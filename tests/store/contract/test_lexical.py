"""The lexical index: plain text in, never query syntax; filters inside the query; AND/OR."""

from __future__ import annotations

from medcite.ingest.prepare import write_documents
from medcite.models import SourceType
from medcite.store import SearchFilters, Store

from tests.store.contract.conftest import guideline, research

HOSTILE = ['"', "NEAR(", "aspirin*", "-", "^fever", "(((", 'a" OR "b', "AND", "*", "a & b",
           "!x", "x:*", "'", "\\", "<->", "%", "_"]


def _keys(store: Store, hits) -> list[str]:
    records = store.documents([h.document_id for h in hits])
    return [records[h.document_id].key for h in hits]


def test_the_passage_about_the_terms_ranks_first(any_store: Store):
    write_documents(any_store, [
        research("1", "Mirtazapine causes weight gain and sleepiness in many patients."),
        research("2", "Weight loss programmes for adults."),
        research("3", "Magnesium glycinate is a supplement."),
    ])
    hits = any_store.lexical_search(["mirtazapine", "weight gain"], limit=10)
    assert _keys(any_store, hits)[0] == "pmid:1"
    assert all(h.score > 0 for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert "pmid:3" not in _keys(any_store, hits)
    assert len(any_store.lexical_search(["weight"], limit=1)) == 1
    assert any_store.lexical_search(["weight"], limit=0) == []
    assert any_store.lexical_search([], limit=5) == []


def test_word_forms_meet(any_store: Store):
    write_documents(any_store, [research("1", "Infections were treated with antibiotics.")])
    assert len(any_store.lexical_search(["infection"], limit=5)) == 1
    assert len(any_store.lexical_search(["treating"], limit=5)) == 1


def test_a_multi_word_term_is_a_phrase(any_store: Store):
    write_documents(any_store, [research("1", "Blood pressure fell."),
                           research("2", "Pressure on the blood bank fell.")])
    assert _keys(any_store, any_store.lexical_search(["blood pressure"], limit=5)) == ["pmid:1"]


def test_hostile_query_text_is_plain_text(any_store: Store):
    write_documents(any_store, [research("1", "Aspirin reduces fever NEAR the end.")])
    for hostile in HOSTILE:  # never a syntax error of the index's query language
        any_store.lexical_search([hostile], limit=5)
        any_store.lexical_search_all([[hostile], ["aspirin"]], limit=5)
        any_store.passage_frequency(hostile)
        any_store.matching_documents([hostile])
    assert any_store.lexical_search(["aspirin"], limit=5)[0].score > 0


def test_filters_by_source_type_and_year(any_store: Store):
    write_documents(any_store, [
        research("1", "Statins lower LDL cholesterol.", year=2010),
        guideline("lipids", "Statins are recommended to lower LDL cholesterol.", 2019),
    ])
    assert len(any_store.lexical_search(["statins"], limit=5)) == 2
    only = SearchFilters(source_types=(SourceType.GUIDELINE,))
    assert _keys(any_store, any_store.lexical_search(["statins"], limit=5, filters=only)) == \
        ["guideline:lipids"]
    assert _keys(any_store, any_store.lexical_search(
        ["statins"], limit=5, filters=SearchFilters(since_year=2015))) == ["guideline:lipids"]
    assert _keys(any_store, any_store.lexical_search(
        ["statins"], limit=5, filters=SearchFilters(until_year=2015))) == ["pmid:1"]


def test_all_groups_must_match(any_store: Store):
    write_documents(any_store, [
        research("1", "Atorvastatin with clarithromycin raises statin levels."),
        research("2", "Lipitor lowers cholesterol."),
        research("3", "Clarithromycin treats pneumonia."),
    ])
    hits = any_store.lexical_search_all([["atorvastatin", "lipitor"], ["clarithromycin"]], limit=5)
    assert _keys(any_store, hits) == ["pmid:1"]
    assert any_store.lexical_search_all([["atorvastatin"], []], limit=5) == []


def test_lexical_lists_are_the_two_searches(any_store: Store):
    write_documents(any_store, [
        research("1", "Sertraline helped depression."),
        research("2", "Zoloft helped depression in adults."),
        research("3", "Depression screening in primary care."),
    ])
    user, combined = any_store.lexical_lists(["depression"], ["zoloft"], limit=5)
    assert [h.passage_id for h in user] == \
        [h.passage_id for h in any_store.lexical_search(["depression"], limit=5)]
    assert [h.passage_id for h in combined] == \
        [h.passage_id for h in any_store.lexical_search(["depression", "zoloft"], limit=5)]
    assert _keys(any_store, combined)[0] == "pmid:2"


def test_counts_and_unranked_matches(any_store: Store):
    write_documents(any_store, [research("1", "Warfarin and aspirin."), research("2", "Warfarin alone."),
                           research("3", "Nothing relevant.")])
    assert any_store.passage_frequency("warfarin") == 2
    assert any_store.passage_frequency("heparin") == 0
    assert any_store.passage_frequency("   ") == 0
    ids = {any_store.document(k).id for k in ("pmid:1", "pmid:2")}
    assert any_store.matching_documents(["warfarin", "heparin"]) == ids
    assert any_store.matching_documents([]) == set()


def test_common_terms_are_left_out_of_a_large_store_and_counted_again_when_it_changes(
        any_store: Store, monkeypatch):
    import medcite.store.postgres.store as postgres_store
    import medcite.store.sqlite as sqlite_store

    # This small store counts as large: a term in over 40% of passages is left out.
    for module in (sqlite_store, postgres_store):
        monkeypatch.setattr(module, "PRUNE_FROM_PASSAGES", 1)
        monkeypatch.setattr(module, "COMMON_MIN_PASSAGES", 1)
        monkeypatch.setattr(module, "COMMON_SHARE", 0.4)
    write_documents(any_store, [research(str(n), f"Weight gain was seen in group {n}.")
                                for n in range(1, 5)] + [research("9", "Mirtazapine and sleep.")])
    hits = any_store.lexical_search(["weight", "mirtazapine"], limit=10)
    assert [h.passage_id for h in hits] == [any_store.passages_of("pmid:9")[0].id]
    # Mirtazapine becomes common too: the next search counts again and keeps the rarer term.
    write_documents(any_store, [research(str(n), f"Mirtazapine dosing note {n}.")
                                for n in range(10, 16)])
    hits = any_store.lexical_search(["weight", "mirtazapine"], limit=20)
    assert {any_store.passage_documents([h.passage_id])[h.passage_id] for h in hits} == {
        any_store.document(f"pmid:{n}").id for n in range(1, 5)}
