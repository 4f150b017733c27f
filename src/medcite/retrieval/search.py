"""Hybrid passage search: BM25 on the user's words and on expanded synonyms, dense vectors,
fused by weighted reciprocal rank, one passage per document, an evidence-type prior.

With a re-ranker (``medcite.retrieval.rerank``, setting ``MEDCITE_RERANK``) the head of the
fused list is ordered by a learned model instead, and the evidence-type prior is one of its
features rather than a boost applied before relevance.

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
from medcite.retrieval.rerank import (
    RERANK_DEPTH,
    Candidate,
    PassageText,
    Reranker,
    passage_texts,
    reranker_for,
    rerank_wanted,
)
from medcite.settings import Settings
from medcite.store.base import SearchFilters, Store

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


def _fused_scores(lists: list[tuple[float, list[int]]]) -> dict[int, float]:
    """Weighted reciprocal-rank fusion of ranked passage-id lists."""
    fused: dict[int, float] = defaultdict(float)
    for weight, ranked in lists:
        for rank, passage_id in enumerate(ranked):
            fused[passage_id] += weight / (RRF_K + rank + 1)
    return fused


class Searcher:
    """Search one store. Dense retrieval is used when an encoder and an index are given; the
    learned re-ranker when one is given, or as ``settings.rerank`` says (by default where dense
    retrieval runs)."""

    def __init__(
        self,
        store: Store,
        *,
        vocabulary=None,
        encoder=None,
        dense_index=None,
        weights: FusionWeights | None = None,
        priors: dict[StudyDesign, float] | None = None,
        settings: Settings | None = None,
        reranker: Reranker | None = None,
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
        if reranker is None and settings is not None and rerank_wanted(settings.rerank, self.dense_enabled):
            reranker = reranker_for(store, dense=self.dense_enabled)
        self.reranker = reranker

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
        rerank_depth: int | None = None,
    ) -> list[SearchResult]:
        """Ranked passages for a question (or an analysis already made). ``rerank_depth``
        overrides how many fused candidates the re-ranker (if any) re-scores."""
        if limit < 1:
            raise QueryError(f"limit must be at least 1, not {limit}")
        analysis = query if isinstance(query, QueryAnalysis) else self.analyse(query)
        expansion_terms = [t for terms in analysis.expansions.values() for t in terms] + analysis.word_forms
        if not analysis.terms and not expansion_terms:
            return []
        lists: list[tuple[float, list[int]]] = []
        owners: dict[int, int] = {}  # passage id -> document id
        context = _RerankContext()
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
        context.expanded = lists[1][1] if len(lists) > 1 else lists[0][1]
        context.user_scores = {h.passage_id: h.score for h in lexical[0][1]}
        context.expanded_scores = {h.passage_id: h.score for h in lexical[-1][1]}
        dense_ranked: list[int] = []
        if self.dense_enabled:
            vector = self.encoder.encode([analysis.question])[0]
            found = self.dense_index.search(vector, candidates)
            dense_ranked = [pid for pid, _ in found]
            context.vector, context.cosines = vector, dict(found)
            lists.append((self.weights.dense, dense_ranked))
            missing = [pid for pid in dense_ranked if pid not in owners]
            owners.update(self.store.passage_documents(missing))
        if self.reranker is not None:
            context.depth = self.reranker.depth if rerank_depth is None else rerank_depth
            return self._rerank(analysis, lists, owners, dense_ranked, limit, filters, per_document,
                                context)
        return self._fuse(analysis, lists, owners, dense_ranked, limit, filters, per_document)

    def candidates(
        self,
        query: str | QueryAnalysis,
        *,
        depth: int | None = None,
        filters: SearchFilters | None = None,
        candidates: int = CANDIDATES,
    ) -> tuple[QueryAnalysis, list[Candidate], dict[int, PassageText], _RerankContext]:
        """The fused head a re-ranker sees (for training and tests): candidates in fused
        order, before any prior, their passages, and the query vector."""
        searcher = Searcher(self.store, vocabulary=self.vocabulary, encoder=self.encoder,
                            dense_index=self.dense_index, weights=self.weights, priors=self.priors,
                            settings=self.settings, reranker=_Collector(depth or RERANK_DEPTH))
        analysis = query if isinstance(query, QueryAnalysis) else self.analyse(query)
        searcher.search(analysis, limit=1, filters=filters, candidates=candidates)
        collected = searcher.reranker.collected
        if collected is None:  # nothing to search for
            return analysis, [], {}, _RerankContext()
        return analysis, *collected

    def _rerank(
        self,
        analysis: QueryAnalysis,
        lists: list[tuple[float, list[int]]],
        owners: dict[int, int],
        dense_ranked: list[int],
        limit: int,
        filters: SearchFilters | None,
        per_document: int,
        context: _RerankContext,
    ) -> list[SearchResult]:
        """The fused head (no prior) ordered by the re-ranker; the rest keeps its fused order."""
        fused = _fused_scores(lists)
        order = sorted(fused.items(), key=lambda item: (-item[1], item[0]))
        depth = max(context.depth, limit * per_document)
        head = order[: max(depth, 6 * limit * per_document)]
        documents = self.store.documents(list({owners[p] for p, _ in head if p in owners}))
        user_rank = {pid: r for r, pid in enumerate(lists[0][1])}
        expanded_rank = {pid: r for r, pid in enumerate(context.expanded)}
        dense_rank = {pid: r for r, pid in enumerate(dense_ranked)}
        kept: list[Candidate] = []
        for passage_id, score in head:
            document = documents.get(owners.get(passage_id, -1))
            if document is None or not _passes(document, filters):
                continue
            kept.append(Candidate(
                passage_id=passage_id, document=document, design=study_design(document),
                fused=score, fused_rank=len(kept), user_rank=user_rank.get(passage_id),
                expanded_rank=expanded_rank.get(passage_id), dense_rank=dense_rank.get(passage_id),
                dense_cosine=context.cosines.get(passage_id),
                user_score=context.user_scores.get(passage_id),
                expanded_score=context.expanded_scores.get(passage_id)))
        scored, rest = kept[:depth], kept[depth:]
        texts = passage_texts(self.store, [c.passage_id for c in scored])
        if isinstance(self.reranker, _Collector):
            self.reranker.collected = (scored, texts, context)
            return []
        model = self.reranker.score(analysis, scored, texts, vector=context.vector,
                                    dense_index=self.dense_index)
        # Ties broken by document key and passage id so the same store gives the same order;
        # what was not re-scored follows, below every re-scored passage, in fused order.
        ranked = sorted(zip(model.tolist(), scored), key=lambda r: (-r[0], r[1].document.key, r[1].passage_id))
        floor = min(model.tolist(), default=0.0)
        ranked += [(floor - 1 - i, c) for i, c in enumerate(rest)]
        chosen: list[tuple[float, Candidate]] = []
        per_doc: dict[int, int] = defaultdict(int)
        for item in ranked:
            if per_doc[item[1].document.id] >= per_document:
                continue
            per_doc[item[1].document.id] += 1
            chosen.append(item)
            if len(chosen) == limit:
                break
        passages = self.store.passages([c.passage_id for _, c in chosen])
        explain = _Explainer(analysis)
        results = []
        for score, c in chosen:
            result = SearchResult(
                passage=passages[c.passage_id], document=c.document, design=c.design, score=score,
                lexical_rank=c.user_rank, dense_rank=c.dense_rank)
            explain(result)
            results.append(result)
        return results

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
        fused = _fused_scores(lists)
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


@dataclass
class _RerankContext:
    depth: int = RERANK_DEPTH
    expanded: list[int] = field(default_factory=list)
    vector: object = None  # the query's dense vector, when dense retrieval ran
    cosines: dict[int, float] = field(default_factory=dict)
    user_scores: dict[int, float] = field(default_factory=dict)
    expanded_scores: dict[int, float] = field(default_factory=dict)


class _Collector:
    """Stands in for a re-ranker to collect the candidates it would be given."""

    def __init__(self, depth: int) -> None:
        self.depth = depth
        self.collected: tuple[list[Candidate], dict[int, PassageText], _RerankContext] | None = None


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
