"""Malformed input gets a clear 4xx over the web and a one-line error on the command line."""

import os
import subprocess
import sys

import pytest

from tests.web.conftest import assert_envelope

TOO_BIG = str(2**63)


@pytest.mark.parametrize("path", ["/api/v1/ask", "/api/v1/asks"])
def test_a_lone_surrogate_in_a_json_question_is_a_422(client, path):
    response = client.post(path, content=b'{"question": "sertraline \\ud800 dose"}',
                           headers={"content-type": "application/json"})
    assert "surrogate" in assert_envelope(response, 422, "invalid_request")


def test_a_lone_surrogate_in_a_follow_up_or_review_comment_is_a_422(client, article):
    follow = client.post(f"/api/v1/articles/{article.id}/follow-up",
                         content=b'{"question": "\\udfff"}',
                         headers={"content-type": "application/json"})
    assert_envelope(follow, 422, "invalid_request")


@pytest.mark.parametrize("query", [f"offset={TOO_BIG}", "offset=99999999999999999999"])
def test_an_offset_beyond_64_bits_is_a_422(client, query):
    assert_envelope(client.get(f"/api/v1/articles?{query}"), 422, "invalid_request")


def test_a_version_beyond_64_bits_is_a_4xx(client, article):
    assert_envelope(client.get(f"/api/v1/articles/{article.id}?version={TOO_BIG}"), 422,
                    "invalid_request")
    assert client.get(f"/articles/{article.slug}?version={TOO_BIG}").status_code == 422
    review = client.post(f"/api/v1/articles/{article.id}/review",
                         json={"to": "under_review", "version": 2**63}, auth=("x", "y" * 8))
    assert review.status_code in (401, 422)


def _medcite(home, *args: bytes | str, stdin: bytes = b"") -> subprocess.CompletedProcess:
    env = {**os.environ, "MEDCITE_HOME": str(home), "LC_ALL": "C.UTF-8"}
    env.pop("MEDCITE_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "medcite.cli", *args], input=stdin,
                          capture_output=True, env=env, timeout=120)


def _one_line_error(result: subprocess.CompletedProcess) -> str:
    err = result.stderr.decode("utf-8", "replace")
    assert result.returncode == 2, err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) <= 3 and lines[-1].startswith(("error:", "Error:")), err
    return err


def test_cli_errors_for_non_utf8_arguments_password_and_huge_years(home):
    assert "UTF-8" in _one_line_error(_medcite(home, "articles", "show", b"\xff\xfe"))
    password = _medcite(home, "user", "add", "alice", "--role", "reviewer", "--password-stdin",
                        stdin=b"\xff\xfe not text\n")
    assert "UTF-8" in _one_line_error(password)
    assert "99999999999999999999" in _one_line_error(
        _medcite(home, "search", "mirtazapine", "--since", "99999999999999999999"))
