"""``medcite corpus dailymed`` against DailyMed's v2 web services served from 127.0.0.1 with
the real SPL labels of ``../shared/data/dailymed_spl_samples``."""

from __future__ import annotations

import pytest

from medcite.settings import Settings
from medcite.store import SQLiteStore

from .conftest import medcite

HUMIRA = "608d4f0d-b19f-46d3-749a-7159aa5f933d"
LIPITOR = {"c6e131fe-e7df-4876-83f7-9156fc4e8228", "17a163ef-b349-4e32-bc8c-b02bac7f65d6"}


def _labels() -> dict[str, str]:
    """Stored drug labels: set id -> title."""
    store = SQLiteStore(Settings.load().store_location)
    try:
        found = {}
        for setid in (HUMIRA, *LIPITOR, "00f66f25-3469-4c16-9baf-fba21e9628bd"):
            record = store.document(f"spl:{setid}")
            if record is not None:
                found[setid] = record.title
        return found
    finally:
        store.close()


def test_a_label_by_set_id_goes_through_the_spl_ingestor(sources, home):
    done = medcite("corpus", "dailymed", "--setid", HUMIRA.upper(), "--quiet")
    assert done.exit_code == 0, done.output
    assert list(_labels()) == [HUMIRA]
    assert "HUMIRA" in _labels()[HUMIRA].upper()
    (request,) = sources.requests_to(f"/services/v2/spls/{HUMIRA}.xml")
    kept = home / "connectors" / "dailymed" / f"{HUMIRA}.xml"
    assert kept.read_bytes() == sources.labels[HUMIRA].xml

    again = medcite("corpus", "dailymed", "--setid", HUMIRA, "--quiet")
    assert again.exit_code == 0, again.output
    assert "files: 1 read, 1 unchanged since last ingest" in again.output


def test_labels_by_drug_name_follow_the_pages(sources, home):
    sources.label_page_size = 1  # one label a page, so the listing takes two pages
    done = medcite("corpus", "dailymed", "--drug", "lipitor", "--quiet")
    assert done.exit_code == 0, done.output
    assert set(_labels()) == LIPITOR
    assert "DailyMed: 2 label(s) for 'lipitor'" in done.output
    pages = [r.params["page"] for r in sources.requests_to("/services/v2/spls.json")]
    assert pages == ["1", "2"]
    assert all(r.params["drug_name"] == "lipitor" for r in sources.requests_to("spls.json"))


def test_max_limits_the_labels_of_a_drug(sources, home):
    done = medcite("corpus", "dailymed", "--drug", "lipitor", "--max", "1", "--quiet")
    assert done.exit_code == 0, done.output
    assert len(_labels()) == 1 and set(_labels()) <= LIPITOR


def test_an_unknown_set_id_is_not_found(sources, home):
    missing = "11111111-2222-3333-4444-555555555555"
    done = medcite("corpus", "dailymed", "--setid", missing, "--quiet")
    assert done.exit_code == 3
    assert f"DailyMed has no label with set id {missing}" in done.stderr


@pytest.mark.parametrize("setid", ["../../etc/passwd", "humira", ""])
def test_a_set_id_that_is_not_a_uuid_is_refused_before_any_request(sources, home, setid):
    done = medcite("corpus", "dailymed", "--setid", setid)
    assert done.exit_code == 2
    assert "is not a DailyMed set id" in done.stderr
    assert not sources.seen


def test_an_error_page_instead_of_a_label_leaves_nothing_ingested(sources, home):
    lipitor, repack = sorted(LIPITOR)
    sources.fault(f"{repack}.xml", "html")
    done = medcite("corpus", "dailymed", "--setid", lipitor, "--setid", repack, "--quiet")
    assert done.exit_code == 5
    assert f"DailyMed answered something other than an SPL label for {repack}" in done.stderr
    assert _labels() == {}  # not even the label that did arrive
    assert not list((home / "connectors" / "dailymed").iterdir())


def test_a_label_for_another_set_id_is_refused(sources, home):
    lipitor = sorted(LIPITOR)[0]
    sources.labels[lipitor] = sources.labels[HUMIRA]
    done = medcite("corpus", "dailymed", "--setid", lipitor, "--quiet")
    assert done.exit_code == 5
    assert f"DailyMed answered the label {HUMIRA} when asked for {lipitor}" in done.stderr
    assert _labels() == {}


def test_labels_must_be_named(sources, home):
    done = medcite("corpus", "dailymed")
    assert done.exit_code == 2
    assert "--setid SETID or --drug NAME" in done.output
