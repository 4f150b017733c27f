"""Issue #12 item 13: one record with a number no store can hold, or nested too deep to read,
is reported by file and record and skipped; every other record and every later file still goes
in. Each input is a real corpus file with one record damaged, written to tmp_path."""

from __future__ import annotations

import gzip
import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from medcite.ingest.runner import file_fingerprint, ingest_paths
from tests.store.test_ingest_runner import consistency

HUGE = "99999999999999999999"  # > 2**63: beyond SQLite's integers


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def _keys(location: str, prefix: str) -> set[str]:
    with sqlite3.connect(location) as conn:
        return {r[0] for r in conn.execute("SELECT key FROM documents WHERE key LIKE ?",
                                           (prefix + "%",))}


@pytest.fixture
def later(shared_data: Path) -> Path:
    """A file ingested after the damaged one: it must still go in."""
    return shared_data / "dailymed_spl_samples" / "humira.xml"


def _assert_rest_stored(store, report, later: Path) -> None:
    assert not report.file_errors, report.file_errors
    assert _keys(store.location, "spl:"), f"{later.name}, after the bad record, was not ingested"
    consistency(store.location)


def test_ngc_year_out_of_range(store, shared_data, tmp_path, later):
    lines = _lines(shared_data / "ngc_guideline_summaries_public" / "ngc_summaries_public_subset.jsonl")
    bad = json.loads(lines[9])
    lines[9] = re.sub(r'"year": \d+', f'"year": {HUGE}', lines[9])
    assert HUGE in lines[9]
    path = tmp_path / "ngc.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert path.stat().st_size >= 2 << 20  # parsed in the second process, as the real file is

    report = ingest_paths(store, [path, later], progress=False)

    (error,) = report.record_errors
    assert (error.path, error.record_id) == (str(path), bad["ngc_id"])
    assert HUGE in error.message and "year" in error.message
    keys = _keys(store.location, "ngc:")
    assert len(keys) == 105 and f"ngc:{bad['ngc_id']}" not in keys
    _assert_rest_stored(store, report, later)
    assert not store.file_done(file_fingerprint(path))  # the next run reads it again


def test_open_medicine_year_out_of_range(store, shared_data, tmp_path, later):
    lines = _lines(shared_data / "open_medicine_guidelines" / "guideline_sections.jsonl")
    rows = [json.loads(line) for line in lines]
    gids = list(dict.fromkeys(r["guideline_id"] for r in rows))
    victim = gids[5]
    first = next(i for i, r in enumerate(rows) if r["guideline_id"] == victim)
    lines[first] = re.sub(r'"year": \d+', f'"year": {HUGE}', lines[first])
    assert HUGE in lines[first]
    path = tmp_path / "guideline_sections.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    report = ingest_paths(store, [path, later], progress=False)

    (error,) = report.record_errors
    assert (error.path, error.record_id) == (str(path), victim)
    assert HUGE in error.message
    keys = _keys(store.location, "guideline:")
    assert len(keys) == len(gids) - 1 and f"guideline:{victim}" not in keys
    _assert_rest_stored(store, report, later)


def _pubmed_records(source: Path, count: int) -> tuple[str, list[str]]:
    """The XML declaration/root and the first ``count`` real PubmedArticle records."""
    with gzip.open(source, "rt", encoding="utf-8") as fh:
        text = fh.read(4 << 20)
    head = text[: text.index("<PubmedArticle>")]
    records = re.findall(r"<PubmedArticle>.*?</PubmedArticle>", text, re.S)[:count]
    assert len(records) == count
    return head, records


def test_pubmed_pmid_version_out_of_range(store, pubmed_demo_file, tmp_path, later):
    head, records = _pubmed_records(pubmed_demo_file, 200)
    pmids = {re.search(r'<PMID Version="\d+">(\d+)</PMID>', r).group(1) for r in records}
    victim = re.search(r'<PMID Version="1">(\d+)</PMID>', records[100]).group(1)
    records[100] = records[100].replace('<PMID Version="1">', f'<PMID Version="{HUGE}">', 1)
    path = tmp_path / "pubmed.xml"
    path.write_text(head + "\n".join(records) + "\n</PubmedArticleSet>\n", encoding="utf-8")

    report = ingest_paths(store, [path, later], progress=False)

    (error,) = report.record_errors
    assert (error.path, error.record_id) == (str(path), f"pmid:{victim}")
    assert HUGE in error.message and "Version" in error.message
    keys = _keys(store.location, "pmid:")
    assert keys == {f"pmid:{p}" for p in pmids - {victim}} and f"pmid:{victim}" not in keys
    _assert_rest_stored(store, report, later)


def test_deeply_nested_json_lines(store, shared_data, tmp_path, later):
    lines = _lines(shared_data / "ngc_guideline_summaries_public" / "ngc_summaries_public_subset.jsonl")
    # Deep enough for the JSON decoder's own recursion to fail, and deep enough that only code
    # walking the object (str() of a list, pickling) would.
    lines[4] = '{"ngc_id": "ngc-deep-1", "title": "Deep", "conditions": ' + "[" * 100_000 + "]" * 100_000 + "}"
    lines[6] = '{"ngc_id": "ngc-deep-2", "title": ' + "[" * 900 + "]" * 900 + "}"
    path = tmp_path / "nested.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    report = ingest_paths(store, [path, later], progress=False)

    errors = sorted((e.path, e.record_id, e.message) for e in report.record_errors)
    assert [e[:2] for e in errors] == [(str(path), "line 5"), (str(path), "line 7")], errors
    assert all("levels deep" in e[2] for e in errors)
    assert len(_keys(store.location, "ngc:")) == 104
    _assert_rest_stored(store, report, later)


def test_a_value_the_store_cannot_hold_is_refused_alone(store, shared_data, tmp_path, later):
    """The store's own check, for formats whose parser does not look (an SPL versionNumber)."""
    spl = (shared_data / "dailymed_spl_samples" / "lipitor-orig.xml").read_text(encoding="utf-8")
    damaged = re.sub(r'<versionNumber value="\d+"', f'<versionNumber value="{HUGE}"', spl, count=1)
    assert damaged != spl
    path = tmp_path / "lipitor.xml"
    path.write_text(damaged, encoding="utf-8")

    report = ingest_paths(store, [path, later], progress=False)

    (error,) = report.record_errors
    assert error.path == str(path) and error.record_id.startswith("spl:")
    assert "revision" in error.message and HUGE in error.message
    assert error.record_id not in _keys(store.location, "spl:")
    _assert_rest_stored(store, report, later)


def test_cli_reports_bad_records_in_one_line_each_and_exits_non_zero(home, shared_data, tmp_path, later):
    lines = _lines(shared_data / "ngc_guideline_summaries_public" / "ngc_summaries_public_subset.jsonl")
    lines[0] = re.sub(r'"year": \d+', f'"year": {HUGE}', lines[0])
    lines[1] = '{"ngc_id": "x", "title": ' + "[" * 50_000 + "]" * 50_000 + "}"
    path = tmp_path / "ngc.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "medcite.cli.__main__", "ingest", "--quiet",
                             str(path), str(later)],
                            capture_output=True, text=True, env={**os.environ, "MEDCITE_HOME": str(home)})
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    failed = [line for line in result.stderr.splitlines() if line.startswith("failed record:")]
    assert len(failed) == 2 and all(str(path) in line for line in failed), result.stderr
    assert "records that failed: 2" in result.stdout
    assert "documents: 105 added" in result.stdout  # 104 NGC summaries + the Humira label
