"""The prepare stage: a parsed document becomes what a store writes (content hash, passages
and their sentence spans).

Pure and deterministic, so it runs in any process (a Dask worker, the parsing process) and a
rerun prepares the same rows; a store never chunks or hashes text itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from medcite.ingest.chunking import (
    MAX_ABSTRACT_CHARS,
    MAX_PASSAGE_CHARS,
    merged_abstract,
    passages_for,
)
from medcite.models import Deletion, Document, PreparedDocument, SourceType, content_hash
from medcite.store.base import BatchOutcome, Store


def prepare(doc: Document) -> PreparedDocument:
    """The document's content hash and passages. An abstract (research without full text) that
    fits one passage is kept whole, its parts labelled inline."""
    try:
        digest = content_hash(doc)
    except ValueError as exc:  # e.g. a lone surrogate from a JSON "\\ud800" escape
        return PreparedDocument(doc, "", (), problem=f"cannot be stored: {exc}")
    sections, limit = doc.sections, MAX_PASSAGE_CHARS
    if doc.source_type is SourceType.RESEARCH and not doc.pmcid:
        sections, limit = merged_abstract(sections), MAX_ABSTRACT_CHARS
    return PreparedDocument(doc, digest, tuple(passages_for(sections, limit)))


def prepare_batch(records: Iterable[Document | Deletion]) -> list[PreparedDocument | Deletion]:
    return [r if isinstance(r, Deletion) else prepare(r) for r in records]


def write_documents(store: Store, records: Sequence[Document | Deletion]) -> BatchOutcome:
    """Prepare documents and write them with deletions in one store transaction."""
    return store.write_prepared(prepare_batch(records))
