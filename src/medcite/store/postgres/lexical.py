"""Ranked lexical retrieval on PostgreSQL from impact-ordered postings (``lexical_postings``).

``ts_rank`` needs the ``tsvector`` of every passage a query matches: at a million passages a
question's OR query reads tens of thousands of heap pages. The postings table holds, per
lexeme of each passage's ``tsvector``, BM25's term-frequency part (``medcite_impacts`` in the
migration), indexed by (lexeme, impact DESC) with the passage id included. A query reads only
the best ``TOP_POSTINGS`` postings of each lexeme from that index, and scores a passage as the
sum over the query's lexemes of idf x impact (idf from the lexeme's passage count, counted once
per corpus generation). A passage outside every top list of its lexemes is not found: for a
lexeme in at most ``TOP_POSTINGS`` passages the list is whole, so only common words are cut.

Where it applies (``RankedLexical.applies``): a store of at least ``ranked_from_passages``
passages, a search with no filters (source type, years). A multi-word (phrase) term takes a
candidate pool and an exact check: the best postings of its rarest lexeme, kept where the
passage's ``tsvector`` matches ``phraseto_tsquery`` of the term, scored from that ``tsvector``
with the phrase's lexemes. Filtered searches, ``lexical_search_all`` (AND groups) and smaller
stores keep the exact ``ts_rank`` path of the store. Terms in more than ``COMMON_SHARE`` of a
large store's passages are left out as that path leaves them out (keeping the rarest).

The scores are BM25's (the exact path's are ``ts_rank``'s): the order of the best passages
mostly agrees, the numbers do not.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import psycopg

from medcite.store.base import LexicalHit, SearchFilters
from medcite.store.postgres.migrations import TEXT_CONFIG
from medcite.store.sqlite import COMMON_MIN_PASSAGES, COMMON_SHARE, PRUNE_FROM_PASSAGES

if TYPE_CHECKING:
    from medcite.store.postgres.store import PostgresStore

# Postings read per lexeme: enough that a lexeme in up to this many passages is ranked
# exactly; a common one (thousands of matches) is cut to its best passages.
TOP_POSTINGS = 2_000
_CACHE_LIMIT = 100_000  # cached terms and counts before the caches start again

POSTINGS_OF = (
    "INSERT INTO lexical_postings (lexeme, passage_id, impact) "
    "SELECT i.lexeme, p.id, i.impact FROM passages p, medcite_impacts(p.tsv) i "
)


def insert_postings(conn: psycopg.Connection, passage_ids: Sequence[int]) -> None:
    """Postings for passages just inserted (in the caller's transaction)."""
    if passage_ids:
        conn.execute(POSTINGS_OF + "WHERE p.id = ANY(%s)", (list(passage_ids),))


@dataclass(frozen=True)
class _Term:
    """A query term as the text configuration reads it: its distinct lexemes, and whether it
    is a phrase (more than one position: phraseto_tsquery asks for them in order)."""

    text: str
    lexemes: tuple[str, ...]
    phrase: bool


def idf(passages: int, frequency: int) -> float:
    """BM25's idf (the form that stays positive for words in most passages)."""
    return math.log(1 + (passages - frequency + 0.5) / (frequency + 0.5))


class RankedLexical:
    """Top-k lexical search from the postings index, for one store."""

    def __init__(self, store: PostgresStore, from_passages: int | None,
                 top_postings: int = TOP_POSTINGS) -> None:
        self._store = store
        self.from_passages = from_passages
        self.top_postings = top_postings
        self._lock = threading.Lock()
        self._terms: dict[str, _Term] = {}  # the analyzer's reading never changes
        self._frequencies: dict[str, int] = {}  # lexeme -> passages, for one generation
        self._phrase_counts: dict[str, int] = {}  # phrase -> passages (capped), same
        self._generation = -1

    def applies(self, passages: int, filters: SearchFilters | None) -> bool:
        """Whether a search of a store this large, with these filters, is ranked here."""
        if self.from_passages is None or passages < self.from_passages:
            return False
        f = filters or SearchFilters()
        return not f.source_types and f.since_year is None and f.until_year is None

    def search(self, conn: psycopg.Connection, terms: Sequence[str], *, limit: int,
               generation: int, passages: int, prune_common: bool) -> list[LexicalHit]:
        """The best ``limit`` passages for any of ``terms`` (distinct and stripped)."""
        with self._lock:
            if generation != self._generation or len(self._frequencies) > _CACHE_LIMIT:
                self._frequencies.clear()
                self._phrase_counts.clear()
                self._generation = generation
        read = [t for t in self._read(conn, terms) if t.lexemes]  # stop words match nothing
        frequency = self._lexeme_frequencies(conn, {x for t in read for x in t.lexemes})
        if prune_common:
            read = self._without_common(conn, read, frequency, passages)
        weight = {x: idf(passages, frequency[x]) for t in read for x in t.lexemes}
        singles = sorted({t.lexemes[0] for t in read if not t.phrase})
        phrases = [t for t in read if t.phrase]
        if not singles and not phrases:
            return []
        depth = max(self.top_postings, limit)
        parts = ["SELECT p.passage_id, l.idf * p.impact AS score "
                 "FROM unnest(%s::text[], %s::float8[]) l (lexeme, idf), LATERAL ("
                 "SELECT passage_id, impact FROM lexical_postings WHERE lexeme = l.lexeme "
                 "ORDER BY impact DESC LIMIT %s) p"]
        params: list[object] = [singles, [weight[x] for x in singles], depth]
        for phrase in phrases:
            rarest = min(phrase.lexemes, key=lambda x: (frequency[x], x))
            parts.append(
                "SELECT c.passage_id, (SELECT sum(i.impact * w.idf) FROM medcite_impacts(ps.tsv) "
                "i JOIN unnest(%s::text[], %s::float8[]) w (lexeme, idf) USING (lexeme)) "
                "FROM (SELECT passage_id FROM lexical_postings WHERE lexeme = %s "
                "ORDER BY impact DESC LIMIT %s) c JOIN passages ps ON ps.id = c.passage_id "
                f"WHERE ps.tsv @@ phraseto_tsquery('{TEXT_CONFIG}', %s)")
            params += [list(phrase.lexemes), [weight[x] for x in phrase.lexemes], rarest, depth,
                       phrase.text]
        sql = (f"WITH hits AS ({' UNION ALL '.join(parts)}), "
               "best AS (SELECT passage_id, sum(score) AS score FROM hits GROUP BY passage_id "
               "ORDER BY score DESC, passage_id LIMIT %s) "
               "SELECT b.passage_id, p.document_id, b.score FROM best b "
               "JOIN passages p ON p.id = b.passage_id ORDER BY b.score DESC, b.passage_id")
        rows = conn.execute(sql, [*params, limit]).fetchall()
        return [LexicalHit(passage_id=r[0], document_id=r[1], score=float(r[2])) for r in rows]

    def _read(self, conn: psycopg.Connection, terms: Sequence[str]) -> list[_Term]:
        """Each term's lexemes under the text configuration (to_tsvector reads text as
        phraseto_tsquery does: the same parser and dictionaries)."""
        with self._lock:
            known = {t: self._terms.get(t) for t in terms}
        missing = [t for t, found in known.items() if found is None]
        if missing:
            lexemes: dict[int, list[tuple[str, int]]] = {i: [] for i in range(len(missing))}
            for index, lexeme, positions in conn.execute(
                    "SELECT t.n - 1, u.lexeme, cardinality(u.positions) "
                    "FROM unnest(%s::text[]) WITH ORDINALITY t (term, n), "
                    f"unnest(to_tsvector('{TEXT_CONFIG}', t.term)) u", (missing,)):
                lexemes[index].append((lexeme, positions or 1))
            with self._lock:
                if len(self._terms) > _CACHE_LIMIT:
                    self._terms.clear()
                for i, text in enumerate(missing):
                    found = lexemes[i]
                    term = _Term(text, tuple(sorted(x for x, _ in found)),
                                 phrase=sum(n for _, n in found) > 1)
                    self._terms[text] = known[text] = term
        return [known[t] for t in terms]  # type: ignore[misc]

    def _lexeme_frequencies(self, conn: psycopg.Connection, lexemes: set[str]) -> dict[str, int]:
        """Passages holding each lexeme: an index-only count, once per generation."""
        with self._lock:
            found = {x: self._frequencies[x] for x in lexemes if x in self._frequencies}
        missing = sorted(lexemes - found.keys())
        if missing:
            counted = dict(conn.execute(
                "SELECT l.lexeme, (SELECT count(*) FROM lexical_postings p "
                "WHERE p.lexeme = l.lexeme) FROM unnest(%s::text[]) l (lexeme)",
                (missing,)).fetchall())
            with self._lock:
                self._frequencies.update(counted)
            found.update(counted)
        return found

    def _without_common(self, conn: psycopg.Connection, terms: list[_Term],
                        frequency: dict[str, int], passages: int) -> list[_Term]:
        """The store's rule for common terms: in a store of at least PRUNE_FROM_PASSAGES,
        a term in more than COMMON_SHARE of the passages is left out, the rarest kept."""
        if len(terms) < 2 or passages < PRUNE_FROM_PASSAGES:
            return terms
        cutoff = max(COMMON_MIN_PASSAGES, int(passages * COMMON_SHARE))
        counts = {t.text: frequency[t.lexemes[0]] for t in terms if not t.phrase}
        with self._lock:
            counts.update((t.text, self._phrase_counts[t.text]) for t in terms
                          if t.phrase and t.text in self._phrase_counts)
        for t in terms:
            if t.text not in counts:  # a phrase: its matches, counted up to the cutoff
                counts[t.text] = conn.execute(
                    f"SELECT count(*) FROM (SELECT 1 FROM passages WHERE tsv @@ "
                    f"phraseto_tsquery('{TEXT_CONFIG}', %s) LIMIT %s) m",
                    (t.text, cutoff + 1)).fetchone()[0]
                with self._lock:
                    self._phrase_counts[t.text] = counts[t.text]
        kept = [t for t in terms if counts[t.text] <= cutoff]
        return kept or [min(terms, key=lambda t: counts[t.text])]
