"""A local stand-in for NCBI and DailyMed on 127.0.0.1, speaking their protocols with real
records: E-utilities esearch/efetch with a history server (WebEnv, query_key, retstart/retmax,
edat date windows, the per-second request limit answered 429 as NCBI does, its JSON and XML
error pages), the PubMed file server (folder listings, ``.md5`` files, Range requests) and
DailyMed's v2 web services. It records every request with its arrival time, and ``faults``
queues misbehaviour for the next requests to an endpoint."""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
import uuid
from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from lxml import etree

PUBMED_HEAD = (b'<?xml version="1.0" ?>\n<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD '
               b'PubMedArticle, 1st January 2025//EN" "https://dtd.nlm.nih.gov/ncbi/pubmed/out/'
               b'pubmed_250101.dtd">\n<PubmedArticleSet>\n')
PUBMED_TAIL = b"</PubmedArticleSet>\n"
EFETCH_ERROR = (b'<?xml version="1.0" encoding="UTF-8" ?>\n<!DOCTYPE eFetchResult PUBLIC '
                b'"-//NLM//DTD efetch 20131226//EN" "https://eutils.ncbi.nlm.nih.gov/eutils/dtd/'
                b'20131226/efetch.dtd">\n<eFetchResult>\n\t<ERROR>%s</ERROR>\n</eFetchResult>\n')


@dataclass(frozen=True)
class Article:
    """One real PubmedArticle, as bytes, with what esearch filters on."""

    pmid: str
    xml: bytes
    text: str  # title and abstract, lower case
    year: int | None
    entrez: date | None

    @classmethod
    def parse(cls, xml: bytes) -> Article:
        el = etree.fromstring(xml)
        text = " ".join([el.findtext(".//ArticleTitle") or "",
                         *("".join(a.itertext()) for a in el.iterfind(".//AbstractText"))])
        year = el.findtext(".//JournalIssue/PubDate/Year")
        entrez = el.find(".//PubMedPubDate[@PubStatus='entrez']")
        when = (date(int(entrez.findtext("Year")), int(entrez.findtext("Month")),
                     int(entrez.findtext("Day"))) if entrez is not None else None)
        return cls(el.findtext(".//PMID"), xml, text.lower(), int(year) if year else None, when)


@dataclass
class Seen:
    at: float  # time.monotonic() when the request arrived
    path: str
    params: dict[str, str]
    headers: dict[str, str]
    status: int = 200


@dataclass
class Label:
    setid: str
    title: str
    xml: bytes


@dataclass
class SourceServer:
    articles: list[Article]
    labels: dict[str, Label] = field(default_factory=dict)
    files: Path | None = None  # holds baseline/ and updatefiles/
    seen: list[Seen] = field(default_factory=list)
    faults: dict[str, deque] = field(default_factory=lambda: defaultdict(deque))
    wrong_md5: set[str] = field(default_factory=set)
    label_page_size: int = 100
    search_limit: int = 9_999  # records E-utilities serves of one PubMed search
    histories: dict[str, list[Article]] = field(default_factory=dict)

    def start(self) -> SourceServer:
        self._lock = threading.Lock()
        self._windows: dict[str, deque] = defaultdict(deque)
        self._http = _QuietServer(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._http.server_address[1]}"

    def requests_to(self, endpoint: str) -> list[Seen]:
        return [s for s in self.seen if s.path.endswith(endpoint)]

    def fault(self, endpoint: str, *kinds: str) -> None:
        self.faults[endpoint].extend(kinds)

    def _next_fault(self, path: str) -> str | None:
        for endpoint, queue in self.faults.items():
            if path.endswith(endpoint) and queue:
                return queue.popleft()
        return None

    def over_limit(self, params: dict[str, str]) -> bool:
        """NCBI's rule: 3 requests a second per client, 10 with an API key."""
        key = params.get("api_key", "")
        limit = 10 if key else 3
        now = time.monotonic()
        with self._lock:
            window = self._windows[key]
            while window and now - window[0] >= 1.0:
                window.popleft()
            window.append(now)
            return len(window) > limit

    def search(self, term: str, mindate: str | None, maxdate: str | None) -> list[Article]:
        clauses = [c.strip() for c in re.split(r"\s+AND\s+", term) if c.strip()]
        found = list(self.articles)
        for clause in clauses:
            years = re.fullmatch(r"(\d{4}):(\d{4})\[dp\]", clause)
            if years:
                low, high = int(years.group(1)), int(years.group(2))
                found = [a for a in found if a.year and low <= a.year <= high]
                continue
            words = re.sub(r"\[(tiab|ti|tw|all)\]", "", clause).strip('" ').lower()
            found = [a for a in found if words in a.text]
        if mindate:
            low, high = (date(*map(int, d.split("/"))) for d in (mindate, maxdate))
            found = [a for a in found if a.entrez and low <= a.entrez <= high]
        return found


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        pass  # a client that gave up on a slow answer closed its end: expected here


def _handler(source: SourceServer):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            parts = urlsplit(self.path)
            params = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            seen = Seen(time.monotonic(), parts.path, params, {k.lower(): v for k, v in self.headers.items()})
            source.seen.append(seen)
            fault = source._next_fault(parts.path)
            if fault == "slow":
                time.sleep(1.5)
            elif fault and fault.isdigit():
                seen.status = int(fault)
                return self._send(int(fault), b'{"error":"simulated failure"}', "application/json")
            path = parts.path
            if path.endswith("/esearch.fcgi") or path.endswith("/efetch.fcgi"):
                if source.over_limit(params):
                    seen.status = 429
                    limit = "10" if params.get("api_key") else "3"
                    body = json.dumps({"error": "API rate limit exceeded", "api-key": "",
                                       "count": "", "limit": limit}).encode()
                    return self._send(429, body, "application/json", {"Retry-After": "1"})
                if path.endswith("/esearch.fcgi"):
                    return self._esearch(params)
                return self._efetch(params, fault)
            if "/services/v2/" in path:
                return self._dailymed(path, params, fault)
            return self._file(path, fault)

        def _send(self, status: int, body: bytes, kind: str, headers: dict | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def _esearch(self, params: dict[str, str]) -> None:
            term = params.get("term", "")
            if not term or term.count("[") != term.count("]"):
                return self._send(200, json.dumps({"header": {"type": "esearch"}, "esearchresult": {
                    "ERROR": f"Invalid query: {term!r}"}}).encode(), "application/json")
            if params.get("usehistory") != "y":
                return self._send(400, b'{"error":"this test server wants usehistory=y"}',
                                  "application/json")
            found = source.search(term, params.get("mindate"), params.get("maxdate"))
            webenv = "MCID_" + uuid.uuid4().hex
            source.histories[webenv] = found
            result = {"count": str(len(found)), "retmax": "0", "retstart": "0", "querykey": "1",
                      "webenv": webenv, "idlist": [], "querytranslation": term}
            self._send(200, json.dumps({"header": {"type": "esearch", "version": "0.3"},
                                        "esearchresult": result}).encode(), "application/json")

        def _efetch(self, params: dict[str, str], fault: str | None) -> None:
            found = source.histories.get(params.get("WebEnv", ""))
            if found is None or params.get("query_key") != "1":
                return self._send(200, EFETCH_ERROR % b"Unable to obtain query #1", "text/xml")
            if fault == "xml-error":
                return self._send(200, EFETCH_ERROR % b"Cannot retrieve history data.", "text/xml")
            if fault == "json-error":
                return self._send(200, b'{"error":"Search Backend failed: read error"}',
                                  "application/json")
            start, count = int(params.get("retstart", 0)), int(params.get("retmax", 20))
            if start + count > source.search_limit:  # NCBI's ceiling on one PubMed search
                return self._send(200, json.dumps({"error": (
                    f"Search Backend failed: 'retstart' cannot be larger than "
                    f"{source.search_limit - 1}. For PubMed, ESearch can only retrieve the first "
                    f"{source.search_limit:,} records matching the query.")}).encode(),
                    "application/json")
            body = PUBMED_HEAD + b"".join(a.xml + b"\n" for a in found[start:start + count]) + PUBMED_TAIL
            if fault == "malformed":
                body = body[: len(body) // 2]
            if fault == "cut":  # announce the whole body, send half, hang up
                self.send_response(200)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            self._send(200, body, "text/xml")

        def _dailymed(self, path: str, params: dict[str, str], fault: str | None) -> None:
            if path.endswith("/spls.json"):
                name = params.get("drug_name", "").lower()
                rows = [{"setid": label.setid, "title": label.title, "spl_version": 1,
                         "published_date": "Jan 01, 2024"}
                        for label in source.labels.values() if name in label.title.lower()]
                size = min(int(params.get("pagesize", 100)), source.label_page_size)
                page = int(params.get("page", 1))
                pages = max(1, -(-len(rows) // size))
                meta = {"total_elements": len(rows), "elements_per_page": size,
                        "total_pages": pages, "current_page": page}
                body = {"metadata": meta, "data": rows[(page - 1) * size: page * size]}
                return self._send(200, json.dumps(body).encode(), "application/json")
            match = re.search(r"/spls/([^/]+)\.xml$", path)
            label = source.labels.get(match.group(1)) if match else None
            if label is None:
                return self._send(404, b"<html><body>Not Found</body></html>", "text/html")
            if fault == "html":
                return self._send(200, b"<!DOCTYPE html><html><body>Service temporarily "
                                       b"unavailable</body></html>", "text/html")
            self._send(200, label.xml, "text/xml")

        def _file(self, path: str, fault: str | None) -> None:
            """Paths below /pubmed/: a folder listing, a file's .md5, or the file."""
            relative = path.removeprefix("/pubmed/")
            local = source.files / relative if source.files and relative != path else None
            if local is not None and path.endswith("/") and local.is_dir():
                links = "".join(f'<a href="{p.name}">{p.name}</a>\n' for p in sorted(local.iterdir()))
                return self._send(200, f"<html><body><pre>{links}</pre></body></html>".encode(),
                                  "text/html")
            if local is not None and local.name.endswith(".md5"):
                data_file = local.with_name(local.name.removesuffix(".md5"))
                if data_file.is_file():
                    digest = hashlib.md5(data_file.read_bytes()).hexdigest()
                    if data_file.name in source.wrong_md5:
                        digest = hashlib.md5(b"another file").hexdigest()
                    return self._send(200, f"MD5({data_file.name})= {digest}\n".encode(),
                                      "text/plain")
            if local is None or not local.is_file():
                return self._send(404, b"not found", "text/plain")
            data = local.read_bytes()
            start = 0
            match = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range", ""))
            if match:
                start = int(match.group(1))
                if start >= len(data):
                    return self._send(416, b"", "text/plain", {"Content-Range": f"bytes */{len(data)}"})
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            else:
                self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(data) - start))
            self.send_header("Accept-Ranges", "bytes")
            self.end_headers()
            if fault == "truncate":  # announce the whole body, send part of it, hang up
                self.wfile.write(data[start:start + (len(data) - start) // 3])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(data[start:])

    return Handler
