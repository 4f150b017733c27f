"""What only the PostgreSQL store has to show: driver errors come out as medcite errors (a lock
held past the busy timeout, a server that went away), the schema's migrations run once, and
the password of its URL is never shown."""

from __future__ import annotations

import threading

import pytest

from medcite.errors import StoreBusyError, StoreError
from medcite.ingest.prepare import write_documents
from medcite.settings import Settings
from medcite.store import open_store
from tests.conftest import postgres_database
from tests.store.contract.conftest import research


@pytest.fixture
def database(postgres_server):
    from medcite.store.postgres import server

    name, url = postgres_database(postgres_server)
    yield url
    server.drop_database(postgres_server, name)


def test_a_write_blocked_past_the_busy_timeout_is_store_busy(database: str):
    import psycopg

    from medcite.store.postgres.store import _INGEST_LOCK

    store = open_store(Settings.load(store_url=database, store_busy_timeout=0.5))
    try:
        with psycopg.connect(database, autocommit=True) as other:  # another ingest's batch
            other.execute("SELECT pg_advisory_lock(%s)", (_INGEST_LOCK,))
            with pytest.raises(StoreBusyError, match="busy") as busy:
                write_documents(store, [research("1", "Waits for the lock.")])
            assert busy.value.retry_after > 0
            other.execute("SELECT pg_advisory_unlock(%s)", (_INGEST_LOCK,))
        assert store.document("pmid:1") is None  # nothing of the refused batch was kept
        assert write_documents(store, [research("1", "Now it goes in.")]).added == 1
    finally:
        store.close()


def test_migrations_run_once_however_many_open_at_once(database: str):
    from medcite.store.postgres.migrations import MIGRATIONS

    stores, errors = [], []

    def open_one() -> None:
        try:
            stores.append(open_store(database))
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    import psycopg

    with psycopg.connect(database) as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM schema_migrations ORDER BY name")]
    assert names == [name for name, _ in MIGRATIONS]
    for store in stores:
        store.close()


def test_a_server_that_went_away_is_a_store_error(postgres_server, database: str):
    import psycopg

    store = open_store(database)
    try:
        write_documents(store, [research("1", "Stored before the server went away.")])
        name = database.split("/")[-1].split("?")[0]
        with psycopg.connect(postgres_server.get_uri(), autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE datname = %s AND pid != pg_backend_pid()", (name,))
        # The pool's connection was killed under it: the store reports it (or reconnects),
        # never a psycopg error.
        try:
            store.document("pmid:1")
        except StoreError as exc:
            assert "PostgreSQL store" in str(exc)
        assert store.document("pmid:1") is not None  # the pool replaced the connection
    finally:
        store.close()


def test_the_url_password_is_never_shown():
    from medcite.store.postgres.store import redacted

    assert redacted("postgresql://app:s3cret@db.internal:5432/medcite") == \
        "postgresql://app:***@db.internal:5432/medcite"
    with pytest.raises(StoreError) as refused:
        open_store("postgresql://app:s3cret@127.0.0.1:1/medcite")
    assert "s3cret" not in str(refused.value) and "app:***@127.0.0.1:1" in str(refused.value)


def test_text_with_a_nul_character_is_refused_alone(database: str):
    store = open_store(database)
    try:
        outcome = write_documents(store, [research("1", "Text with a \x00 in it."),
                                     research("2", "Ordinary text.")])
        assert [key for key, _ in outcome.rejected] == ["pmid:1"]
        assert "NUL" in outcome.rejected[0][1]
        assert outcome.added == 1 and store.document("pmid:2") is not None
    finally:
        store.close()
