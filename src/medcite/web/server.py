"""How the app is served: the uvicorn options ``medcite serve`` (and the tests' live servers)
use, so what the server decides before the app sees a request is medcite's choice, not a
default of uvicorn's.
"""

from __future__ import annotations

from typing import Any

from medcite.settings import Settings


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for ``uvicorn.run`` / ``uvicorn.Config``."""
    trusted = settings.forwarded_allow_ips.strip()
    return {
        # uvicorn believes X-Forwarded-For from 127.0.0.1 unless told otherwise, so any local
        # client could name its own address and step out of the rate limits: believed only
        # from the proxies configured, and not at all by default.
        "proxy_headers": bool(trusted),
        "forwarded_allow_ips": trusted,
    }
