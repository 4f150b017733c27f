"""Two replicas of the web app serving one store, each with its own home (its own machine)
and its own connections, under real uvicorn servers: what is decided on one is seen on the
other, a sign-in on one holds on the other, and one question asked on both at once is one
article. Run on SQLite by default and on PostgreSQL with MEDCITE_TEST_STORE=postgresql."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx

from medcite.settings import Settings
from medcite.store import open_store
from medcite.web.app import create_app
from tests.web.conftest import PASSWORD
from tests.web.live import serving, sign_in

QUESTION = "Is it safe to take ibuprofen with lisinopril?"


def _replicas(settings: Settings, store, tmp_path: Path):
    """(settings, store) of a second replica: another home, the same store."""
    other = Settings.load(home=tmp_path / "replica-b", store_url=store.location)
    return other, open_store(other)


def test_two_replicas_share_reviews_sessions_and_answers(settings, store, article, reviewer,
                                                        tmp_path: Path):
    settings_b, store_b = _replicas(settings, store, tmp_path)
    try:
        app_a, app_b = create_app(settings, store), create_app(settings_b, store_b)
        with serving(app_a, settings) as a, serving(app_b, settings_b) as b:
            # A review decided through one replica is what the other serves.
            moved = httpx.post(f"{a}/api/v1/articles/{article.id}/review",
                               json={"to": "under_review", "version": 1},
                               auth=("rita", PASSWORD))
            assert moved.status_code == 200, moved.text
            seen = httpx.get(f"{b}/api/v1/articles/{article.id}").json()
            assert seen["status"] == "under_review"
            assert [e["to_status"] for e in
                    httpx.get(f"{b}/api/v1/articles/{article.id}/events").json()["events"]] \
                == ["submitted", "under_review"]
            # Signed in on one replica, the session cookie holds on the other (one key, one
            # session table).
            with httpx.Client(base_url=a) as on_a:
                assert sign_in(on_a, "rita", PASSWORD).status_code in (302, 303)
                cookies = dict(on_a.cookies)
            with httpx.Client(base_url=b, cookies=cookies) as on_b:
                queue = on_b.get("/review")
                assert queue.status_code == 200 and "rita" in queue.text
            # One question asked on both replicas at once: one article.
            answers: list[dict] = []
            barrier = threading.Barrier(4)

            def ask(base: str) -> None:
                barrier.wait()
                response = httpx.post(f"{base}/api/v1/ask", json={"question": QUESTION},
                                      timeout=120)
                assert response.status_code == 200, response.text
                answers.append(response.json())

            threads = [threading.Thread(target=ask, args=(base,)) for base in (a, b, a, b)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert len(answers) == 4 and len({answer["id"] for answer in answers}) == 1
            listed = httpx.get(f"{b}/api/v1/articles").json()["articles"]
            assert [x["question"] for x in listed].count(QUESTION) == 1
    finally:
        store_b.close()
