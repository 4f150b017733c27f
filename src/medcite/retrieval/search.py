"""Hybrid passage search: BM25 on the user's words and on expanded synonyms, dense vectors,
fused by weighted reciprocal rank, one passage per document, an evidence-type prior.

The user's own terms are one ranked list with the highest weight; the expanded query (brand and
generic names, salt forms) is a second list with a lower weight, so synonyms can find documents
without outranking what the user literally asked about.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

from medcite.errors import QueryError
from medcite.models import DocumentRecord, Passage, StudyDesign
from medcite.retrieval.analysis import QueryAnalysis, analyse
from medcite.retrieval.evidence import DEFAULT_PRIORS, study_design
from medcite.settings import Settings
from medcite.store.base import SearchFilters
from medcite.store.sqlite import SQLiteStore

RRF_K = 60
CANDIDATES = 100


@dataclass(frozen=True)
class FusionWeights:
    """Weights of each ranked list in reciprocal-rank fusion.

    Chosen on MedicationQA and PubMedQA together (seven settings tried, BENCHMARKS.md): the
    dense list carries most of the weight on both; the user's terms keep twice the weight of
    the expanded query, so synonyms find documents without outranking the user's own words.
    Without dense vectors only the ratio of the two lexical weights matters.
    """

    user_terms: float = 0.5
    expanded: float = 0.25
    dense: float = 2.0


@dataclass
class SearchResult:
    passage: Passage
    document: DocumentRecord
    design: StudyDesign
    score: float
    lexical_rank: int | None = None
    dense_rank: int | None = None
    matched_terms: list[str] = field(default_factory=list)
    matched_concepts: list[str] = field(default_factory=list)


def _stem(word: str) -> str:
    # A crude suffix strip, only to explain matches (FTS5's porter stemmer did the matching).
    for suffix in ("ations", "ation", "ings", "ing", "ies", "es", "s", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


class Searcher:
    """Search one store. Dense retrieval is used when an encoder and an index are given."""

    def __init__(
        self,
        store: SQLiteStore,
        *,
        vocabulary=None,
        encoder=None,
        dense_index=None,
        weights: FusionWeights | None = None,
        priors: dict[StudyDesign, float] | None = None,
        settings: Settings | None = None,
    ) -> None:
        self.store = store
        # The settings this searcher was built for: a question is checked against their limit,
        # not against whatever the environment says when it is asked.
        self.settings = settings
        self.vocabulary = vocabulary
        self.encoder = encoder
        self.dense_index = dense_index if dense_index is not None and len(dense_index) else None
        self.weights = weights or FusionWeights()
        self.priors = DEFAULT_PRIORS if priors is None else priors

    @property
    def dense_enabled(self) -> bool:
        return self.encoder is not None and self.dense_index is not None

    def analyse(self, question: str) -> QueryAnalysis:
        return analyse(question, self.vocabulary, settings=self.settings)

    def search(
        self,
        query: str | QueryAnalysis,
        *,
        limit: int = 10,
        filters: SearchFilters | None = None,
        per_document: int = 1,
        candidates: int = CANDIDATES,
    ) -> list[SearchResult]:
        """Ranked passages for a question (or an analysis already made)."""
        if limit < 1:
            raise QueryError(f"limit must be at least 1, not {limit}")
        analysis = query if isinstance(query, QueryAnalysis) else self.analyse(query)
        expansion_terms = [t for terms in analysis.expansions.values() for t in terms] + analysis.word_forms
        if not analysis.terms and not expansion_terms:
            return []
        lists: list[tuple[float, list[int]]] = []
        owners: dict[int, int] = {}  # passage id -> document id
        if expansion_terms:
            # Both rankings at once: the store shares the costly part (ranking every passage
            # a common word matches) between them.
            user, expanded = self.store.lexical_lists(
                analysis.terms, expansion_terms, limit=candidates, filters=filters)
            lexical = [(self.weights.user_terms, user), (self.weights.expanded, expanded)]
        else:
            user = self.store.lexical_search(analysis.terms, limit=candidates, filters=filters)
            lexical = [(self.weights.user_terms, user)]
        for weight, hits in lexical:
            lists.append((weight, [h.passage_id for h in hits]))
            owners.update((h.passage_id, h.document_id) for h in hits)
        dense_ranked: list[int] = []
        if self.dense_enabled:
            vector = self.encoder.encode([analysis.question])[0]
            dense_ranked = [pid for pid, _ in self.dense_index.search(vector, candidates)]
            lists.append((self.weights.dense, dense_ranked))
            missing = [pid for pid in dense_ranked if pid not in owners]
            owners.update(self.store.passage_documents(missing))
        return self._fuse(analysis, lists, owners, dense_ranked, limit, filters, per_document)

    def _fuse(
        self,
        analysis: QueryAnalysis,
        lists: list[tuple[float, list[int]]],
        owners: dict[int, int],
        dense_ranked: list[int],
        limit: int,
        filters: SearchFilters | None,
        per_document: int,
    ) -> list[SearchResult]:
        fused: dict[int, float] = defaultdict(float)
        for weight, ranked in lists:
            for rank, passage_id in enumerate(ranked):
                fused[passage_id] += weight / (RRF_K + rank + 1)
        # Priors change a score by at most a third, so only the head of the fused list can
        # reach the results; rank it with metadata only and read text for the survivors alone.
        head = sorted(fused.items(), key=lambda item: (-item[1], item[0]))[: max(60, 6 * limit * per_document)]
        documents = self.store.documents(list({owners[p] for p, _ in head if p in owners}))
        ranked: list[tuple[float, int, DocumentRecord, StudyDesign]] = []
        for passage_id, score in head:
            document = documents.get(owners.get(passage_id, -1))
            if document is None or not _passes(document, filters):
                continue  # a vector for a passage replaced since indexing, or filtered out
            design = study_design(document)
            ranked.append((score * self.priors.get(design, 1.0), passage_id, document, design))
        # Ties broken by document key and passage id so the same store gives the same order.
        ranked.sort(key=lambda r: (-r[0], r[2].key, r[1]))
        chosen: list[tuple[float, int, DocumentRecord, StudyDesign]] = []
        per_doc: dict[int, int] = defaultdict(int)
        for item in ranked:
            if per_doc[item[2].id] >= per_document:
                continue
            per_doc[item[2].id] += 1
            chosen.append(item)
            if len(chosen) == limit:
                break
        passages = self.store.passages([item[1] for item in chosen])
        lexical_rank = {pid: r for r, pid in enumerate(lists[0][1])}
        dense_rank = {pid: r for r, pid in enumerate(dense_ranked)}
        explain = _Explainer(analysis)
        results = []
        for score, passage_id, document, design in chosen:
            result = SearchResult(
                passage=passages[passage_id], document=document, design=design, score=score,
                lexical_rank=lexical_rank.get(passage_id), dense_rank=dense_rank.get(passage_id))
            explain(result)
            results.append(result)
        return results


def _passes(document: DocumentRecord, filters: SearchFilters | None) -> bool:
    if filters is None:
        return True
    if filters.source_types and document.source_type not in filters.source_types:
        return False
    if filters.since_year is not None and (document.year is None or document.year < filters.since_year):
        return False
    if filters.until_year is not None and (document.year is None or document.year > filters.until_year):
        return False
    return True


class _Explainer:
    """Which of the user's terms and which recognised concepts a passage contains.

    The patterns and lowercased names are prepared once per search, not once per result.
    """

    def __init__(self, analysis: QueryAnalysis) -> None:
        self.terms = [(t, re.compile(r"\b" + re.escape(_stem(t.lower())))) for t in analysis.terms]
        self.concepts: list[tuple[str, list[str]]] = []
        for mention in analysis.mentions:
            names = [mention.surface, mention.concept.name,
                     *analysis.expansions.get(mention.concept.id, [])]
            self.concepts.append((mention.concept.id, [n.lower() for n in names if n]))

    def __call__(self, result: SearchResult) -> None:
        haystack = f"{result.document.title} {result.passage.text}".lower()
        result.matched_terms = [t for t, pattern in self.terms if pattern.search(haystack)]
        for concept_id, names in self.concepts:
            if concept_id not in result.matched_concepts and any(n in haystack for n in names):
                result.matched_concepts.append(concept_id)
