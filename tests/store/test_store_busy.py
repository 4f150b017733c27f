"""A locked store is reported as busy, never as a raw sqlite3 error (#12 item 17).

A second, real connection holds ``BEGIN EXCLUSIVE`` on the store file while a review decision,
``medcite review move`` and ``medcite ingest`` try to write: each gives up after the busy timeout
with ``StoreBusyError`` (the CLI: one line, exit 4), nothing is half-written, and the same
write succeeds once the lock is gone. The web side is in tests/web/test_store_busy.py.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from medcite.errors import StoreBusyError, StoreError
from medcite.models import ReviewStatus
from medcite.review import ArticleRepository, ReviewWorkflow, UserAccounts
from medcite.store import SQLiteStore
from tests.review.factories import cheap_argon2, sample_article  # noqa: F401  (autouse fixture)

BUSY_TIMEOUT = 0.3  # seconds; the default (30 s) is what a deployment wants, not a test
PASSWORD = "correct horse battery"
MEDQUAD = ("medquad", "xml_samples")


@contextmanager
def exclusive_lock(path: str | Path) -> Iterator[None]:
    """Another process's view of the store: a connection of its own holding the write lock."""
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        yield
        holder.execute("ROLLBACK")
    finally:
        holder.close()


@pytest.fixture
def busy_store(home: Path):
    opened = SQLiteStore(home / "medcite.sqlite", busy_timeout=BUSY_TIMEOUT)
    yield opened
    opened.close()


def test_a_review_write_under_a_lock_is_store_busy(busy_store: SQLiteStore):
    articles = ArticleRepository(busy_store)
    reviewer = UserAccounts(busy_store).add_user("rita", PASSWORD, "reviewer")
    saved = articles.save_new(sample_article())
    workflow = ReviewWorkflow(articles)
    with exclusive_lock(busy_store.location):
        started = time.monotonic()
        with pytest.raises(StoreBusyError) as caught:
            workflow.move(saved.id, ReviewStatus.UNDER_REVIEW, reviewer)
        waited = time.monotonic() - started
        with pytest.raises(StoreBusyError):
            articles.save_new(sample_article("Is sertraline safe in pregnancy?"))
        # Reads go on beside the lock (WAL): nothing was half-written.
        assert articles.get(saved.id).status is ReviewStatus.SUBMITTED
        assert len(articles.list()) == 1
    assert isinstance(caught.value.__cause__, sqlite3.OperationalError)
    assert BUSY_TIMEOUT * 0.9 <= waited < BUSY_TIMEOUT + 5, waited
    assert busy_store.location in str(caught.value) and "busy" in str(caught.value)
    # The store is usable again at once.
    workflow.move(saved.id, ReviewStatus.UNDER_REVIEW, reviewer)
    assert articles.get(saved.id).status is ReviewStatus.UNDER_REVIEW
    assert articles.audit() == (2, [])


def test_other_sqlite_errors_are_store_errors_not_busy(busy_store: SQLiteStore):
    with pytest.raises(StoreError) as caught:
        busy_store.write(lambda conn: conn.execute("INSERT INTO no_such_table VALUES (1)"))
    assert type(caught.value) is StoreError and "no such table" in str(caught.value)
    assert isinstance(caught.value.__cause__, sqlite3.OperationalError)
    with pytest.raises(StoreError):
        with busy_store.reading() as conn:
            conn.execute("SELECT * FROM no_such_table")


def test_the_busy_timeout_is_a_setting(home: Path, monkeypatch: pytest.MonkeyPatch):
    from medcite.settings import Settings
    from medcite.store import open_store

    monkeypatch.setenv("MEDCITE_STORE_BUSY_TIMEOUT", "1.5")
    store = open_store(Settings.load())
    try:
        assert store.busy_timeout == 1.5
    finally:
        store.close()


def _medcite(home: Path, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MEDCITE_HOME": str(home), "MEDCITE_STORE_BUSY_TIMEOUT": str(BUSY_TIMEOUT)}
    env.pop("MEDCITE_STORE_URL", None)
    return subprocess.run([sys.executable, "-m", "medcite.cli.__main__", *args], env=env,
                          input=input, text=True, capture_output=True, timeout=300)


def _one_line_busy_error(done: subprocess.CompletedProcess[str]) -> None:
    assert done.returncode == StoreError.exit_code, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: ") and "is busy" in lines[0], lines[0]


def test_ingest_under_a_lock_stops_with_one_line(home: Path, shared_data: Path):
    first = shared_data.joinpath(*MEDQUAD, "8_NHLBI_QA_XML__0000002.xml")
    second = shared_data.joinpath(*MEDQUAD, "5_NIDDK_QA__0000001.xml")
    assert _medcite(home, "ingest", "--quiet", str(first)).returncode == 0
    store = SQLiteStore(home / "medcite.sqlite")
    before = store.stats().documents
    try:
        with exclusive_lock(store.location):
            _one_line_busy_error(_medcite(home, "ingest", "--quiet", str(second)))
            assert store.stats().documents == before
        # Nothing was recorded as done: the rerun ingests the file.
        again = _medcite(home, "ingest", "--quiet", str(second))
        assert again.returncode == 0, again.stderr
        assert store.stats().documents > before
    finally:
        store.close()


def test_review_move_on_the_command_line_under_a_lock(home: Path, busy_store: SQLiteStore):
    UserAccounts(busy_store).add_user("rita", PASSWORD, "reviewer")
    saved = ArticleRepository(busy_store).save_new(sample_article())
    move = ("review", "move", saved.id, "--to", "under_review", "--as", "rita",
            "--password-stdin")
    with exclusive_lock(busy_store.location):
        _one_line_busy_error(_medcite(home, *move, input=PASSWORD + "\n"))
    done = _medcite(home, *move, input=PASSWORD + "\n")
    assert done.returncode == 0, done.stderr
    assert ArticleRepository(busy_store).get(saved.id).status is ReviewStatus.UNDER_REVIEW
