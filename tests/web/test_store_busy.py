"""Web writes on a locked store answer 503 ``store_busy`` with Retry-After (#12 item 17).

A second, real connection holds ``BEGIN EXCLUSIVE`` on the store file while the app (the real
one, on the real store) takes a review decision from the JSON API and from a page, and a
question; each used to escape as a raw ``sqlite3.OperationalError`` and answer 500.
"""

from __future__ import annotations

import pytest

from medcite.models import ReviewStatus
from medcite.settings import Settings
from medcite.store import SQLiteStore
from tests.store.test_store_busy import BUSY_TIMEOUT, exclusive_lock
from tests.web.conftest import PASSWORD, assert_envelope, csrf_of, sign_in
from tests.conftest import sqlite_only

# It reads the SQLite file itself (its bytes, its locks).
pytestmark = sqlite_only


@pytest.fixture
def store(settings: Settings):
    """The app's store, with a short busy timeout (``client`` and the rest use it)."""
    opened = SQLiteStore(settings.store_location, busy_timeout=BUSY_TIMEOUT)
    yield opened
    opened.close()


def _retry_after(response) -> int:
    assert int(response.headers["Retry-After"]) >= 1
    return int(response.headers["Retry-After"])


def test_api_review_write_on_a_locked_store(client, store, articles, article, reviewer):
    decision = {"to": "under_review", "version": 1}
    with exclusive_lock(store.location):
        busy = client.post(f"/api/v1/articles/{article.id}/review", json=decision,
                           auth=("rita", PASSWORD))
        message = assert_envelope(busy, 503, "store_busy")
        _retry_after(busy)
        assert "busy" in message and "Traceback" not in message
        assert articles.get(article.id).status is ReviewStatus.SUBMITTED
    done = client.post(f"/api/v1/articles/{article.id}/review", json=decision,
                       auth=("rita", PASSWORD))
    assert done.status_code == 200, done.text
    assert articles.get(article.id).status is ReviewStatus.UNDER_REVIEW
    assert articles.audit()[1] == []


def test_page_review_write_on_a_locked_store(client, store, articles, article, reviewer):
    assert sign_in(client).status_code == 303
    page = f"/articles/{article.slug}"
    form = {"to": "under_review", "version": "1", "csrf_token": csrf_of(client, page)}
    with exclusive_lock(store.location):
        busy = client.post(f"{page}/review", data=form, follow_redirects=False)
        assert busy.status_code == 503, busy.text
        assert busy.headers["content-type"].startswith("text/html")
        assert 'data-code="store_busy"' in busy.text and "is busy" in busy.text
        _retry_after(busy)
    done = client.post(f"{page}/review", data=form, follow_redirects=False)
    assert done.status_code == 303, done.text
    assert articles.get(article.id).status is ReviewStatus.UNDER_REVIEW


def test_asking_on_a_locked_store(client, store):
    with exclusive_lock(store.location):
        busy = client.post("/api/v1/ask", json={"question": "Is anemia common in older adults?"})
        assert_envelope(busy, 503, "store_busy")
        _retry_after(busy)
