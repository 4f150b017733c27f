"""``medcite corpus pubmed-files``: NLM-style baseline and update files served from
127.0.0.1 (gzip files of real records with their ``.md5``), checksums, resume and refusal."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import pytest

from medcite.settings import Settings
from medcite.store import SQLiteStore

from .conftest import medcite
from .sources import PUBMED_HEAD, PUBMED_TAIL

NAMES = ("pubmed26n0001.xml.gz", "pubmed26n0002.xml.gz", "pubmed26n0003.xml.gz")
PER_FILE = 40


@pytest.fixture
def published(sources, demo_articles) -> dict[str, list[str]]:
    """Three baseline files and one update file of 40 real records each: name -> PMIDs."""
    pmids = {}
    for number, name in enumerate(NAMES + ("pubmed26n0004.xml.gz",)):
        chosen = demo_articles[number * PER_FILE:(number + 1) * PER_FILE]
        body = PUBMED_HEAD + b"".join(a.xml + b"\n" for a in chosen) + PUBMED_TAIL
        folder = "baseline" if name in NAMES else "updatefiles"
        (sources.files / folder / name).write_bytes(gzip.compress(body, mtime=0))
        pmids[name] = [f"pmid:{a.pmid}" for a in chosen]
    return pmids


def _stored(keys) -> set[str]:
    store = SQLiteStore(Settings.load().store_location)
    try:
        return {k for k in keys if store.document(k) is not None}
    finally:
        store.close()


def _every(published) -> list[str]:
    return [k for keys in published.values() for k in keys]


def _kept(home: Path) -> Path:
    return home / "connectors" / "pubmed-files" / "baseline"


def _files(home: Path) -> list[str]:
    """What the downloads left (the run's lock file aside)."""
    return sorted(p.name for p in _kept(home).iterdir() if p.name != ".lock")


def test_baseline_files_are_verified_and_ingested_and_a_rerun_downloads_nothing(sources, home, published):
    done = medcite("corpus", "pubmed-files", "--baseline", "--max-files", "2", "--quiet")

    assert done.exit_code == 0, done.output
    assert _stored(_every(published)) == set(published[NAMES[0]] + published[NAMES[1]])
    assert "2 verified (2 downloaded, 0 already here)" in done.output
    for name in NAMES[:2]:
        kept = (_kept(home) / name).read_bytes()
        assert kept == (sources.files / "baseline" / name).read_bytes()
    assert not sources.requests_to(NAMES[2]) and not sources.requests_to(NAMES[2] + ".md5")

    again = medcite("corpus", "pubmed-files", "--baseline", "--max-files", "2", "--quiet")

    assert again.exit_code == 0, again.output
    assert "2 verified (0 downloaded, 2 already here)" in again.output
    assert len(sources.requests_to(NAMES[0])) == 1  # the .md5 was read again, the file not
    assert "files: 2 read, 2 unchanged since last ingest" in again.output


def test_update_files_come_from_updatefiles(sources, home, published):
    done = medcite("corpus", "pubmed-files", "--updates", "--quiet")
    assert done.exit_code == 0, done.output
    assert _stored(_every(published)) == set(published["pubmed26n0004.xml.gz"])
    assert sources.requests_to("/pubmed/updatefiles/")


def test_a_download_that_breaks_off_resumes_with_a_range_request(sources, home, published):
    sources.fault(NAMES[0], "truncate")
    done = medcite("corpus", "pubmed-files", "--baseline", "--max-files", "1", "--quiet")

    assert done.exit_code == 0, done.output
    first, second = sources.requests_to(NAMES[0])
    size = (sources.files / "baseline" / NAMES[0]).stat().st_size
    assert "range" not in first.headers
    assert second.headers["range"] == f"bytes={size // 3}-"  # what had arrived, kept
    assert (_kept(home) / NAMES[0]).read_bytes() == (sources.files / "baseline" / NAMES[0]).read_bytes()
    assert _stored(_every(published)) == set(published[NAMES[0]])


@pytest.mark.parametrize("left", ["half", "all"])
def test_a_part_file_left_by_a_killed_run_is_resumed(sources, home, published, left):
    data = (sources.files / "baseline" / NAMES[0]).read_bytes()
    have = len(data) // 2 if left == "half" else len(data)
    _kept(home).mkdir(parents=True)
    (_kept(home) / (NAMES[0] + ".part")).write_bytes(data[:have])

    done = medcite("corpus", "pubmed-files", "--baseline", "--max-files", "1", "--quiet")

    assert done.exit_code == 0, done.output
    (request,) = sources.requests_to(NAMES[0])
    assert request.headers["range"] == f"bytes={have}-"  # answered 206, or 416 when all is there
    assert (_kept(home) / NAMES[0]).read_bytes() == data
    assert not (_kept(home) / (NAMES[0] + ".part")).exists()
    assert _stored(_every(published)) == set(published[NAMES[0]])


def test_a_file_that_fails_its_md5_is_downloaded_again_then_refused(sources, home, published):
    sources.wrong_md5.add(NAMES[0])
    done = medcite("corpus", "pubmed-files", "--baseline", "--max-files", "2", "--quiet")

    assert done.exit_code == 5
    assert f"{NAMES[0]} fails its MD5 check" in done.stderr
    assert "refused, not ingested" in done.stderr
    assert [r.headers.get("range") for r in sources.requests_to(NAMES[0])] == [None, None]
    assert _files(home) == []
    assert _stored(_every(published)) == set()


def test_a_truncated_gzip_with_a_matching_md5_is_refused(sources, home, published):
    path = sources.files / "baseline" / NAMES[0]
    path.write_bytes(path.read_bytes()[:-200])  # published cut short, .md5 made from it
    done = medcite("corpus", "pubmed-files", "--baseline", "--max-files", "1", "--quiet")

    assert done.exit_code == 5
    assert f"{NAMES[0]}: the gzip data is truncated" in done.stderr
    assert _files(home) == []
    assert _stored(_every(published)) == set()


def test_a_download_that_keeps_breaking_off_is_kept_for_a_later_resume(sources, home, published,
                                                                        monkeypatch):
    monkeypatch.setenv("MEDCITE_CONNECTOR_RETRIES", "1")
    sources.fault(NAMES[0], "truncate", "truncate")
    done = medcite("corpus", "pubmed-files", "--baseline", "--max-files", "1", "--quiet")

    assert done.exit_code == 5
    assert f"error: {NAMES[0]}: " in done.stderr and "rerun to resume" in done.stderr
    part = _kept(home) / (NAMES[0] + ".part")
    data = (sources.files / "baseline" / NAMES[0]).read_bytes()
    assert 0 < part.stat().st_size < len(data)
    assert data.startswith(part.read_bytes())
    assert not (_kept(home) / NAMES[0]).exists()
    assert _stored(_every(published)) == set()

    resumed = medcite("corpus", "pubmed-files", "--baseline", "--max-files", "1", "--quiet")
    assert resumed.exit_code == 0, resumed.output
    assert hashlib.md5((_kept(home) / NAMES[0]).read_bytes()).digest() == hashlib.md5(data).digest()
    assert _stored(_every(published)) == set(published[NAMES[0]])


def test_a_second_run_into_the_same_folder_is_refused_while_one_downloads(sources, home,
                                                                         published):
    fcntl = pytest.importorskip("fcntl")
    _kept(home).mkdir(parents=True)
    with open(_kept(home) / ".lock", "w") as held:  # what a running download holds
        fcntl.flock(held, fcntl.LOCK_EX)
        done = medcite("corpus", "pubmed-files", "--baseline", "--max-files", "1", "--quiet")
    assert done.exit_code == 5
    assert "another medcite corpus pubmed-files run is downloading into" in done.stderr
    assert not sources.requests_to(NAMES[0])
    assert _files(home) == []


def test_which_files_must_be_said(sources, home):
    done = medcite("corpus", "pubmed-files")
    assert done.exit_code == 2
    assert "--baseline or --updates" in done.output
    assert not sources.seen
