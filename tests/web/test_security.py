import pytest

from medcite.web.security import SECURITY_HEADERS, secret_key
from tests.web.conftest import csrf_of, sign_in


@pytest.mark.parametrize("path", ["/", "/policy", "/static/medcite.css", "/static/medcite.js",
                                  "/no-such-page", "/api/v1/openapi.json", "/api/v1/articles",
                                  "/api/v1/no-such-route"])
def test_security_headers_on_every_response(client, path):
    response = client.get(path)
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value
    assert "'unsafe-inline'" not in response.headers["content-security-policy"]


def test_pages_have_no_inline_script(client, article):
    for path in ("/", f"/articles/{article.slug}", "/library", "/policy", "/login"):
        html = client.get(path).text
        assert html.count("<script") == 1 and '<script src="/static/medcite.js" defer></script>' in html
        assert " on" + "click=" not in html and "javascript:" not in html


def test_anonymous_visitors_get_a_signed_httponly_session_cookie(client):
    response = client.get("/")
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("medcite_session=")
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()


@pytest.mark.parametrize("path,data", [
    ("/ask", {"question": "Is sertraline safe?"}),
    ("/login", {"username": "rita", "password": "correct horse battery"}),
    ("/logout", {}),
    ("/articles/{slug}/follow-up", {"question": "And sertraline?"}),
    ("/articles/{slug}/review", {"to": "under_review"}),
])
@pytest.mark.parametrize("token", [None, "forged-token"])
def test_every_form_rejects_a_missing_or_wrong_csrf_token(client, article, reviewer, path, data, token):
    csrf_of(client)  # the visitor has a session with a real token
    if token:
        data = {**data, "csrf_token": token}
    response = client.post(path.format(slug=article.slug), data=data)
    assert response.status_code == 403
    assert 'data-code="forbidden"' in response.text and "security token" in response.text


def test_token_of_another_session_is_rejected(client, article, settings, store):
    from fastapi.testclient import TestClient

    from medcite.web.app import create_app

    with TestClient(create_app(settings, store)) as other:
        stolen = csrf_of(other)
    csrf_of(client)
    response = client.post(f"/articles/{article.slug}/follow-up",
                           data={"question": "x", "csrf_token": stolen})
    assert response.status_code == 403


def test_signing_in_rotates_the_csrf_token(client, reviewer):
    before = csrf_of(client, "/login")
    sign_in(client)
    assert csrf_of(client) != before


def test_forged_session_cookie_is_ignored(client, reviewer):
    sign_in(client)
    signed = client.cookies["medcite_session"]
    assert client.get("/review").status_code == 200
    payload, timestamp, _signature = signed.split(".")
    client.cookies.clear()
    client.cookies.set("medcite_session", f"{payload}.{timestamp}.forgedsignature")
    assert client.get("/review").status_code == 401


def test_secret_key_is_generated_once_with_private_mode(settings, home):
    key = secret_key(settings)
    path = home / "secret_key"
    assert path.stat().st_mode & 0o777 == 0o600
    assert secret_key(settings) == key and len(key) >= 48
