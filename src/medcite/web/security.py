"""Web security: the signing key, CSRF tokens, header and body limits, response headers.

Sessions are Starlette's signed cookies (itsdangerous, HttpOnly, SameSite=Lax). Every visitor's
session carries a CSRF token, so anonymous forms (ask, follow-up, sign in) are protected too; a
signed-in one carries a token naming a session the store keeps, so it can be ended server-side.
"""

from __future__ import annotations

import hmac
import os
import re
import secrets
from collections.abc import Callable
from pathlib import Path

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from medcite.errors import ConfigurationError, PermissionDeniedError
from medcite.settings import Settings
from medcite.store.base import Store

SESSION_COOKIE = "medcite_session"
SESSION_MAX_AGE = 12 * 60 * 60
CSRF_FIELD = "csrf_token"
MAX_BODY_BYTES = 64 * 1024
# Header fields accepted per request (the server bounds the head's size, web.server).
MAX_HEADERS = 100
# Numbers from clients end up as SQLite integers, which are signed 64-bit.
MAX_VERSION = 2**63 - 1



# Control characters a visitor's text may hold: tab and line breaks; NUL, escape sequences and
# the other C0/C1 controls are refused (they would reach the store, pages and terminals).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def unicode_text(value: str) -> str:
    """``value`` if it is encodable, printable text: a lone surrogate (JSON's "\\ud800") or a
    control character other than tab and line breaks (NUL, ESC) is refused."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("the text contains a lone surrogate, which is not a character") from None
    control = _CONTROL.search(value)
    if control:
        raise ValueError(f"the text contains the control character U+{ord(control.group()):04X}, "
                         "which is not allowed")
    return value


SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


MIN_SECRET_KEY_CHARS = 32


def secret_key(settings: Settings, store: Store | None = None) -> str:
    """The configured key, else one generated once and kept in ``<home>/secret_key`` (0600),
    so sessions survive restarts and every replica sharing the home signs alike. With a
    ``store``, the store holds the key (insert-if-absent, seeded from that file), so replicas
    on other machines sharing only the store sign alike too.

    The file is written whole under a temporary name and linked into place, so a second process
    never reads it half-written; a key shorter than ``MIN_SECRET_KEY_CHARS`` is refused.
    """
    if settings.secret_key:
        return _long_enough(settings.secret_key, "MEDCITE_SECRET_KEY")
    if store is not None:
        held = store.state.get("secret_key")
        if held is None:
            held = store.state.put_if_absent("secret_key", secret_key(settings))
        return _long_enough(held, "the store")
    path = Path(settings.home_path) / "secret_key"
    if not path.exists():
        temporary = path.with_name(f".secret_key.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(48))
                fh.flush()
                os.fsync(fh.fileno())
            try:
                os.link(temporary, path)  # fails if another process linked its key first
            except FileExistsError:
                pass
        finally:
            temporary.unlink(missing_ok=True)
    return _long_enough(path.read_text().strip(), str(path))


def _long_enough(key: str, where: str) -> str:
    if len(key) < MIN_SECRET_KEY_CHARS:
        raise ConfigurationError(
            f"the secret key in {where} has {len(key)} characters; at least "
            f"{MIN_SECRET_KEY_CHARS} are needed to sign sessions",
            hint="set a longer MEDCITE_SECRET_KEY, or delete the key file to have one generated")
    return key


# -- CSRF ------------------------------------------------------------------------------------


def csrf_token(request: Request) -> str:
    """This session's token, created on first use (which also sets the session cookie)."""
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return token


def rotate_csrf(request: Request) -> None:
    """A new token when the signed-in user changes, so an old page's forms stop working."""
    request.session["csrf"] = secrets.token_urlsafe(32)


def check_csrf(request: Request, submitted: str | None) -> None:
    expected = request.session.get("csrf")
    if not expected or not submitted or not hmac.compare_digest(expected, submitted):
        raise PermissionDeniedError(
            "this form's security token is missing or out of date; reload the page and try again")


# -- clients (rate limits live in web.throttle) -------------------------------------------


def client_address(request: Request) -> str:
    """The peer address as the server reports it: uvicorn puts X-Forwarded-For there only for
    proxies named in ``forwarded_allow_ips`` (see web.server), since any client can send one."""
    return request.client.host if request.client else "unknown"


# -- ASGI middleware -------------------------------------------------------------------------


class SecurityHeadersMiddleware:
    """Adds ``SECURITY_HEADERS`` to every HTTP response, errors and static files included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


class HeaderLimitMiddleware:
    """Refuses a request with more than ``limit`` header fields before any handler runs: each
    field is parsed and searched again by every layer that reads headers."""

    def __init__(self, app: ASGIApp, *, limit: int,
                 too_many: Callable[[Scope, int], Response]) -> None:
        self.app = app
        self.limit = limit
        self.too_many = too_many

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and len(scope["headers"]) > self.limit:
            await self.too_many(scope, self.limit)(scope, receive, send)
            return
        await self.app(scope, receive, send)


class BodyLimitMiddleware:
    """Refuses request bodies over ``limit`` bytes before any handler reads them.

    The body is read here (it is small by construction) and replayed to the app, which covers
    chunked uploads that carry no Content-Length.
    """

    def __init__(self, app: ASGIApp, *, limit: int,
                 too_large: Callable[[Scope, int], Response]) -> None:
        self.app = app
        self.limit = limit
        self.too_large = too_large

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._refuse(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.limit:
                await self._refuse(scope, receive, send)
                return
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.too_large(scope, self.limit)(scope, receive, send)
