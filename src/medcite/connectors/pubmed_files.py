"""The PubMed baseline and update files (``pubmedNNnXXXX.xml.gz``) from NLM's file server.

A file is downloaded into ``<name>.part`` beside its final place; a download that breaks off
(or a run that is killed) resumes there with an HTTP ``Range`` request. A finished download is
kept only when its MD5 matches the ``.md5`` file the server publishes beside it and its gzip
stream is whole; a checksum mismatch is downloaded once more from the start and then refused.
Only kept files are ingested, so a damaged download is never half-ingested.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import re
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from medcite.connectors.http import HttpClient, base_url
from medcite.errors import ConnectorError
from medcite.settings import Settings

FOLDERS = {"baseline": "baseline", "updates": "updatefiles"}
_FILE_LINK = re.compile(r'href="(?:[^"]*/)?(pubmed\d+n\d+\.xml\.gz)"')
_MD5 = re.compile(r"\b([0-9a-fA-F]{32})\b")
_BLOCK = 1 << 20
_READ = 64 << 10  # bytes per read while downloading: a break loses at most this much
# Polite spacing for a file server that publishes no limit; each file is one long request.
_RATE = 3.0


@dataclass(frozen=True)
class PubmedFile:
    name: str
    url: str
    path: Path
    downloaded: bool  # False: the verified file was already here


def file_client(settings: Settings) -> HttpClient:
    return HttpClient("the PubMed file server", rate=_RATE, timeout=settings.connector_timeout,
                      retries=settings.connector_retries)


def list_files(client: HttpClient, folder_url: str) -> list[str]:
    """The ``pubmed*.xml.gz`` names in a folder's HTML listing, in order."""
    page = client.get(folder_url + "/").body.decode("utf-8", "replace")
    names = sorted(set(_FILE_LINK.findall(page)))
    if not names:
        raise ConnectorError(f"{folder_url}/ lists no pubmed*.xml.gz files")
    return names


def expected_md5(client: HttpClient, url: str) -> str:
    """The digest in ``<url>.md5`` (``MD5(pubmed25n0001.xml.gz)= 9a1f...``)."""
    text = client.get(url + ".md5").body.decode("ascii", "replace")
    match = _MD5.search(text.rpartition("=")[2] or text)
    if not match:
        raise ConnectorError(f"{url}.md5 holds no MD5 digest: {text[:80]!r}")
    return match.group(1).lower()


def md5_of(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def check_gzip(path: Path) -> None:
    """``ConnectorError`` unless the file is whole gzip data to its end (its MD5 can match a
    file that was published truncated)."""
    try:
        with gzip.open(path, "rb") as fh:
            while fh.read(_BLOCK):
                pass
    except EOFError as exc:
        raise ConnectorError(f"{path.name.removesuffix('.part')}: the gzip data is truncated "
                             f"({exc}); refused, not ingested") from exc
    except (OSError, zlib.error) as exc:
        raise ConnectorError(f"{path.name.removesuffix('.part')}: the gzip data is corrupt "
                             f"({exc}); refused, not ingested") from exc


def download(client: HttpClient, url: str, dest: Path, md5: str, *, progress: bool) -> bool:
    """Make ``dest`` a verified copy of ``url``; False when it already was one."""
    if dest.exists() and md5_of(dest) == md5:
        return False
    part = dest.with_name(dest.name + ".part")
    for fresh_start in (False, True):
        _fetch_into(client, url, part, progress=progress)
        if md5_of(part) == md5:
            try:
                check_gzip(part)
            except ConnectorError:
                part.unlink()
                raise
            part.replace(dest)
            return True
        part.unlink()  # a resumed part may have joined two versions: start afresh once
        if fresh_start:
            raise ConnectorError(
                f"{dest.name} fails its MD5 check ({url}.md5 says {md5}), again after a fresh "
                "download; refused, not ingested")
    raise AssertionError("unreachable")


def _fetch_into(client: HttpClient, url: str, part: Path, *, progress: bool) -> None:
    """Download to ``part``, resuming what an earlier attempt left, until the size the server
    announced has arrived (each break in the body resumes with a Range request)."""
    name = part.name.removesuffix(".part")
    for attempt in range(client.retries + 1):
        have = part.stat().st_size if part.exists() else 0
        headers = {"Range": f"bytes={have}-"} if have else {}
        try:
            with client.stream(url, headers) as response:
                if response.status == 206 and _range_start(response) == have:
                    total = have + int(response.headers.get("Content-Length") or 0)
                    mode = "ab"
                else:  # the server sent the whole file: start again
                    have, mode = 0, "wb"
                    total = int(response.headers.get("Content-Length") or 0)
                with open(part, mode) as out, tqdm(
                        total=total or None, initial=have, desc=name, unit="B", unit_scale=True,
                        disable=not progress, dynamic_ncols=True) as bar:
                    try:
                        while block := response.read(_READ):
                            out.write(block)
                            bar.update(len(block))
                    except (OSError, ValueError, http.client.HTTPException) as exc:
                        if isinstance(exc, http.client.IncompleteRead):
                            out.write(exc.partial)  # what did arrive counts for the resume
                        if attempt == client.retries:
                            raise ConnectorError(f"{name}: the download broke off ({exc!r}) "
                                                 f"{attempt + 1} times; rerun to resume") from exc
                        client.pause(attempt)
                        continue
        except ConnectorError as exc:
            if exc.status == 416 and have:  # nothing after what we have: it is all here
                return
            raise
        size = part.stat().st_size
        if not total or size >= total:
            return
        if attempt == client.retries:
            raise ConnectorError(f"{name}: {size:,} of {total:,} bytes arrived; the download "
                                 "is truncated (rerun to resume it)")
    raise ConnectorError(f"{name}: the download did not complete")  # pragma: no cover


def _range_start(response) -> int | None:
    match = re.match(r"bytes (\d+)-", response.headers.get("Content-Range") or "")
    return int(match.group(1)) if match else None


def fetch_files(settings: Settings, kind: str, *, max_files: int | None = None,
                progress: bool = True) -> list[PubmedFile]:
    """Download and verify the first ``max_files`` files of ``kind`` (baseline or updates)
    into ``<home>/connectors/pubmed-files/<kind>/``."""
    client = file_client(settings)
    folder_url = base_url(settings.pubmed_files_url, "MEDCITE_PUBMED_FILES_URL") + "/" + FOLDERS[kind]
    names = list_files(client, folder_url)[:max_files]
    dest = settings.home_path / "connectors" / "pubmed-files" / FOLDERS[kind]
    dest.mkdir(parents=True, exist_ok=True)
    done: list[PubmedFile] = []
    with _only_run(dest):
        for name in names:
            url = f"{folder_url}/{name}"
            fresh = download(client, url, dest / name, expected_md5(client, url),
                             progress=progress)
            done.append(PubmedFile(name, url, dest / name, fresh))
    return done


@contextmanager
def _only_run(folder: Path) -> Iterator[None]:
    """Hold the folder's lock: two runs resuming the same ``.part`` would interleave bytes."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock, as before
        yield
        return
    with open(folder / ".lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise ConnectorError(f"another medcite corpus pubmed-files run is downloading into "
                                 f"{folder}; wait for it to finish") from None
        yield
