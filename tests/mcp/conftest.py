"""A real store for the MCP server tests: two DailyMed labels and the MedQuAD sample pages from
the shared data, with one article answered through the pipeline and approved by a reviewer.

The servers under test are real ``medcite mcp`` processes (stdio, or streamable HTTP on a free
127.0.0.1 port) reached with the MCP SDK's own client.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from medcite.store import SQLiteStore
from tests.conftest import CACHE

MEDCITE = Path(sys.executable).with_name("medcite")
APPROVED_QUESTION = "What is the maximum dose of atorvastatin?"


def _require_sdk() -> None:
    try:
        import mcp  # noqa: F401
    except ModuleNotFoundError:
        message = "the MCP SDK is not installed (pip install -e '.[mcp]', or scripts/setup)"
        if os.environ.get("MEDCITE_REQUIRE_ALL") == "1":
            pytest.fail(message + "; MEDCITE_REQUIRE_ALL=1 makes this a failure", pytrace=False)
        pytest.skip(message, allow_module_level=True)


_require_sdk()


@dataclass(frozen=True)
class McpHome:
    """A medcite home with a store, and what the tests need to know about it."""

    path: Path
    approved_id: str
    approved_slug: str

    @property
    def store_path(self) -> Path:
        return self.path / "medcite.sqlite"

    def env(self, **extra: str) -> dict[str, str]:
        """The environment a server process over this home runs with (nothing inherited)."""
        return {"MEDCITE_HOME": str(self.path), "MEDCITE_CACHE": str(CACHE),
                "MEDCITE_DENSE": "off", "PATH": os.environ.get("PATH", ""), **extra}


def build_home(path: Path, shared_data: Path, *, approve: bool) -> McpHome:
    """Ingest real labels and consumer pages into ``path``; answer and approve one question."""
    from medcite.answer import ask
    from medcite.ingest.runner import ingest_paths
    from medcite.models import ReviewStatus
    from medcite.review import ArticleRepository, ReviewWorkflow, Role, UserAccounts
    from medcite.settings import Settings

    path.mkdir(parents=True)
    store = SQLiteStore(path / "medcite.sqlite")
    try:
        report = ingest_paths(store, [
            shared_data / "dailymed_spl_samples" / "lipitor-orig.xml",
            shared_data / "dailymed_spl_samples" / "humira.xml",
            shared_data / "medquad" / "xml_samples",
        ], progress=False)
        assert not report.file_errors, report.file_errors
        if not approve:
            return McpHome(path, "", "")
        settings = Settings.load(home=str(path), cache=str(CACHE), dense="off")
        article = ask(APPROVED_QUESTION, store=store, settings=settings)
        assert article.id is not None
        rita = UserAccounts(store).add_user("rita", "a long reviewer password", Role.REVIEWER)
        workflow = ReviewWorkflow(ArticleRepository(store))
        workflow.move(article.id, ReviewStatus.UNDER_REVIEW, rita, version=1)
        workflow.move(article.id, ReviewStatus.APPROVED, rita, version=1)
        return McpHome(path, article.id, article.slug)
    finally:
        store.close()


@pytest.fixture(scope="session")
def mcp_home(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> McpHome:
    """The shared home; tests reach it only through read-only servers (a test that lets the
    server write builds its own)."""
    return build_home(tmp_path_factory.mktemp("mcp") / "home", shared_data, approve=True)


def store_state(home: McpHome) -> tuple:
    """What a read-only server must leave as it was: the articles, their versions and
    statuses, and the review events."""
    from medcite.review import ArticleRepository

    store = SQLiteStore(home.store_path)
    try:
        articles = ArticleRepository(store)
        summaries = articles.list(limit=1000)
        events = articles.audit()[0]
        return tuple((s.id, s.status, s.current_version, s.approved_version)
                     for s in summaries), events
    finally:
        store.close()
