"""Forwarded headers are believed only from configured proxies (#12 item 6), checked against a
real uvicorn server started with the options ``medcite serve`` uses: by default a client that
forges X-Forwarded-For is still counted by its own address."""

from __future__ import annotations

import httpx
import pytest

from medcite.settings import Settings
from medcite.web.app import create_app
from tests.web.conftest import PASSWORD
from tests.web.live import serving, sign_in


def _forged(i: int) -> dict[str, str]:
    return {"X-Forwarded-For": f"203.0.113.{i}"}


def test_forged_forwarded_for_does_not_escape_the_sign_in_lockout(settings, store, reviewer):
    with serving(create_app(settings, store), settings) as url, \
            httpx.Client(base_url=url, timeout=10) as client:
        for i in range(10):
            assert sign_in(client, "rita", "a wrong guess", headers=_forged(i)).status_code == 401
        locked = sign_in(client, "rita", PASSWORD, headers=_forged(99))
        assert locked.status_code == 429, locked.text
        assert "too many failed sign-in attempts" in locked.text


def test_forged_forwarded_for_does_not_escape_the_ask_limit(home, store):
    limited = Settings.load(ask_rate_limit=2)
    with serving(create_app(limited, store), limited) as url, \
            httpx.Client(base_url=url, timeout=10) as client:
        for i in range(2):  # empty questions are refused after they are counted
            ask = client.post("/api/v1/ask", json={"question": ""}, headers=_forged(i))
            assert ask.status_code == 400
        refused = client.post("/api/v1/ask", json={"question": ""}, headers=_forged(7))
        assert refused.status_code == 429, refused.text


@pytest.mark.parametrize("trusted", ["127.0.0.1", "127.0.0.0/8, ::1"])
def test_a_configured_proxy_is_believed(home, store, reviewer, trusted):
    behind_proxy = Settings.load(forwarded_allow_ips=trusted)
    with serving(create_app(behind_proxy, store), behind_proxy) as url, \
            httpx.Client(base_url=url, timeout=10) as client:
        for _ in range(10):
            assert sign_in(client, "rita", "a wrong guess", headers=_forged(1)).status_code == 401
        assert sign_in(client, "rita", PASSWORD, headers=_forged(1)).status_code == 429
        # another client behind the same proxy has its own count
        assert sign_in(client, "rita", PASSWORD, headers=_forged(2)).status_code == 303
