"""The article and library pages say when the store answers from lexical search only, as
``medcite search`` and ``medcite ask`` do, and stop saying it once the store has vectors.

An in-process app on the test store; the embedded store is built by the real CLI (``medcite
ingest`` of real MedQuAD files, real encoder). The suite runs with MEDCITE_DENSE=off
(tests/conftest.py); these tests set the default, auto, themselves.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from medcite.models import Article
from medcite.settings import Settings
from medcite.store import open_store
from medcite.web.app import create_app

NOTICE = 'class="notice lexical-only"'
NO_VECTORS = "this store has no passage vectors (embed them: medcite index)"


def _pages(client: TestClient, article: Article) -> list[str]:
    pages = [client.get(f"/articles/{article.slug}"), client.get("/library"),
             client.get("/library", params={"q": "metformin"})]
    assert all(page.status_code == 200 for page in pages)
    return [page.text for page in pages]


def test_a_store_without_vectors_says_so_on_article_and_library_pages(
        monkeypatch: pytest.MonkeyPatch, home: Path, article: Article):
    monkeypatch.setenv("MEDCITE_DENSE", "auto")
    settings = Settings.load()
    store = open_store(settings)
    try:
        expected = NO_VECTORS  # a PostgreSQL store embeds into pgvector, so the same reason
        with TestClient(create_app(settings, store)) as client:
            for text in _pages(client, article):
                assert text.count(NOTICE) == 1
                assert "This store answers from lexical search only" in text and expected in text
    finally:
        store.close()


def test_no_notice_when_dense_retrieval_is_turned_off(client: TestClient, settings: Settings,
                                                       article: Article):
    assert settings.dense == "off"  # chosen, so nothing to warn about (as the CLI)
    for text in _pages(client, article):
        assert NOTICE not in text


def test_no_notice_once_the_store_has_vectors(monkeypatch: pytest.MonkeyPatch, home: Path,
                                              shared_data: Path, article: Article):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    pytest.importorskip("tokenizers")
    from medcite.retrieval.embedding import missing_dependency

    if missing_dependency() is not None:
        pytest.skip(f"dense retrieval cannot run here: {missing_dependency()}")
    monkeypatch.setenv("MEDCITE_DENSE", "auto")
    settings = Settings.load()
    store = open_store(settings)
    if store.vector_folder is None:
        store.close()
        pytest.skip("this store keeps no vector files (PostgreSQL)")
    try:
        with TestClient(create_app(settings, store)) as client:
            assert NOTICE in client.get("/library").text
            # Embedded while the app serves: the next page no longer says lexical only.
            done = subprocess.run(
                [sys.executable, "-m", "medcite.cli.__main__", "ingest", "--quiet",
                 str(shared_data / "medquad" / "xml_samples")],
                env={**os.environ, "MEDCITE_HOME": str(home), "MEDCITE_DENSE": "auto"},
                capture_output=True, text=True, timeout=600)
            assert done.returncode == 0, done.stderr
            assert "passages embedded: 0 " not in done.stdout
            for text in _pages(client, article):
                assert NOTICE not in text and "lexical search only" not in text
    finally:
        store.close()
