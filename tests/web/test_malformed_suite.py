"""Issue #12: malformed input over the web gets a clear 4xx, never a 500 or a traceback, and a
refused write leaves the store as it was.

Every input runs against the real app (its test client, as the rest of tests/web) on a copy of
one small real store: the Humira label and the MedQuAD XML samples from the shared data folder,
an article the real pipeline wrote from them, and a reviewer account. Each case names the 4xx and
the error code it must get; under /api that is the one error envelope, on a page the error page
(or the sign-in form again). After each request every table of the store except the rate-limit
counters (counting refused attempts is their job) must hold exactly what it held before.
"""

from __future__ import annotations

import hashlib
import html
import re
import shutil
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from medcite.settings import Settings
from medcite.store import SQLiteStore
from medcite.web.app import create_app
from tests.web.conftest import PASSWORD, assert_envelope, csrf_of
from tests.conftest import sqlite_only

# It reads the SQLite file itself (its bytes, its locks).
pytestmark = sqlite_only

QUESTION = "What is the usual dose of Humira for rheumatoid arthritis?"
RITA = ("rita", PASSWORD)
JSON = {"content-type": "application/json"}
BIG = str(2**63)  # one past SQLite's largest integer
# Tables whose rows a refused request may add on purpose: the per-client attempt counters.
COUNTERS = {"rate_limit_hits"}


# -- the store --------------------------------------------------------------------------------


def store_snapshot(location: str | Path, *, skip: set[str] = COUNTERS) -> dict[str, str]:
    """A digest of every row of every ordinary table (FTS shadow tables included), by table."""
    digests: dict[str, str] = {}
    with sqlite3.connect(f"file:{location}?mode=ro", uri=True) as conn:
        tables = [name for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' "
            "AND sql NOT LIKE 'CREATE VIRTUAL%' ORDER BY name")]
        for table in tables:
            if table in skip:
                continue
            digest = hashlib.sha256()
            for row in conn.execute(f'SELECT * FROM "{table}" ORDER BY 1'):
                digest.update(repr(row).encode("utf-8", "backslashreplace"))
            digests[table] = digest.hexdigest()
    return digests


@dataclass
class Template:
    home: Path
    article_id: str
    slug: str


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Template:
    """A home with a real store: a drug label, consumer-health pages, one article, one reviewer."""
    from argon2 import PasswordHasher

    from medcite.answer import ask
    from medcite.ingest.runner import ingest_paths
    from medcite.review import UserAccounts, users

    home = tmp_path_factory.mktemp("malformed-web-home")
    settings = Settings.load(home=str(home))
    store = SQLiteStore(settings.store_location)
    try:
        report = ingest_paths(store, [shared_data / "dailymed_spl_samples" / "humira.xml",
                                      shared_data / "medquad" / "xml_samples"], progress=False)
        assert not report.failed, (report.file_errors, report.record_errors)
        article = ask(QUESTION, store=store, settings=settings)
        with pytest.MonkeyPatch.context() as patch:  # as the autouse cheap_argon2 does
            patch.setattr(users, "PasswordHasher",
                          lambda: PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
            UserAccounts(store).add_user("rita", PASSWORD, "reviewer")
    finally:
        store.close()
    assert article.id and article.references, "the pipeline found nothing in the real store"
    return Template(home, article.id, article.slug)


@dataclass
class Web:
    client: TestClient
    location: str
    article_id: str
    slug: str


@pytest.fixture
def web(template: Template, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    home = tmp_path / "home"
    shutil.copytree(template.home, home)
    monkeypatch.setenv("MEDCITE_HOME", str(home))
    # The ask limit is the only one raised: every refused question is counted, by design.
    settings = Settings.load(home=str(home), ask_rate_limit=100_000)
    store = SQLiteStore(settings.store_location)
    try:
        with TestClient(create_app(settings, store), raise_server_exceptions=False) as client:
            yield Web(client, store.location, template.article_id, template.slug)
    finally:
        store.close()


# -- the cases --------------------------------------------------------------------------------


@dataclass
class Case:
    method: str
    path: str  # {id} and {slug} name the stored article
    status: int
    code: str | None  # None: the sign-in form shown again, with ``message``
    message: str = ""  # a part of the error message
    request: dict[str, Any] = field(default_factory=dict)  # httpx keywords
    form: bool = False  # a page form: send this session's CSRF token
    signed_in: bool = False  # sign in as rita on the page first
    basic: bool = False  # HTTP Basic credentials of rita


def api(path: str, body: bytes | Any, status: int, code: str, message: str = "", *,
        method: str = "POST", basic: bool = False, headers: dict | None = None) -> Case:
    """A JSON API request; ``bytes`` are sent as they are, with a JSON content type."""
    request = ({"content": body, "headers": JSON if headers is None else headers}
               if isinstance(body, bytes)
               else {"json": body})
    return Case(method, path, status, code, message, request, basic=basic)


def get(path: str, expected: int, code: str, message: str = "", **params: Any) -> Case:
    return Case("GET", path, expected, code, message, {"params": params} if params else {})


def page_form(path: str, data: dict, status: int, code: str | None, message: str = "", *,
              signed_in: bool = False, **request: Any) -> Case:
    return Case("POST", path, status, code, message, {"data": data, **request}, form=True,
                signed_in=signed_in)


ASK, ASKS = "/api/v1/ask", "/api/v1/asks"
REVIEW, FOLLOW_UP = "/api/v1/articles/{id}/review", "/api/v1/articles/{id}/follow-up"
DEEP = b'{"question": ' + b"[" * 20_000 + b"]" * 20_000 + b"}"  # well under the 64 kB body cap


def review(body: bytes | dict, status: int = 422, code: str = "invalid_request",
           message: str = "") -> Case:
    if isinstance(body, dict):
        body = {"to": "under_review", "version": 1, **body}
    return api(REVIEW, body, status, code, message, basic=True)


JSON_BODIES = {
    # Not JSON, or not a JSON object.
    "invalid-json": api(ASK, b'{"question": ', 422, "invalid_request", "JSON decode error"),
    "trailing-garbage": api(ASK, b'{"question": "humira dose"} and more', 422, "invalid_request"),
    "raw-control-char-in-json-string": api(ASK, b'{"question": "humira\x01dose"}', 422,
                                           "invalid_request"),
    "array-not-object": api(ASK, ["What is the dose of Humira?"], 422, "invalid_request",
                            "valid dictionary"),
    "null-body": api(ASK, b"null", 422, "invalid_request"),
    "string-body": api(ASK, b'"What is the dose of Humira?"', 422, "invalid_request"),
    "number-body": api(ASK, b"42", 422, "invalid_request"),
    "empty-body": api(ASK, b"", 422, "invalid_request", "body: Field required"),
    "invalid-utf8-body": api(ASK, b'{"question": "humira \xff\xfe dose"}', 400,
                             "invalid_request", "not UTF-8"),
    "deeply-nested": api(ASK, DEEP, 400, "invalid_request", "nested too deeply"),
    "deeply-nested-unknown-field": api(
        ASK, b'{"question": "humira dose", "x": ' + b'{"a": ' * 5_000 + b"1" + b"}" * 5_000
        + b"}", 400, "invalid_request", "nested too deeply"),
    # Wrong types and nulls.
    "question-null": api(ASK, {"question": None}, 422, "invalid_request", "question"),
    "question-number": api(ASK, {"question": 42}, 422, "invalid_request", "valid string"),
    "question-array": api(ASK, {"question": ["humira", "dose"]}, 422, "invalid_request"),
    "question-object": api(ASK, {"question": {"text": "humira dose"}}, 422, "invalid_request"),
    "question-missing": api(ASK, {"audience": "patient"}, 422, "invalid_request", "required"),
    "audience-number": api(ASK, {"question": QUESTION, "audience": 1}, 422, "invalid_request"),
    "audience-doctor": api(ASK, {"question": QUESTION, "audience": "doctor"}, 422,
                           "invalid_request", "audience"),
    "audience-capitalised": api(ASK, {"question": QUESTION, "audience": "Patient"}, 422,
                                "invalid_request", "audience"),
    "audience-cyrillic-a-confusable": api(ASK, {"question": QUESTION, "audience": "p\u0430tient"},
                                          422, "invalid_request", "audience"),
    "unknown-field": api(ASK, {"question": QUESTION, "audeince": "patient"}, 422,
                         "invalid_request", "audeince"),
    # Text that no store, page or terminal should get.
    "question-lone-low-surrogate": api(ASK, b'{"question": "humira \\udc00 dose"}', 422,
                                       "invalid_request", "surrogate"),
    "question-nul-byte": api(ASK, {"question": "humira\u0000 dose"}, 422, "invalid_request",
                             "U+0000"),
    "question-escape-sequence": api(ASK, {"question": "humira \u001b[2J dose"}, 422,
                                    "invalid_request", "U+001B"),
    "question-c1-control": api(ASK, {"question": "humira \u0085 dose"}, 422,
                               "invalid_request", "U+0085"),
    "question-too-long": api(ASK, {"question": "humira " * 300}, 400, "invalid_query",
                             "the limit is 2,000 characters"),
    "question-empty": api(ASKS, {"question": ""}, 400, "invalid_query", "empty"),
    "question-whitespace": api(ASKS, {"question": " \t\r\n "}, 400, "invalid_query", "empty"),
    "question-zero-width-spaces": api(ASK, {"question": "\u200b\u200b\u200b"}, 400,
                                      "invalid_query", "no words"),
    "question-punctuation-only": api(ASKS, {"question": "?!?"}, 400, "invalid_query",
                                     "no words"),
    # follow_up_of
    "follow-up-of-lone-surrogate": api(ASK, b'{"question": "humira dose", '
                                            b'"follow_up_of": "\\ud800"}', 422, "invalid_request",
                                       "follow_up_of"),
    "follow-up-of-number": api(ASK, {"question": QUESTION, "follow_up_of": 7}, 422,
                               "invalid_request", "follow_up_of"),
    "follow-up-of-too-long": api(ASK, {"question": QUESTION, "follow_up_of": "x" * 5000}, 422,
                                 "invalid_request", "at most 200"),
    "follow-up-of-unknown-on-asks": api(ASKS, {"question": QUESTION, "follow_up_of": "zzzzzzzzzz"},
                                        404, "not_found", "zzzzzzzzzz"),
    "follow-up-body-object": api(FOLLOW_UP, {"question": {"q": "and for children?"}}, 422,
                                 "invalid_request"),
    "follow-up-unknown-field": api(FOLLOW_UP, {"question": "And for children?", "parent": "x"},
                                   422, "invalid_request", "parent"),
    # Content types.
    "text-plain-content-type": api(ASK, b'{"question": "humira dose"}', 422, "invalid_request",
                                   "Content-Type: application/json",
                                   headers={"content-type": "text/plain"}),
    "no-content-type": api(ASK, b'{"question": "humira dose"}', 422, "invalid_request",
                           "no Content-Type", headers={}),
    "multipart-to-json-api": Case("POST", ASK, 422, "invalid_request", "application/json",
                                  {"files": {"question": ("q.txt", b"humira dose")}}),
    # Review decisions: wrong types, huge numbers, unknown values.
    "review-version-true": review({"version": True}, message="version"),
    "review-version-string": review({"version": "1"}, message="version"),
    "review-version-fraction": review({"version": 1.5}, message="version"),
    "review-version-null": review({"version": None}, message="version"),
    "review-version-zero": review({"version": 0}, message="greater than or equal to 1"),
    "review-version-negative": review({"version": -1}, message="version"),
    "review-version-2**63": review({"version": 2**63}, message="version"),
    "review-version-1e400": review(b'{"to": "under_review", "version": 1e400}',
                                   message="valid integer"),
    "review-version-nan": review(b'{"to": "under_review", "version": NaN}',
                                 message="valid integer"),
    "review-version-5000-digits": review(b'{"to": "under_review", "version": ' + b"9" * 5000
                                         + b"}", 400, message="too many digits"),
    "review-to-published": review({"to": "published"}, message="to"),
    "review-to-cyrillic-a-confusable": review({"to": "\u0430pproved"}, message="to"),
    "review-to-missing": review(b'{"version": 1}', message="to"),
    "review-comment-number": review({"comment": 5}, message="comment"),
    "review-comment-too-long": review({"comment": "x" * 4001}, message="at most 4000"),
    "review-comment-nul": review({"comment": "seen\u0000"}, message="U+0000"),
    "review-unknown-field": review({"verison": 1}, message="verison"),
    "review-basic-auth-not-base64": Case("POST", REVIEW, 401, "unauthenticated", "", {
        "json": {"to": "under_review", "version": 1},
        "headers": {"authorization": "Basic !!!not-base64!!!"}}),
    "review-basic-auth-not-utf8": Case("POST", REVIEW, 401, "unauthenticated", "", {
        "json": {"to": "under_review", "version": 1},
        "headers": {"authorization": b"Basic \xff\xfe\xfd"}}),
    "review-no-credentials": api(REVIEW, {"to": "under_review", "version": 1}, 401,
                                 "unauthenticated", "credentials"),
}

ARTICLE = "/api/v1/articles/{id}"
QUERY_PARAMETERS = {
    "limit-not-a-number": get("/api/v1/articles", 422, "invalid_request", "limit", limit="ten"),
    "limit-negative": get("/api/v1/articles", 422, "invalid_request", "limit", limit=-1),
    "limit-above-200": get("/api/v1/articles", 422, "invalid_request", "200", limit=201),
    "limit-2**63": get("/api/v1/articles", 422, "invalid_request", "limit", limit=BIG),
    "limit-repeated": get("/api/v1/articles?limit=1&limit=abc", 422, "invalid_request", "limit"),
    "limit-fullwidth-digit": get("/api/v1/articles", 422, "invalid_request", "limit",
                                 limit="\uff15"),
    "offset-negative": get("/api/v1/articles", 422, "invalid_request", "offset", offset=-1),
    "offset-float": get("/api/v1/articles", 422, "invalid_request", "offset", offset="1.5"),
    "status-published": get("/api/v1/articles", 422, "invalid_request", "status",
                            status="published"),
    "status-capitalised": get("/api/v1/articles", 422, "invalid_request", "status",
                              status="Approved"),
    "q-too-long": get("/api/v1/articles", 422, "invalid_request", "200", q="humira " * 40),
    "q-nul-byte": get("/api/v1/articles?q=humira%00", 422, "invalid_request", "U+0000"),
    "audience-doctor": get(ARTICLE, 422, "invalid_request", "audience", audience="doctor"),
    "audience-empty": get(ARTICLE, 422, "invalid_request", "audience", audience=""),
    "version-zero": get(ARTICLE, 422, "invalid_request", "version", version=0),
    "version-negative": get(ARTICLE, 422, "invalid_request", "version", version=-3),
    "version-not-a-number": get(ARTICLE, 422, "invalid_request", "version", version="latest"),
    "version-2**64": get(ARTICLE, 422, "invalid_request", "version", version=str(2**64)),
    "version-unknown": get(ARTICLE, 404, "not_found", "no version 99", version=99),
    "page-library-page-zero": get("/library", 422, "invalid_request", "page", page=0),
    "page-library-page-2**63": get("/library", 422, "invalid_request", "page", page=BIG),
    "page-library-q-escape": get("/library?q=%1B%5B2J", 422, "invalid_request", "U+001B"),
    "page-article-audience-doctor": get("/articles/{slug}", 422, "invalid_request", "audience",
                                        audience="doctor"),
    "page-article-version-word": get("/articles/{slug}", 422, "invalid_request", "version",
                                     version="first"),
}

PATH_PARAMETERS = {
    "unknown-id": get("/api/v1/articles/zzzzzzzzzz", 404, "not_found", "zzzzzzzzzz"),
    "traversal": get("/api/v1/articles/../../etc/passwd", 404, "not_found"),
    "encoded-traversal": get("/api/v1/articles/..%2F..%2Fetc%2Fpasswd", 404, "not_found"),
    "double-encoded-traversal": get("/api/v1/articles/%252e%252e%252fetc", 404, "not_found"),
    "encoded-nul": get("/api/v1/articles/%00", 404, "not_found"),
    "encoded-invalid-utf8": get("/api/v1/articles/%FF%FE", 404, "not_found"),
    "encoded-lone-surrogate": get("/api/v1/articles/%ED%A0%80/versions", 404, "not_found"),
    "events-of-traversal": get("/api/v1/articles/..%2F..%2F/events", 404, "not_found"),
    "asks-unknown": get("/api/v1/asks/no-such-job", 404, "not_found", "no-such-job"),
    "asks-encoded-traversal": get("/api/v1/asks/%2e%2e%2f%2e%2e%2fsecret_key", 404, "not_found"),
    "review-unknown-article": Case("POST", "/api/v1/articles/zzzzzzzzzz/review", 404,
                                   "not_found", "zzzzzzzzzz",
                                   {"json": {"to": "under_review", "version": 1}}, basic=True),
    "follow-up-unknown-article": api("/api/v1/articles/%00/follow-up",
                                     {"question": "And for children?"}, 404, "not_found"),
    "page-static-traversal": get("/static/..%2F..%2Fapp.py", 404, "not_found"),
    "page-static-dot-dot": get("/static/%2e%2e/%2e%2e/settings.py", 404, "not_found"),
    "page-article-traversal": get("/articles/..%2F..%2Fetc%2Fpasswd", 404, "not_found"),
    "page-asks-nul": get("/asks/%00", 404, "not_found"),
}

REVIEW_FORM = "/articles/{slug}/review"
FORM_POSTS = {
    "ask-no-question": page_form("/ask", {}, 422, "invalid_request", "question"),
    "ask-question-as-file": page_form("/ask", {}, 422, "invalid_request", "question",
                                      files={"question": ("q.txt", b"humira dose")}),
    "ask-audience-doctor": page_form("/ask", {"question": QUESTION, "audience": "doctor"}, 422,
                                     "invalid_request", "audience"),
    "ask-nul-byte": page_form("/ask", {"question": "humira\x00dose"}, 400, "invalid_query",
                              "U+0000"),
    "ask-too-long": page_form("/ask", {"question": "x" * 2001}, 400, "invalid_query", "2,000"),
    "ask-only-zero-width": page_form("/ask", {"question": "\u200b\u2060"}, 400, "invalid_query",
                                     "no words"),
    "ask-multipart-without-boundary": Case(
        "POST", "/ask", 400, "invalid_request", "boundary",
        {"content": b"question=x", "headers": {"content-type": "multipart/form-data"}}),
    "ask-too-many-fields": page_form("/ask", {"question": QUESTION,
                                              **{f"f{i}": "1" for i in range(1500)}},
                                     400, "invalid_request", "fields"),
    "sign-in-no-username": page_form("/login", {"password": PASSWORD}, 422, "invalid_request",
                                     "username"),
    "sign-in-no-password": page_form("/login", {"username": "rita"}, 422, "invalid_request",
                                     "password"),
    "sign-in-empty-fields": page_form("/login", {"username": "", "password": ""}, 422,
                                      "invalid_request"),
    "sign-in-username-too-long": page_form("/login", {"username": "r" * 65, "password": PASSWORD},
                                           422, "invalid_request", "64"),
    "sign-in-password-too-long": page_form("/login", {"username": "rita", "password": "p" * 1025},
                                           422, "invalid_request", "1024"),
    "sign-in-username-as-file": page_form("/login", {"password": PASSWORD}, 422,
                                          "invalid_request", "username",
                                          files={"username": ("u.txt", b"rita")}),
    "sign-in-cyrillic-i-confusable": page_form("/login", {"username": "r\u0456ta",
                                                          "password": PASSWORD},
                                               401, None, "invalid username or password"),
    "sign-in-nul-in-username": page_form("/login", {"username": "ri\x00ta", "password": PASSWORD},
                                         401, None, "invalid username or password"),
    "review-form-not-signed-in": page_form(REVIEW_FORM, {"to": "under_review", "version": "1"},
                                           401, "unauthenticated", "sign in"),
    "review-form-no-to": page_form(REVIEW_FORM, {"version": "1"}, 422, "invalid_request", "to",
                                   signed_in=True),
    "review-form-no-version": page_form(REVIEW_FORM, {"to": "under_review"}, 422,
                                        "invalid_request", "version", signed_in=True),
    "review-form-to-published": page_form(REVIEW_FORM, {"to": "published", "version": "1"}, 422,
                                          "invalid_request", "to", signed_in=True),
    "review-form-version-word": page_form(REVIEW_FORM, {"to": "under_review", "version": "one"},
                                          422, "invalid_request", "version", signed_in=True),
    "review-form-version-zero": page_form(REVIEW_FORM, {"to": "under_review", "version": "0"},
                                          422, "invalid_request", "version", signed_in=True),
    "review-form-version-2**63": page_form(REVIEW_FORM, {"to": "under_review", "version": BIG},
                                           422, "invalid_request", "version", signed_in=True),
    "review-form-version-arabic-digit": page_form(REVIEW_FORM, {"to": "under_review",
                                                                "version": "\u0661"},
                                                  422, "invalid_request", "version",
                                                  signed_in=True),
    "review-form-comment-too-long": page_form(REVIEW_FORM, {"to": "under_review", "version": "1",
                                                            "comment": "c" * 4001},
                                              422, "invalid_request", "4000", signed_in=True),
    "review-form-comment-escape": page_form(REVIEW_FORM, {"to": "under_review", "version": "1",
                                                          "comment": "ok\x1b]0;pwned\x07"},
                                            422, "invalid_request", "U+001B", signed_in=True),
    "review-form-unknown-article": page_form("/articles/no-such-article/review",
                                             {"to": "under_review", "version": "1"}, 404,
                                             "not_found", signed_in=True),
    "follow-up-form-no-question": page_form("/articles/{slug}/follow-up", {}, 422,
                                            "invalid_request", "question"),
    "follow-up-form-whitespace": page_form("/articles/{slug}/follow-up", {"question": "\t \n"},
                                           400, "invalid_query", "empty"),
}

CASES = {**{f"json-{k}": v for k, v in JSON_BODIES.items()},
         **{f"query-{k}": v for k, v in QUERY_PARAMETERS.items()},
         **{f"path-{k}": v for k, v in PATH_PARAMETERS.items()},
         **{f"form-{k}": v for k, v in FORM_POSTS.items()}}


def test_the_suite_has_at_least_60_distinct_inputs():
    assert len(CASES) >= 60
    distinct = {(c.method, c.path, repr(sorted(c.request.items()))) for c in CASES.values()}
    assert len(distinct) == len(CASES)


_TRACE = re.compile(r"Traceback|File \"[^\"]+\", line \d+")


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_malformed_input_gets_a_clear_4xx_and_changes_nothing(web: Web, case: Case):
    client = web.client
    request = dict(case.request)
    if case.signed_in:
        signed = client.post("/login", data={"username": "rita", "password": PASSWORD,
                                             "csrf_token": csrf_of(client, "/login")},
                             follow_redirects=False)
        assert signed.status_code == 303, signed.text
    if case.form:
        token = csrf_of(client, "/login" if case.path == "/login" else "/")
        request["data"] = {"csrf_token": token, **request.get("data", {})}
    if case.basic:
        request["auth"] = RITA
    before = store_snapshot(web.location)

    response = client.request(case.method, case.path.format(id=web.article_id, slug=web.slug),
                              follow_redirects=False, **request)

    assert response.status_code == case.status, response.text[:2000]
    assert not _TRACE.search(response.text), response.text[:2000]
    if case.path.startswith("/api/"):
        message = assert_envelope(response, case.status, case.code)
    else:
        assert response.headers["content-type"].startswith("text/html")
        text = html.unescape(response.text)
        if case.code is not None:
            assert f'data-code="{case.code}"' in response.text, text[:2000]
        message = text
    assert case.message in message, message[:2000]
    assert store_snapshot(web.location) == before, "a refused request changed the store"
