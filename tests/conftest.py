"""Shared fixtures: a temporary medcite home per test, the shared data folder, the demo files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from medcite.settings import Settings
from medcite.store import SQLiteStore

SHARED_DATA = Path(os.environ.get("MEDCITE_SHARED_DATA",
                                  Path(__file__).resolve().parents[2] / "shared" / "data"))


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A clean MEDCITE_HOME so no test reads or writes the user's real data."""
    path = tmp_path / "home"
    monkeypatch.setenv("MEDCITE_HOME", str(path))
    for name in ("MEDCITE_STORE_URL", "MEDCITE_BACKEND"):
        monkeypatch.delenv(name, raising=False)
    return path


@pytest.fixture
def settings(home: Path) -> Settings:
    return Settings.load()


@pytest.fixture
def store(settings: Settings):
    opened = SQLiteStore(settings.store_location)
    yield opened
    opened.close()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data folder {SHARED_DATA} is absent (set MEDCITE_SHARED_DATA)")
    return SHARED_DATA
