"""Documents and passages: batches applied whole, idempotent, revision-aware."""

from __future__ import annotations

from medcite.ingest.prepare import write_documents
from medcite.models import Deletion, Document, SourceType
from medcite.store import Store

from tests.store.contract.conftest import guideline, research


def test_a_batch_is_idempotent_and_counted(any_store: Store):
    docs = [research("1", "Mirtazapine improved sleep. Weight gain was common."),
            research("2", "Magnesium lowered blood pressure.")]
    first = write_documents(any_store, docs)
    assert (first.added, first.unchanged, first.passages) == (2, 0, 2)
    again = write_documents(any_store, docs)
    assert (again.added, again.unchanged, again.replaced, again.passages) == (0, 2, 0, 0)
    assert any_store.stats().documents == 2
    passage = any_store.passages_of("pmid:1")[0]
    assert passage.key == "pmid:1#0" and passage.document_key == "pmid:1"
    assert passage.sentence_texts() == ["Mirtazapine improved sleep.", "Weight gain was common."]


def test_documents_and_passages_read_back_as_written(any_store: Store):
    doc = research("5", "Sertraline is an SSRI. It treats depression.", year=2019, title="SSRIs")
    doc = doc.model_copy(update={"doi": "10.1/x", "mesh_terms": ["Depression"],
                                 "publication_types": ["Review"], "language": "eng"})
    write_documents(any_store, [doc])
    record = any_store.document("pmid:5")
    assert record is not None
    assert (record.title, record.year, record.doi, record.mesh_terms, record.publication_types,
            record.source_type) == ("SSRIs", 2019, "10.1/x", ["Depression"], ["Review"],
                                    SourceType.RESEARCH)
    assert any_store.documents([record.id]) == {record.id: record}
    passage = any_store.passages_of("pmid:5")[0]
    assert any_store.passages([passage.id])[passage.id].text == passage.text
    assert any_store.passage_documents([passage.id]) == {passage.id: record.id}
    text = any_store.passage_texts([passage.id])[passage.id]
    assert (text.text, text.section, text.ordinal) == (passage.text, passage.section, 0)
    assert any_store.document("pmid:404") is None
    assert any_store.passages([10**9]) == {}


def test_newer_revision_replaces_and_older_is_skipped(any_store: Store):
    write_documents(any_store, [research("7", "Old text about sertraline.", revision=1)])
    outcome = write_documents(any_store, [research("7", "New text about escitalopram.", revision=2)])
    assert outcome.replaced == 1
    assert any_store.lexical_search(["sertraline"], limit=5) == []
    assert len(any_store.lexical_search(["escitalopram"], limit=5)) == 1
    older = write_documents(any_store, [research("7", "Old text about sertraline.", revision=1)])
    assert older.older_skipped == 1
    assert any_store.document("pmid:7").revision == 2


def test_one_key_twice_in_a_batch_ends_as_in_order(any_store: Store):
    """Update files repeat a record (a correction, then a deletion) within one batch."""
    many = [research(str(n), f"Abstract number {n} on warfarin.") for n in range(1, 1300)]
    outcome = write_documents(any_store, [
        *many,
        research("1", "Corrected abstract on apixaban.", revision=2),
        research("2", "Replaced, then deleted in the same batch."),
        Deletion(key="pmid:2"),
        Deletion(key="pmid:3"),
        research("3", "Deleted, then added back."),
    ])
    assert (outcome.added, outcome.replaced, outcome.deleted) == (1300, 2, 2)
    assert [p.text for p in any_store.passages_of("pmid:1")] == ["Corrected abstract on apixaban."]
    assert any_store.document("pmid:1").revision == 2
    assert [p.text for p in any_store.passages_of("pmid:3")] == ["Deleted, then added back."]
    assert any_store.document("pmid:2") is None
    assert any_store.stats().documents == 1298 and any_store.stats().passages == 1298
    assert len(any_store.lexical_search(["warfarin"], limit=2000)) == 1296


def test_deletion_removes_the_document_and_its_index_rows(any_store: Store):
    write_documents(any_store, [research("9", "Lithium levels need monitoring.")])
    outcome = write_documents(any_store, [Deletion(key="pmid:9"), Deletion(key="pmid:404")])
    assert outcome.deleted == 1
    assert any_store.document("pmid:9") is None
    assert any_store.lexical_search(["lithium"], limit=5) == []
    assert any_store.stats().passages == 0


def test_a_record_the_store_cannot_hold_is_refused_alone(any_store: Store):
    outcome = write_documents(any_store, [research("1", "Kept text.", year=10**20),
                                     research("2", "Also kept text.")])
    assert [key for key, _ in outcome.rejected] == ["pmid:1"]
    assert "year" in outcome.rejected[0][1]
    assert outcome.added == 1 and any_store.document("pmid:2") is not None


def test_passage_ids_are_never_reused_for_other_text(any_store: Store):
    write_documents(any_store, [research("1", "First text."), research("2", "Second text.")])
    before = {p.id for key in ("pmid:1", "pmid:2") for p in any_store.passages_of(key)}
    write_documents(any_store, [research("2", "Second text, revised.", revision=2)])
    after = any_store.passages_of("pmid:2")[0].id
    assert after not in before  # a vector of the old text cannot pass for the new one
    fingerprints = {pid: (digest, ordinal) for pid, digest, ordinal in any_store.passage_fingerprints()}
    assert set(fingerprints) == {any_store.passages_of("pmid:1")[0].id, after}


def test_stats_and_generation_follow_the_documents(any_store: Store):
    generation = any_store.corpus_generation()
    write_documents(any_store, [research("1", "a b c.", year=2020), guideline("g", "x y z.", 2023),
                           Document(key="pmid:2", source_type=SourceType.RESEARCH,
                                    title="Only a title", title_only=True)])
    stats = any_store.stats()
    assert stats.by_source_type == {"guideline": 1, "research": 2}
    assert stats.by_year == {"unknown": 1, "2020": 1, "2023": 1}
    assert (stats.documents, stats.passages, stats.title_only) == (3, 2, 1)
    assert stats.last_ingest is not None
    moved = any_store.corpus_generation()
    assert moved != generation
    write_documents(any_store, [research("1", "a b c.", year=2020)])  # unchanged: same generation
    assert any_store.corpus_generation() == moved


def test_the_generation_and_stats_see_another_connection_s_writes(any_store: Store, store_url):
    from medcite.store import open_store

    write_documents(any_store, [research("1", "Mirtazapine improved sleep.")])
    before, generation = any_store.stats(), any_store.corpus_generation()
    other = open_store(store_url)  # a second process (an ingest) writing the same store
    try:
        write_documents(other, [research("2", "Magnesium lowered blood pressure.")])
    finally:
        other.close()
    assert any_store.corpus_generation() != generation
    assert any_store.stats().documents == before.documents + 1


def test_finished_files_are_remembered(any_store: Store):
    from medcite.store import BatchOutcome

    assert not any_store.file_done("sha:abc")
    any_store.mark_file_done("sha:abc", "/data/a.xml", BatchOutcome(added=2))
    any_store.mark_file_done("sha:abc", "/data/a.xml", BatchOutcome(unchanged=2))  # twice is fine
    assert any_store.file_done("sha:abc") and not any_store.file_done("sha:other")


def test_one_ingest_run_at_a_time(any_store: Store):
    import threading

    from medcite.store import open_store

    other = open_store(any_store.location)
    order: list[str] = []
    waiting = threading.Event()
    try:
        with any_store.ingest_run(on_wait=lambda: order.append("unexpected wait")):
            def second_run() -> None:
                with other.ingest_run(on_wait=waiting.set):
                    order.append("second run")

            thread = threading.Thread(target=second_run)
            thread.start()
            assert waiting.wait(10), "the second run did not wait"
            order.append("first run ends")
        thread.join(10)
        assert order == ["first run ends", "second run"]
        # Released: the next run starts at once.
        with any_store.ingest_run(on_wait=lambda: order.append("unexpected wait")):
            pass
        assert order[-1] == "second run"
    finally:
        other.close()
