"""Articles, versions and review events: insert-if-absent, compare-and-set, the audit trail."""

from __future__ import annotations

import threading

import pytest

from medcite.errors import NotFoundError
from medcite.ingest.prepare import write_documents
from medcite.store import Store
from medcite.store.records import NewVersion

from tests.store.contract.conftest import research

AT = "2026-12-03T10:00:00+00:00"
LATER = "2026-12-03T11:00:00+00:00"


def _create(store: Store, article_id: str, question: str = "can x help y", *,
            parent_id: str | None = None, unless_answered: bool = False, cites=("pmid:1",),
            at: str = AT):
    seen: list[tuple[str, str]] = []

    def compose(slug: str, thread_id: str) -> NewVersion:
        seen.append((slug, thread_id))
        return NewVersion(f'{{"slug": "{slug}", "thread": "{thread_id}"}}', tuple(cites))

    row = store.articles.create(
        article_id=article_id, slug_base="can-x-help-y", question=question.capitalize() + "?",
        question_norm=question, parent_id=parent_id, at=at, compose=compose,
        slug_suffix=lambda: article_id[:4], unless_answered=unless_answered)
    return row, seen


def test_a_new_article_is_version_one_submitted(any_store: Store):
    row, seen = _create(any_store, "a1")
    assert row is not None
    assert (row.id, row.slug, row.status, row.current_version, row.approved_version,
            row.thread_id, row.parent_id) == ("a1", "can-x-help-y", "submitted", 1, None, "a1", None)
    assert seen == [("can-x-help-y", "a1")]
    assert any_store.articles.get("a1") == row
    assert any_store.articles.version_text("a1", 1) == ('{"slug": "can-x-help-y", "thread": "a1"}',
                                                        "submitted")
    assert any_store.articles.version_text("a1", 2) is None
    events = any_store.articles.events("a1")
    assert [(e.version, e.from_status, e.to_status, e.actor, e.comment) for e in events] == \
        [(1, None, "submitted", "system", "generated")]
    assert any_store.articles.latest_event("a1") == events[-1]
    assert any_store.articles.id_for_slug("can-x-help-y") == "a1"
    assert any_store.articles.resolve("can-x-help-y") == any_store.articles.resolve("a1") == "a1"
    assert any_store.articles.resolve("nope") is None and any_store.articles.get("nope") is None


def test_a_taken_slug_gets_a_suffix_and_a_follow_up_joins_the_thread(any_store: Store):
    _create(any_store, "a1")
    row, _ = _create(any_store, "b2", "what about z", parent_id="a1")
    assert row.slug == "can-x-help-y-b2" and row.thread_id == "a1" and row.parent_id == "a1"
    assert [r.id for r in any_store.articles.thread("a1")] == ["a1", "b2"]
    with pytest.raises(NotFoundError):
        _create(any_store, "c3", parent_id="missing")
    assert any_store.articles.get("c3") is None


def test_insert_if_absent_stores_one_article_per_question(any_store: Store, store_url: str):
    from medcite.store import open_store

    stores = [any_store, open_store(store_url)]  # two processes' worth of connections
    results: list = []
    barrier = threading.Barrier(6)

    def ask(i: int) -> None:
        barrier.wait()
        results.append(_create(stores[i % 2], f"id{i}", unless_answered=True)[0])

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stores[1].close()
    assert sum(r is not None for r in results) == 1
    assert len(any_store.articles.summaries()) == 1
    winner = next(r for r in results if r is not None)
    assert any_store.articles.servable_for_question("can x help y", None) == (winner.id, None)


def test_transitions_are_compare_and_set(any_store: Store):
    _create(any_store, "a1")
    moves = any_store.articles
    assert moves.transition("a1", expected_status="submitted", expected_version=1,
                            to_status="under_review", approved_version=None, actor="rita",
                            comment="", at=LATER)
    # Someone decided on the state before: nothing is written.
    assert not moves.transition("a1", expected_status="submitted", expected_version=1,
                                to_status="rejected", approved_version=None, actor="sam",
                                comment="late", at=LATER)
    assert not moves.transition("a1", expected_status="under_review", expected_version=2,
                                to_status="approved", approved_version=2, actor="sam",
                                comment="", at=LATER)
    assert moves.transition("a1", expected_status="under_review", expected_version=1,
                            to_status="approved", approved_version=1, actor="rita", comment="ok",
                            at=LATER)
    row = moves.get("a1")
    assert (row.status, row.approved_version) == ("approved", 1)
    assert [e.to_status for e in moves.events("a1")] == ["submitted", "under_review", "approved"]
    with pytest.raises(NotFoundError):
        moves.transition("zz", expected_status="submitted", expected_version=1,
                         to_status="approved", approved_version=1, actor="x", comment="", at=AT)


def test_concurrent_decisions_on_one_state_land_once(any_store: Store, store_url: str):
    from medcite.store import open_store

    _create(any_store, "a1")
    stores = [any_store, open_store(store_url)]
    won: list[bool] = []
    barrier = threading.Barrier(4)

    def decide(i: int) -> None:
        barrier.wait()
        won.append(stores[i % 2].articles.transition(
            "a1", expected_status="submitted", expected_version=1, to_status="under_review",
            approved_version=None, actor=f"r{i}", comment="", at=LATER))

    threads = [threading.Thread(target=decide, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stores[1].close()
    assert sorted(won) == [False, False, False, True]
    assert len(any_store.articles.events("a1")) == 2


def test_a_new_version_is_compare_and_set_and_keeps_the_approved_one(any_store: Store):
    _create(any_store, "a1")
    records = any_store.articles
    records.transition("a1", expected_status="submitted", expected_version=1,
                       to_status="approved", approved_version=1, actor="rita", comment="", at=AT)
    text = NewVersion('{"v": 2}', ("pmid:2",))
    assert not records.append_version("a1", expected_status="submitted", expected_version=1,
                                      version=text, actor="ed", comment="fix", at=LATER)
    assert records.append_version("a1", expected_status="approved", expected_version=1,
                                  version=text, actor="ed", comment="fix", at=LATER)
    row = records.get("a1")
    assert (row.status, row.current_version, row.approved_version, row.updated_at) == \
        ("submitted", 2, 1, LATER)
    assert [(v.version, v.status, v.created_by) for v in records.versions("a1")] == \
        [(1, "approved", "system"), (2, "submitted", "ed")]
    assert records.version_text("a1", 2) == ('{"v": 2}', "submitted")


def test_listing_filters_literally_and_serves_only_reviewable_articles(any_store: Store):
    _create(any_store, "a1", "is 100% of x_y safe", at=AT)
    _create(any_store, "b2", "is x safe", at=LATER)
    records = any_store.articles
    assert [r.id for r in records.summaries()] == ["b2", "a1"]  # latest first
    assert [r.id for r in records.summaries(contains="100%")] == ["a1"]
    assert [r.id for r in records.summaries(contains="x_y")] == ["a1"]
    assert records.summaries(contains="1%") == []
    assert [r.id for r in records.summaries(limit=1, offset=1)] == ["a1"]
    records.transition("b2", expected_status="submitted", expected_version=1,
                       to_status="rejected", approved_version=None, actor="r", comment="no",
                       at=LATER)
    assert [r.id for r in records.summaries(status="rejected")] == ["b2"]
    assert records.servable_for_question("is x safe", None) is None  # answered afresh
    assert records.summaries(approved_only=True) == []


def test_a_changed_cited_document_flags_the_versions_citing_it(any_store: Store):
    write_documents(any_store, [research("1", "Cited text."), research("2", "Uncited text.")])
    _create(any_store, "a1", cites=("pmid:1",))
    outcome = write_documents(any_store, [research("1", "Cited text, revised.", revision=2),
                                     research("2", "Uncited text, revised.", revision=2)])
    assert outcome.flagged == 1
    records = any_store.articles
    flags = records.flags_of("a1", 1)
    assert [(f.document_key, f.change, f.from_revision, f.to_revision) for f in flags] == \
        [("pmid:1", "revised", 1, 2)]
    assert records.pending_reverifications() == [("a1", 1, flags[-1].id)]
    assert [r.id for r in records.flagged()] == ["a1"]
    assert records.record_reverification("a1", 1, through_flag=flags[-1].id, at=LATER,
                                          checked=2, no_longer_supported=0, failures="[]")
    assert not records.record_reverification("a1", 1, through_flag=flags[-1].id, at=LATER,
                                              checked=2, no_longer_supported=0, failures="[]")
    assert records.pending_reverifications() == []
    done = records.latest_reverification("a1", 1)
    assert (done.through_flag, done.checked, done.no_longer_supported) == (flags[-1].id, 2, 0)


def test_the_audit_trail_verifies(any_store: Store):
    _create(any_store, "a1")
    any_store.articles.transition("a1", expected_status="submitted", expected_version=1,
                                  to_status="under_review", approved_version=None, actor="r",
                                  comment="", at=LATER)
    checked, problems = any_store.articles.verify_trail()
    assert (checked, problems) == (2, [])
