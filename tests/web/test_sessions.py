"""Sessions end server-side (#12 item 5): against a real server, a copy of the session cookie
stops working after sign-out, a password change (medcite user password) and disabling the
account (medcite user disable), at once; a disabled account cannot sign in by page or API."""

from __future__ import annotations

import sqlite3

import httpx
import pytest
from click.testing import CliRunner

import medcite.cli.review  # noqa: F401  (registers the commands)
from medcite.cli import cli
from medcite.web.app import create_app
from tests.web.conftest import PASSWORD
from tests.web.live import csrf, serving, sign_in
from tests.conftest import sqlite_only

NEW_PASSWORD = "a new correct horse"


@pytest.fixture
def server(settings, store, reviewer):
    with serving(create_app(settings, store), settings) as url:
        yield url


def _signed_in(url: str, password: str = PASSWORD) -> tuple[httpx.Client, str]:
    """A client signed in as rita, and a copy of its session cookie."""
    client = httpx.Client(base_url=url, timeout=10)
    response = sign_in(client, "rita", password)
    assert response.status_code == 303, response.text
    assert client.get("/review").status_code == 200
    return client, client.cookies["medcite_session"]


def _replay(url: str, cookie: str) -> int:
    with httpx.Client(base_url=url, cookies={"medcite_session": cookie}, timeout=10) as other:
        return other.get("/review").status_code


def _medcite(*args: str, stdin: str | None = None):
    result = CliRunner().invoke(cli, list(args), input=stdin)
    return result


def test_a_copied_cookie_stops_working_after_sign_out(server):
    client, cookie = _signed_in(server)
    assert _replay(server, cookie) == 200
    client.post("/logout", data={"csrf_token": csrf(client, "/")})
    assert client.get("/review").status_code == 401
    assert _replay(server, cookie) == 401  # the copy taken while signed in: ended too


@sqlite_only
def test_sessions_are_stored_as_hashes_only(server, store):
    _client, cookie = _signed_in(server)
    rows = sqlite3.connect(store.location).execute(
        "SELECT token_hash, username FROM sessions").fetchall()
    assert [row[1] for row in rows] == ["rita"]
    assert len(rows[0][0]) == 64 and rows[0][0] not in cookie


def test_disabling_ends_sessions_at_once_and_refuses_sign_in(server, article):
    client, cookie = _signed_in(server)
    disabled = _medcite("user", "disable", "rita")
    assert disabled.exit_code == 0, disabled.output
    assert "disabled rita; 1 session ended" in disabled.output
    assert client.get("/review").status_code == 401
    assert _replay(server, cookie) == 401
    with httpx.Client(base_url=server, timeout=10) as fresh:
        refused = sign_in(fresh, "rita", PASSWORD)
        assert refused.status_code == 401 and "is disabled" in refused.text
        assert fresh.get("/review").status_code == 401
        api = fresh.post(f"/api/v1/articles/{article.id}/review", auth=("rita", PASSWORD),
                         json={"version": 1, "to": "under_review"})
        assert api.status_code == 401 and "is disabled" in api.json()["error"]["message"]
    assert _medcite("user", "enable", "rita").exit_code == 0
    _signed_in(server)
    assert _replay(server, cookie) == 401  # enabling does not bring old sessions back


def test_password_change_ends_sessions(server):
    client, cookie = _signed_in(server)
    changed = _medcite("user", "password", "rita", stdin=f"{NEW_PASSWORD}\n{NEW_PASSWORD}\n")
    assert changed.exit_code == 0, changed.output
    assert "changed the password of rita; 1 session ended" in changed.output
    assert PASSWORD not in changed.output and NEW_PASSWORD not in changed.output  # hidden
    assert client.get("/review").status_code == 401 and _replay(server, cookie) == 401
    with httpx.Client(base_url=server, timeout=10) as fresh:
        assert sign_in(fresh, "rita", PASSWORD).status_code == 401
    _signed_in(server, NEW_PASSWORD)


def test_user_password_from_stdin_and_errors(server, store):
    piped = _medcite("user", "password", "rita", "--password-stdin", stdin=NEW_PASSWORD + "\n")
    assert piped.exit_code == 0, piped.output
    _signed_in(server, NEW_PASSWORD)
    mismatch = _medcite("user", "password", "rita", stdin="one password\nanother one\n")
    assert mismatch.exit_code != 0 and "do not match" in mismatch.output.lower()
    short = _medcite("user", "password", "rita", "--password-stdin", stdin="short\n")
    assert short.exit_code == 2 and "at least 8 characters" in short.output
    for command in (("disable", "nobody"), ("enable", "nobody"), ("password", "nobody")):
        missing = _medcite("user", *command, stdin=NEW_PASSWORD + "\n" + NEW_PASSWORD + "\n")
        assert missing.exit_code == 3 and "there is no user 'nobody'" in missing.output
    _signed_in(server, NEW_PASSWORD)  # the failed changes left the password alone
