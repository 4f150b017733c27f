"""The answering pipeline: analyse → retrieve → select evidence → synthesise → verify → store.

``ask`` is the one entry point used by the CLI, the web app and the Python API. An ``Engine``
holds what is expensive to build (vocabulary, dense index, encoder) and is reused per store.
"""

from __future__ import annotations

import hashlib
import math
import re
import threading
import time
from collections import defaultdict

from medcite.errors import ConfigurationError
from medcite.models import (
    Article,
    Audience,
    EntitySummary,
    SearchDescription,
)
from medcite.retrieval.analysis import QueryAnalysis, analyse, follow_up
from medcite.retrieval.evidence import study_design
from medcite.retrieval.search import Searcher
from medcite.retrieval.targets import targets
from medcite.store.base import SearchFilters, Store
from medcite.settings import Settings
from medcite.store import open_store
from medcite.synthesis.audience import adapt
from medcite.synthesis.base import AnswerBackend, AnswerRequest, Evidence, Progress
from medcite.synthesis.extractive import ExtractiveBackend
from medcite.synthesis.safety import EMERGENCY_NOTICE, REFUSAL, disclaimer
from medcite.synthesis.verify import verify_article

MAIN_EVIDENCE = 20
CONCEPT_EVIDENCE = 25


def slugify(text: str, limit: int = 80) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:limit].rstrip("-") or "article"


def backend_named(name: str, settings: Settings) -> AnswerBackend:
    """The configured backend; never a silent fall-back to a network service."""
    if name == "extractive":
        return ExtractiveBackend()
    if name == "openai":
        from medcite.synthesis.openai_backend import OpenAIBackend

        return OpenAIBackend.from_settings(settings)
    raise ConfigurationError(f"unknown answer backend {name!r}; choose 'extractive' or 'openai'")


LEARNED_CHECK_S = 60.0


class Engine:
    """Answers questions against one store."""

    def __init__(self, store: Store, settings: Settings, backend: AnswerBackend | None = None) -> None:
        from medcite.retrieval.setup import searcher_for

        self.store = store
        self.settings = settings
        self.searcher: Searcher = searcher_for(store, settings)
        self.backend = backend or backend_named(settings.backend, settings)
        # How many passages each question word appears in, for the corpus generation they were
        # counted in: the same words come back in question after question.
        self._passage_counts: dict[str, int] = {}
        self._counts_generation = -1
        self._counts_lock = threading.Lock()
        self._learned_checked_at = time.monotonic()  # searcher_for applied them just now
        # Python runs one thread's bytecode at a time, so answers computed together in one
        # process only interleave, each taking as long as all of them. One at a time, each is
        # quick and the queue moves as fast or faster (under load on 2 cores: more answers per
        # second and p95 975 -> 670 ms). Waiting on a model server is not computation and is
        # not held to it.
        self._computing = threading.Lock()

    # -- evidence -----------------------------------------------------------------------------

    def _evidence(self, results) -> list[Evidence]:
        return [Evidence(passage=r.passage, document=r.document, score=1.0 / (1 + rank),
                         design=r.design, concepts=frozenset(r.matched_concepts))
                for rank, r in enumerate(results)]

    def _concept_evidence(self, analysis: QueryAnalysis) -> tuple[dict[str, list[Evidence]], dict[str, set[int]]]:
        by_concept: dict[str, list[Evidence]] = {}
        documents: dict[str, set[int]] = {}
        for cid, names in _concept_names(analysis).items():
            documents[cid] = self.store.matching_documents(names)
            hits = self.store.lexical_search(names, limit=CONCEPT_EVIDENCE * 2)
            passages = self.store.passages([h.passage_id for h in hits])
            records = self.store.documents([p.document_id for p in passages.values()])
            per_document: dict[int, int] = defaultdict(int)
            items: list[Evidence] = []
            for rank, hit in enumerate(hits):
                passage = passages.get(hit.passage_id)
                if passage is None or per_document[passage.document_id] >= 2:
                    continue
                per_document[passage.document_id] += 1
                record = records[passage.document_id]
                items.append(Evidence(passage=passage, document=record, score=1.0 / (1 + rank),
                                      design=study_design(record), concepts=frozenset({cid})))
            by_concept[cid] = items[:CONCEPT_EVIDENCE]
        self._targeted_evidence(analysis, by_concept)
        return by_concept, documents

    def _targeted_evidence(self, analysis: QueryAnalysis, by_concept: dict[str, list[Evidence]]) -> None:
        """Add what the frame's targeted searches find (the label's interaction section, the
        class-level warning, the paediatric dose) to the evidence on each agent."""
        for target in targets(analysis.frame):
            filters = SearchFilters(source_types=target.source_types) if target.source_types else None
            hits = self.store.lexical_search_all(target.groups, limit=target.limit, filters=filters)
            if not hits:
                continue
            passages = self.store.passages([h.passage_id for h in hits])
            records = self.store.documents([p.document_id for p in passages.values()])
            known = {e.passage.id for e in by_concept.setdefault(target.about, [])}
            for rank, hit in enumerate(hits):
                passage = passages.get(hit.passage_id)
                if passage is None or passage.id in known:
                    continue
                known.add(passage.id)
                record = records[passage.document_id]
                by_concept[target.about].append(Evidence(
                    passage=passage, document=record, score=1.0 / (1 + rank),
                    design=study_design(record), concepts=frozenset({target.about})))

    def request_for(self, analysis: QueryAnalysis, audience: Audience) -> AnswerRequest:
        results = self.searcher.search(analysis, limit=MAIN_EVIDENCE, per_document=2)
        by_concept, documents = self._concept_evidence(analysis)
        agents = [m.concept.id for m in analysis.mentions if m.concept.kind in ("drug", "supplement")]
        agents = list(dict.fromkeys(agents))
        together = set.intersection(*(documents[a] for a in agents)) if len(agents) >= 2 else set()
        stats = self.store.stats()
        names = _concept_names(analysis)
        searched = SearchDescription(
            corpus_documents=stats.documents,
            corpus_by_source_type=stats.by_source_type,
            terms=list(dict.fromkeys([*analysis.terms, *(n for ns in names.values() for n in ns)])),
            entities=[EntitySummary(concept_id=m.concept.id, name=m.concept.name, surface=m.surface,
                                    kind=m.concept.kind, documents_matched=len(documents[m.concept.id]))
                      for m in _unique_mentions(analysis)],
            passages_considered=len(results) + sum(len(v) for v in by_concept.values()),
            documents_addressing_all=len(together),
        )
        evidence, by_concept = _one_document_per_work(self._evidence(results), by_concept)
        return AnswerRequest(analysis=analysis, evidence=evidence, audience=audience,
                             searched=searched, by_concept=by_concept,
                             term_weights=self._term_weights(analysis.terms, stats.passages))

    def _learn_new_conditions(self) -> None:
        """Condition names an ingest elsewhere (another machine, a replica's peer) taught the
        store since this engine started, looked for once a minute."""
        now = time.monotonic()
        if now - self._learned_checked_at < LEARNED_CHECK_S:
            return
        self._learned_checked_at = now
        from medcite.vocab.conditions import apply_learned

        apply_learned(self.searcher.vocabulary, self.store)

    def _term_weights(self, terms: list[str], passages: int) -> dict[str, float]:
        # Inverse passage frequency. A word the store has never seen gets the highest weight:
        # it is the topic the corpus lacks.
        return {t: math.log((passages + 1) / (self._passages_with(t) + 0.5)) for t in terms}

    def _passages_with(self, term: str) -> int:
        generation = self.store.corpus_generation()
        with self._counts_lock:
            if generation != self._counts_generation or len(self._passage_counts) > 100_000:
                self._passage_counts.clear()
                self._counts_generation = generation
            count = self._passage_counts.get(term)
        if count is None:
            count = self.store.passage_frequency(term)
            with self._counts_lock:
                self._passage_counts[term] = count
        return count

    # -- articles -----------------------------------------------------------------------------

    def write_article(self, analysis: QueryAnalysis, progress: Progress | None = None) -> Article:
        """A verified, unsaved article for the clinician audience (deterministic)."""
        fetched = self._live_search(analysis) if analysis.medical else []
        stats = self.store.stats()
        fingerprint = hashlib.sha1(stats.model_dump_json().encode()).hexdigest()[:16]
        if not analysis.medical:
            article = Article(question=analysis.question, slug=slugify(analysis.question),
                              headline="Outside medcite's scope", refusal=REFUSAL,
                              backend="none", intent=str(analysis.intent))
        else:
            draft: Article | None = None
            with self._computing:
                request = self.request_for(analysis, Audience.CLINICIAN)
                request.searched.fetched = fetched
                request.progress = progress
                if self.backend.cpu_bound:
                    draft = self.backend.write(request)
            if draft is None:
                draft = self.backend.write(request)
            with self._computing:
                article = verify_article(draft, self.store)
            article = article.model_copy(update={"slug": slugify(analysis.question), "frame": analysis.frame})
        if analysis.red_flags:
            article = article.model_copy(update={"emergency_notice": EMERGENCY_NOTICE})
        return article.model_copy(update={"corpus_fingerprint": fingerprint,
                                          "disclaimer": disclaimer(Audience.CLINICIAN)})

    def _live_search(self, analysis: QueryAnalysis) -> list[str]:
        """What MEDCITE_LIVE_SEARCH fetched and ingested for this question (off: nothing)."""
        if not self.settings.live_search:
            return []
        from medcite.connectors.live import fetch_for_question

        return fetch_for_question(self.store, self.settings, analysis)

    def ask(self, question: str, *, audience: Audience = Audience.CLINICIAN,
            follow_up_of: str | None = None, save: bool = True,
            progress: Progress | None = None) -> Article:
        """The stored answer to ``question`` or a new one; ``progress`` hears a model write."""
        from medcite.review.articles import ArticleRepository

        repository = ArticleRepository(self.store)
        parent = repository.resolve(follow_up_of) if follow_up_of else None
        self._learn_new_conditions()
        vocabulary, frequency = self.searcher.vocabulary, self._passages_with
        if parent is not None:
            parent_analysis = analyse(parent.question, vocabulary, settings=self.settings, frequency=frequency)
            analysis = follow_up(parent_analysis, question, vocabulary, settings=self.settings,
                                 frequency=frequency)
        else:
            analysis = analyse(question, vocabulary, settings=self.settings, frequency=frequency)
        # A question already answered (in the same thread) returns its article, approved first.
        existing = repository.find_for_question(question, parent_id=parent.id if parent else None) \
            if save else None
        if existing is not None:
            return adapt(existing, audience)
        article = self.write_article(analysis, progress)
        if parent is not None:
            article = article.model_copy(update={"parent_id": parent.id,
                                                 "thread_id": parent.thread_id or parent.id})
        if save:
            article = repository.save_answer(article)
        return adapt(article, audience)


_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def engine_for(store: Store | None = None, settings: Settings | None = None) -> Engine:
    """A cached engine per store location (the vocabulary and vectors load once)."""
    settings = settings or Settings.load()
    # Everything the engine reads from settings at construction is part of the key.
    key = f"{store.location if store else settings.store_location}|{sorted(settings.values.items())!r}"
    with _engines_lock:
        engine = _engines.get(key)
        if engine is None:
            engine = Engine(store or open_store(settings), settings)
            _engines[key] = engine
        return engine


def ask(question: str, *, audience: Audience | str = Audience.CLINICIAN,
        follow_up_of: str | None = None, store: Store | None = None,
        settings: Settings | None = None, save: bool = True,
        progress: Progress | None = None) -> Article:
    """Answer a clinical question with a verified, cited article (saved as Submitted)."""
    return engine_for(store, settings).ask(question, audience=Audience(audience),
                                           follow_up_of=follow_up_of, save=save, progress=progress)


def _work(document) -> str:
    """What identifies a publication across its stored forms: a PMC full text and its PubMed
    abstract are two documents but one paper."""
    if document.pmid:
        return f"pmid:{document.pmid}"
    if document.doi:
        return f"doi:{document.doi.strip().lower()}"
    return document.key


def _one_document_per_work(evidence: list[Evidence], by_concept: dict[str, list[Evidence]]
                           ) -> tuple[list[Evidence], dict[str, list[Evidence]]]:
    """The evidence with each paper in one stored form only (the first met, ranked evidence
    first), so an article never lists the same paper as two references."""
    chosen: dict[str, int] = {}
    for item in [*evidence, *(e for items in by_concept.values() for e in items)]:
        chosen.setdefault(_work(item.document), item.document.id)

    def kept(items: list[Evidence]) -> list[Evidence]:
        return [e for e in items if chosen[_work(e.document)] == e.document.id]

    return kept(evidence), {cid: kept(items) for cid, items in by_concept.items()}


def _unique_mentions(analysis: QueryAnalysis):
    seen: dict[str, object] = {}
    for mention in analysis.mentions:
        seen.setdefault(mention.concept.id, mention)
    return list(seen.values())


def _concept_names(analysis: QueryAnalysis) -> dict[str, list[str]]:
    names: dict[str, list[str]] = {}
    for mention in analysis.mentions:
        cid = mention.concept.id
        known = names.setdefault(cid, [])
        for name in [mention.concept.name, *analysis.expansions.get(cid, [])]:
            if name and name.lower() not in (k.lower() for k in known):
                known.append(name)
    return names
