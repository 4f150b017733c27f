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
