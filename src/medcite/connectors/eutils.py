"""PubMed through NCBI E-utilities: esearch with the history server, efetch in batches.

One ``esearch`` (``usehistory=y``) leaves the whole result set on NCBI's history server under
a ``WebEnv`` and ``query_key``; ``efetch`` then reads it ``retmax`` records at a time from
``retstart`` as PubMed XML, the format of the baseline files, which the normal PubMed ingestor
reads. Requests carry ``tool``, ``email`` and the API key as NCBI asks, and are spaced to
NCBI's limit (3 a second, 10 with a key).

Every batch is checked before it is kept (an error page, malformed XML, a root other than
``PubmedArticleSet`` or an empty batch is a ``ConnectorError``), and the batches of one run
are written into a ``.part`` folder that is renamed only when all of them arrived: a failed
run leaves nothing to ingest.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from lxml import etree
from tqdm import tqdm

from medcite.connectors.http import HttpClient, base_url, error_message
from medcite.connectors.state import QueryLog
from medcite.errors import ConnectorError, InputError
from medcite.ingest._common import slugify, xml_parser
from medcite.settings import Settings

DEFAULT_BATCH = 500
# Since NCBI's 2022 update, E-utilities serves only the first 9,999 records of a PubMed
# search ("'retstart' cannot be larger than 9998"); more is read as narrower searches by date.
PUBMED_SEARCH_LIMIT = 9_999
_RECORDS = frozenset({"PubmedArticle", "PubmedBookArticle"})
_DATE = re.compile(r"^\s*(\d{4})[/-](\d{1,2})[/-](\d{1,2})\s*$")


def parse_date(text: str) -> date:
    """A date written YYYY/MM/DD or YYYY-MM-DD (as E-utilities takes them)."""
    match = _DATE.match(text)
    try:
        if match:
            return date(*(int(g) for g in match.groups()))
    except ValueError:
        pass
    raise InputError(f"{text!r} is not a date; write it as YYYY/MM/DD")


def _ncbi(day: date) -> str:
    return day.strftime("%Y/%m/%d")


@dataclass(frozen=True)
class SearchResult:
    """An esearch kept on the history server."""

    count: int
    webenv: str
    query_key: str
    translation: str = ""
    not_found: tuple[str, ...] = ()


@dataclass
class PubmedFetch:
    """What one ``medcite corpus pubmed`` run fetched."""

    query: str
    search: SearchResult
    mindate: date | None
    maxdate: date | None
    # The searches read: the query itself, or consecutive entry-date windows of it when it
    # matches more than E-utilities serves of one search.
    windows: list[SearchResult] = field(default_factory=list)
    requested: int = 0  # how many records the windows are read for (at most --max)
    folder: Path | None = None
    files: list[Path] = field(default_factory=list)
    fetched: int = 0

    @property
    def complete(self) -> bool:
        """Whether every matching record was asked for (so the query is up to date)."""
        return self.requested >= self.search.count


class EUtilities:
    """The two E-utilities medcite uses, against ``settings.eutils_url``."""

    def __init__(self, settings: Settings) -> None:
        key = settings.ncbi_api_key
        self.client = HttpClient("PubMed E-utilities", rate=10.0 if key else 3.0,
                                 timeout=settings.connector_timeout,
                                 retries=settings.connector_retries)
        self.base = base_url(settings.eutils_url, "MEDCITE_EUTILS_URL")
        self.identity = {"tool": settings.ncbi_tool, "email": settings.ncbi_email, "api_key": key}

    def search(self, term: str, *, mindate: date | None = None,
               maxdate: date | None = None) -> SearchResult:
        params: dict[str, object] = {"db": "pubmed", "term": term, "usehistory": "y",
                                     "retmax": 0, "retmode": "json", **self.identity}
        if mindate is not None:
            # E-utilities takes a date range only with both ends.
            params.update(datetype="edat", mindate=_ncbi(mindate),
                          maxdate=_ncbi(maxdate or datetime.now(timezone.utc).date()))
        body = self.client.get(f"{self.base}/esearch.fcgi", params).body
        try:
            data = json.loads(body)
        except ValueError:
            raise ConnectorError("PubMed esearch did not answer JSON: "
                                 f"{error_message(body) or body[:120]!r}") from None
        message = error_message(body)
        result = data.get("esearchresult") if isinstance(data, dict) else None
        if message or not isinstance(result, dict):
            raise ConnectorError(f"PubMed esearch refused the query {term!r}: "
                                 f"{message or 'no esearchresult in its answer'}")
        try:
            count = int(result["count"])
            webenv, key = str(result["webenv"]), str(result["querykey"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ConnectorError(f"PubMed esearch answered without {exc} for {term!r}") from None
        errors = result.get("errorlist") or {}
        not_found = tuple(str(p) for k in ("phrasesnotfound", "fieldsnotfound")
                          for p in (errors.get(k) or []))
        return SearchResult(count, webenv, key, str(result.get("querytranslation", "")), not_found)

    def fetch(self, search: SearchResult, retstart: int, retmax: int) -> tuple[bytes, int]:
        """One batch as PubMed XML, checked, with its number of records."""
        params = {"db": "pubmed", "query_key": search.query_key, "WebEnv": search.webenv,
                  "retstart": retstart, "retmax": retmax, "retmode": "xml", **self.identity}
        body = self.client.get(f"{self.base}/efetch.fcgi", params).body
        where = f"records {retstart + 1:,}-{retstart + retmax:,}"
        return body, checked_batch(body, where)


def checked_batch(body: bytes, where: str) -> int:
    """The number of articles in an efetch answer; ``ConnectorError`` for anything that is not
    a whole, well-formed ``PubmedArticleSet``."""
    head = body[:8192]
    if b"<!ENTITY" in head:
        raise ConnectorError(f"PubMed efetch {where}: the XML declares entities; refused")
    if head.lstrip().startswith(b"{"):  # the JSON error shape ({"error": ...})
        raise ConnectorError(f"PubMed efetch {where} answered an error: "
                             f"{error_message(body) or repr(head[:160])}")
    try:
        root = etree.fromstring(body, xml_parser())
    except etree.XMLSyntaxError as exc:
        raise ConnectorError(f"PubMed efetch {where}: malformed XML ({exc}); nothing of this "
                             "run is ingested, rerun it") from None
    if root.tag != "PubmedArticleSet":
        # <eFetchResult><ERROR>Unable to obtain query #1</ERROR></eFetchResult> and the like
        message = root.findtext(".//ERROR") or root.findtext(".//Error")
        raise ConnectorError(f"PubMed efetch {where} answered an error: {message.strip()}"
                             if message else f"PubMed efetch {where}: expected a "
                             f"PubmedArticleSet, got <{root.tag}>")
    return sum(1 for child in root if child.tag in _RECORDS)


def query_folder(term: str) -> str:
    """A folder name for a query: readable, and unique by its hash."""
    key = " ".join(term.split())
    digest = hashlib.sha256(key.encode()).hexdigest()[:10]
    return f"{slugify(key, 48) or 'query'}-{digest}"


def fetch_query(settings: Settings, term: str, *, max_records: int, since: date | None = None,
                batch: int = DEFAULT_BATCH, progress: bool = True) -> PubmedFetch:
    """Search PubMed and download up to ``max_records`` matching records as PubMed XML batch
    files under ``<home>/connectors/pubmed/<query>/<run>/``. Without ``since``, a query run
    before to completion asks only for what was entered since that run."""
    if not term.strip():
        raise InputError("the PubMed query is empty")
    home = settings.home_path / "connectors"
    mindate = since or QueryLog(home / "pubmed-queries.json").last_run(term)
    maxdate = datetime.now(timezone.utc).date() if mindate else None
    eutils = EUtilities(settings)
    found = eutils.search(term, mindate=mindate, maxdate=maxdate)
    run = PubmedFetch(term, found, mindate, maxdate)
    run.windows = (_date_windows(eutils, term, mindate, maxdate)
                   if found.count > PUBMED_SEARCH_LIMIT and max_records > PUBMED_SEARCH_LIMIT
                   else [found])
    plan, left = [], max_records
    for window in run.windows:  # (search, records to read of it)
        take = min(window.count, PUBMED_SEARCH_LIMIT, left)
        if take:
            plan.append((window, take))
        left -= take
    run.requested = sum(take for _, take in plan)
    if not run.requested:
        return run
    stamp = f"{datetime.now(timezone.utc):%Y%m%dT%H%M%S%fZ}-{uuid.uuid4().hex[:6]}"
    final = home / "pubmed" / query_folder(term) / stamp
    partial = final.with_name(stamp + ".part")
    partial.mkdir(parents=True)
    try:
        with tqdm(total=run.requested, desc="pubmed efetch", unit=" records",
                  disable=not progress, dynamic_ncols=True) as bar:
            for number, (window, take) in enumerate(plan):
                for retstart in range(0, take, batch):
                    size = min(batch, take - retstart)
                    body, articles = eutils.fetch(window, retstart, size)
                    if not articles:
                        raise ConnectorError(
                            f"PubMed efetch returned no records for {retstart + 1:,}-"
                            f"{retstart + size:,} of {window.count:,}; the search history may "
                            "have expired; rerun the command")
                    name = f"efetch-{number:04d}-{retstart:07d}.xml"
                    (partial / name).write_bytes(body)
                    run.files.append(final / name)
                    run.fetched += articles
                    bar.update(articles)
        partial.rename(final)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    run.folder = final
    return run


# Before the first entry date PubMed has (the 1940s), so a window from here misses nothing.
_EARLIEST = date(1900, 1, 1)


def _date_windows(eutils: EUtilities, term: str, mindate: date | None,
                  maxdate: date | None) -> list[SearchResult]:
    """Searches of the query over consecutive entry-date (edat) windows, oldest first, each
    matching at most what E-utilities serves of one search (halving the windows until they
    do; a single day that matches more stays, and is read only in part)."""
    pending = [(mindate or _EARLIEST, maxdate or datetime.now(timezone.utc).date())]
    windows: list[SearchResult] = []
    while pending:
        low, high = pending.pop(0)
        found = eutils.search(term, mindate=low, maxdate=high)
        if found.count > PUBMED_SEARCH_LIMIT and low < high:
            middle = low + (high - low) // 2
            pending[:0] = [(low, middle), (middle + timedelta(days=1), high)]
        elif found.count:
            windows.append(found)
    return windows


def remember_run(settings: Settings, run: PubmedFetch) -> bool:
    """After the fetched records went in: note the date this query is up to, so the next run
    asks only for newer records. Only a run that asked for every match counts."""
    if not run.complete:
        return False
    until = run.maxdate or datetime.now(timezone.utc).date()
    QueryLog(settings.home_path / "connectors" / "pubmed-queries.json").record(run.query, until)
    return True
