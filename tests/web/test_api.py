import pytest
from fastapi.testclient import TestClient

from medcite.models import ReviewStatus
from medcite.review import ReviewWorkflow, UserAccounts
from medcite.web.app import create_app
from tests.web.conftest import PASSWORD, assert_envelope

RITA = ("rita", PASSWORD)


def test_list_get_events_and_versions(client, articles, article):
    listed = client.get("/api/v1/articles").json()["articles"]
    assert [(a["id"], a["status"], a["current_version"]) for a in listed] == [
        (article.id, "submitted", 1)]
    assert client.get("/api/v1/articles", params={"status": "approved"}).json() == {"articles": []}
    assert client.get("/api/v1/articles", params={"q": "magnesium"}).json()["articles"]
    by_id = client.get(f"/api/v1/articles/{article.id}").json()
    by_slug = client.get(f"/api/v1/articles/{article.slug}").json()
    assert by_id == by_slug and by_id["question"] == article.question
    assert by_id["references"][0]["pmid"] == "9" and by_id["status"] == "submitted"
    patient = client.get(f"/api/v1/articles/{article.id}", params={"audience": "patient"}).json()
    assert patient["audience"] == "patient"
    assert client.get(f"/api/v1/articles/{article.id}", params={"version": 1}).json()["version"] == 1
    events = client.get(f"/api/v1/articles/{article.slug}/events").json()["events"]
    assert [(e["actor"], e["from_status"], e["to_status"]) for e in events] == [
        ("system", None, "submitted")]
    versions = client.get(f"/api/v1/articles/{article.id}/versions").json()["versions"]
    assert [(v["version"], v["approved"]) for v in versions] == [(1, False)]


def test_review_with_http_basic(client, articles, article, reviewer):
    path = f"/api/v1/articles/{article.id}/review"
    started = client.post(path, json={"version": 1, "to": "under_review"}, auth=RITA)
    assert started.status_code == 200
    assert (started.json()["to_status"], started.json()["actor"]) == ("under_review", "rita")
    approved = client.post(path, json={"version": 1, "to": "approved", "comment": "checked"}, auth=RITA)
    assert approved.json()["from_status"] == "under_review"
    assert client.get(f"/api/v1/articles/{article.id}").json()["status"] == "approved"
    assert [v["approved"] for v in client.get(f"/api/v1/articles/{article.id}/versions").json()[
        "versions"]] == [True]


def test_review_errors(client, articles, article, reviewer, store):
    path = f"/api/v1/articles/{article.id}/review"
    missing = client.post(path, json={"version": 1, "to": "under_review"})
    assert_envelope(missing, 401, "unauthenticated")
    assert missing.headers["www-authenticate"] == 'Basic realm="medcite"'
    wrong = client.post(path, json={"version": 1, "to": "under_review"}, auth=("rita", "wrong password"))
    assert assert_envelope(wrong, 401, "unauthenticated") == "invalid username or password"
    conflict = client.post(path, json={"version": 1, "to": "approved"}, auth=RITA)
    assert "from Submitted to Approved" in assert_envelope(conflict, 409, "conflict")
    invalid = client.post(path, json={"version": 1, "to": "published"}, auth=RITA)
    assert "to" in assert_envelope(invalid, 422, "invalid_request")
    ReviewWorkflow(articles).move(article.id, ReviewStatus.UNDER_REVIEW, reviewer)
    no_reason = client.post(path, json={"version": 1, "to": "rejected", "comment": ""}, auth=RITA)
    assert "comment" in assert_envelope(no_reason, 400, "invalid_input")
    client.post(path, json={"version": 1, "to": "rejected", "comment": "outdated"}, auth=RITA)
    forbidden = client.post(path, json={"version": 1, "to": "submitted"}, auth=RITA)
    assert "editor or admin" in assert_envelope(forbidden, 403, "forbidden")
    UserAccounts(store).add_user("eddie", PASSWORD, "editor")
    rejected_again = client.post(path, json={"version": 1, "to": "rejected", "comment": "x"},
                                 auth=("eddie", PASSWORD))
    assert "from Rejected to Rejected" in assert_envelope(rejected_again, 409, "conflict")
    unknown = client.post("/api/v1/articles/nothing/review", json={"version": 1, "to": "approved"}, auth=RITA)
    assert_envelope(unknown, 404, "not_found")


def test_repeated_failed_sign_ins_are_rate_limited(client, article, reviewer):
    path = f"/api/v1/articles/{article.id}/events"
    review = f"/api/v1/articles/{article.id}/review"
    for _ in range(10):
        client.post(review, json={"version": 1, "to": "under_review"}, auth=("rita", "guess guess"))
    limited = client.post(review, json={"version": 1, "to": "under_review"}, auth=RITA)
    assert_envelope(limited, 429, "rate_limited")
    assert client.get(path).status_code == 200  # reading is not affected


def test_error_envelope_for_unknown_routes_methods_and_validation(client):
    assert_envelope(client.get("/api/v1/nowhere"), 404, "not_found")
    assert_envelope(client.get("/api/v2/articles"), 404, "not_found")
    assert_envelope(client.get("/api/v1/articles/missing"), 404, "not_found")
    assert_envelope(client.delete("/api/v1/articles"), 405, "method_not_allowed")
    assert_envelope(client.get("/api/v1/articles", params={"limit": 0}), 422, "invalid_request")
    assert_envelope(client.post("/api/v1/ask", json={}), 422, "invalid_request")
    not_json = client.post("/api/v1/ask", content=b"question=x",
                           headers={"content-type": "application/x-www-form-urlencoded"})
    assert_envelope(not_json, 422, "invalid_request")


def test_question_length_limit_is_named(client):
    too_long = client.post("/api/v1/ask", json={"question": "why " * 600})
    message = assert_envelope(too_long, 400, "invalid_query")
    assert "the limit is 2,000 characters" in message
    assert_envelope(client.post("/api/v1/ask", json={"question": "   "}), 400, "invalid_query")


def test_oversized_body_is_413(client, article):
    body = {"question": "x" * (70 * 1024)}
    message = assert_envelope(client.post("/api/v1/ask", json=body), 413, "request_too_large")
    assert "64 kB" in message
    page = client.post("/ask", data=body)
    assert page.status_code == 413 and 'data-code="request_too_large"' in page.text

    def chunks():
        for _ in range(70):
            yield b"x" * 1024

    chunked = client.post(f"/api/v1/articles/{article.id}/follow-up", content=chunks(),
                          headers={"content-type": "application/json"})
    assert_envelope(chunked, 413, "request_too_large")


def test_ask_is_rate_limited_per_client(settings, store, home):
    from medcite.settings import Settings

    limited = Settings.load(ask_rate_limit=2)
    with TestClient(create_app(limited, store)) as client:
        for _ in range(2):  # empty questions are refused after they are counted
            assert client.post("/api/v1/ask", json={"question": ""}).status_code == 400
        message = assert_envelope(client.post("/api/v1/ask", json={"question": "x"}), 429,
                                  "rate_limited")
        assert "at most 2 per 60 seconds" in message
        assert client.post("/api/v1/ask", json={"question": "x"}).headers["retry-after"] == "60"
        with TestClient(create_app(limited, store), client=("10.0.0.9", 5000)) as other:
            assert other.post("/api/v1/ask", json={"question": ""}).status_code == 400


def test_openapi_schema_is_served(client):
    schema = client.get("/api/v1/openapi.json").json()
    assert schema["openapi"].startswith("3.")
    paths = schema["paths"]
    assert {"/api/v1/ask", "/api/v1/articles", "/api/v1/articles/{id_or_slug}",
            "/api/v1/articles/{id_or_slug}/follow-up", "/api/v1/articles/{id_or_slug}/review",
            "/api/v1/articles/{id_or_slug}/events"} <= set(paths)
    assert not any(not path.startswith("/api/v1/") for path in paths)  # pages stay out
    assert "ErrorEnvelope" in schema["components"]["schemas"]
    assert schema["components"]["securitySchemes"]["HTTPBasic"]["scheme"] == "basic"


@pytest.mark.parametrize("path", ["/api/v1/articles", "/api/v1/openapi.json"])
def test_api_responses_are_json(client, path):
    assert client.get(path).headers["content-type"] == "application/json"


def test_unexpected_errors_use_the_envelope_and_keep_the_headers(settings, store, monkeypatch):
    from medcite.review import ArticleRepository

    def broken(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(ArticleRepository, "list", broken)
    with TestClient(create_app(settings, store), raise_server_exceptions=False) as client:
        response = client.get("/api/v1/articles")
        assert assert_envelope(response, 500, "internal_error") == "an unexpected error occurred"
        assert response.headers["x-frame-options"] == "DENY"
        assert "secret internals" not in response.text
        page = client.get("/review")
        assert page.status_code == 401  # other routes are unaffected
