"""Issue #12 item 12: the parsing process of a large file dies (the OOM killer, a SIGKILL) while
the writer waits for its records. The run must not hang: that file is reported as failed,
naming the signal, what was stored stays whole, and the next files still go in."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.store.test_ingest_runner import _children, consistency


@pytest.fixture(scope="module")
def pubmed_1970s_file(demo_corpus) -> Path:
    """pubmed20n0014.xml.gz: 30,000 real records, 16 MB."""
    return next(p for p in demo_corpus.research_files if p.name == "pubmed20n0014.xml.gz")


def _documents(location: Path) -> int:
    try:
        conn = sqlite3.connect(location, timeout=1)
        try:
            return conn.execute("SELECT count(*) FROM documents").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.OperationalError:  # not created yet
        return 0


def test_a_killed_parsing_process_fails_its_file_and_the_run_goes_on(tmp_path, pubmed_1970s_file,
                                                                      shared_data):
    assert pubmed_1970s_file.stat().st_size >= 2 << 20  # parsed in a second process
    later = shared_data / "medquad" / "xml_samples"
    home = tmp_path / "home"
    location = home / "medcite.sqlite"
    command = [sys.executable, "-m", "medcite.cli.__main__", "ingest", "--quiet",
               "--batch-size", "200", str(pubmed_1970s_file), str(later)]
    process = subprocess.Popen(command, env={**os.environ, "MEDCITE_HOME": str(home)},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while _documents(location) < 1000:
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the ingest never got going"
            time.sleep(0.2)
        (parser,) = _children(process.pid)
        # Hold the writer still so the parser fills the pipe and blocks halfway through a
        # hand-over, as it does whenever writing lags behind parsing; then kill the parser.
        os.kill(process.pid, signal.SIGSTOP)
        time.sleep(1.5)
        os.kill(parser, signal.SIGKILL)
        os.kill(process.pid, signal.SIGCONT)
        stdout, stderr = process.communicate(timeout=120)  # it hung here forever before
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    assert process.returncode == 1, stderr
    failure = [line for line in stderr.splitlines() if line.startswith("failed file:")]
    assert len(failure) == 1, stderr
    assert pubmed_1970s_file.name in failure[0] and "SIGKILL" in failure[0], failure
    assert "files: 23 read, 0 unchanged since last ingest, 1 failed" in stdout, stdout

    documents, _ = consistency(str(location))
    conn = sqlite3.connect(location)
    research = conn.execute("SELECT count(*) FROM documents WHERE key LIKE 'pmid:%'").fetchone()[0]
    medquad = conn.execute("SELECT count(*) FROM documents WHERE key LIKE 'medquad:%'").fetchone()[0]
    done = [row[0] for row in conn.execute("SELECT path FROM ingested_files")]
    conn.close()
    assert 1000 <= research < 30_000  # what was written before the kill is kept
    assert medquad == 115  # the files after it went in
    assert str(pubmed_1970s_file) not in done  # so the next run parses it again
    assert documents == research + medquad
