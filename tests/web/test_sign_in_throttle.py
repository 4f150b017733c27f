"""Sign-in throttling (#12 item 7), against real uvicorn servers: an attempt is counted before
its password is hashed, so 40 concurrent wrong passwords get at most 10 checks; password checks
running at once are bounded; and the count is the store's, so two servers (workers) of one
deployment do not allow twice the limit."""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from argon2 import PasswordHasher

from medcite.errors import BusyError, ConfigurationError, RateLimitError
from medcite.review import users
from medcite.settings import Settings
from medcite.store import SQLiteStore
from medcite.web.app import create_app
from medcite.web.services import FAILED_SIGN_INS_PER_MINUTE
from medcite.web.throttle import PasswordChecks, StoreRateLimiter
from tests.web.conftest import PASSWORD
from tests.web.live import csrf, serving, sign_in
from tests.conftest import sqlite_only

CONCURRENT = 40


class SlowChecks:
    """A password hasher whose checks take ``seconds`` (argon2 at production cost takes about
    that on a loaded machine), counting how many run at once."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.running = 0
        self.most = 0
        self.checks = 0
        self._lock = threading.Lock()

    def hasher(self) -> PasswordHasher:
        checks = self

        class Slow(PasswordHasher):
            def verify(self, hash, password):  # noqa: A002  (argon2's own parameter name)
                with checks._lock:
                    checks.running += 1
                    checks.checks += 1
                    checks.most = max(checks.most, checks.running)
                try:
                    time.sleep(checks.seconds)
                    return super().verify(hash, password)
                finally:
                    with checks._lock:
                        checks.running -= 1

        return Slow(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture
def slow_checks(monkeypatch) -> SlowChecks:
    checks = SlowChecks(0.2)
    monkeypatch.setattr(users, "PasswordHasher", checks.hasher)
    return checks


def _concurrently(url: str, headers_of=lambda i: {}) -> tuple[Counter, list[float]]:
    """CONCURRENT wrong-password sign-ins at once, each on its own connection, all from one
    browser session (one CSRF token). Returns the statuses and each request's seconds."""
    with httpx.Client(base_url=url, timeout=30) as browser:
        token, cookies = csrf(browser), dict(browser.cookies)
    start = threading.Barrier(CONCURRENT)

    def attempt(i: int) -> tuple[int, float]:
        with httpx.Client(base_url=url, timeout=30, cookies=cookies) as client:
            start.wait()
            began = time.monotonic()
            response = client.post("/login", headers=headers_of(i), data={
                "username": "rita", "password": f"wrong guess {i}", "csrf_token": token})
            return response.status_code, time.monotonic() - began

    with ThreadPoolExecutor(CONCURRENT) as pool:
        results = list(pool.map(attempt, range(CONCURRENT)))
    return Counter(status for status, _ in results), [seconds for _, seconds in results]


def test_concurrent_wrong_passwords_are_counted_before_hashing(settings, store, reviewer,
                                                               slow_checks):
    with serving(create_app(settings, store), settings) as url:
        statuses, _ = _concurrently(url)
        assert set(statuses) <= {401, 429, 503}, statuses
        assert statuses[401] <= FAILED_SIGN_INS_PER_MINUTE, statuses
        assert statuses[429] >= CONCURRENT - 2 * FAILED_SIGN_INS_PER_MINUTE, statuses
        assert slow_checks.checks <= FAILED_SIGN_INS_PER_MINUTE
        with httpx.Client(base_url=url, timeout=10) as late:  # the right password: still locked
            assert sign_in(late, "rita", PASSWORD).status_code == 429


def test_password_checks_at_once_are_bounded(home, store, reviewer, slow_checks):
    # 40 different clients (behind a trusted proxy), so the rate limit leaves them all in.
    tight = Settings.load(sign_in_concurrency=2, forwarded_allow_ips="127.0.0.1")
    with serving(create_app(tight, store), tight) as url:
        statuses, seconds = _concurrently(
            url, headers_of=lambda i: {"X-Forwarded-For": f"198.51.100.{i + 1}"})
        assert slow_checks.most <= 2, slow_checks.most
        assert set(statuses) <= {401, 503} and statuses[503] > 0, statuses
        # refused quickly rather than queued behind every other check
        assert max(seconds) < 5, max(seconds)
        with httpx.Client(base_url=url, timeout=10) as client:
            busy_free = sign_in(client, "rita", PASSWORD,
                                headers={"X-Forwarded-For": "198.51.100.200"})
            assert busy_free.status_code == 303  # the server is fine once the burst is over


def test_two_servers_of_one_store_share_the_limit(settings, store, reviewer):
    # Each app opens the store itself, as each worker process does.
    with serving(create_app(settings), settings) as first, \
            serving(create_app(settings), settings) as second, \
            httpx.Client(base_url=first, timeout=10) as one, \
            httpx.Client(base_url=second, timeout=10) as two:
        for _ in range(FAILED_SIGN_INS_PER_MINUTE // 2):
            assert sign_in(one, "rita", "a wrong guess").status_code == 401
            assert sign_in(two, "rita", "a wrong guess").status_code == 401
        for client in (one, two):
            refused = sign_in(client, "rita", PASSWORD)
            assert refused.status_code == 429, refused.text
            assert int(refused.headers["retry-after"]) in range(55, 61)


def test_a_correct_password_is_not_counted(settings, store, reviewer, article):
    with serving(create_app(settings, store), settings) as url, \
            httpx.Client(base_url=url, timeout=10) as client:
        path = f"/api/v1/articles/{article.id}/events"
        for _ in range(3 * FAILED_SIGN_INS_PER_MINUTE):  # a reviewer's API client at work
            review = client.post(f"/api/v1/articles/{article.id}/review", auth=("rita", PASSWORD),
                                 json={"version": 1, "to": "under_review"})
            assert review.status_code in (200, 409), review.text
        assert client.get(path).status_code == 200


@sqlite_only
def test_store_rate_limiter_counts_across_stores_and_expires(store):
    now = [1000.0]
    other = SQLiteStore(store.location)  # another process's connection to the same file
    try:
        first = StoreRateLimiter(store, "test", 2, window=60, clock=lambda: now[0])
        second = StoreRateLimiter(other, "test", 2, window=60, clock=lambda: now[0])
        first.hit("a")
        kept = second.hit("a")
        with pytest.raises(RateLimitError, match="at most 2 per 60 seconds") as refused:
            first.hit("a")
        assert refused.value.retry_after == 60
        second.hit("b")  # another client has its own count
        StoreRateLimiter(store, "other bucket", 1).hit("a")  # and another limit its own
        second.give_back(kept)
        first.hit("a")
        now[0] += 60.5
        first.hit("a")  # the earlier hits left the window
        with store.reading() as conn:
            assert conn.execute("SELECT count(*) FROM rate_limit_hits WHERE bucket = 'test'"
                                ).fetchone()[0] == 1  # and were deleted
    finally:
        other.close()


def test_password_checks_refuse_when_full():
    checks = PasswordChecks(1, wait=0.05)
    with checks.slot():
        began = time.monotonic()
        with pytest.raises(BusyError) as busy:
            with checks.slot():
                pass
        assert time.monotonic() - began < 1
    assert busy.value.http_status == 503 and busy.value.retry_after == 1
    with checks.slot():  # the slot was given back
        pass
    with pytest.raises(ConfigurationError, match="MEDCITE_SIGN_IN_CONCURRENCY"):
        PasswordChecks(0)
