"""Request heads are bounded (#12 item 8), on real sockets against a real uvicorn server started
with the options ``medcite serve`` uses, for each HTTP parser medcite may serve with: an
oversized head is refused (431, connection closed) and the server stays healthy, too many header
fields are refused (431), and connections that trickle a head or a body, or send nothing, are cut
off within a bounded time while other clients are served."""

from __future__ import annotations

import asyncio
import functools
import select
import socket
import time

import httpx
import pytest

from medcite.settings import Settings
from medcite.web.app import create_app
from medcite.web.security import MAX_HEADERS
from medcite.web.server import MAX_HEAD_BYTES, BoundedH11Protocol, BoundedHttpToolsProtocol
from tests.web.live import serving

READ_TIMEOUT = 1.0
PROTOCOLS = [pytest.param(BoundedH11Protocol, id="h11"),
             pytest.param(BoundedHttpToolsProtocol, id="httptools",
                          marks=pytest.mark.skipif(BoundedHttpToolsProtocol is None,
                                                   reason="httptools is not installed"))]


@pytest.fixture(params=PROTOCOLS)
def protocol(request):
    return request.param


@pytest.fixture
def quick(home) -> Settings:
    return Settings.load(request_read_timeout=READ_TIMEOUT)


@pytest.fixture
def server(quick, store, protocol):
    http = functools.partial(protocol, read_timeout=READ_TIMEOUT, max_head_bytes=MAX_HEAD_BYTES)
    with serving(create_app(quick, store), quick, http=http) as url:
        yield url


def _address(url: str) -> tuple[str, int]:
    host, port = url.removeprefix("http://").split(":")
    return host, int(port)


def _read_all(sock: socket.socket, limit_s: float = 10) -> bytes:
    """Everything the server sends until it closes the connection (or ``limit_s`` passes)."""
    sock.settimeout(limit_s)
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except ConnectionResetError:
        pass
    return received


def _healthy(url: str) -> None:
    response = httpx.get(url + "/policy", timeout=10)
    assert response.status_code == 200


def test_an_oversized_header_is_refused_and_the_server_stays_healthy(server):
    with socket.create_connection(_address(server)) as sock:
        sent = 0
        try:
            sock.sendall(b"GET /policy HTTP/1.1\r\nHost: x\r\nX-Big: ")
            chunk = b"a" * 65536
            while sent < 16 * 1024 * 1024:  # the 128 MiB was answered 200 OK
                sock.sendall(chunk)
                sent += len(chunk)
            sock.sendall(b"\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # cut off while sending: what should happen
        answer = _read_all(sock)
    assert answer == b"" or answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    assert sent < 16 * 1024 * 1024  # cut off early, not read (and kept) to the end
    _healthy(server)


def test_a_head_just_over_the_limit_gets_431_and_one_under_is_served(server):
    def send(head: bytes) -> bytes:
        with socket.create_connection(_address(server)) as sock:
            sock.sendall(head)
            return _read_all(sock)

    filler = b"a" * (MAX_HEAD_BYTES + 100)
    over = send(b"GET /policy HTTP/1.1\r\nHost: x\r\nX-Big: " + filler + b"\r\n\r\n")
    assert over.startswith(b"HTTP/1.1 431 ") and b"larger than 32 kB" in over
    under = send(b"GET /policy HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Big: "
                 + filler[:MAX_HEAD_BYTES // 2] + b"\r\n\r\n")
    assert under.startswith(b"HTTP/1.1 200 ")
    fields = b"".join(b"X-F%d: %s\r\n" % (i, b"b" * 400) for i in range(90))  # 90 fields, 36 kB
    many = send(b"GET /policy HTTP/1.1\r\nHost: x\r\n" + fields + b"\r\n")
    assert many.startswith(b"HTTP/1.1 431 ") and b"larger than 32 kB" in many

    with socket.create_connection(_address(server)) as sock:  # 24 kB, sent in 1 kB pieces
        head = (b"GET /policy HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                + b"".join(b"X-F%d: %s\r\n" % (i, b"c" * 1000) for i in range(24)) + b"\r\n")
        for start in range(0, len(head), 1024):
            sock.sendall(head[start:start + 1024])
            time.sleep(0.005)
        assert _read_all(sock).startswith(b"HTTP/1.1 200 ")
    _healthy(server)


def test_too_many_header_fields_are_refused(server):
    many = {f"x-field-{i}": "1" for i in range(MAX_HEADERS + 1)}
    response = httpx.get(server + "/api/v1/articles", headers=many, timeout=10)
    assert response.status_code == 431
    error = response.json()["error"]
    assert error["code"] == "request_header_fields_too_large"
    assert f"at most {MAX_HEADERS} are accepted" in error["message"]
    fewer = dict(list(many.items())[: MAX_HEADERS - 10])
    assert httpx.get(server + "/api/v1/articles", headers=fewer, timeout=10).status_code == 200


def test_trickling_and_silent_connections_are_cut_off(server):
    """20 connections trickle a head (a byte every 0.1 s), 5 trickle a POST body, 5 send
    nothing: all are closed within the read timeout and a margin, and meanwhile the server
    answers others."""
    started = time.monotonic()
    heads = [socket.create_connection(_address(server)) for _ in range(20)]
    bodies = [socket.create_connection(_address(server)) for _ in range(5)]
    silent = [socket.create_connection(_address(server)) for _ in range(5)]
    for sock in bodies:
        sock.sendall(b"POST /api/v1/ask HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                     b"\r\nContent-Length: 1000\r\n\r\n{")
    trickling = {sock: b"GET /policy HTTP/1.1\r\nHost: x\r\n" + b"X-Slow: a\r\n" * 100
                 for sock in heads}
    trickling.update({sock: b" " * 999 for sock in bodies})
    closed: dict[socket.socket, tuple[float, bytes]] = {}
    answered_meanwhile = False
    while len(closed) < 30 and time.monotonic() - started < 10:
        for sock, rest in list(trickling.items()):
            if sock in closed or not rest:
                continue
            try:
                sock.send(rest[:1])
                trickling[sock] = rest[1:]
            except (BrokenPipeError, ConnectionResetError):
                closed[sock] = (time.monotonic() - started, b"")
        readable, _, _ = select.select([s for s in heads + bodies + silent if s not in closed],
                                       [], [], 0.1)
        for sock in readable:
            closed[sock] = (time.monotonic() - started, _read_all(sock, limit_s=2))
        if not answered_meanwhile and time.monotonic() - started > READ_TIMEOUT / 2:
            _healthy(server)  # others are served while the trickling goes on
            answered_meanwhile = True
    assert len(closed) == 30, f"{30 - len(closed)} connections were still open after 10 s"
    assert answered_meanwhile
    assert max(at for at, _ in closed.values()) < READ_TIMEOUT + 3
    for sock in heads + bodies:  # each was cut off with a reason
        assert closed[sock][1] == b"" or closed[sock][1].startswith(b"HTTP/1.1 408 "), closed[sock]
    assert any(closed[sock][1].startswith(b"HTTP/1.1 408 ") for sock in heads)
    for sock in silent:
        assert closed[sock][1] == b""  # nobody was waiting for an answer
    for sock in heads + bodies + silent:
        sock.close()
    _healthy(server)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_keep_alive_and_slow_answers_are_not_cut_off(home, protocol):
    """The timeout is for receiving a request: an answer slower than it, and a kept-alive
    connection making a request each half timeout, are left alone."""

    async def slow_app(scope, receive, send):
        if scope["type"] != "http":
            return
        if scope["path"] == "/slow":
            await asyncio.sleep(READ_TIMEOUT * 1.5)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    quick = Settings.load(request_read_timeout=READ_TIMEOUT)
    http = functools.partial(protocol, read_timeout=READ_TIMEOUT, max_head_bytes=MAX_HEAD_BYTES)
    with serving(slow_app, quick, http=http) as url, httpx.Client(base_url=url) as client:
        assert client.get("/slow", timeout=10).text == "ok"
        for _ in range(4):
            assert client.get("/").text == "ok"
            time.sleep(READ_TIMEOUT / 2)
        assert client.get("/slow", timeout=10).text == "ok"
        assert client.get("/").text == "ok"
