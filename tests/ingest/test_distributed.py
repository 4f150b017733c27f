"""Ingest on a Dask cluster (medcite.ingest.distributed) against real PubMed records, real Dask
processes on 127.0.0.1, and both stores: the result is the store a single-process ingest
builds, update files applied in order, after a worker or the scheduler is killed mid-run too."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from medcite.errors import ClusterError, IngestInputError
from medcite.ingest.cluster import ClusterSpec
from medcite.ingest.distributed import ingest_on_cluster
from medcite.ingest.runner import ingest_paths
from medcite.store import Store, open_store
from tests.conftest import postgres_database
from tests.ingest.pubmed_files import CORRECTION, split_pubmed

distributed = pytest.importorskip("distributed", reason="Dask is the 'scale' extra")

PARTS = 6
RECORDS = 6000


@pytest.fixture(scope="module")
def update_files(tmp_path_factory: pytest.TempPathFactory, pubmed_demo_file: Path):
    return split_pubmed(pubmed_demo_file, tmp_path_factory.mktemp("pubmed"), PARTS,
                        limit=RECORDS, updates=True)


def contents(store: Store) -> tuple[list[tuple], list[tuple]]:
    """Documents and passages as rows, independent of ids and timestamps."""
    documents = list(store.copying.export_rows("documents"))
    key_of = {row[0]: row[1] for row in documents}
    # Every column but the id (first) and the time of ingest (last).
    docs = sorted(tuple(row[1:-1]) for row in documents)
    passages = sorted((key_of[row[1]], *row[2:]) for row in store.copying.export_rows("passages"))
    return docs, passages


@pytest.fixture(scope="module")
def reference(update_files, tmp_path_factory: pytest.TempPathFactory):
    """What one process makes of the files."""
    paths, _ = update_files
    store = open_store(f"sqlite:///{tmp_path_factory.mktemp('reference') / 'ref.sqlite'}")
    try:
        report = ingest_paths(store, paths, progress=False)
        assert not report.failed
        return contents(store)
    finally:
        store.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def target(request: pytest.FixtureRequest, tmp_path: Path):
    if request.param == "sqlite":
        store = open_store(f"sqlite:///{tmp_path / 'target.sqlite'}")
        yield store
        store.close()
        return
    from medcite.store.postgres import server

    running = request.getfixturevalue("postgres_server")
    name, url = postgres_database(running)
    store = open_store(url)
    yield store
    store.close()
    server.drop_database(running, name)


def test_two_workers_build_the_store_one_process_builds(target, update_files, reference):
    paths, changed = update_files
    report = ingest_on_cluster(target, paths, ClusterSpec(workers=2), progress=False)
    assert not report.failed, report.file_errors + [e.message for e in report.record_errors]
    assert report.files == PARTS and report.outcome.deleted == 1
    assert contents(target) == reference
    # The last file's correction and deletion won over the first file's records.
    assert target.document(f"pmid:{changed['deleted']}") is None
    corrected = target.passages_of(f"pmid:{changed['corrected']}")
    assert CORRECTION.strip() in " ".join(p.text for p in corrected)
    again = ingest_on_cluster(target, paths, ClusterSpec(workers=1), progress=False)
    assert again.files_skipped == PARTS and again.outcome.added == 0


def test_two_ingests_of_the_same_files_at_once_store_each_document_once(target, update_files,
                                                                        reference):
    """Several writers on one store (two machines ingesting the same folder): batches are
    serialised by the store and upserts are keyed by document and revision."""
    paths, _ = update_files
    second = open_store(target.location)
    reports, failures = [], []

    def run(store: Store, cluster: ClusterSpec | None) -> None:
        try:
            reports.append(ingest_on_cluster(store, paths, cluster, progress=False)
                           if cluster else ingest_paths(store, paths, progress=False))
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            failures.append(exc)

    try:
        threads = [threading.Thread(target=run, args=(target, None)),
                   threading.Thread(target=run, args=(second, ClusterSpec(workers=1)))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        second.close()
    assert not failures, failures
    assert not any(r.failed for r in reports), [r.file_errors for r in reports]
    assert contents(target) == reference
    assert sum(r.outcome.added for r in reports) >= len({d[0] for d in reference[0]})


def test_a_worker_killed_mid_file_is_replaced_and_nothing_is_lost(tmp_path: Path, update_files,
                                                                 reference):
    paths, _ = update_files
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       host="127.0.0.1", dashboard_address=None)
    watcher = distributed.Client(cluster)
    killed: list[int] = []

    def kill_a_busy_worker() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not killed:
            busy = [addr for addr, keys in watcher.processing().items() if keys]
            if busy:
                pid = watcher.run(os.getpid, workers=[busy[0]])[busy[0]]
                os.kill(pid, signal.SIGKILL)  # its nanny starts a new worker
                killed.append(pid)
            time.sleep(0.05)

    store = open_store(f"sqlite:///{tmp_path / 'killed.sqlite'}")
    try:
        killer = threading.Thread(target=kill_a_busy_worker)
        killer.start()
        report = ingest_on_cluster(store, paths, ClusterSpec(scheduler=cluster.scheduler_address),
                                   progress=False)
        killer.join()
        assert killed, "no worker was busy to kill"
        assert not report.failed, report.file_errors
        assert contents(store) == reference
    finally:
        store.close()
        watcher.close()
        cluster.close()


def _dask(*args: str) -> subprocess.Popen:
    """A real ``dask scheduler`` or ``dask worker`` process."""
    return subprocess.Popen([str(Path(sys.executable).with_name("dask")), *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_scheduler_killed_mid_run_then_a_rerun_completes(tmp_path: Path, update_files,
                                                              reference):
    paths, _ = update_files
    address = f"tcp://127.0.0.1:{_free_port()}"
    scheduler = _dask("scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1],
                      "--no-dashboard")
    worker = _dask("worker", address, "--nthreads", "1", "--no-dashboard")
    url = f"sqlite:///{tmp_path / 'cut.sqlite'}"
    env = {**os.environ, "MEDCITE_HOME": str(tmp_path / "home"), "MEDCITE_STORE_URL": url}
    try:
        ingest = subprocess.Popen(
            [str(Path(sys.executable).with_name("medcite")), "ingest", "--no-embed", "--quiet",
             "--batch-size", "200", "--scheduler", address, *map(str, paths)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        store = open_store(url)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and ingest.poll() is None:
            if store.stats().documents:  # writing has begun: cut the cluster off
                break
            time.sleep(0.05)
        store.close()
        scheduler.send_signal(signal.SIGKILL)
        output, _ = ingest.communicate(timeout=120)
        assert ingest.returncode == 1, output
        assert "the Dask cluster" in output and "went away" in output and "rerun" in output
    finally:
        for process in (scheduler, worker):
            process.kill()
            process.wait()
    rerun = subprocess.run(
        [str(Path(sys.executable).with_name("medcite")), "ingest", "--no-embed", "--quiet",
         "--workers", "1", *map(str, paths)],
        env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    store = open_store(url)
    try:
        assert contents(store) == reference
    finally:
        store.close()


def test_cluster_arguments_are_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       update_files):
    with pytest.raises(IngestInputError, match="not both"):
        ClusterSpec(workers=2, scheduler="tcp://127.0.0.1:1")
    with pytest.raises(IngestInputError, match="at least 1"):
        ClusterSpec(workers=0)
    import medcite.ingest.cluster as module

    monkeypatch.setattr(module, "CONNECT_TIMEOUT_S", 2)
    address = f"tcp://127.0.0.1:{_free_port()}"  # nothing listens there
    store = open_store(f"sqlite:///{tmp_path / 'none.sqlite'}")
    try:
        with pytest.raises(ClusterError, match=address):
            ingest_on_cluster(store, update_files[0], ClusterSpec(scheduler=address),
                              progress=False)
        assert store.stats().documents == 0
    finally:
        store.close()


def _file_vectors(store: Store, folder: Path) -> dict[tuple[str, int], list[float]]:
    """The vectors in a SQLite store's folder, by (content hash, ordinal) of their passage."""
    import numpy as np

    place = {pid: (digest, ordinal) for pid, digest, ordinal in store.passage_fingerprints()}
    found: dict[tuple[str, int], list[float]] = {}
    for chunk in sorted(folder.glob("chunk-*.npz")):
        with np.load(chunk) as saved:
            found.update((place[i], v) for i, v in zip(saved["ids"].tolist(),
                                                       saved["vectors"].tolist()))
    return found


def test_passages_embedded_on_the_cluster_are_those_one_process_makes(
        target, tmp_path: Path, shared_data: Path, monkeypatch: pytest.MonkeyPatch):
    from medcite.ingest.cluster import ClusterEncoder, DaskCluster
    from medcite.retrieval import dense
    from tests.conftest import CACHE

    # Small batches, so that several are on the workers at once and must come back in order.
    monkeypatch.setattr(dense, "CHUNK", 64)
    corpus = [shared_data / "medquad" / "xml_samples", shared_data / "dailymed_spl_samples"]
    local = open_store(f"sqlite:///{tmp_path / 'local.sqlite'}")
    models = CACHE / "models"
    try:
        ingest_paths(local, corpus, progress=False)
        dense.embed_store(local, models, progress=False)
        expected = _file_vectors(local, dense.vector_dir(local))
    finally:
        local.close()
    with DaskCluster(ClusterSpec(workers=2)) as dask:
        ingest_on_cluster(target, corpus, dask, progress=False)
        added = dense.embed_store(target, models, progress=False,
                                  encoder_for=lambda spec: ClusterEncoder(dask, spec, models))
    assert added == len(expected) > 8 * 64
    if target.vectors is None:
        found = _file_vectors(target, dense.vector_dir(target))
        assert found.keys() == expected.keys()
        for place, vector in expected.items():
            assert found[place] == vector, place
    else:  # pgvector: each stored vector points where the one made in one process does
        for pid, digest, ordinal in target.passage_fingerprints():
            similarity = target.vectors.similarities(expected[digest, ordinal], [pid])[pid]
            assert similarity == pytest.approx(1.0, abs=1e-3), (digest, ordinal)
