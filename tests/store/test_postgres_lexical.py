"""The PostgreSQL store's postings (``lexical_postings``, ``store/postgres/lexical.py``): they
match every passage's tsvector through inserts, revisions, deletions and ``store copy``, and
the ranked search they serve agrees with exact BM25 and with the ``ts_rank`` path, on real
PubMed abstracts."""

from __future__ import annotations

import itertools
import json
import math
import re
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

from medcite.ingest.prepare import write_documents
from medcite.models import Deletion, Document, Section, SourceType
from medcite.retrieval.analysis import stopwords
from medcite.store import SQLiteStore, SearchFilters
from medcite.store.copy import copy_store
from medcite.store.postgres.migrations import BM25_AVGDL, BM25_B, BM25_K1
from tests.conftest import SHARED_DATA, postgres_database

ABSTRACTS = SHARED_DATA / "pubmed_medline_sample" / "pubmed21n1298_abstracts.jsonl"
MEDICATIONQA = SHARED_DATA / "medicationqa" / "medicationqa.jsonl"
pytestmark = pytest.mark.skipif(not ABSTRACTS.is_file(), reason=f"{ABSTRACTS} is not there")


def abstracts(n: int) -> list[Document]:
    """The first ``n`` real abstracts of the shared PubMed sample, as research documents."""
    out = []
    with ABSTRACTS.open() as fh:
        for line in itertools.islice(fh, n):
            record = json.loads(line)
            if record.get("abstract"):
                out.append(Document(key=f"pmid:{record['pmid']}", source_type=SourceType.RESEARCH,
                                    title=record["title"] or "Untitled", pmid=record["pmid"],
                                    year=2021, sections=[Section(label="ABSTRACT",
                                                                 text=record["abstract"])]))
    return out


def question_terms(n: int) -> list[list[str]]:
    """The non-stopword words of the first ``n`` MedicationQA questions."""
    stop = stopwords()
    return [[w for w in dict.fromkeys(re.findall(r"[a-z0-9]+", json.loads(line)["question"].lower()))
             if w not in stop] for line in itertools.islice(MEDICATIONQA.open(), n)]


@pytest.fixture
def database(postgres_server) -> Iterator[str]:
    from medcite.store.postgres import server

    name, url = postgres_database(postgres_server)
    yield url
    server.drop_database(postgres_server, name)


def ranked_store(url: str, top_postings: int = 100_000):
    """A store whose every unfiltered search is ranked from the postings."""
    from medcite.store.postgres import PostgresStore

    store = PostgresStore(url, ranked_from_passages=1)
    store.ranked.top_postings = top_postings
    return store


@pytest.fixture(scope="module")
def corpus() -> list[Document]:
    return abstracts(1500)


@pytest.fixture
def filled(database: str, corpus: list[Document]):
    store = ranked_store(database)
    write_documents(store, corpus)
    yield store
    store.close()


def postings(store) -> dict[tuple[int, str], float]:
    with store.reading() as conn:
        return {(p, x): i for p, x, i in conn.execute(
            "SELECT passage_id, lexeme, impact FROM lexical_postings")}


def expected_postings(store) -> dict[tuple[int, str], float]:
    """BM25's term-frequency part, computed here from each passage's tsvector."""
    out = {}
    with store.reading() as conn:
        rows = conn.execute("SELECT p.id, u.lexeme, cardinality(u.positions) "
                            "FROM passages p, unnest(p.tsv) u").fetchall()
    by_passage: dict[int, list[tuple[str, int]]] = defaultdict(list)
    for pid, lexeme, tf in rows:
        by_passage[pid].append((lexeme, tf))
    for pid, terms in by_passage.items():
        dl = sum(tf for _, tf in terms)
        for lexeme, tf in terms:
            out[(pid, lexeme)] = tf * (BM25_K1 + 1) / (
                tf + BM25_K1 * (1 - BM25_B + BM25_B * dl / BM25_AVGDL))
    return out


def assert_postings_exact(store) -> None:
    found, expected = postings(store), expected_postings(store)
    assert found.keys() == expected.keys()
    assert all(math.isclose(found[k], expected[k], rel_tol=1e-6) for k in expected)


def test_postings_follow_inserts_revisions_and_deletions(filled):
    assert_postings_exact(filled)
    old = {p.id for p in filled.passages_of("pmid:10704411")}
    assert old and {p for p, _ in postings(filled)} >= old
    revised = Document(key="pmid:10704411", source_type=SourceType.RESEARCH, revision=2,
                       title="Dopamine and cocaine", pmid="10704411", year=2021,
                       sections=[Section(label="ABSTRACT", text="Vexatorinum overdose was rare.")])
    gone = abstracts(2)[1].key
    outcome = write_documents(filled, [revised, Deletion(key=gone)])
    assert (outcome.replaced, outcome.deleted) == (1, 1)
    assert_postings_exact(filled)
    kept = {p for p, _ in postings(filled)}
    assert not kept & old  # the old passages' postings went with them
    assert [h.document_id for h in filled.lexical_search(["vexatorinum"], limit=5)] == [
        filled.document("pmid:10704411").id]


def test_passages_are_never_updated_in_place(filled):
    from medcite.errors import StoreError

    with pytest.raises(StoreError, match="never updated"), filled.transaction() as conn:
        conn.execute("UPDATE passages SET body = 'stale postings' WHERE id = "
                     "(SELECT min(id) FROM passages)")
    assert_postings_exact(filled)


def test_postings_are_made_by_store_copy(tmp_path: Path, postgres_server, corpus):
    from medcite.store.postgres import server

    source = SQLiteStore(tmp_path / "source.sqlite")
    write_documents(source, corpus[:200])
    name, url = postgres_database(postgres_server)
    target = ranked_store(url)
    try:
        copy_store(source, target)
        assert_postings_exact(target)
        assert len({p for p, _ in postings(target)}) == source.stats().passages
    finally:
        target.close()
        source.close()
        server.drop_database(postgres_server, name)


def exact_bm25(store, terms: list[str]) -> dict[int, float]:
    """BM25 of every passage holding a term's lexeme, from the tsvectors (no postings read)."""
    with store.reading() as conn:
        n = conn.execute("SELECT count(*) FROM passages").fetchone()[0]
        rows = conn.execute(
            "SELECT p.id, u.lexeme FROM passages p, unnest(p.tsv) u WHERE u.lexeme = ANY("
            "SELECT DISTINCT v.lexeme FROM unnest(%s::text[]) t, "
            "unnest(to_tsvector('medcite_english', t)) v)", (terms,)).fetchall()
    impacts = expected_postings(store)
    holders: dict[str, set[int]] = defaultdict(set)
    for pid, lexeme in rows:
        holders[lexeme].add(pid)
    scores: dict[int, float] = defaultdict(float)
    for lexeme, pids in holders.items():
        idf = math.log(1 + (n - len(pids) + 0.5) / (len(pids) + 0.5))
        for pid in pids:
            scores[pid] += idf * impacts[(pid, lexeme)]
    return scores


def test_ranked_search_is_exact_bm25_when_the_lists_are_whole(filled):
    for terms in question_terms(40):
        found = filled.lexical_search(terms, limit=10)
        scores = exact_bm25(filled, terms)
        best = sorted(scores.values(), reverse=True)[:10]
        # Each hit scored as exact BM25 would, and no better passage left out (impacts are
        # stored as 4-byte floats: near-ties may swap places).
        assert [h.score for h in found] == pytest.approx(best, rel=1e-5), terms
        assert all(h.score == pytest.approx(scores[h.passage_id], rel=1e-5) for h in found)


def test_top_postings_agree_with_the_ts_rank_path(filled):
    overlaps, cut = [], []
    queries = [t for t in question_terms(60) if t]
    for terms in queries:
        exact = {h.passage_id for h in filled.exact_lexical_search(terms, limit=10)}
        whole = [h.passage_id for h in filled.lexical_search(terms, limit=10)]
        if exact:
            overlaps.append(len(exact & set(whole)) / len(exact))
        filled.ranked.top_postings = 100  # common lists cut: only the best 100 of each lexeme
        short = [h.passage_id for h in filled.lexical_search(terms, limit=10)]
        filled.ranked.top_postings = 100_000
        cut.append(len(set(short) & set(whole)) / max(len(whole), 1))
    # Different scores (BM25, ts_rank with length normalisation) rank mostly the same passages.
    assert sum(overlaps) / len(overlaps) >= 0.7  # 0.77 measured
    assert sum(cut) / len(cut) >= 0.85  # 0.91 measured


def test_phrases_are_checked_against_the_tsvector(filled):
    for phrase in ("blood pressure", "breast cancer", "type 2 diabetes"):
        matching = {h.passage_id for h in filled.exact_lexical_search([phrase], limit=100_000)}
        found = {h.passage_id for h in filled.lexical_search([phrase], limit=100_000)}
        assert matching and found == matching, phrase
    mixed = filled.lexical_search(["blood pressure", "hypertension"], limit=20)
    assert mixed and mixed == sorted(mixed, key=lambda h: (-h.score, h.passage_id))


def test_filtered_searches_keep_the_ts_rank_path(filled):
    terms = ["dopamine", "cocaine"]
    filters = SearchFilters(source_types=(SourceType.RESEARCH,), since_year=2000)
    assert filled.lexical_search(terms, limit=10, filters=filters) == \
        filled.exact_lexical_search(terms, limit=10, filters=filters)
    ranked = filled.lexical_search(terms, limit=10)
    assert ranked and ranked != filled.exact_lexical_search(terms, limit=10)  # BM25 scores


def test_bad_input_behaves_as_the_exact_path(filled):
    from medcite.errors import StoreError

    for terms in ([], ["", "   "], ["the", "and"]):
        assert filled.lexical_search(terms, limit=10) == []
        assert filled.exact_lexical_search(terms, limit=10) == []
    assert filled.lexical_search(["dopamine"], limit=0) == []
    with pytest.raises(StoreError):
        filled.exact_lexical_search(["dop\x00amine"], limit=10)
    with pytest.raises(StoreError):
        filled.lexical_search(["dop\x00amine"], limit=10)
    many = [f"word{i}" for i in range(500)] + ["dopamine"]
    found = {h.passage_id for h in filled.lexical_search(many, limit=100_000)}
    assert found and found == {h.passage_id for h in filled.exact_lexical_search(many, limit=100_000)}
    # 5,000 terms: a tsquery that deep exceeds the server's stack on the exact path (a clear
    # StoreError); the postings read each lexeme on its own.
    huge = [f"word{i}" for i in range(5000)] + ["dopamine"]
    with pytest.raises(StoreError, match="stack depth"):
        filled.exact_lexical_search(huge, limit=10)
    assert {h.passage_id for h in filled.lexical_search(huge, limit=100_000)} == found
