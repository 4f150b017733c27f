"""Accounts and sessions, ask jobs and rate limits: state every replica shares."""

from __future__ import annotations

import threading

import pytest

from medcite.errors import ConflictError
from medcite.store import Store

AT = "2026-12-03T10:00:00+00:00"


def test_accounts_and_their_sessions(any_store: Store):
    accounts = any_store.accounts
    accounts.add("rita", "hash-1", "reviewer", AT)
    with pytest.raises(ConflictError, match="rita"):
        accounts.add("rita", "hash-2", "admin", AT)
    row = accounts.find("rita")
    assert (row.username, row.role, row.password_hash, row.disabled) == \
        ("rita", "reviewer", "hash-1", False)
    assert accounts.find("nobody") is None
    # A rehash lands only while the stored hash is the one it replaces.
    assert not accounts.set_password_hash("rita", "hash-x", only_if="other")
    assert accounts.set_password_hash("rita", "hash-2", only_if="hash-1")
    accounts.start_session("t1", "rita", 100, 200)
    accounts.start_session("t2", "rita", 100, 200)
    assert accounts.session_user("t1", 150) == ("rita", "reviewer")
    assert accounts.session_user("t1", 200) is None  # expired
    accounts.end_session("t1")
    assert accounts.session_user("t1", 150) is None
    assert accounts.replace_password("rita", "hash-3") == 1  # t2 ended with it
    assert accounts.session_user("t2", 150) is None
    assert accounts.replace_password("nobody", "h") is None
    accounts.start_session("t3", "rita", 100, 200)
    assert accounts.set_disabled("rita", True) == 1
    accounts.start_session("t4", "rita", 100, 200)
    assert accounts.session_user("t4", 150) is None  # a disabled account signs nobody in
    assert accounts.set_disabled("rita", False) == 0
    assert accounts.session_user("t4", 150) == ("rita", "reviewer")
    assert accounts.set_disabled("nobody", True) is None


def test_ask_jobs(any_store: Store):
    jobs = any_store.ask_jobs
    jobs.start("j1", "Is x safe?", "patient", None, at=AT, forget_finished_before="2026-01-01")
    row = jobs.get("j1")
    assert (row.state, row.tokens, row.audience, row.started_at) == ("writing", 0, "patient", AT)
    jobs.progress("j1", 42, "2026-12-03T10:00:01+00:00")
    assert jobs.get("j1").tokens == 42
    jobs.finish("j1", "a1", "is-x-safe", "2026-12-03T10:00:02+00:00")
    row = jobs.get("j1")
    assert (row.state, row.article_id, row.article_slug) == ("done", "a1", "is-x-safe")
    jobs.start("j2", "Is y safe?", "clinician", "a1", at=AT, forget_finished_before="2026-01-01")
    jobs.fail("j2", "backend_error", 502, "the model went away", AT)
    row = jobs.get("j2")
    assert (row.state, row.error_code, row.error_status, row.error_message, row.follow_up_of) == \
        ("failed", "backend_error", 502, "the model went away", "a1")
    # Finished jobs older than the cut-off go when a new one starts; one still writing stays.
    jobs.start("j3", "Is z safe?", "clinician", None, at=AT, forget_finished_before="2027-01-01")
    assert jobs.get("j1") is None and jobs.get("j2") is None and jobs.get("j3") is not None
    assert jobs.get("missing") is None


def test_rate_limits_hold_under_concurrency(any_store: Store, store_url: str):
    from medcite.store import open_store

    stores = [any_store, open_store(store_url)]
    taken: list[int | None] = []
    barrier = threading.Barrier(12)

    def hit(i: int) -> None:
        barrier.wait()
        taken.append(stores[i % 2].rate_limits.take("sign_in", "1.2.3.4", 5, 60.0, 1000.0)[0])

    threads = [threading.Thread(target=hit, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stores[1].close()
    recorded = [t for t in taken if t is not None]
    assert len(recorded) == 5  # never more than the limit, across connections
    limits = any_store.rate_limits
    refused, oldest = limits.take("sign_in", "1.2.3.4", 5, 60.0, 1001.0)
    assert refused is None and oldest == 1000.0
    assert limits.take("sign_in", "5.6.7.8", 5, 60.0, 1001.0)[0] is not None  # per client
    limits.give_back(recorded[0])
    assert limits.take("sign_in", "1.2.3.4", 5, 60.0, 1001.0)[0] is not None
    assert limits.take("sign_in", "1.2.3.4", 5, 60.0, 1061.0)[0] is not None  # window passed


def test_shared_state_is_insert_if_absent(any_store: Store, store_url: str):
    from medcite.store import open_store

    assert any_store.state.get("secret_key") is None
    stores = [any_store, open_store(store_url)]
    stored: list[str] = []
    barrier = threading.Barrier(6)

    def put(i: int) -> None:
        barrier.wait()
        stored.append(stores[i % 2].state.put_if_absent("secret_key", f"key-{i}"))

    threads = [threading.Thread(target=put, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stores[1].close()
    assert len(set(stored)) == 1  # every replica got the first writer's value
    assert any_store.state.get("secret_key") == stored[0]


def test_learned_condition_names_are_kept_in_order_and_seen_by_another_connection(
        any_store: Store):
    from medcite.store import open_store

    names = any_store.condition_names
    assert names.all() == []
    names.add([])  # nothing learned: nothing written
    names.add([("Meniere Disease", ["Endolymphatic Hydrops"]), ("Ménière's disease", [])])
    names.add([("Meniere Disease", ["Lermoyez syndrome"])])
    other = open_store(any_store.location)
    try:
        assert other.condition_names.all() == [
            ("Meniere Disease", ["Endolymphatic Hydrops"]), ("Ménière's disease", []),
            ("Meniere Disease", ["Lermoyez syndrome"])]
    finally:
        other.close()
