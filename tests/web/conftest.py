"""An in-process app on a temporary store, with helpers for forms and sign-in."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi.testclient import TestClient

from medcite.models import Article
from medcite.review import ArticleRepository, User, UserAccounts
from medcite.settings import Settings
from medcite.store import SQLiteStore
from medcite.web.app import create_app
from tests.review.factories import cheap_argon2, sample_article  # noqa: F401  (autouse fixture)

PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def client(settings: Settings, store: SQLiteStore):
    with TestClient(create_app(settings, store)) as test_client:
        yield test_client


@pytest.fixture
def articles(store: SQLiteStore) -> ArticleRepository:
    return ArticleRepository(store)


@pytest.fixture
def article(articles: ArticleRepository) -> Article:
    return articles.save_new(sample_article())


@pytest.fixture
def reviewer(store: SQLiteStore) -> User:
    return UserAccounts(store).add_user("rita", PASSWORD, "reviewer")


def csrf_of(client: TestClient, path: str = "/") -> str:
    """The CSRF token a page's forms carry for this client's session."""
    page = client.get(path)
    found = _CSRF.search(page.text)
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def sign_in(client: TestClient, username: str = "rita", password: str = PASSWORD) -> httpx.Response:
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": csrf_of(client, "/login")},
                       follow_redirects=False)


def assert_envelope(response: httpx.Response, status: int, code: str) -> str:
    """The one error shape, exactly; returns the message."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "status"}
    assert (body["error"]["code"], body["error"]["status"]) == (code, status)
    assert body["error"]["message"]
    return body["error"]["message"]
