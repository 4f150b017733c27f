"""The app under a real uvicorn server on a free 127.0.0.1 port, for tests whose boundary is
HTTP itself (cookies, peers, connections)."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import uvicorn

from medcite.settings import Settings
from medcite.web.server import uvicorn_options

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def serving(app, settings: Settings, **options) -> Iterator[str]:
    """``app`` served on 127.0.0.1 with the options ``medcite serve`` gives uvicorn for
    ``settings`` (``options`` override them) until the block ends; yields its base URL."""
    port = free_port()
    config = uvicorn.Config(app, **{**uvicorn_options(settings), "host": "127.0.0.1",
                                    "port": port, "log_level": "warning", **options})
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def csrf(client: httpx.Client, path: str = "/login") -> str:
    found = _CSRF.search(client.get(path).text)
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def sign_in(client: httpx.Client, username: str, password: str,
            headers: dict[str, str] | None = None) -> httpx.Response:
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": csrf(client)}, headers=headers)
