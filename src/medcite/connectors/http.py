"""HTTP for the connectors: urllib, a request-rate limiter, retries with exponential backoff.

urllib from the standard library rather than httpx: the connectors belong to the plain
install (growing the corpus should need no extra), and all they need (GET with query
parameters, headers, streamed bodies, Range requests, timeouts) is there; httpx is only in the
``llm`` and ``dev`` extras.

A request that times out, breaks off, or is answered 429 or 5xx is tried again after 0.5 s,
1 s, 2 s ... (or the server's ``Retry-After``, up to a minute); any other 4xx is an error at
once. Every failure is a ``ConnectorError`` naming the service, the URL (without the API key)
and what the server said.
"""

from __future__ import annotations

import http.client
import json
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import TypeVar

from medcite.errors import ConfigurationError, ConnectorError

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
LONGEST_WAIT = 60.0  # seconds; a longer Retry-After is cut to this
_SECRET_PARAMS = re.compile(r"(api_key=)[^&]+")
_XML_ERROR = re.compile(rb"<ERROR>(.*?)</ERROR>", re.S)
_T = TypeVar("_T")


def _user_agent() -> str:
    try:
        return f"medcite/{version('medcite')}"
    except PackageNotFoundError:
        return "medcite"


# Requests are spaced a little wider than the limit: the server counts arrival times, which
# jitter, and a request it counts as one too many is answered 429.
_MARGIN = 1.05


class RateLimiter:
    """At most ``per_second`` request starts in any one second: each start waits until
    1/per_second (and a margin) after the one before (NCBI counts requests per second per
    client)."""

    def __init__(self, per_second: float) -> None:
        self.interval = _MARGIN / per_second
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = time.monotonic()
            if self._next > now:
                time.sleep(self._next - now)
                now = self._next
            self._next = now + self.interval


# One limiter per service and rate for the whole process, so that two clients of the same
# service (a live search's several queries) share its budget instead of each having one.
_LIMITERS: dict[tuple[str, float], RateLimiter] = {}
_LIMITERS_LOCK = threading.Lock()


def shared_limiter(service: str, per_second: float) -> RateLimiter:
    with _LIMITERS_LOCK:
        return _LIMITERS.setdefault((service, per_second), RateLimiter(per_second))


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    headers: Mapping[str, str]


def base_url(value: str, setting: str) -> str:
    """A service's base URL from its setting, without the trailing slash; anything but an
    http(s) URL with a host is a ConfigurationError naming the setting."""
    parts = urllib.parse.urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigurationError(f"{setting}={value!r} is not an http(s) URL",
                                 hint="see docs/settings.md for its default")
    return value.strip().rstrip("/")


def redact(url: str) -> str:
    """The URL as it may be shown: an API key is replaced by ``***``."""
    return _SECRET_PARAMS.sub(r"\1***", url)


def with_params(url: str, params: Mapping[str, object] | None) -> str:
    if not params:
        return url
    query = urllib.parse.urlencode({k: str(v) for k, v in params.items() if v not in (None, "")})
    return f"{url}{'&' if '?' in url else '?'}{query}"


def error_message(body: bytes) -> str | None:
    """The message of an error page in the shapes E-utilities and DailyMed use: JSON
    ``{"error": ...}`` (or ``ERROR`` inside ``esearchresult``), or XML ``<ERROR>...</ERROR>``."""
    text = body.strip()
    if text.startswith(b"{"):
        try:
            data = json.loads(text)
        except ValueError:
            return None
        if isinstance(data, dict):
            for holder in (data, data.get("esearchresult"), data.get("header")):
                if isinstance(holder, dict):
                    for key in ("error", "ERROR", "message"):
                        if holder.get(key):
                            return str(holder[key])
        return None
    match = _XML_ERROR.search(text[:65536])
    return match.group(1).decode("utf-8", "replace").strip() if match else None


def _excerpt(body: bytes) -> str:
    message = error_message(body)
    if message:
        return f": {message}"
    text = re.sub(r"<[^>]*>", " ", body[:2000].decode("utf-8", "replace"))
    text = " ".join(text.split())[:160]
    return f": {text}" if text else ""


class HttpClient:
    """GET requests to one service, spaced by its rate limit and retried as described above."""

    def __init__(self, service: str, *, rate: float, timeout: float, retries: int,
                 backoff: float = 0.5) -> None:
        self.service = service
        self.limiter = shared_limiter(service, rate)
        self.timeout = timeout
        self.retries = max(0, retries)
        self.backoff = backoff
        self._opener = urllib.request.build_opener()
        self._opener.addheaders = [("User-Agent", _user_agent())]

    def get(self, url: str, params: Mapping[str, object] | None = None) -> Response:
        """The whole answer to a GET; a body cut off on the way is fetched again."""
        def read(response: http.client.HTTPResponse) -> Response:
            return Response(response.status, response.read(),
                            {k.lower(): v for k, v in response.getheaders()})

        return self._retrying(with_params(url, params), {}, read, close=True)

    @contextmanager
    def stream(self, url: str, headers: Mapping[str, str] | None = None
               ) -> Iterator[http.client.HTTPResponse]:
        """An open response whose body the caller reads (and resumes itself if it breaks)."""
        response = self._retrying(url, dict(headers or {}), lambda r: r, close=False)
        try:
            yield response
        finally:
            response.close()

    def _retrying(self, url: str, headers: dict[str, str],
                  use: Callable[[http.client.HTTPResponse], _T], *, close: bool) -> _T:
        shown = redact(url)
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            self.limiter.wait()
            try:
                response = self._opener.open(urllib.request.Request(url, headers=headers),
                                             timeout=self.timeout)
            except urllib.error.HTTPError as exc:
                body = _read_quietly(exc)
                if exc.code in RETRY_STATUSES and not last:
                    self.pause(attempt, exc.headers.get("Retry-After"))
                    continue
                tried = f" (after {attempt + 1} attempts)" if exc.code in RETRY_STATUSES else ""
                raise ConnectorError(f"{self.service} answered HTTP {exc.code} for "
                                     f"{shown}{_excerpt(body)}{tried}", status=exc.code) from exc
            except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
                if not last:
                    self.pause(attempt, None)
                    continue
                reason = getattr(exc, "reason", None) or exc
                raise ConnectorError(f"{self.service} could not be reached at {shown}: "
                                     f"{reason} (after {attempt + 1} attempts)") from exc
            try:
                return use(response)
            except (OSError, http.client.HTTPException) as exc:  # timed out or cut off mid-body
                response.close()
                if not last:
                    self.pause(attempt, None)
                    continue
                raise ConnectorError(f"{self.service} broke off its answer for {shown}: "
                                     f"{exc!r} (after {attempt + 1} attempts)") from exc
            finally:
                if close:
                    response.close()
        raise AssertionError("unreachable")  # the last attempt returns or raises

    def pause(self, attempt: int, retry_after: str | None = None) -> None:
        """Wait before retry number ``attempt + 1``: the backoff step or the server's Retry-After."""
        wait = self.backoff * (2 ** attempt)
        if retry_after and retry_after.strip().isdigit():
            wait = float(retry_after.strip())
        time.sleep(min(wait, LONGEST_WAIT))


def _read_quietly(exc: urllib.error.HTTPError) -> bytes:
    try:
        return exc.read(65536)
    except (OSError, http.client.HTTPException):
        return b""
