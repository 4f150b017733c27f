"""``medcite corpus pubmed`` against an E-utilities stand-in on 127.0.0.1 serving real records."""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from medcite.settings import Settings
from medcite.store import SQLiteStore

from .conftest import medcite

QUERY = "diabetes[tiab]"


@pytest.fixture
def stored(demo_articles):
    """The served articles now in the store, as document keys."""
    def keys() -> set[str]:
        store = SQLiteStore(Settings.load().store_location)
        try:
            return {f"pmid:{a.pmid}" for a in demo_articles
                    if store.document(f"pmid:{a.pmid}") is not None}
        finally:
            store.close()
    return keys


def _matching(sources, term: str = QUERY, since: date | None = None) -> set[str]:
    low = since.strftime("%Y/%m/%d") if since else None
    high = datetime.now(timezone.utc).date().strftime("%Y/%m/%d") if since else None
    return {f"pmid:{a.pmid}" for a in sources.search(term, low, high)}


def test_history_server_batches_are_ingested_and_the_next_run_asks_for_newer_records(sources, home, stored):
    expected = _matching(sources)
    assert 20 < len(expected) < 60  # several batches of 10, few enough to stay quick

    done = medcite("corpus", "pubmed", "--query", QUERY, "--batch", "10", "--quiet")

    assert done.exit_code == 0, done.output
    assert stored() == expected
    assert f"PubMed: {len(expected)} records match" in done.output
    searches, fetches = sources.requests_to("esearch.fcgi"), sources.requests_to("efetch.fcgi")
    assert len(searches) == 1 and searches[0].params["usehistory"] == "y"
    assert "mindate" not in searches[0].params  # the first run asks for everything
    assert {f.params["WebEnv"] for f in fetches} == set(sources.histories)
    assert [int(f.params["retstart"]) for f in fetches] == list(range(0, len(expected), 10))
    assert [int(f.params["retmax"]) for f in fetches] == [
        min(10, len(expected) - start) for start in range(0, len(expected), 10)]
    assert all(f.params["retmode"] == "xml" and f.status == 200 for f in fetches)
    assert all(s.params["tool"] == "medcite" and s.params["email"] == "tests@example.org"
               for s in searches + fetches)
    batches = sorted((home / "connectors" / "pubmed").glob("*/*/efetch-*.xml"))
    assert len(batches) == len(fetches)

    again = medcite("corpus", "pubmed", "--query", QUERY, "--quiet")

    assert again.exit_code == 0, again.output
    today = datetime.now(timezone.utc).date().strftime("%Y/%m/%d")
    second = sources.requests_to("esearch.fcgi")[-1].params
    assert (second["datetype"], second["mindate"], second["maxdate"]) == ("edat", today, today)
    assert "nothing to fetch" in again.output  # the served records were all entered in 2020 or before
    assert stored() == expected


def test_since_asks_for_records_entered_from_that_date_and_a_rerun_adds_nothing(sources, home, stored):
    since = date(2020, 1, 1)
    expected = _matching(sources, "cancer[tiab]", since)
    assert 0 < len(expected) < len(_matching(sources, "cancer[tiab]"))

    done = medcite("corpus", "pubmed", "--query", "cancer[tiab]", "--since", "2020/01/01",
                   "--quiet")
    assert done.exit_code == 0, done.output
    assert stored() == expected
    assert sources.requests_to("esearch.fcgi")[0].params["mindate"] == "2020/01/01"

    rerun = medcite("corpus", "pubmed", "--query", "cancer[tiab]", "--since", "2020/01/01",
                    "--quiet")
    assert rerun.exit_code == 0, rerun.output
    assert "documents: 0 added" in rerun.output
    assert stored() == expected


def _densest(times: list[float], n: int) -> float:
    """The shortest span covering n + 1 consecutive requests (more than n in a second breaks the limit)."""
    return min(b - a for a, b in zip(times, times[n:]))


def test_requests_are_spaced_to_three_a_second_without_a_key(sources, home, stored):
    done = medcite("corpus", "pubmed", "--query", QUERY, "--batch", "5", "--quiet", "--no-embed")
    assert done.exit_code == 0, done.output
    seen = sources.requests_to(".fcgi")
    assert len(seen) >= 6
    assert all(s.status == 200 for s in seen)  # the server's own limit never tripped
    assert _densest([s.at for s in seen], 3) >= 0.95
    assert "api_key" not in seen[0].params


def test_an_api_key_is_sent_and_allows_ten_a_second(sources, home, stored, monkeypatch):
    monkeypatch.setenv("MEDCITE_NCBI_API_KEY", "0123456789abcdef")
    done = medcite("corpus", "pubmed", "--query", QUERY, "--batch", "3", "--quiet", "--no-embed")
    assert done.exit_code == 0, done.output
    seen = sources.requests_to(".fcgi")
    assert len(seen) >= 11 and all(s.params["api_key"] == "0123456789abcdef" for s in seen)
    assert all(s.status == 200 for s in seen)
    times = [s.at for s in seen]
    assert _densest(times, 10) >= 0.95
    assert _densest(times, 3) < 0.9  # faster than the keyless limit allows


def test_429_once_is_waited_out_and_retried(sources, home, stored):
    sources.fault("efetch.fcgi", "429")
    done = medcite("corpus", "pubmed", "--query", QUERY, "--batch", "25", "--quiet")
    assert done.exit_code == 0, done.output
    fetches = sources.requests_to("efetch.fcgi")
    assert [f.status for f in fetches][:2] == [429, 200]
    assert fetches[0].params["retstart"] == fetches[1].params["retstart"] == "0"
    assert fetches[1].at - fetches[0].at >= 0.5  # the first backoff step
    assert stored() == _matching(sources)


def test_a_timeout_and_a_503_are_retried(sources, home, stored, monkeypatch):
    monkeypatch.setenv("MEDCITE_CONNECTOR_TIMEOUT", "0.5")
    sources.fault("esearch.fcgi", "slow")
    sources.fault("efetch.fcgi", "503")
    done = medcite("corpus", "pubmed", "--query", QUERY, "--quiet")
    assert done.exit_code == 0, done.output
    assert len(sources.requests_to("esearch.fcgi")) == 2
    assert [f.status for f in sources.requests_to("efetch.fcgi")] == [503, 200]
    assert stored() == _matching(sources)


def test_an_answer_cut_off_mid_body_is_fetched_again(sources, home, stored):
    sources.fault("efetch.fcgi", "ok", "cut")
    done = medcite("corpus", "pubmed", "--query", QUERY, "--batch", "10", "--quiet")
    assert done.exit_code == 0, done.output
    starts = [f.params["retstart"] for f in sources.requests_to("efetch.fcgi")]
    assert starts[:3] == ["0", "10", "10"]
    assert stored() == _matching(sources)


def test_retries_run_out_with_a_clear_error(sources, home, stored, monkeypatch):
    monkeypatch.setenv("MEDCITE_CONNECTOR_RETRIES", "1")
    sources.fault("efetch.fcgi", "503", "503")
    done = medcite("corpus", "pubmed", "--query", QUERY, "--quiet")
    assert done.exit_code == 5
    assert "PubMed E-utilities answered HTTP 503" in done.stderr
    assert "(after 2 attempts)" in done.stderr
    assert stored() == set()


@pytest.mark.parametrize("fault, message", [
    ("xml-error", "answered an error: Cannot retrieve history data."),
    ("json-error", "answered an error: Search Backend failed: read error"),
    ("malformed", "malformed XML"),
])
def test_an_error_page_in_a_later_batch_leaves_nothing_ingested(sources, home, stored, fault, message):
    sources.fault("efetch.fcgi", "ok", fault)  # the first batch is fine, the second is not
    done = medcite("corpus", "pubmed", "--query", QUERY, "--batch", "10", "--quiet")
    assert done.exit_code == 5, done.output
    assert message in done.stderr
    assert "records 11-20" in done.stderr
    assert stored() == set()
    assert not list((home / "connectors" / "pubmed").glob("*/*"))  # no batch files kept
    assert not (home / "connectors" / "pubmed-queries.json").exists()


def test_an_unknown_webenv_is_reported(sources, home, stored, monkeypatch):
    original = sources.histories

    class Forgetful(dict):  # the history server lost the search (it expires after a while)
        def get(self, key, default=None):
            return None

    sources.histories = Forgetful()
    try:
        done = medcite("corpus", "pubmed", "--query", QUERY, "--quiet")
    finally:
        sources.histories = original
    assert done.exit_code == 5
    assert "Unable to obtain query #1" in done.stderr


def test_a_4xx_is_an_error_at_once_and_never_shows_the_api_key(sources, home, stored, monkeypatch):
    monkeypatch.setenv("MEDCITE_NCBI_API_KEY", "secret-key-0123456789")
    sources.fault("esearch.fcgi", "400")
    done = medcite("corpus", "pubmed", "--query", QUERY, "--quiet")
    assert done.exit_code == 5
    assert "PubMed E-utilities answered HTTP 400" in done.stderr
    assert "simulated failure" in done.stderr  # what the server said
    assert "api_key=***" in done.stderr and "secret-key" not in done.stderr
    assert len(sources.seen) == 1  # not retried
    assert stored() == set()


def test_a_query_esearch_refuses_is_a_clear_error(sources, home, stored):
    done = medcite("corpus", "pubmed", "--query", "diabetes[tiab", "--quiet")
    assert done.exit_code == 5
    assert "PubMed esearch refused the query 'diabetes[tiab': Invalid query" in done.stderr
    assert not sources.requests_to("efetch.fcgi")


@pytest.mark.parametrize("args, message", [
    (["--query", "   "], "the PubMed query is empty"),
    (["--query", QUERY, "--since", "2020-13-01"], "is not a date"),
])
def test_bad_arguments_are_refused_before_any_request(sources, home, stored, args, message):
    done = medcite("corpus", "pubmed", *args)
    assert done.exit_code == 2
    assert message in done.stderr
    assert not sources.seen


def test_max_limits_the_records_and_keeps_the_query_unmarked(sources, home, stored):
    done = medcite("corpus", "pubmed", "--query", QUERY, "--max", "7", "--batch", "5", "--quiet")
    assert done.exit_code == 0, done.output
    assert len(stored()) == 7
    assert [f.params["retmax"] for f in sources.requests_to("efetch.fcgi")] == ["5", "2"]
    assert "so the next run fetches this query in full again" in done.stderr
    assert not (home / "connectors" / "pubmed-queries.json").exists()


def test_a_search_larger_than_eutilities_serves_is_read_by_entry_date(sources, home, stored,
                                                                     monkeypatch):
    # The ceiling (9,999 on NCBI) lowered on both sides so that 33 real records exceed it.
    monkeypatch.setattr("medcite.connectors.eutils.PUBMED_SEARCH_LIMIT", 10)
    sources.search_limit = 10
    monkeypatch.setenv("MEDCITE_NCBI_API_KEY", "0123456789abcdef")
    done = medcite("corpus", "pubmed", "--query", QUERY, "--batch", "5", "--quiet")

    assert done.exit_code == 0, done.output
    assert stored() == _matching(sources)
    assert "searches by entry date" in done.output
    fetches = sources.requests_to("efetch.fcgi")
    assert all(int(f.params["retstart"]) + int(f.params["retmax"]) <= 10 for f in fetches)
    assert all(f.status == 200 for f in fetches)
    windows = [(s.params["mindate"], s.params["maxdate"]) for s in sources.requests_to("esearch.fcgi")[1:]]
    assert all(s.params["datetype"] == "edat" for s in sources.requests_to("esearch.fcgi")[1:])
    assert len(windows) > 3
    assert (home / "connectors" / "pubmed-queries.json").exists()  # all of it was read


def test_a_day_with_more_records_than_one_search_serves_is_read_in_part_and_said(
        sources, home, stored, monkeypatch):
    monkeypatch.setattr("medcite.connectors.eutils.PUBMED_SEARCH_LIMIT", 2)
    sources.search_limit = 2
    monkeypatch.setenv("MEDCITE_NCBI_API_KEY", "0123456789abcdef")
    everything = _matching(sources, "mice[tiab]", date(2020, 1, 1))
    done = medcite("corpus", "pubmed", "--query", "mice[tiab]", "--since", "2020/01/01",
                   "--quiet")

    assert done.exit_code == 0, done.output
    assert stored() < everything and len(stored()) == len(everything) - 2  # 29 and 30 January 2020: 3 each
    assert "more than that were entered on one day" in done.stderr
    assert not (home / "connectors" / "pubmed-queries.json").exists()
