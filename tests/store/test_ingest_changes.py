"""Issue #12 item 14: files that end early, change while read, or are reached twice; MedQuAD
keys that do not depend on where a record sits. Real records, written to tmp_path."""

from __future__ import annotations

import gzip
import itertools
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from medcite.errors import IngestInputError
from medcite.ingest.prepare import write_documents
from medcite.ingest.pubmed import PubmedIngestor
from medcite.ingest.medquad import MedquadJsonlIngestor
from medcite.ingest.paths import expand_paths
from medcite.ingest.runner import file_fingerprint, ingest_paths
from medcite.models import Document
from medcite.store import SQLiteStore
from tests.store.test_ingest_runner import consistency


@pytest.fixture(scope="module")
def pubmed_1970s(demo_corpus) -> Path:
    return next(p for p in demo_corpus.research_files if p.name == "pubmed20n0014.xml.gz")


def pubmed_records(source: Path, count: int) -> tuple[str, list[str]]:
    """The XML head (declaration, root start tag) and the first ``count`` real records."""
    with gzip.open(source, "rt", encoding="utf-8") as fh:
        text = fh.read(8 << 20)
    head = text[: text.index("<PubmedArticle>")]
    records = re.findall(r"<PubmedArticle>.*?</PubmedArticle>", text, re.S)[:count]
    assert len(records) == count
    return head, records


def pubmed_file(head: str, records: list[str]) -> str:
    return head + "\n".join(records) + "\n</PubmedArticleSet>\n"


def stored_keys(location: str, prefix: str = "") -> set[str]:
    with sqlite3.connect(location) as conn:
        return {r[0] for r in conn.execute("SELECT key FROM documents WHERE key LIKE ?",
                                           (prefix + "%",))}


# -- a truncated file keeps the valid records of its last partial batch ----------------------


@pytest.mark.parametrize("aside", [False, True], ids=["parsed-in-process", "parsed-aside"])
def test_truncated_file_keeps_every_record_read_before_the_cut(store, tmp_path, pubmed_1970s,
                                                               monkeypatch, aside):
    if aside:
        monkeypatch.setattr("medcite.ingest.runner.PARSE_ASIDE_FROM_BYTES", 0)
    head, records = pubmed_records(pubmed_1970s, 1100)
    data = gzip.compress(pubmed_file(head, records).encode())
    path = tmp_path / "cut.xml.gz"
    path.write_bytes(data[: len(data) * 6 // 10])
    readable = []
    with pytest.raises(IngestInputError, match="truncated"):
        for record in PubmedIngestor().parse(path):
            readable.append(record)
    expected = {r.key for r in readable if isinstance(r, Document)}
    assert len(expected) > 500 and len(expected) % 500, "the cut must land in a partial batch"

    report = ingest_paths(store, [path], batch_size=500, progress=False)

    (failure,) = report.file_errors
    assert str(path) in failure and "truncated" in failure
    assert stored_keys(store.location) == expected
    consistency(store.location)


# -- a file rewritten while it is ingested is read again ---------------------------------------


def _documents(location: Path) -> int:
    try:
        with sqlite3.connect(location, timeout=1) as conn:
            return conn.execute("SELECT count(*) FROM documents").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def test_a_file_rewritten_while_ingested_is_read_again(tmp_path, pubmed_1970s):
    head, records = pubmed_records(pubmed_1970s, 1100)
    old = pubmed_file(head, records)
    new = pubmed_file(head, [re.sub(r"<ArticleTitle>", "<ArticleTitle>[revised] ", r, count=1)
                             for r in records])
    path = tmp_path / "pubmed.xml"
    path.write_text(old, encoding="utf-8")
    old_fingerprint = file_fingerprint(path)
    home = tmp_path / "home"
    location = home / "medcite.sqlite"
    process = subprocess.Popen(
        [sys.executable, "-m", "medcite.cli.__main__", "ingest", "--quiet", "--batch-size", "50",
         str(path)], env={**os.environ, "MEDCITE_HOME": str(home)},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while _documents(location) < 50:
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        # Rewritten in place (as an editor or a download does) while the ingest is held still.
        os.kill(process.pid, signal.SIGSTOP)
        written_before = _documents(location)
        with open(path, "r+", encoding="utf-8") as fh:
            fh.truncate()
            fh.write(new)
        os.kill(process.pid, signal.SIGCONT)
        stdout, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    assert written_before < 1000, "the rewrite should land mid-file"
    assert process.returncode == 0, stderr
    assert "read again 1 file(s) that changed while being ingested: pubmed.xml" in stdout, stdout
    with sqlite3.connect(location) as conn:
        titles = [r[0] for r in conn.execute("SELECT title FROM documents")]
        done = {r[0] for r in conn.execute("SELECT fingerprint FROM ingested_files")}
    assert titles and all(t.startswith("[revised] ") for t in titles), "a mix of both versions"
    assert len(titles) == len({re.search(r"<PMID[^>]*>(\d+)<", r).group(1) for r in records})
    assert done == {file_fingerprint(path)} and old_fingerprint not in done
    consistency(str(location))


def test_a_file_that_keeps_changing_is_reported_not_marked(store, tmp_path, shared_data):
    """A writer appends to the file all through the ingest: after one second reading the file
    is reported as failed, and nothing marks it ingested."""
    source = shared_data / "ngc_guideline_summaries_public" / "ngc_summaries_public_subset.jsonl"
    lines = source.read_text(encoding="utf-8").splitlines(keepends=True)
    path = tmp_path / "growing.jsonl"
    path.write_text("".join(lines[:40]), encoding="utf-8")
    stop = threading.Event()

    def append() -> None:
        for n in itertools.count():
            if stop.wait(0.005):
                return
            line = lines[40 + n % 60].replace('"ngc_id": "', f'"ngc_id": "copy{n}-', 1)
            with open(path, "a", encoding="utf-8") as fh:
                fh.write(line)

    writer = threading.Thread(target=append)
    writer.start()
    try:
        report = ingest_paths(store, [path], progress=False)
    finally:
        stop.set()
        writer.join()
    (failure,) = report.file_errors
    assert str(path) in failure and "changed while it was being ingested" in failure
    assert report.reread == [str(path)]
    with sqlite3.connect(store.location) as conn:
        assert conn.execute("SELECT count(*) FROM ingested_files").fetchone()[0] == 0
    consistency(store.location)


# -- a glob over a folder with a symlink loop finishes, each real file once -------------------


def _looped_tree(root: Path, samples: Path) -> set[str]:
    """Two real MedQuAD files, two links back up the tree, a second link to a file and one to
    a folder: what a corpus assembled with `ln -s` looks like."""
    (root / "a" / "b").mkdir(parents=True)
    first, second = sorted(samples.glob("*.xml"))[:2]
    shutil.copy(first, root / "a" / "x.xml")
    shutil.copy(second, root / "a" / "b" / "y.xml")
    (root / "a" / "b" / "loop").symlink_to(root / "a", target_is_directory=True)
    (root / "a" / "b" / "up").symlink_to(root, target_is_directory=True)
    (root / "z.xml").symlink_to(root / "a" / "x.xml")
    (root / "alias").symlink_to(root / "a" / "b", target_is_directory=True)
    return {str(root / "a" / "x.xml"), str(root / "a" / "b" / "y.xml")}


def test_glob_and_folder_with_symlink_loops_finish_and_read_each_file_once(tmp_path, shared_data):
    real = _looped_tree(tmp_path / "corpus", shared_data / "medquad" / "xml_samples")
    home = tmp_path / "home"
    result = subprocess.run(  # before, glob's ** followed the loops without end
        [sys.executable, "-m", "medcite.cli.__main__", "ingest", "--quiet",
         str(tmp_path / "corpus" / "**" / "*.xml")],
        env={**os.environ, "MEDCITE_HOME": str(home)}, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "files: 2 read" in result.stdout, result.stdout
    with sqlite3.connect(home / "medcite.sqlite") as conn:
        done = {r[0] for r in conn.execute("SELECT path FROM ingested_files")}
    assert {os.path.realpath(p) for p in done} == real

    assert set(map(str, expand_paths([tmp_path / "corpus"]))) == real
    both = expand_paths([tmp_path / "corpus" / "z.xml", tmp_path / "corpus"])
    assert len(both) == 2 and both[tmp_path / "corpus" / "z.xml"] is True


# -- MedQuAD keys are the pair's own, wherever it sits -------------------------------------------


@pytest.fixture(scope="module")
def cancergov_lines(shared_data: Path) -> list[str]:
    """The real CancerGov pairs (their qids repeat within the source: one qid per condition)."""
    path = shared_data / "medquad" / "medquad_answered.jsonl"
    return [line for line in path.read_text(encoding="utf-8").splitlines(keepends=True)
            if '"source": "CancerGov"' in line]


def test_medquad_pairs_split_over_two_files_give_the_same_documents(tmp_path, cancergov_lines):
    whole = tmp_path / "whole" / "cancergov.jsonl"
    whole.parent.mkdir()
    whole.write_text("".join(cancergov_lines), encoding="utf-8")
    split = tmp_path / "split"
    split.mkdir()
    (split / "1.jsonl").write_text("".join(cancergov_lines[0::2]), encoding="utf-8")
    (split / "2.jsonl").write_text("".join(cancergov_lines[1::2]), encoding="utf-8")
    keys = []
    for name, paths in (("a", [whole]), ("b", [split])):
        store = SQLiteStore(tmp_path / name / "medcite.sqlite")
        report = ingest_paths(store, paths, progress=False)
        assert not report.failed
        keys.append(stored_keys(store.location, "medquad:"))
        store.close()
    assert len(keys[0]) == len(cancergov_lines) == 729  # 42 pairs share 8 qids
    assert keys[1] == keys[0]  # before: the repeats of each half collided


def _old_key_documents(path: Path) -> list[Document]:
    """The file's documents keyed as before migration 0013: repeats "~2", "~3" in file order."""
    seen: dict[str, int] = {}
    documents = []
    for doc in MedquadJsonlIngestor().parse(path):
        base = doc.key.split("~")[0]
        seen[base] = seen.get(base, 0) + 1
        old = base if seen[base] == 1 else f"{base}~{seen[base]}"
        documents.append(doc.model_copy(update={"key": old}))
    return documents


def test_migration_rekeys_a_stored_medquad_corpus_in_place(tmp_path, cancergov_lines):
    path = tmp_path / "cancergov.jsonl"
    path.write_text("".join(cancergov_lines), encoding="utf-8")
    location = tmp_path / "home" / "medcite.sqlite"
    store = SQLiteStore(location)
    write_documents(store, _old_key_documents(path))  # a store filled before the new keys
    store.close()
    with sqlite3.connect(location) as conn:  # ... and opened before migration 0013 existed
        conn.execute("DELETE FROM schema_migrations WHERE name = '0013_medquad_identity_keys'")
        old_keys = {r[0]: r[1] for r in conn.execute("SELECT key, id FROM documents")}
        passages_before = conn.execute("SELECT count(*), max(id) FROM passages").fetchone()
    assert "medquad:CancerGov/0000013_2-1~2" in old_keys

    store = SQLiteStore(location)  # opening applies the migration
    new_keys = {d.key for d in MedquadJsonlIngestor().parse(path)}
    assert stored_keys(str(location)) == new_keys
    with sqlite3.connect(location) as conn:  # re-keyed in place: same rows, same passages
        assert sorted(r[0] for r in conn.execute("SELECT id FROM documents")) == sorted(old_keys.values())
        assert conn.execute("SELECT count(*), max(id) FROM passages").fetchone() == passages_before

    # An article citing an old key still finds the document and its passages under it.
    old = "medquad:CancerGov/0000013_2-1~2"
    record = store.document(old)
    assert record is not None and record.key in new_keys and record.id == old_keys[old]
    cited = store.passages_of(old)
    assert cited and all(p.key.startswith(old + "#") for p in cited)
    assert [p.text for p in cited] == [p.text for p in store.passages_of(record.key)]

    # Ingesting the pairs again adds and replaces nothing: no duplicates under the new keys.
    report = ingest_paths(store, [path], progress=False)
    o = report.outcome
    assert (o.added, o.replaced, o.unchanged) == (0, 0, 729), report.summary_lines()
    assert len(stored_keys(str(location))) == 729
    store.close()
    consistency(str(location))
