"""Ingest files into a store: batches, progress, per-record errors, resumability.

Each batch is one store transaction, and a file is marked complete only after its last batch
committed without record errors. A run killed at any point leaves whole batches behind; the
next run re-parses unfinished files, skips documents already stored with the same content hash
and so converges to the same store, with no duplicates.
"""

from __future__ import annotations

import glob
import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from medcite.errors import IngestInputError, MedciteError
from medcite.ingest.base import ParsedRecord
from medcite.ingest.formats import UnrecognisedFormatError, detect
from medcite.models import Deletion, Document, RecordError
from medcite.store.base import BatchOutcome, Store

DEFAULT_BATCH = 500


@dataclass
class IngestReport:
    """What an ingest run did, for the summary and the exit code."""

    files: int = 0
    files_skipped: int = 0  # already ingested to the end, content unchanged
    not_corpus: list[str] = field(default_factory=list)  # files in folders of no known format
    outcome: BatchOutcome = field(default_factory=BatchOutcome)
    title_only: int = 0
    record_errors: list[RecordError] = field(default_factory=list)
    file_errors: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return bool(self.record_errors or self.file_errors)

    def summary_lines(self) -> list[str]:
        o = self.outcome
        lines = [
            f"files: {self.files} read, {self.files_skipped} unchanged since last ingest, "
            f"{len(self.file_errors)} failed",
            f"documents: {o.added} added, {o.replaced} replaced, {o.unchanged} unchanged, "
            f"{o.older_skipped} older revisions skipped, {o.deleted} deleted",
            f"passages written: {o.passages}; title-only records stored: {self.title_only}",
        ]
        if self.not_corpus:
            lines.append(f"skipped {len(self.not_corpus)} file(s) in folders that are not a corpus "
                         f"format: {', '.join(self.not_corpus[:5])}{' ...' if len(self.not_corpus) > 5 else ''}")
        if self.record_errors:
            lines.append(f"records that failed: {len(self.record_errors)}")
        return lines


def expand_paths(specs: Iterable[str | Path]) -> dict[Path, bool]:
    """Files named directly or matched by globs (value True), or found under folders
    (recursively; value False), in a stable order. A spec that matches nothing is an error,
    not a silent no-op."""
    found: dict[Path, bool] = {}
    for spec in specs:
        path = Path(spec)
        if path.is_file():
            found[path] = True
        elif path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and not child.name.startswith("."):
                    found.setdefault(child, False)
        else:
            files = [m for m in sorted(Path(m) for m in glob.glob(str(spec), recursive=True)) if m.is_file()]
            if not files:
                raise IngestInputError(f"{spec}: no such file, folder or matching glob")
            for file in files:
                found[file] = True
    return found


def file_fingerprint(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def ingest_paths(
    store: Store,
    specs: Sequence[str | Path],
    *,
    batch_size: int = DEFAULT_BATCH,
    progress: bool = True,
) -> IngestReport:
    """Ingest every file under ``specs``; malformed files and records are reported, not fatal."""
    report = IngestReport()
    paths = expand_paths(specs)
    with tqdm(desc="ingest", unit=" docs", disable=not progress, dynamic_ncols=True) as bar:
        for path, named in paths.items():
            report.files += 1
            try:
                fingerprint = file_fingerprint(path)
                if store.file_done(fingerprint):
                    report.files_skipped += 1
                    continue
                try:
                    ingestor = detect(path)
                except UnrecognisedFormatError:
                    # A README beside corpus files is not an error; a file named on purpose is.
                    if named:
                        raise
                    report.not_corpus.append(path.name)
                    continue
                bar.set_postfix_str(f"{path.name} ({ingestor.name})", refresh=False)
                outcome, errors_before = BatchOutcome(), len(report.record_errors)
                ingest_records(store, ingestor.parse(path), report, bar, batch_size, outcome)
                if len(report.record_errors) == errors_before:
                    store.mark_file_done(fingerprint, str(path), outcome)
            except MedciteError as exc:
                report.file_errors.append(f"{path}: {exc}" if str(path) not in str(exc) else str(exc))
    return report


def ingest_records(
    store: Store,
    records: Iterator[ParsedRecord],
    report: IngestReport,
    bar: tqdm,
    batch_size: int = DEFAULT_BATCH,
    file_outcome: BatchOutcome | None = None,
) -> None:
    """Write parsed records in batches, collecting record errors into ``report``."""
    batch: list[Document | Deletion] = []

    def flush() -> None:
        outcome = store.write_batch(batch)
        report.outcome.merge(outcome)
        if file_outcome is not None:
            file_outcome.merge(outcome)
        bar.update(len(batch))
        batch.clear()

    for record in records:
        if isinstance(record, RecordError):
            report.record_errors.append(record)
            continue
        if isinstance(record, Document) and record.title_only:
            report.title_only += 1
        batch.append(record)
        if len(batch) >= batch_size:
            flush()
    if batch:
        flush()
