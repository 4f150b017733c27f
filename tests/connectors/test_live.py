"""Live search for ``ask`` (MEDCITE_LIVE_SEARCH): real records fetched from the stand-in
PubMed and DailyMed on 127.0.0.1 into an empty store, then the question answered from them."""

from __future__ import annotations

import pytest

import medcite
from medcite.errors import ConfigurationError
from medcite.settings import Settings
from medcite.store import SQLiteStore
from medcite.web.render import searched_lines

QUESTION = "Can atorvastatin cause muscle pain?"
LIPITOR = {"spl:c6e131fe-e7df-4876-83f7-9156fc4e8228", "spl:17a163ef-b349-4e32-bc8c-b02bac7f65d6"}


def _ask(question: str = QUESTION):
    settings = Settings.load()
    store = SQLiteStore(settings.store_location)
    try:
        article = medcite.ask(question, store=store, settings=settings)
        return article, {key for key in LIPITOR if store.document(key) is not None}, store.stats()
    finally:
        store.close()


def test_off_by_default_nothing_is_fetched(sources, home):
    article, labels, stats = _ask()
    assert not sources.seen
    assert article.searched.fetched == [] and stats.documents == 0 and not labels


def test_an_entity_the_store_lacks_is_fetched_ingested_and_said(sources, home, monkeypatch,
                                                               demo_articles):
    monkeypatch.setenv("MEDCITE_LIVE_SEARCH", "pubmed,dailymed")
    myalgia = {f"pmid:{a.pmid}" for a in sources.search('"myalgia"[tiab]', None, None)}
    assert myalgia  # real records on the condition the question names

    article, labels, stats = _ask()

    assert labels == LIPITOR  # the drug's labels, listed by DailyMed for "atorvastatin"
    assert stats.documents == len(LIPITOR) + len(myalgia)
    fetched = article.searched.fetched
    assert 'PubMed, live: no records for "atorvastatin"[tiab]' in fetched
    assert "DailyMed, live: 2 label(s) for 'atorvastatin' fetched, 2 new or updated documents" in fetched
    assert (f'PubMed, live: {len(myalgia)} of {len(myalgia)} records for "myalgia"[tiab] fetched, '
            f"{len(myalgia)} new or updated documents") in fetched
    assert any(line.startswith("Fetched for this answer — DailyMed, live: 2 label(s)")
               for line in searched_lines(article.searched))
    # The answer stands on what was fetched: the label is cited.
    assert {r.document_key for r in article.references} & LIPITOR
    assert sources.requests_to("esearch.fcgi")[0].params["term"] == '"atorvastatin"[tiab]'


def test_a_source_that_fails_is_said_and_the_question_still_answered(sources, home, monkeypatch):
    monkeypatch.setenv("MEDCITE_LIVE_SEARCH", "pubmed")
    monkeypatch.setenv("MEDCITE_CONNECTOR_RETRIES", "0")
    sources.fault("esearch.fcgi", "503", "503")
    article, _, stats = _ask()
    assert stats.documents == 0
    assert len(article.searched.fetched) == 2
    assert all("failed (PubMed E-utilities answered HTTP 503" in line
               and line.endswith("answered from what was indexed")
               for line in article.searched.fetched)
    assert not sources.requests_to("spls.json")  # dailymed was not named


def test_an_unknown_source_is_a_configuration_error(sources, home, monkeypatch):
    monkeypatch.setenv("MEDCITE_LIVE_SEARCH", "pubmed,embase")
    with pytest.raises(ConfigurationError, match="unknown sources: embase"):
        _ask()
    assert not sources.seen
