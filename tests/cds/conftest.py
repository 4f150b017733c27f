"""A real store of the shared DailyMed labels and guideline summaries, served by the medcite
web app under a real uvicorn on 127.0.0.1, and the CDS Hooks sample requests."""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from medcite.settings import Settings
from medcite.store import SQLiteStore
from medcite.web.app import create_app
from tests.web.live import serving

REQUESTS = Path(__file__).parent / "requests"
HUMIRA_SET_ID = "608d4f0d-b19f-46d3-749a-7159aa5f933d"
LIPITOR_SET_ID = "c6e131fe-e7df-4876-83f7-9156fc4e8228"


@dataclass
class CdsServer:
    url: str
    client: httpx.Client
    store: SQLiteStore

    def call(self, service: str, body) -> httpx.Response:
        return self.client.post(f"/cds-services/{service}", json=body)


def sample(name: str) -> dict:
    """A CDS Hooks sample request (tests/cds/requests/NAME.json), a fresh copy each time."""
    return copy.deepcopy(json.loads((REQUESTS / f"{name}.json").read_text()))


@pytest.fixture(scope="module")
def cds_store(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Iterator[SQLiteStore]:
    from medcite.ingest.runner import ingest_paths

    home = tmp_path_factory.mktemp("cds-home")
    store = SQLiteStore(home / "medcite.sqlite")
    labels = shared_data / "dailymed_spl_samples"
    report = ingest_paths(store, [labels / "humira.xml", labels / "lipitor-orig.xml",
                                  labels / "cough.xml",
                                  shared_data / "ngc_guideline_summaries_public"], progress=False)
    assert not report.file_errors, report.file_errors
    yield store
    store.close()


@pytest.fixture(scope="module")
def cds_server(cds_store: SQLiteStore) -> Iterator[CdsServer]:
    home = Path(cds_store.location).parent
    # The question limit is counted in the store per client address: every test here comes
    # from 127.0.0.1 (tests/cds/test_rate_limit.py holds one server to a low limit).
    settings = Settings.load(home=str(home), store_url="", backend="extractive",
                             ask_rate_limit=10_000)
    previous = os.environ.get("MEDCITE_HOME")
    os.environ["MEDCITE_HOME"] = str(home)  # the answer pipeline's learned conditions live here
    try:
        with serving(create_app(settings, cds_store), settings) as url, \
                httpx.Client(base_url=url, timeout=60) as client:
            yield CdsServer(url=url, client=client, store=cds_store)
    finally:
        if previous is None:
            os.environ.pop("MEDCITE_HOME", None)
        else:
            os.environ["MEDCITE_HOME"] = previous
