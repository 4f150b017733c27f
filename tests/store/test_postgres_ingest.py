"""Ingest into PostgreSQL killed mid-file (SIGKILL) and run again converges to the store a
clean run makes: whole batches only, no duplicates, the full-text index in step."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from medcite.ingest.runner import ingest_paths
from medcite.store import open_store
from tests.conftest import postgres_database


def _content(url: str) -> tuple[int, int, frozenset]:
    """(documents, passages, (key, content hash) of every document), after checking that
    every passage is indexed and no key is stored twice."""
    import psycopg

    with psycopg.connect(url) as conn:
        documents, keys = conn.execute("SELECT count(*), count(DISTINCT key) FROM documents"
                                       ).fetchone()
        passages, unindexed = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE tsv IS NULL) FROM passages").fetchone()
        hashes = frozenset(conn.execute("SELECT key, content_hash FROM documents").fetchall())
    assert keys == documents and unindexed == 0
    return documents, passages, hashes


def test_a_killed_ingest_resumes_to_the_same_store(postgres_server, demo_corpus, tmp_path: Path):
    pubmed = next(p for p in demo_corpus.research_files if p.name == "pubmed21n1298.xml.gz")
    _, killed = postgres_database(postgres_server)
    _, clean = postgres_database(postgres_server)
    env = {**os.environ, "MEDCITE_HOME": str(tmp_path / "home"), "MEDCITE_STORE_URL": killed,
           "MEDCITE_DENSE": "off"}
    command = [sys.executable, "-m", "medcite.cli.__main__", "ingest", "--quiet",
               "--batch-size", "200", str(pubmed)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    import psycopg

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.2)
        try:
            with psycopg.connect(killed) as conn:
                if conn.execute("SELECT count(*) FROM documents").fetchone()[0] >= 1000:
                    break
        except psycopg.Error:  # the schema is not there yet
            continue
    process.send_signal(signal.SIGKILL)
    process.wait()
    partial = _content(killed)
    assert 0 < partial[0] < 20_000, "the kill should land mid-file"

    rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    store = open_store(clean)
    try:
        ingest_paths(store, [pubmed], progress=False)
    finally:
        store.close()
    assert _content(killed) == _content(clean)
