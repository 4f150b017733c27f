from click.testing import CliRunner
from fastapi import FastAPI

import medcite.cli.web  # noqa: F401  (registers the command)
from medcite.cli import cli


def test_serve_runs_uvicorn_on_loopback_by_default(home, monkeypatch):
    import uvicorn

    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: calls.append((app, options)))
    result = CliRunner().invoke(cli, ["serve"])
    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:8000/" in result.output
    [(app, options)] = calls
    assert isinstance(app, FastAPI)
    assert (options["host"], options["port"]) == ("127.0.0.1", 8000)
    CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0", "--port", "9001"])
    assert (calls[-1][1]["host"], calls[-1][1]["port"]) == ("0.0.0.0", 9001)
    assert CliRunner().invoke(cli, ["serve", "--port", "0"]).exit_code == 2


def test_serve_believes_forwarded_headers_only_from_configured_proxies(home, monkeypatch):
    import uvicorn

    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: calls.append(options))
    assert CliRunner().invoke(cli, ["serve"]).exit_code == 0
    assert calls[-1]["proxy_headers"] is False  # uvicorn's default would trust 127.0.0.1
    monkeypatch.setenv("MEDCITE_FORWARDED_ALLOW_IPS", "10.0.0.7")
    assert CliRunner().invoke(cli, ["serve", "--workers", "2"]).exit_code == 0
    assert (calls[-1]["proxy_headers"], calls[-1]["forwarded_allow_ips"]) == (True, "10.0.0.7")
    assert calls[-1]["workers"] == 2


def test_serve_bounds_request_heads_and_slow_clients(home, monkeypatch):
    import pickle

    import uvicorn

    from medcite.web.server import MAX_HEAD_BYTES, BoundedH11Protocol, BoundedHttpToolsProtocol

    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: calls.append(options))
    monkeypatch.setenv("MEDCITE_REQUEST_READ_TIMEOUT", "7.5")
    assert CliRunner().invoke(cli, ["serve", "--workers", "2"]).exit_code == 0
    options = calls[-1]
    http = pickle.loads(pickle.dumps(options["http"]))  # as it travels to a worker process
    assert http.func in (BoundedH11Protocol, BoundedHttpToolsProtocol)
    assert http.keywords == {"read_timeout": 7.5, "max_head_bytes": MAX_HEAD_BYTES}
    assert options["h11_max_incomplete_event_size"] == MAX_HEAD_BYTES
    assert options["timeout_keep_alive"] == 5


def test_medcite_serve_with_two_workers(home, store):
    """The real command, two worker processes: heads are bounded in each, and the sign-in limit
    is the deployment's, whichever worker a request reaches."""
    import os
    import socket
    import subprocess
    import sys
    import time

    import httpx

    from medcite.review import UserAccounts
    from tests.web.live import free_port, sign_in

    UserAccounts(store).add_user("rita", "correct horse battery", "reviewer")
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "medcite.cli", "serve", "--port", str(port),
                               "--workers", "2"], env={**os.environ, "MEDCITE_DEBUG": ""},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, "medcite serve exited"
            assert time.monotonic() < deadline, "medcite serve did not start within 60 s"
            try:
                if httpx.get(url + "/policy", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        statuses = []
        for i in range(11):  # a new connection each time, so both workers take some
            with httpx.Client(base_url=url, timeout=30) as client:
                forged = {"X-Forwarded-For": f"203.0.113.{i}"}
                statuses.append(sign_in(client, "rita", "a wrong guess", headers=forged).status_code)
        assert statuses == [401] * 10 + [429], statuses
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(b"GET /policy HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 40_000 + b"\r\n\r\n")
            sock.settimeout(10)
            assert sock.recv(100).startswith(b"HTTP/1.1 431 ")
        assert httpx.get(url + "/policy", timeout=10).status_code == 200
    finally:
        server.terminate()
        server.wait(timeout=30)
