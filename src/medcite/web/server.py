"""How the app is served: the uvicorn options ``medcite serve`` (and the tests' live servers)
use, so what the server decides before the app sees a request is medcite's choice, not a
default of uvicorn's.

uvicorn's HTTP/1.1 protocols are used with two bounds added (``BoundedHead``): a request head
of more than ``MAX_HEAD_BYTES`` is answered 431 and the connection closed (httptools accepts
heads of any size, h11's own limit answers a bare 400), and a client has
``request_read_timeout`` seconds to send a whole request, counted from when it connects or its
previous response ends, so connections trickling a head or body byte by byte are cut off
instead of piling up. The number of header fields is bounded in the app
(``security.HeaderLimitMiddleware``).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from medcite.settings import Settings

try:  # uvicorn's C parser, from the 'fast' extra
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:
    HttpToolsProtocol = None

MAX_HEAD_BYTES = 32 * 1024
KEEP_ALIVE_S = 5
_END_OF_HEAD = re.compile(b"\n\r?\n")  # h11 accepts bare LF line ends too

log = logging.getLogger("uvicorn.error")


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for ``uvicorn.run`` / ``uvicorn.Config``."""
    trusted = settings.forwarded_allow_ips.strip()
    protocol = BoundedHttpToolsProtocol if HttpToolsProtocol is not None else BoundedH11Protocol
    return {
        # uvicorn believes X-Forwarded-For from 127.0.0.1 unless told otherwise, so any local
        # client could name its own address and step out of the rate limits: believed only
        # from the proxies configured, and not at all by default.
        "proxy_headers": bool(trusted),
        "forwarded_allow_ips": trusted,
        # A partial of a module-level class, so it pickles into worker processes.
        "http": functools.partial(protocol, read_timeout=settings.request_read_timeout,
                                  max_head_bytes=MAX_HEAD_BYTES),
        "h11_max_incomplete_event_size": MAX_HEAD_BYTES,
        "timeout_keep_alive": KEEP_ALIVE_S,
    }


class BoundedHead:
    """Mixin for uvicorn's HTTP/1.1 protocols: a bounded head and a deadline to receive the
    request. Subclasses say how much of the current request has arrived (``_arrival``)."""

    def __init__(self, *args: Any, read_timeout: float, max_head_bytes: int,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.read_timeout = read_timeout
        self.max_head_bytes = max_head_bytes
        self._deadline: asyncio.TimerHandle | None = None
        self._refused = False

    def _arrival(self) -> str:
        """'whole' once the current request is in, else 'nothing' or 'partial'."""
        raise NotImplementedError

    def connection_made(self, transport: asyncio.Transport) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)  # type: ignore[misc]

    def on_response_complete(self) -> None:
        super().on_response_complete()  # type: ignore[misc]
        if not self.transport.is_closing():  # type: ignore[attr-defined]
            self._arm()  # the next request on this connection gets its own time

    def data_received(self, data: bytes) -> None:
        if not self._refused:
            super().data_received(data)  # type: ignore[misc]

    def send_400_response(self, msg: str) -> None:
        if not self._refused:  # already answered (431) and closing
            super().send_400_response(msg)  # type: ignore[misc]

    def _arm(self) -> None:
        self._disarm()
        loop: asyncio.AbstractEventLoop = self.loop  # type: ignore[attr-defined]
        self._deadline = loop.call_later(self.read_timeout, self._deadline_passed)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _deadline_passed(self) -> None:
        self._deadline = None
        transport: asyncio.Transport = self.transport  # type: ignore[attr-defined]
        arrival = self._arrival()
        if transport.is_closing() or arrival == "whole":
            return  # being answered: the app's time is not limited here
        if arrival == "nothing":
            transport.close()  # an idle connection: nobody is waiting for an answer
            return
        self._refuse(408, f"the request did not arrive within {self.read_timeout:g} seconds")

    def _refuse(self, status: int, message: str) -> None:
        """Answer ``status`` with ``message`` and close, whatever state the parser is in."""
        self._refused = True
        self._disarm()
        client = getattr(self, "client", None)
        log.warning("%s: %s; closing the connection", client[0] if client else "?", message)
        reason = {408: b"Request Timeout", 431: b"Request Header Fields Too Large"}[status]
        body = message.encode("ascii") + b"\n"
        transport: asyncio.Transport = self.transport  # type: ignore[attr-defined]
        transport.write(b"HTTP/1.1 %d %s\r\ncontent-type: text/plain; charset=utf-8\r\n"
                        b"content-length: %d\r\nconnection: close\r\n\r\n%s"
                        % (status, reason, len(body), body))
        transport.close()

    def _head_too_large(self) -> None:
        self._refuse(431, f"the request head is larger than {self.max_head_bytes // 1024} kB")


class BoundedH11Protocol(BoundedHead, H11Protocol):
    """uvicorn's pure-Python HTTP/1.1 protocol (h11) with ``BoundedHead``."""

    def data_received(self, data: bytes) -> None:
        if not self._refused and self.conn.their_state is h11.IDLE:
            pending = self.conn.trailing_data[0] + data  # the head so far (at most the limit)
            end = _END_OF_HEAD.search(pending)
            if (end.start() if end else len(pending)) > self.max_head_bytes:
                self._head_too_large()
                return
        super().data_received(data)

    def _arrival(self) -> str:
        state = self.conn.their_state
        if state is h11.IDLE:
            return "partial" if self.conn.trailing_data[0] else "nothing"
        return "partial" if state is h11.SEND_BODY else "whole"


if HttpToolsProtocol is not None:

    class BoundedHttpToolsProtocol(BoundedHead, HttpToolsProtocol):
        """uvicorn's httptools protocol with ``BoundedHead``. The parser holds a header field
        back until it ends, so the head is measured twice: the bytes received while it is
        incomplete (one endless field) and the pieces the parser hands over (many fields)."""

        _head_received = 0  # bytes received while the head was incomplete
        _head_parsed = 0  # bytes of the URL and fields the parser handed over
        _heads_done = 0
        _awaiting_head = True  # no head, or only part of one, since the last message
        _begun = False
        _whole = False

        def data_received(self, data: bytes) -> None:
            awaiting, heads = self._awaiting_head, self._heads_done
            super().data_received(data)
            if self._refused or not awaiting or heads != self._heads_done:
                return  # data with a body or a head's end in it: counted by the callbacks
            self._head_received += len(data)
            self._check(self._head_received)

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._begun, self._whole = True, False

        def on_url(self, url: bytes) -> None:
            self._head_parsed += len(url)
            self._check(self._head_parsed, stop=True)
            super().on_url(url)

        def on_header(self, name: bytes, value: bytes) -> None:
            self._head_parsed += len(name) + len(value) + 4
            self._check(self._head_parsed, stop=True)
            super().on_header(name, value)

        def on_headers_complete(self) -> None:
            self._head_received = self._head_parsed = 0
            self._awaiting_head = False
            self._heads_done += 1
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            super().on_message_complete()
            self._begun, self._whole, self._awaiting_head = False, True, True

        def _check(self, size: int, stop: bool = False) -> None:
            if size > self.max_head_bytes and not self._refused:
                self._head_too_large()
                if stop:  # inside a parser callback: this stops the parser, and uvicorn's
                    # 400 for the parse error is skipped (the 431 is sent already)
                    raise ValueError("request head too large")

        def _arrival(self) -> str:
            if self._begun:
                return "partial"
            return "whole" if self._whole else "nothing"

else:  # pragma: no cover - without the 'fast' extra
    BoundedHttpToolsProtocol = None  # type: ignore[assignment,misc]
