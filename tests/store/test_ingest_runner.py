"""Ingest behaviour on real files: idempotent, resumable after SIGKILL, robust to bad input."""

import gzip
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from medcite.ingest.runner import ingest_paths
from medcite.store import SQLiteStore


def consistency(location: str) -> tuple[int, int]:
    """(documents, passages) after checking that the index and tables agree."""
    conn = sqlite3.connect(location)
    documents = conn.execute("SELECT count(*) FROM documents").fetchone()[0]
    passages = conn.execute("SELECT count(*) FROM passages").fetchone()[0]
    indexed = conn.execute("SELECT count(*) FROM passage_text").fetchone()[0]
    orphans = conn.execute("SELECT count(*) FROM passage_text WHERE rowid NOT IN "
                           "(SELECT id FROM passages)").fetchone()[0]
    keys = conn.execute("SELECT count(DISTINCT key) FROM documents").fetchone()[0]
    conn.close()
    assert passages == indexed and orphans == 0 and keys == documents
    return documents, passages


@pytest.fixture(scope="module")
def pubmed_2021(demo_corpus) -> Path:
    return next(p for p in demo_corpus.research_files if p.name == "pubmed21n1298.xml.gz")


def test_files_in_folders_that_are_not_corpora_are_skipped_not_failed(store, shared_data):
    report = ingest_paths(store, [shared_data / "ngc_guideline_summaries_public"], progress=False)
    assert not report.failed and report.not_corpus == ["SOURCE.md"]
    assert report.outcome.added == 106


def test_second_ingest_adds_nothing(store, shared_data):
    paths = [shared_data / "medquad" / "xml_samples", shared_data / "dailymed_spl_samples"]
    first = ingest_paths(store, paths, progress=False)
    assert first.outcome.added > 10 and not first.failed
    before = consistency(store.location)
    second = ingest_paths(store, paths, progress=False)
    assert second.outcome.added == 0 and second.outcome.replaced == 0
    assert second.files_skipped + len(second.not_corpus) == second.files
    assert consistency(store.location) == before


def test_killed_ingest_resumes_to_the_same_store(tmp_path, pubmed_2021):
    env = {**os.environ, "MEDCITE_HOME": str(tmp_path / "killed")}
    command = [sys.executable, "-m", "medcite.cli.__main__", "ingest", "--quiet",
               "--batch-size", "200", str(pubmed_2021)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    location = tmp_path / "killed" / "medcite.sqlite"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        time.sleep(0.2)
        if location.exists():
            try:
                conn = sqlite3.connect(location, timeout=1)
                n = conn.execute("SELECT count(*) FROM documents").fetchone()[0]
                conn.close()
            except sqlite3.OperationalError:
                continue
            if n >= 1000:
                break
    children = _children(process.pid)
    assert children, "a file this large is parsed in a second process"
    process.send_signal(signal.SIGKILL)
    process.wait()
    deadline = time.monotonic() + 10
    while any(_running(pid) for pid in children):  # the parser notices and stops
        assert time.monotonic() < deadline, "the parsing process outlived the killed writer"
        time.sleep(0.1)
    partial, _ = consistency(str(location))
    assert 0 < partial < 20_000, "the kill should land mid-file"

    rerun = subprocess.run(command, env=env, capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr
    resumed = consistency(str(location))

    clean_store = SQLiteStore(tmp_path / "clean" / "medcite.sqlite")
    ingest_paths(clean_store, [pubmed_2021], progress=False)
    clean_store.close()
    assert resumed == consistency(str(tmp_path / "clean" / "medcite.sqlite"))


def _children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as listing:
        return [int(child) for child in listing.read().split()]


def _running(pid: int) -> bool:
    """Alive and not a zombie waiting to be reaped."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _entity_bomb() -> bytes:
    """The classic "billion laughs": nine levels of ten-fold entity expansion."""
    entities = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)]
    return ('<?xml version="1.0"?><!DOCTYPE PubmedArticleSet [' + "".join(entities) + "]>"
            "<PubmedArticleSet><PubmedArticle><MedlineCitation><PMID>3</PMID><Article>"
            "<ArticleTitle>&lol9;</ArticleTitle></Article></MedlineCitation></PubmedArticle>"
            "</PubmedArticleSet>").encode()


def _bad_inputs(folder: Path) -> dict[str, Path]:
    folder.mkdir()
    good_xml = (b'<?xml version="1.0"?><PubmedArticleSet><PubmedArticle><MedlineCitation>'
                b'<PMID Version="1">1</PMID><Article><ArticleTitle>T</ArticleTitle></Article>'
                b'</MedlineCitation></PubmedArticle></PubmedArticleSet>')
    files = {
        "truncated.xml.gz": gzip.compress(good_xml * 50)[:200],
        "invalid.xml": b'<?xml version="1.0"?><PubmedArticleSet><PubmedArticle><oops></PubmedArticleSet>',
        "latin1.xml": ('<?xml version="1.0" encoding="UTF-8"?><PubmedArticleSet><PubmedArticle>'
                       '<MedlineCitation><PMID>2</PMID><Article><ArticleTitle>Caf\u00e9 \u00e9t\u00e9'
                       '</ArticleTitle></Article></MedlineCitation></PubmedArticle>'
                       '</PubmedArticleSet>').encode("latin-1"),
        "empty.xml": b"",
        "garbage.bin": os.urandom(4096),
        "bomb.xml": _entity_bomb(),
        "one-line.txt": b"x" * (50 * 1024 * 1024),
    }
    paths = {}
    for name, content in files.items():
        path = folder / name
        path.write_bytes(content)
        paths[name] = path
    return paths


@pytest.mark.parametrize("aside", [False, True], ids=["parsed-in-process", "parsed-aside"])
def test_malformed_inputs_are_reported_and_nothing_stored_is_lost(store, shared_data, tmp_path,
                                                                  monkeypatch, aside):
    if aside:  # every file parsed in a second process, as large files are
        monkeypatch.setattr("medcite.ingest.runner.PARSE_ASIDE_FROM_BYTES", 0)
    ingest_paths(store, [shared_data / "medquad" / "xml_samples"], progress=False)
    before = consistency(store.location)
    bad = _bad_inputs(tmp_path / "bad")
    started = time.monotonic()
    report = ingest_paths(store, list(bad.values()), progress=False)
    assert time.monotonic() - started < 60
    failed = " ".join(report.file_errors) + " ".join(f"{e.path} {e.message}" for e in report.record_errors)
    for name in ("truncated.xml.gz", "invalid.xml", "empty.xml", "garbage.bin", "one-line.txt"):
        assert name in failed, f"{name} was not reported: {failed}"
    assert report.failed
    documents, passages = consistency(store.location)
    assert documents >= before[0] and passages >= before[1]
    with sqlite3.connect(store.location) as conn:
        titles = [r[0] for r in conn.execute("SELECT title FROM documents WHERE key = 'pmid:3'")]
    assert not titles or len(titles[0]) < 10_000, "entities must not be expanded"


def test_cli_exit_code_and_summary_for_a_bad_file(home, tmp_path):
    bad = tmp_path / "empty.xml"
    bad.write_bytes(b"")
    result = subprocess.run([sys.executable, "-m", "medcite.cli.__main__", "ingest", "--quiet", str(bad)],
                            capture_output=True, text=True, env={**os.environ, "MEDCITE_HOME": str(home)})
    assert result.returncode == 1
    assert "empty.xml" in result.stderr
    missing = subprocess.run([sys.executable, "-m", "medcite.cli.__main__", "ingest", str(tmp_path / "nope*.xml")],
                             capture_output=True, text=True, env={**os.environ, "MEDCITE_HOME": str(home)})
    assert missing.returncode == 2 and "no such file" in missing.stderr


def test_a_file_parsed_aside_gives_the_same_store(tmp_path, shared_data, monkeypatch):
    """Same records, same order, same errors, whichever process parses."""
    files = [shared_data / "medquad" / "xml_samples", shared_data / "dailymed_spl_samples" / "humira.xml"]
    in_process = SQLiteStore(tmp_path / "a" / "medcite.sqlite")
    first = ingest_paths(in_process, files, progress=False)
    monkeypatch.setattr("medcite.ingest.runner.PARSE_ASIDE_FROM_BYTES", 0)
    aside = SQLiteStore(tmp_path / "b" / "medcite.sqlite")
    second = ingest_paths(aside, files, progress=False)
    assert first.summary_lines() == second.summary_lines()
    in_process.close()
    aside.close()
    assert consistency(str(tmp_path / "a" / "medcite.sqlite")) == consistency(str(tmp_path / "b" / "medcite.sqlite"))


def test_a_parser_crash_in_the_parsing_process_is_raised_with_its_traceback(tmp_path, monkeypatch):
    from medcite.ingest.runner import parsed

    class Broken:
        name = "broken"

        def parse(self, path):
            yield from ()
            raise ZeroDivisionError("a bug in a parser")

    monkeypatch.setattr("medcite.ingest.runner.PARSE_ASIDE_FROM_BYTES", 0)
    path = tmp_path / "any.xml"
    path.write_text("<x/>")
    with pytest.raises(RuntimeError, match="ZeroDivisionError: a bug in a parser"):
        list(parsed(Broken(), path))
