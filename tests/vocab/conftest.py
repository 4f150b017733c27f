"""One vocabulary for the whole session, in a session temporary home. The compiled lexicon lives
in the test cache folder (MEDCITE_CACHE, see tests/conftest.py), so only the first run builds it;
tests that learn conditions get a vocabulary of their own home."""

from __future__ import annotations

from pathlib import Path

import pytest

from medcite.settings import Settings
from medcite.vocab import Vocabulary


@pytest.fixture(scope="session")
def vocab_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings.load(home=str(tmp_path_factory.mktemp("vocab-home")))


@pytest.fixture(scope="session")
def vocabulary(vocab_settings: Settings) -> Vocabulary:
    return Vocabulary.load(vocab_settings, progress=False)


@pytest.fixture
def own_vocabulary(vocabulary: Vocabulary, home: Path) -> Vocabulary:
    """The vocabulary of this test's MEDCITE_HOME: the shared compiled lexicon plus conditions
    learned in this home only."""
    return Vocabulary.load(Settings.load(), progress=False)
