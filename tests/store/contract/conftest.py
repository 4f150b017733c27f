"""The store contract's tests run once per implementation: every test here takes ``any_store``,
a fresh, empty store of each kind (tests/store/contract/README.md says what is covered)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from medcite.models import Document, Section, SourceType
from medcite.store import Store, open_store
from tests.conftest import postgres_database

IMPLEMENTATIONS = ["sqlite", "postgresql"]


@pytest.fixture(params=IMPLEMENTATIONS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL naming a new, empty store of each implementation."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'contract.sqlite'}"
        return
    from medcite.store.postgres import server

    running = request.getfixturevalue("postgres_server")  # tests/conftest.py
    name, url = postgres_database(running)
    yield url
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
