"""Ingest on a Dask cluster: files are parsed and prepared on the workers, written here.

The stages are those of a single-process ingest (medcite.ingest.runner): plan the files, parse,
prepare (chunk, sentence spans, content hash), write idempotently, mark the file done. Parse
and prepare are pure functions of a file's bytes, so a worker killed halfway costs only a
retry of that file elsewhere (Dask reschedules it). Writing stays in this process and follows
the plan's order: a later PubMed update file's revision or deletion of a record must win over
an earlier file's, as it does in one process, and the store serialises batches anyway (one
writer transaction in SQLite, an advisory lock in PostgreSQL); for the same reason a run holds
the store's one ingest run (``Store.ingest_run``) from start to end. A run killed or cut off from
its scheduler leaves whole batches and marked files; a rerun skips those files, finds the
documents of the half-written one unchanged by content hash and converges to the same store.

Workers read the files by path: on a remote cluster the paths must be visible to every worker
(a shared file system).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from medcite.errors import IngestInputError, MedciteError
from medcite.ingest.cluster import (
    AHEAD_PER_WORKER,
    ClusterSpec,
    DaskCluster,
    dask_module,
    scheduler_gone,
)
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
    waiting_note,
)
from medcite.models import Document, PreparedDocument
from medcite.store.base import Store


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


def ingest_on_cluster(
    store: Store,
    specs: Sequence[str | Path],
    cluster: ClusterSpec | DaskCluster,
    *,
    batch_size: int = DEFAULT_BATCH,
    progress: bool = True,
) -> IngestReport:
    """Ingest every file under ``specs``, preparing them on ``cluster`` (a spec: started here
    and closed after); the same report, and the same store, as ``ingest_paths`` gives."""
    distributed = dask_module()
    report = IngestReport()
    owned = not isinstance(cluster, DaskCluster)
    dask = DaskCluster(cluster) if owned else cluster
    where = dask.spec.where
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

        with store.ingest_run(on_wait=waiting_note), \
                tqdm(desc=f"ingest on {where}", unit=" docs", disable=not progress,
                     dynamic_ncols=True) as bar:
            while True:
                submit_more()
                if not pending:
                    break
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
                    raise scheduler_gone(dask.spec, written, "file(s) were written", exc) from exc
                finally:
                    future.release()
                submit_more()  # the next files are prepared while this one is written
                ingest_planned(store, plan, report, bar, batch_size, records=prepared.replay(),
                               fingerprint_after=prepared.fingerprint_after)
                written += 1
    finally:
        if owned:
            dask.close()
    reverify_flagged(store, report)
    return report
