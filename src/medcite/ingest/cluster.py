"""A Dask cluster for ingest: a LocalCluster on 127.0.0.1 or an existing scheduler, and an
encoder that embeds passages on its workers.

Dask is the ``scale`` extra; nothing here is imported on the default path.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from medcite.errors import ClusterError, IngestInputError, MissingDependencyError

# Work handed out ahead of the consumer, per worker: enough to keep every worker busy while
# one result is written, few enough that memory holds only a handful of results.
AHEAD_PER_WORKER = 2
CONNECT_TIMEOUT_S = 20


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


def dask_module():
    """``distributed``, or the error that says how to install it."""
    try:
        import distributed
    except ImportError as exc:
        raise MissingDependencyError("Dask (distributed ingestion)",
                                     "pip install 'medcite[scale]'") from exc
    return distributed


def scheduler_gone(spec: ClusterSpec, done: int, what: str, exc: BaseException) -> ClusterError:
    return ClusterError(
        f"the Dask cluster ({spec.where}) went away after {done} {what} "
        f"({type(exc).__name__}: {exc})",
        hint="what was written is whole; rerun the same command to finish")


class DaskCluster:
    """A Dask client, with the local cluster it started (closed with it)."""

    def __init__(self, spec: ClusterSpec) -> None:
        distributed = dask_module()
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

    def __enter__(self) -> DaskCluster:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


# Each worker process loads the encoder once and keeps it for the batches that follow.
_ENCODERS: dict[tuple, object] = {}
_ENCODERS_LOCK = threading.Lock()


def encode_on_worker(spec, cache_dir: str, texts: list[str]) -> np.ndarray:
    """Runs on a worker: the passage vectors of ``texts`` under encoder ``spec``."""
    from medcite.retrieval.dense import passage_encoder

    key = (spec, cache_dir)
    with _ENCODERS_LOCK:
        encoder = _ENCODERS.get(key)
        if encoder is None:
            # One thread each: the cluster runs one task per worker process already.
            encoder = _ENCODERS[key] = passage_encoder(spec, Path(cache_dir), threads=1)
    return encoder.encode(texts)


class ClusterEncoder:
    """Passage vectors computed on the cluster's workers: batches go out ahead of the writer
    and come back in order (``retrieval.dense.encoded`` uses ``map``). A batch whose worker
    died is encoded again on another; the vectors are those one process would compute."""

    def __init__(self, dask: DaskCluster, spec, cache_dir: Path) -> None:
        self.dask, self.spec, self.cache_dir = dask, spec, str(cache_dir)

    def __call__(self, texts: list[str]) -> np.ndarray:
        return next(self.map([texts]))

    def map(self, batches: Iterable[list[str]]) -> Iterator[np.ndarray]:
        distributed = dask_module()
        client, ahead = self.dask.client, AHEAD_PER_WORKER * self.dask.workers()
        batches = iter(batches)
        pending: deque = deque()
        done = 0
        while True:
            while len(pending) < ahead:
                texts = next(batches, None)
                if texts is None:
                    break
                pending.append(client.submit(encode_on_worker, self.spec, self.cache_dir, texts,
                                             pure=False))
            if not pending:
                return
            future = pending.popleft()
            try:
                vectors = future.result()
            except (OSError, TimeoutError, distributed.client.FutureCancelledError) as exc:
                raise scheduler_gone(self.dask.spec, done, "batch(es) of passages were embedded",
                                     exc) from exc
            finally:
                future.release()
            done += 1
            yield vectors
