"""Ingest files into a store: batches, progress, per-record errors, resumability.

Each batch is one store transaction, and a file is marked complete only after its last batch
committed without record errors. A run killed at any point leaves whole batches behind; the
next run re-parses unfinished files, skips documents already stored with the same content hash
and so converges to the same store, with no duplicates.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import signal
import sys
import traceback
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from medcite.errors import IngestInputError, MedciteError, StoreError
from medcite.ingest.base import Ingestor, ParsedRecord
from medcite.ingest.formats import UnrecognisedFormatError, detect
from medcite.ingest.paths import expand_paths
from medcite.ingest.prepare import prepare
from medcite.models import Deletion, Document, PreparedDocument, RecordError
from medcite.settings import Settings
from medcite.store.base import BatchOutcome, Store

DEFAULT_BATCH = 500
# Files at least this large are parsed in a second process while this one writes; for smaller
# ones starting it costs more than it saves.
PARSE_ASIDE_FROM_BYTES = 2 << 20
_CHUNK = 250  # records per hand-over from the parsing process
# The pipe's capacity bounds how far the parser runs ahead, so memory stays flat.
_PIPE_BYTES = 1 << 20


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
    reread: list[str] = field(default_factory=list)  # files that changed while being read
    # Condition names the records offered (name -> synonyms), and how many the vocabulary took.
    condition_names: dict[str, list[str]] = field(default_factory=dict)
    conditions_learned: int = 0
    # (article id, version, statements no longer supported) of each article version re-verified
    # because a document it cites was deleted or replaced.
    reverified: list[tuple[str, int, int]] = field(default_factory=list)

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
        if o.flagged or self.reverified:
            unsupported = sum(n for *_, n in self.reverified)
            lines.append(f"articles flagged: {o.flagged} article version(s) cite a deleted or "
                         f"replaced document; {len(self.reverified)} re-verified, "
                         f"{unsupported} statement(s) no longer supported")
        if self.reread:
            lines.append(f"read again {len(self.reread)} file(s) that changed while being "
                         f"ingested: {', '.join(Path(p).name for p in self.reread[:5])}"
                         f"{' ...' if len(self.reread) > 5 else ''}")
        if self.not_corpus:
            lines.append(f"skipped {len(self.not_corpus)} file(s) in folders that are not a corpus "
                         f"format: {', '.join(self.not_corpus[:5])}{' ...' if len(self.not_corpus) > 5 else ''}")
        if self.conditions_learned:
            lines.append(f"condition names learned for question analysis: {self.conditions_learned}")
        if self.record_errors:
            lines.append(f"records that failed: {len(self.record_errors)}")
        return lines

    def file_error(self, path: Path, exc: MedciteError) -> None:
        self.file_errors.append(f"{path}: {exc}" if str(path) not in str(exc) else str(exc))

    def count_document(self, doc: Document) -> None:
        """Note what a document read contributes beyond its rows: title-only, condition names."""
        self.title_only += doc.title_only
        for name, *synonyms in doc.condition_names:
            known = self.condition_names.setdefault(name, [])
            known.extend(s for s in synonyms if s not in known)

    def learn_conditions(self, store: Store, settings: Settings) -> int:
        """Teach the store's vocabulary the condition names these records offered (MedQuAD foci,
        MeSH headings of diseases), so questions about them are recognised; returns how many."""
        from medcite.vocab.conditions import learn_conditions

        if self.condition_names:
            self.conditions_learned = learn_conditions(self.condition_names.items(), store,
                                                       settings)
        return self.conditions_learned


def file_fingerprint(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:  # unreadable, or removed while being ingested
        raise IngestInputError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    return digest.hexdigest()


# A file that changed while it was read is read again this many times, then reported.
_REREADS = 1


@dataclass(frozen=True)
class FilePlan:
    """A file to ingest: where it is, what it held when planned, and how to parse it."""

    path: Path
    fingerprint: str
    ingestor: Ingestor


def plan_files(store: Store, specs: Sequence[str | Path], report: IngestReport) -> Iterator[FilePlan]:
    """The files under ``specs`` still to ingest, in a stable order (lazily: fingerprinting a
    large file takes a moment). Files already ingested with the same content are counted as
    skipped; a file that cannot be read or has no known format is a file error."""
    for path, named in expand_paths(specs).items():
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
        except StoreError:
            raise  # the store, not this file: every other file would fail the same way
        except MedciteError as exc:
            report.file_error(path, exc)
            continue
        yield FilePlan(path, fingerprint, ingestor)


def ingest_paths(
    store: Store,
    specs: Sequence[str | Path],
    *,
    batch_size: int = DEFAULT_BATCH,
    progress: bool = True,
) -> IngestReport:
    """Ingest every file under ``specs`` in this process; malformed files and records are
    reported, not fatal."""
    report = IngestReport()
    with store.ingest_run(on_wait=waiting_note), \
            tqdm(desc="ingest", unit=" docs", disable=not progress, dynamic_ncols=True) as bar:
        for plan in plan_files(store, specs, report):
            ingest_planned(store, plan, report, bar, batch_size)
    reverify_flagged(store, report)
    return report


def waiting_note() -> None:
    print("note: another ingest is running on this store; waiting for it to finish "
          "(files it completes are then skipped)", file=sys.stderr, flush=True)


def ingest_planned(store: Store, plan: FilePlan, report: IngestReport, bar: tqdm,
                   batch_size: int, records: Iterator[ParsedRecord | PreparedDocument] | None = None,
                   fingerprint_after: str | None = None) -> None:
    """Ingest one planned file, reading it again if it changed while it was read. ``records``
    (with the file's fingerprint once they were read) are its records parsed elsewhere, a
    Dask worker; by default the file is parsed here."""
    path, fingerprint, ingestor = plan.path, plan.fingerprint, plan.ingestor
    try:
        for attempt in range(_REREADS + 1):
            bar.set_postfix_str(f"{path.name} ({ingestor.name})", refresh=False)
            changed = _ingest_file(store, path, ingestor, fingerprint, report, bar, batch_size,
                                   records if attempt == 0 else None,
                                   fingerprint_after if attempt == 0 else None)
            if changed is None:
                break
            if attempt == _REREADS:
                raise IngestInputError(
                    f"{path}: the file changed while it was being ingested, again on "
                    "the second reading; it is not marked as ingested (rerun once "
                    "nothing writes to it)")
            report.reread.append(str(path))
            fingerprint, ingestor = changed, detect(path)
            if store.file_done(fingerprint):  # its new content is already stored
                break
    except StoreError:
        raise
    except MedciteError as exc:
        report.file_error(path, exc)


def reverify_flagged(store: Store, report: IngestReport) -> None:
    """Check again the article versions flagged because a document they cite was deleted or
    replaced (by this run, or by one killed before it got here)."""
    from medcite.review.flags import reverify_pending

    report.reverified.extend(reverify_pending(store))  # type: ignore[arg-type]


def _ingest_file(store: Store, path: Path, ingestor: Ingestor, fingerprint: str,
                 report: IngestReport, bar: tqdm,
                 batch_size: int, records: Iterator[ParsedRecord | PreparedDocument] | None,
                 fingerprint_after: str | None) -> str | None:
    """Ingest one file read as ``fingerprint`` and mark it done when it went in whole. If the
    file changed while it was read, its records may mix two versions: nothing is marked, and
    its new fingerprint is returned so that the caller reads it again (what was written stays,
    and the second reading replaces it by key)."""
    outcome, errors_before = BatchOutcome(), len(report.record_errors)
    failure: MedciteError | None = None
    try:
        if records is None:
            records = parsed(ingestor, path)
        ingest_records(store, records, report, bar, batch_size, outcome, source=str(path))
    except StoreError:
        raise
    except MedciteError as exc:
        failure = exc  # truncated or invalid, perhaps only because it was being rewritten
    now = fingerprint_after or file_fingerprint(path)
    if now != fingerprint:
        del report.record_errors[errors_before:]  # errors of a torn read, not of the file
        return now
    if failure is not None:
        raise failure
    if len(report.record_errors) == errors_before:
        store.mark_file_done(fingerprint, str(path), outcome)
    return None


def parsed(ingestor: Ingestor, path: Path) -> Iterator[ParsedRecord]:
    """The file's records; a large file is parsed in a second process while the caller writes
    (parsing is a third of the work and the writer cannot use a second core otherwise)."""
    if path.stat().st_size < PARSE_ASIDE_FROM_BYTES or "fork" not in multiprocessing.get_all_start_methods():
        return ingestor.parse(path)
    return _parsed_aside(ingestor, path)


def _parsed_aside(ingestor: Ingestor, path: Path) -> Iterator[ParsedRecord]:
    context = multiprocessing.get_context("fork")
    # A plain pipe, not a Queue: once this process has closed its copy of the write end, the
    # parser holds the only one, so its death (a SIGKILL, the OOM killer) reads as end of
    # file here, even halfway through a hand-over, instead of a read that waits forever.
    receiver, sender = context.Pipe(duplex=False)
    _widen(sender)
    parser = context.Process(target=_parse_into, args=(ingestor, path, receiver, sender),
                             name="medcite-parse", daemon=True)
    parser.start()
    sender.close()
    received = 0
    try:
        while True:
            try:
                kind, payload = receiver.recv()
            except (EOFError, OSError):
                raise _parser_died(path, parser, received) from None
            if kind == "records":
                received += len(payload)
                yield from payload
            elif kind == "input_error":
                message, hint = payload
                raise IngestInputError(message, hint=hint)
            elif kind == "crash":
                raise RuntimeError(f"parsing {path} failed in the parsing process:\n{payload}")
            else:
                return
    finally:
        # The caller stopped (done, failed or interrupted): the parser must not outlive it.
        receiver.close()  # a parser blocked on a full pipe now fails to write and exits
        parser.join(timeout=5)
        if parser.is_alive():
            parser.terminate()
            parser.join(timeout=5)


def _parser_died(path: Path, parser: multiprocessing.Process, received: int) -> MedciteError:
    parser.join(timeout=5)
    code = parser.exitcode
    if code is not None and code < 0:
        try:
            how = f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            how = f"was killed by signal {-code}"
        if code == -signal.SIGKILL:
            how += " (the system may have run out of memory)"
    else:
        how = f"stopped unexpectedly (exit code {code})"
    return MedciteError(
        f"{path}: the parsing process {how} after {received} records; the file is not marked "
        "as ingested, so the next run reads it again")


def _widen(sender) -> None:
    """Let the pipe hold about one hand-over, so parsing runs ahead of writing (Linux only;
    elsewhere the default pipe size only costs some overlap)."""
    try:
        import fcntl

        fcntl.fcntl(sender.fileno(), getattr(fcntl, "F_SETPIPE_SZ", 1031), _PIPE_BYTES)
    except (ImportError, OSError):
        pass


def _parse_into(ingestor: Ingestor, path: Path, receiver, sender) -> None:
    """Runs in the parsing process: records in chunks, then how it ended. A write to a pipe
    nobody reads any more (the writer died or gave up) fails, and this process exits."""
    receiver.close()

    def send(kind: str, payload: object) -> None:
        try:
            sender.send((kind, payload))
        except OSError:  # BrokenPipeError: no writer left to read what is parsed
            os._exit(1)

    chunk: list[ParsedRecord | PreparedDocument] = []
    try:
        for record in ingestor.parse(path):
            # Prepared here, so that chunking and hashing run on this process's core too.
            chunk.append(prepare(record) if isinstance(record, Document) else record)
            if len(chunk) >= _CHUNK:
                send("records", chunk)
                chunk = []
        send("records", chunk)
        send("done", None)
    except MedciteError as exc:
        send("records", chunk)  # what was read before the damage is whole: hand it over
        send("input_error", (exc.message, exc.hint))
    except Exception:  # noqa: BLE001 - a parser bug, reported with its traceback by the writer
        send("crash", traceback.format_exc())
    finally:
        sender.close()


def ingest_records(
    store: Store,
    records: Iterator[ParsedRecord | PreparedDocument],
    report: IngestReport,
    bar: tqdm,
    batch_size: int = DEFAULT_BATCH,
    file_outcome: BatchOutcome | None = None,
    source: str = "",
) -> None:
    """Write parsed records in batches, collecting record errors into ``report`` (``source``
    names the file for the records the store refuses)."""
    batch: list[PreparedDocument | Deletion] = []

    def flush() -> None:
        outcome = store.write_prepared(batch)
        report.record_errors.extend(RecordError(path=source, record_id=key, message=why)
                                    for key, why in outcome.rejected)
        outcome.rejected = []  # reported once, not kept in the run's totals
        report.outcome.merge(outcome)
        if file_outcome is not None:
            file_outcome.merge(outcome)
        bar.update(len(batch))
        batch.clear()

    records = iter(records)
    while True:
        try:
            record = next(records, None)
        except MedciteError:
            # The file is damaged (truncated, invalid) or its parser died further on; the
            # records read before that are whole and valid, so they are kept.
            if batch:
                flush()
            raise
        if record is None:
            break
        if isinstance(record, RecordError):
            report.record_errors.append(record)
            continue
        if isinstance(record, Document):
            record = prepare(record)
        if isinstance(record, PreparedDocument):
            report.count_document(record.document)
        batch.append(record)
        if len(batch) >= batch_size:
            flush()
    if batch:
        flush()
