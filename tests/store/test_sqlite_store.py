import sqlite3

import pytest

from medcite.ingest.prepare import write_documents
from medcite.models import Deletion, Document, Section, SourceType
from medcite.store import SearchFilters, SQLiteStore
from medcite.store.migrations import MIGRATIONS


def research(pmid: str, text: str, *, revision: int = 1, year: int = 2021, title: str = "T") -> Document:
    return Document(
        key=f"pmid:{pmid}", source_type=SourceType.RESEARCH, title=title, pmid=pmid, year=year,
        source="J Test", revision=revision, sections=[Section(label="RESULTS", text=text)],
    )


def guideline(key: str, text: str, year: int) -> Document:
    return Document(key=f"guideline:{key}", source_type=SourceType.GUIDELINE, title=key,
                    year=year, sections=[Section(label="Recommendations", text=text)])


def test_migrations_are_recorded_once(store: SQLiteStore):
    conn = sqlite3.connect(store.location)
    names = [r[0] for r in conn.execute("SELECT name FROM schema_migrations")]
    assert names == [name for name, _ in MIGRATIONS]
    SQLiteStore(store.location).close()  # reopening applies nothing twice
    assert conn.execute("SELECT count(*) FROM schema_migrations").fetchone()[0] == len(MIGRATIONS)


def test_write_is_idempotent_and_counts(store: SQLiteStore):
    docs = [research("1", "Mirtazapine improved sleep. Weight gain was common."),
            research("2", "Magnesium lowered blood pressure.")]
    first = write_documents(store, docs)
    assert (first.added, first.unchanged, first.passages) == (2, 0, 2)
    again = write_documents(store, docs)
    assert (again.added, again.unchanged, again.replaced) == (0, 2, 0)
    assert store.stats().documents == 2
    passage = store.passages_of("pmid:1")[0]
    assert passage.sentence_texts() == ["Mirtazapine improved sleep.", "Weight gain was common."]
    assert passage.key == "pmid:1#0"


def test_newer_revision_replaces_and_older_is_skipped(store: SQLiteStore):
    write_documents(store, [research("7", "Old text about sertraline.", revision=1)])
    outcome = write_documents(store, [research("7", "New text about escitalopram.", revision=2)])
    assert outcome.replaced == 1
    assert store.lexical_search(["sertraline"], limit=5) == []
    assert len(store.lexical_search(["escitalopram"], limit=5)) == 1
    older = write_documents(store, [research("7", "Old text about sertraline.", revision=1)])
    assert older.older_skipped == 1
    assert store.document("pmid:7").revision == 2


def test_deletion_removes_document_and_index_rows(store: SQLiteStore):
    write_documents(store, [research("9", "Lithium levels need monitoring.")])
    outcome = write_documents(store, [Deletion(key="pmid:9"), Deletion(key="pmid:404")])
    assert outcome.deleted == 1
    assert store.document("pmid:9") is None
    assert store.lexical_search(["lithium"], limit=5) == []
    assert store.stats().passages == 0


def test_failed_batch_leaves_store_unchanged(store: SQLiteStore):
    write_documents(store, [research("1", "Kept text.")])

    class Boom(Exception):
        pass

    def explode(conn):
        conn.execute("DELETE FROM documents")
        raise Boom()

    with pytest.raises(Boom):
        store.write(explode)
    assert store.document("pmid:1") is not None


def test_lexical_search_quotes_hostile_query_text(store: SQLiteStore):
    write_documents(store, [research("1", "Aspirin reduces fever NEAR the end.")])
    for hostile in ['"', "NEAR(", "aspirin*", "-", "^fever", "(((", 'a" OR "b', "AND", "*"]:
        store.lexical_search([hostile], limit=5)  # never raises FTS5 syntax errors
    assert store.lexical_search(["aspirin"], limit=5)[0].score > 0


def test_filters_by_source_type_and_year(store: SQLiteStore):
    write_documents(store, [
        research("1", "Statins lower LDL cholesterol.", year=2010),
        guideline("lipids", "Statins are recommended to lower LDL cholesterol.", 2019),
    ])
    assert len(store.lexical_search(["statins"], limit=5)) == 2
    only_guidelines = SearchFilters(source_types=(SourceType.GUIDELINE,))
    hits = store.lexical_search(["statins"], limit=5, filters=only_guidelines)
    assert [store.documents([h.document_id])[h.document_id].key for h in hits] == ["guideline:lipids"]
    assert len(store.lexical_search(["statins"], limit=5, filters=SearchFilters(since_year=2015))) == 1
    assert len(store.lexical_search(["statins"], limit=5, filters=SearchFilters(until_year=2015))) == 1


def test_stats_by_type_and_year(store: SQLiteStore):
    write_documents(store, [research("1", "a b c.", year=2020), guideline("g", "x y z.", 2023),
                       Document(key="pmid:2", source_type=SourceType.RESEARCH, title="Only a title",
                                title_only=True)])
    stats = store.stats()
    assert stats.by_source_type == {"guideline": 1, "research": 2}
    assert stats.by_year == {"unknown": 1, "2020": 1, "2023": 1}
    assert stats.title_only == 1
    assert stats.passages == 2


def test_corpus_facts_are_cached_until_another_process_changes_the_documents(store: SQLiteStore):
    write_documents(store, [research("1", "Mirtazapine improved sleep.")])
    before = store.stats()
    generation = store.corpus_generation()
    assert store.stats() is before  # cached: every answer quotes the counts
    record = store.documents([1])[1]

    other = SQLiteStore(store.location)  # a second process (an ingest) writes the same file
    other.write(lambda conn: conn.execute(
        "CREATE TABLE IF NOT EXISTS unrelated (x)"))  # a non-document write changes nothing
    assert store.corpus_generation() == generation and store.stats() is before
    write_documents(other, [research("1", "Mirtazapine improved sleep.")])  # unchanged: same generation
    assert store.corpus_generation() == generation
    write_documents(other, [research("1", "Mirtazapine improved sleep and appetite.", revision=2,
                                title="Revised"),
                       research("2", "Magnesium lowered blood pressure.")])
    other.close()
    assert store.corpus_generation() == generation + 1
    after = store.stats()
    assert (before.documents, after.documents) == (1, 2)
    assert store.documents([record.id]).get(record.id) != record  # the stale record is gone
    assert store.document("pmid:1").title == "Revised"


def _varied_store(store: SQLiteStore) -> None:
    # Passages of different lengths mixing common words, rarer ones and two-word names, so
    # BM25 scores differ and the two rankings below disagree.
    import random

    rng = random.Random(7)
    common = ["weight", "sleep", "dose", "patients", "depression", "risk"]
    rare = ["remeron", "zoloft", "sertraline hydrochloride", "mirtazapine", "lustral"]
    docs = []
    for i in range(120):
        words = rng.choices(common, k=rng.randint(3, 30)) + rng.sample(rare, k=rng.randint(0, 2))
        rng.shuffle(words)
        docs.append(research(str(i), " ".join(words) + ".", year=2000 + i % 25))
    docs.append(guideline("mdd", "Mirtazapine (Remeron) for depression with poor sleep.", 2023))
    write_documents(store, docs)


@pytest.mark.parametrize("limit", [1, 5, 40, 500])
def test_lexical_lists_equal_two_lexical_searches(store: SQLiteStore, limit: int):
    _varied_store(store)
    cases = [
        (["weight", "sleep"], ["mirtazapine", "Remeron", "remeron"]),
        (["mirtazapine", "depression"], ["mirtazapine", "Zoloft", "sertraline hydrochloride"]),
        (["dose"], ["dose"]),                      # the expansions add nothing
        ([], ["lustral", "zoloft"]),               # no terms of the user's own
        (["nothingmatches"], ["remeron"]),
        (["risk", "patients"], ["nothingmatches"]),
        (['"', "sleep", "NEAR("], ['a" OR "b', "(((", "*", "remeron"]),  # text, never syntax
    ]
    for filters in (None, SearchFilters(source_types=(SourceType.RESEARCH,)),
                    SearchFilters(since_year=2010, until_year=2020)):
        for terms, expansions in cases:
            expected = (store.lexical_search(terms, limit=limit, filters=filters),
                        store.lexical_search([*terms, *expansions], limit=limit, filters=filters))
            assert store.lexical_lists(terms, expansions, limit=limit, filters=filters) == expected


def test_lexical_lists_equal_two_lexical_searches_when_common_terms_are_pruned(
        store: SQLiteStore, monkeypatch: pytest.MonkeyPatch):
    import medcite.store.sqlite as sqlite_store

    _varied_store(store)
    # Make this small store prune terms found in over 30% of passages.
    monkeypatch.setattr(sqlite_store, "PRUNE_FROM_PASSAGES", 1)
    monkeypatch.setattr(sqlite_store, "COMMON_MIN_PASSAGES", 1)
    monkeypatch.setattr(sqlite_store, "COMMON_SHARE", 0.3)
    for terms, expansions in [(["weight", "remeron"], ["mirtazapine", "zoloft"]),
                              (["weight", "sleep"], ["lustral"]),  # all terms common
                              (["weight", "sleep"], ["dose", "risk"])]:
        expected = (store.lexical_search(terms, limit=10), store.lexical_search([*terms, *expansions], limit=10))
        assert store.lexical_lists(terms, expansions, limit=10) == expected


def test_passage_frequency_counts_matching_passages(store: SQLiteStore):
    write_documents(store, [research("1", "Mirtazapine improved sleep."),
                       research("2", "Mirtazapine caused weight gain."),
                       research("3", "Magnesium lowered blood pressure.")])
    assert store.passage_frequency("mirtazapine") == 2
    assert store.passage_frequency("MIRTAZAPINE") == 2  # the phrase is analysed like the index
    assert store.passage_frequency("lithium") == 0
    assert store.passage_frequency('" OR *') == 0 and store.passage_frequency("  ") == 0


def test_condition_names_offered_by_a_record_do_not_change_its_content_hash():
    from medcite.store.sqlite import content_hash

    plain = research("5", "Lithium levels need monitoring.")
    offered = plain.model_copy(update={"condition_names": [["Bipolar Disorder"]]})
    assert content_hash(plain) == content_hash(offered)  # stores ingested earlier stay unchanged
