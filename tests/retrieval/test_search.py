"""Hybrid search on the real demo corpus + shared guidelines: shape, filters, bad queries."""

import json
import os
import subprocess
import sys

import pytest

from medcite.errors import QueryError
from medcite.models import SourceType
from medcite.retrieval.search import Searcher
from medcite.store import SearchFilters
from medcite.vocab import Vocabulary


@pytest.fixture(scope="module")
def searcher(clinical_store):
    return Searcher(clinical_store, vocabulary=Vocabulary.load())


def test_result_shape_and_why_it_matched(searcher):
    results = searcher.search("mirtazapine dosing in depression", limit=5)
    assert 1 <= len(results) <= 5
    top = results[0]
    assert top.passage.text and top.document.title and top.score > 0
    assert "drug:mirtazapine" in top.matched_concepts
    assert top.lexical_rank is not None
    assert [r.score for r in results] == sorted((r.score for r in results), reverse=True)
    assert len({r.document.id for r in results}) == len(results)  # one passage per document


def test_brand_name_finds_the_generic(searcher):
    keys = [r.document.key for r in searcher.search("Remeron", limit=10)]
    assert "guideline:apa_mdd_2023" in keys


def test_filters_by_source_type_and_year(searcher):
    guidelines = searcher.search("magnesium", limit=10,
                                 filters=SearchFilters(source_types=(SourceType.GUIDELINE,)))
    assert guidelines and all(r.document.source_type is SourceType.GUIDELINE for r in guidelines)
    recent = searcher.search("magnesium", limit=10, filters=SearchFilters(since_year=2020))
    assert recent and all(r.document.year >= 2020 for r in recent)


def test_same_query_same_order(searcher):
    first = [r.passage.key for r in searcher.search("statin muscle pain", limit=10)]
    assert first == [r.passage.key for r in searcher.search("statin muscle pain", limit=10)]


@pytest.mark.parametrize("query", ['"', "NEAR(", "aspirin*", "-fever", "^pain", "((( statin",
                                   'a" OR "b', "AND OR NOT", "*", "magnesium:", "{col}: x"])
def test_fts_syntax_in_queries_is_searched_as_text(searcher, query):
    # never an FTS5 syntax error: searched as text, or (no word in it at all) a clear QueryError
    try:
        searcher.search(query, limit=5)
    except QueryError as error:
        assert not any(ch.isalnum() for ch in query), (query, error)


def test_only_stopwords_gives_no_results_not_an_error(searcher):
    assert searcher.search("what is the of and", limit=5) == []


@pytest.mark.parametrize("query", ["", "   ", "x" * 100_000])
def test_empty_and_huge_queries_are_clear_errors(searcher, query):
    with pytest.raises(QueryError):
        searcher.search(query, limit=5)


def test_cli_search_json_and_errors(clinical_store):
    env = {**os.environ, "MEDCITE_STORE_URL": clinical_store.location, "MEDCITE_DENSE": "off"}
    result = subprocess.run([sys.executable, "-m", "medcite.cli.__main__", "search", "Remeron weight gain",
                             "--type", "guideline", "--limit", "3", "--json"],
                            capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["results"] and all(r["document"]["source_type"] == "guideline" for r in payload["results"])
    assert payload["entities"][0]["name"] == "mirtazapine"
    empty = subprocess.run([sys.executable, "-m", "medcite.cli.__main__", "search", " "],
                           capture_output=True, text=True, env=env)
    assert empty.returncode == 2 and empty.stderr.startswith("error: question is empty")
    assert "Traceback" not in empty.stderr
