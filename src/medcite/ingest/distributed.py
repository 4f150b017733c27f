"""Ingest on a Dask cluster: files are parsed and prepared on the workers, written here.

The stages are those of a single-process ingest (medcite.ingest.runner): plan the files, parse,
prepare (chunk, sentence spans, content hash), write idempotently, mark the file done. Parse
and prepare are pure functions of a file's bytes, so a worker killed halfway costs only a
retry of that file elsewhere (Dask reschedules it). Writing stays in this process and follows
the plan's order: a later PubMed update file's revision or deletion of a record must win over
an earlier file's, as it does in one process, and the store serialises batches anyway (one
writer transaction in SQLite, an advisory lock in PostgreSQL). A run killed or cut off from
its scheduler leaves whole batches and marked files; a rerun skips those files, finds the
documents of the half-written one unchanged by content hash and converges to the same store.

Workers read the files by path: on a remote cluster the paths must be visible to every worker
(a shared file system).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from medcite.errors import ClusterError, IngestInputError, MedciteError, MissingDependencyError
from medcite.ingest.base import ParsedRecord
from medcite.ingest.prepare import prepare
from medcite.ingest.runner import (
    DEFAULT_BATCH,
    FilePlan,
    IngestReport,
    file_fingerprint,
    ingest_planned,
    plan_files,
    reverify_flagged,
)
from medcite.models import Document, PreparedDocument
from medcite.store.base import Store

# Files prepared ahead of the writer, per worker: enough to keep every worker busy while one
# file is written, few enough that memory holds only a handful of prepared files.
AHEAD_PER_WORKER = 2
CONNECT_TIMEOUT_S = 20


@dataclass
class PreparedFile:
    """What a worker made of one file: its records in order, the fingerprint the file had
    once read (a different one means it changed meanwhile), and the error that stopped the
    reading of a damaged file (the records before it are whole)."""

    records: list[ParsedRecord | PreparedDocument]
    fingerprint_after: str
    input_error: tuple[str, str | None] | None = None

    def replay(self) -> Iterator[ParsedRecord | PreparedDocument]:
        yield from self.records
        if self.input_error is not None:
            message, hint = self.input_error
            raise IngestInputError(message, hint=hint)


def prepare_file(plan: FilePlan) -> PreparedFile:
    """Runs on a worker: parse the file and prepare its documents."""
    records: list[ParsedRecord | PreparedDocument] = []
    error = None
    try:
        for record in plan.ingestor.parse(plan.path):
            records.append(prepare(record) if isinstance(record, Document) else record)
    except MedciteError as exc:
        error = (exc.message, exc.hint)
    try:
        after = file_fingerprint(plan.path)
    except IngestInputError:  # removed meanwhile: reads as changed, and is read again
        after = ""
    return PreparedFile(records, after, error)


@dataclass(frozen=True)
class ClusterSpec:
    """Where files are prepared: ``workers`` local processes on 127.0.0.1, or the scheduler
    at ``scheduler`` (``tcp://host:port``) with its workers."""

    workers: int | None = None
    scheduler: str | None = None

    def __post_init__(self) -> None:
        if self.workers is not None and self.scheduler is not None:
            raise IngestInputError("give --workers or --scheduler, not both",
                                   hint="--workers starts a local cluster; --scheduler uses one")
        if self.workers is not None and self.workers < 1:
            raise IngestInputError(f"--workers must be at least 1, not {self.workers}")

    @property
    def where(self) -> str:
        return self.scheduler or f"{self.workers} local worker(s)"


def _dask():
    try:
        import distributed
    except ImportError as exc:
        raise MissingDependencyError("Dask (distributed ingestion)",
                                     "pip install 'medcite[scale]'") from exc
    return distributed


class LocalOrRemoteCluster:
    """A Dask client, with the local cluster it started (closed with it)."""

    def __init__(self, spec: ClusterSpec) -> None:
        distributed = _dask()
        self.spec, self.cluster = spec, None
        # Dask logs the tracebacks of its reconnection attempts; a lost scheduler is reported
        # once, as a ClusterError, instead.
        self._logger = logging.getLogger("distributed")
        self._level = self._logger.level
        self._logger.setLevel(logging.CRITICAL)
        try:
            if spec.scheduler:
                self.client = distributed.Client(spec.scheduler, timeout=CONNECT_TIMEOUT_S)
            else:
                self.cluster = distributed.LocalCluster(
                    n_workers=spec.workers or 1, threads_per_worker=1, processes=True,
                    host="127.0.0.1", dashboard_address=None, silence_logs=logging.ERROR)
                self.client = distributed.Client(self.cluster)
        except (OSError, TimeoutError) as exc:
            self._logger.setLevel(self._level)
            raise ClusterError(f"cannot reach the Dask scheduler at {spec.where}: {exc}",
                               hint="start it with: dask scheduler (and dask worker ADDRESS)") from exc

    def workers(self) -> int:
        return max(1, len(self.client.scheduler_info().get("workers", {})))

    def close(self) -> None:
        try:
            self.client.close(timeout=5)
        except Exception:  # noqa: BLE001 - a scheduler already gone: nothing left to close
            pass
        if self.cluster is not None:
            self.cluster.close(timeout=10)
        self._logger.setLevel(self._level)


def ingest_on_cluster(
    store: Store,
    specs: Sequence[str | Path],
    cluster: ClusterSpec,
    *,
    batch_size: int = DEFAULT_BATCH,
    progress: bool = True,
) -> IngestReport:
    """Ingest every file under ``specs``, preparing them on ``cluster``; the same report, and
    the same store, as ``ingest_paths`` gives."""
    distributed = _dask()
    report = IngestReport()
    dask = LocalOrRemoteCluster(cluster)
    try:
        ahead = AHEAD_PER_WORKER * dask.workers()
        plans = plan_files(store, specs, report)
        pending: deque[tuple[FilePlan, object]] = deque()
        written = 0

        def submit_more() -> None:
            while len(pending) < ahead:
                plan = next(plans, None)
                if plan is None:
                    return
                # pure=False: a file is read again when asked again (it may have changed).
                pending.append((plan, dask.client.submit(prepare_file, plan, pure=False)))

        with tqdm(desc=f"ingest on {cluster.where}", unit=" docs", disable=not progress,
                  dynamic_ncols=True) as bar:
            submit_more()
            while pending:
                plan, future = pending.popleft()
                try:
                    prepared = future.result()
                except distributed.KilledWorker as exc:
                    report.file_error(plan.path, MedciteError(
                        f"{plan.path}: the Dask workers preparing it died ({exc}); the system "
                        "may have run out of memory. It is not marked as ingested, so the "
                        "next run reads it again"))
                    continue
                except (OSError, TimeoutError, distributed.client.FutureCancelledError) as exc:
                    raise _scheduler_gone(cluster, written, exc) from exc
                finally:
                    future.release()
                submit_more()
                ingest_planned(store, plan, report, bar, batch_size, records=prepared.replay(),
                               fingerprint_after=prepared.fingerprint_after)
                written += 1
    finally:
        dask.close()
    reverify_flagged(store, report)
    return report


def _scheduler_gone(cluster: ClusterSpec, written: int, exc: BaseException) -> ClusterError:
    return ClusterError(
        f"the Dask cluster ({cluster.where}) went away after {written} file(s) were written "
        f"({type(exc).__name__}: {exc})",
        hint="what was written is whole; rerun the same command to finish")
