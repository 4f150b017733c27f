"""The store contract, satisfied by the embedded SQLite store and by PostgreSQL.

Everything above the store (ingest, retrieval, synthesis, review, web) talks to this protocol
and the repositories it carries (``store.repositories``) only, so every implementation runs
the same contract tests (tests/store/contract). No driver error leaves a store method: it is a
``StoreError`` (``StoreBusyError`` for a lock held past the busy timeout).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from medcite.models import (
    CorpusStats,
    Deletion,
    DocumentRecord,
    Passage,
    PreparedDocument,
    SourceType,
)
from medcite.store.records import PassageText
from medcite.store.repositories import (
    Accounts,
    ArticleRecords,
    AskJobRecords,
    ConditionNames,
    PassageVectors,
    RateLimits,
    SharedState,
    StoreCopying,
)


@dataclass
class BatchOutcome:
    """What one ingest transaction did, record by record."""

    added: int = 0
    replaced: int = 0
    unchanged: int = 0
    older_skipped: int = 0  # a lower revision than the one stored
    deleted: int = 0
    passages: int = 0
    flagged: int = 0  # article versions citing a document deleted or replaced
    # (key, why) for documents the store cannot hold (a number beyond its integers, text that
    # is not Unicode); the rest of the batch is written.
    rejected: list[tuple[str, str]] = field(default_factory=list)

    def merge(self, other: BatchOutcome) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass(frozen=True)
class SearchFilters:
    """Restrictions applied inside the lexical query, before ranking."""

    source_types: tuple[SourceType, ...] = ()
    since_year: int | None = None
    until_year: int | None = None


@dataclass(frozen=True)
class LexicalHit:
    passage_id: int
    document_id: int
    score: float  # higher is better
    matched_terms: tuple[str, ...] = field(default=())


class Store(Protocol):
    """Documents, passages and a lexical index, written in batches, and the repositories of
    everything else the application keeps."""

    location: str
    # Passage vectors live either as files in ``vector_folder`` (SQLite: beside its file) or in
    # the store's own index ``vectors`` (PostgreSQL: pgvector); the other one is None.
    vector_folder: Path | None
    vectors: PassageVectors | None
    articles: ArticleRecords
    accounts: Accounts
    ask_jobs: AskJobRecords
    rate_limits: RateLimits
    state: SharedState
    condition_names: ConditionNames
    copying: StoreCopying

    def write_prepared(self, records: Sequence[PreparedDocument | Deletion]) -> BatchOutcome:
        """Apply prepared documents (medcite.ingest.prepare) and deletions in one transaction:
        all of them or none. A document already stored with the same content hash changes
        nothing, and a lower revision than the stored one is skipped, so writing a batch again,
        from any process, converges to the same store."""
        ...

    def stats(self) -> CorpusStats: ...

    def corpus_generation(self) -> int:
        """Changes whenever documents are added, replaced or deleted (by any process), so
        callers can cache what they derive from the corpus."""
        ...

    def document(self, key: str) -> DocumentRecord | None: ...

    def documents(self, ids: Sequence[int]) -> dict[int, DocumentRecord]: ...

    def passages(self, ids: Sequence[int]) -> dict[int, Passage]: ...

    def passage_documents(self, ids: Sequence[int]) -> dict[int, int]: ...

    def passages_of(self, document_key: str) -> list[Passage]: ...

    def passage_texts(self, ids: Sequence[int]) -> dict[int, PassageText]:
        """Text, section and ordinal of passages, without building whole ``Passage`` models."""
        ...

    def passage_fingerprints(self) -> list[tuple[int, str, int]]:
        """(passage id, its document's content hash, ordinal) of every passage: what a passage
        vector was computed from."""
        ...

    def lexical_search(
        self, terms: Sequence[str], *, limit: int, filters: SearchFilters | None = None,
        prune_common: bool = True,
    ) -> list[LexicalHit]:
        """Rank passages by BM25 for phrases OR-ed together. Terms are plain text, never
        query syntax: the implementation quotes them. ``prune_common`` lets a large store leave
        out terms found in a large share of passages (plain BM25 baselines turn it off)."""
        ...

    def lexical_search_all(
        self, groups: Sequence[Sequence[str]], *, limit: int, filters: SearchFilters | None = None,
    ) -> list[LexicalHit]:
        """Rank by BM25 the passages that match a term of every group (groups AND-ed, the
        terms of each OR-ed); empty when a group is empty."""
        ...

    def lexical_lists(
        self, terms: Sequence[str], expansions: Sequence[str], *, limit: int,
        filters: SearchFilters | None = None, prune_common: bool = True,
    ) -> tuple[list[LexicalHit], list[LexicalHit]]:
        """``lexical_search(terms)`` and ``lexical_search([*terms, *expansions])`` together
        (an implementation may share work between the two rankings)."""
        ...

    def passage_frequency(self, term: str) -> int:
        """How many passages match the phrase."""
        ...

    def matching_documents(self, terms: Sequence[str], *, limit: int = 100_000) -> set[int]:
        """Ids of documents with a passage matching any of the phrases (unranked)."""
        ...

    def ingest_run(self, on_wait: Callable[[], None] | None = None
                   ) -> AbstractContextManager[None]:
        """Hold the store's one ingest run for the ``with`` block: a second run (another
        process or machine) waits, calling ``on_wait`` once, until the first ends. Update
        files must be applied in order, and two runs of overlapping files interleaved could
        let an earlier file's record overwrite a later correction. A run killed in its
        block releases the store (a lock of its file or its connection)."""
        ...

    def file_done(self, fingerprint: str) -> bool:
        """Whether an input file with this fingerprint was ingested to the end already."""
        ...

    def mark_file_done(self, fingerprint: str, path: str, outcome: BatchOutcome) -> None: ...

    def close(self) -> None: ...
