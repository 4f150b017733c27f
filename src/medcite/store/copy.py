"""Copy a whole store into an empty one (``medcite store copy SRC_URL DST_URL``), SQLite to
PostgreSQL and back, verified by counts and a content digest of both.

Documents, passages and the other plain records are copied as rows with their ids (passage
ids are what vectors are keyed by); articles are replayed through the contract, event by
event in the audit chain's order, so the destination's own rules (insert-if-absent,
compare-and-set, the hash chain and its triggers) accept them, and the chain's hashes come out
the same. Ask jobs and rate-limit counts are transient and not copied; vectors are not copied
(embed the destination with ``medcite index``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from medcite.errors import ConflictError, InputError
from medcite.store.base import Store
from medcite.store.records import NewVersion

# Plain tables in the order they are written (a referenced row first) and their columns in
# the canonical form both stores export: the same names on both.
PLAIN: dict[str, tuple[str, ...]] = {
    "documents": ("id", "key", "source_type", "title", "source", "year", "pmid", "pmcid", "doi",
                  "spl_set_id", "spl_version", "url", "publication_types", "mesh_terms",
                  "keywords", "language", "revision", "title_only", "content_hash",
                  "ingested_at"),
    "passages": ("id", "document_id", "ordinal", "section", "char_start", "char_end",
                 "sentences", "title", "body"),
    "document_aliases": ("alias", "key"),
    "ingested_files": ("fingerprint", "path", "completed_at", "added", "replaced", "unchanged",
                       "deleted"),
    "users": ("username", "password_hash", "role", "disabled", "created_at"),
    "sessions": ("token_hash", "username", "created_at", "expires_at"),
    "shared_state": ("name", "value"),
    "learned_conditions": ("id", "name", "synonyms"),
}
# Written after the articles (they reference article versions).
AFTER_ARTICLES: dict[str, tuple[str, ...]] = {
    "article_flags": ("id", "article_id", "version", "document_key", "change", "from_revision",
                      "to_revision", "changed_at"),
    "article_reverifications": ("id", "article_id", "version", "through_flag", "at", "checked",
                                "no_longer_supported", "failures"),
}
ARTICLE_TABLES: dict[str, tuple[str, ...]] = {
    "articles": ("id", "slug", "question", "question_norm", "thread_id", "parent_id",
                 "current_version", "approved_version", "status", "created_at", "updated_at"),
    "article_versions": ("article_id", "version", "json", "created_at", "created_by"),
    "review_events": ("id", "article_id", "version", "from_status", "to_status", "actor",
                      "comment", "at", "prev_hash", "hash"),
    "article_citations": ("article_id", "version", "document_key"),
}
ALL_TABLES = {**PLAIN, **ARTICLE_TABLES, **AFTER_ARTICLES}


@dataclass(frozen=True)
class StoreDigest:
    counts: dict[str, int]
    digest: str  # SHA-256 over every table's canonical rows, in order


def _canonical(value: object) -> object:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    return value


def digest_of(store: Store) -> StoreDigest:
    """Counts and a digest of what a copy must carry, the same for equal stores of either kind."""
    total = hashlib.sha256()
    counts: dict[str, int] = {}
    for table in ALL_TABLES:
        n = 0
        for row in store.copying.export_rows(table):
            total.update(json.dumps([table, *map(_canonical, row)], ensure_ascii=False,
                                    separators=(",", ":")).encode())
            n += 1
        counts[table] = n
    return StoreDigest(counts, total.hexdigest())


def _batches(rows: Iterable[tuple], size: int = 2000) -> Iterator[list[tuple]]:
    batch: list[tuple] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def copy_store(source: Store, target: Store, *, progress=None) -> StoreDigest:
    """Copy ``source`` into the empty ``target``; returns the digest both now have. Raises
    ``ConflictError`` when the copy does not verify (nothing is deleted from either)."""
    if target.stats().documents or target.articles.summaries(limit=1):
        raise InputError(f"the store at the destination is not empty; copy into a new one")
    for table in PLAIN:
        for batch in _batches(source.copying.export_rows(table)):
            target.copying.import_rows(table, batch)
            if progress:
                progress(table, len(batch))
    _replay_articles(source, target, progress)
    for table in AFTER_ARTICLES:
        for batch in _batches(source.copying.export_rows(table)):
            target.copying.import_rows(table, batch)
            if progress:
                progress(table, len(batch))
    target.copying.finish_import()
    expected, found = digest_of(source), digest_of(target)
    if expected != found:
        differ = [t for t in ALL_TABLES if expected.counts[t] != found.counts[t]]
        raise ConflictError(f"the copy does not verify: counts differ in {differ or 'no table'}, "
                            f"digest {found.digest[:12]} is not {expected.digest[:12]}")
    return found


def _replay_articles(source: Store, target: Store, progress) -> None:
    """Each review event again, in chain order, through the contract's own writes."""
    rows = {r[0]: dict(zip(ARTICLE_TABLES["articles"], r))
            for r in source.copying.export_rows("articles")}
    versions = {(r[0], r[1]): r[2] for r in source.copying.export_rows("article_versions")}
    cited: dict[tuple[str, int], list[str]] = {}
    for article_id, version, key in source.copying.export_rows("article_citations"):
        cited.setdefault((article_id, version), []).append(key)
    state: dict[str, tuple[str, int, int | None]] = {}  # status, version, approved version
    for event in source.copying.export_rows("review_events"):
        _, article_id, version, from_status, to_status, actor, comment, at = event[:8]
        text = NewVersion(versions[(article_id, version)],
                          tuple(cited.get((article_id, version), ())))
        if from_status is None:
            row = rows[article_id]
            made = target.articles.create(
                article_id=article_id, slug_base=row["slug"], question=row["question"],
                question_norm=row["question_norm"], parent_id=row["parent_id"], at=at,
                compose=lambda slug, thread, text=text: text,
                slug_suffix=lambda: "copy", unless_answered=False)
            ok = made is not None and made.slug == row["slug"]
            state[article_id] = ("submitted", 1, None)
        elif to_status == "submitted" and version == state[article_id][1] + 1:
            status, current, approved = state[article_id]
            ok = target.articles.append_version(
                article_id, expected_status=status, expected_version=current, version=text,
                actor=actor, comment=comment, at=at)
            state[article_id] = ("submitted", version, approved)
        else:
            status, current, approved = state[article_id]
            approved = version if to_status == "approved" else (
                None if to_status == "withdrawn" else approved)
            ok = target.articles.transition(
                article_id, expected_status=status, expected_version=current,
                to_status=to_status, approved_version=approved, actor=actor, comment=comment,
                at=at)
            state[article_id] = (to_status, current, approved)
        if not ok:
            raise ConflictError(f"replaying event {event[0]} of article {article_id} failed")
        if progress:
            progress("review_events", 1)
