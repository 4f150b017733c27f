"""The web application: server-rendered pages, the JSON API under ``/api/v1``, one error shape.

Errors are translated here and only here: a ``MedciteError`` becomes its ``http_status`` and
``code``; validation errors, unknown routes and oversized bodies get the same envelope,
``{"error": {"code", "message", "status"}}``, as JSON under ``/api`` and as a page elsewhere.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Scope

from medcite.errors import AuthError, MedciteError, RateLimitError, StoreBusyError
from medcite.settings import Settings
from medcite.store import open_store
from medcite.store.base import Store
from medcite.web import api, cds, pages
from medcite.web.render import TEMPLATES
from medcite.web.security import (
    MAX_BODY_BYTES,
    MAX_HEADERS,
    SECURITY_HEADERS,
    SESSION_COOKIE,
    SESSION_MAX_AGE,
    BodyLimitMiddleware,
    HeaderLimitMiddleware,
    SecurityHeadersMiddleware,
    csrf_token,
    secret_key,
)
from medcite.web.services import WebServices, session_user

log = logging.getLogger(__name__)

API_PREFIX = "/api/"
# Machine clients read errors as JSON: the API and the CDS Hooks services.
JSON_PREFIXES = (API_PREFIX, "/cds-services")
_HTTP_CODES = {
    400: "invalid_request", 401: "unauthenticated", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 413: "request_too_large", 415: "unsupported_media_type",
    422: "invalid_request",
}


def _page_context(request: Request) -> dict[str, Any]:
    return {"csrf": csrf_token(request), "user": session_user(request),
            "max_question_chars": request.app.state.services.settings.max_question_chars}


def error_response(request: Request, status: int, code: str, message: str,
                   headers: dict[str, str] | None = None) -> Response:
    """The one error shape: JSON under /api, the same fields on a page elsewhere."""
    body = {"code": code, "message": message, "status": status}
    if request.url.path.startswith(JSON_PREFIXES):
        return JSONResponse({"error": body}, status_code=status, headers=headers)
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(request, "error.html", {"error": body},
                                      status_code=status, headers=headers)


async def _medcite_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, MedciteError)
    headers = {}
    if type(exc) is AuthError and request.url.path.startswith(API_PREFIX):
        headers["WWW-Authenticate"] = 'Basic realm="medcite"'
    if isinstance(exc, (RateLimitError, StoreBusyError)):
        headers["Retry-After"] = str(exc.retry_after)
    return error_response(request, exc.http_status, exc.code, str(exc), headers)


def _not_json(request: Request, errors: list[dict[str, Any]]) -> str | None:
    """What to say when an API body is not a JSON object because it was sent as something
    else (text/plain, a form): FastAPI then validates the raw bytes."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if any(tuple(e.get("loc", ())) == ("body",) and e.get("type") == "model_attributes_type"
           for e in errors) and "json" not in content_type:
        sent = f"Content-Type {content_type}" if content_type else "no Content-Type"
        return ("the request is not valid: the body must be a JSON object sent with "
                f"Content-Type: application/json (this one has {sent})")
    return None


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    not_json = _not_json(request, list(exc.errors()))
    if not_json:
        return error_response(request, 422, "invalid_request", not_json)
    problems = []
    for error in exc.errors()[:5]:
        loc = tuple(error.get("loc", ()))
        # A problem with the body as a whole (missing, not an object) says so.
        where = ".".join(str(part) for part in loc if part != "body") or (
            "body" if loc == ("body",) else "")
        msg = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        problems.append(f"{where}: {msg}" if where else msg)
    return error_response(request, 422, "invalid_request",
                          "the request is not valid: " + "; ".join(problems))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404:
        message = f"nothing at {request.url.path}"
    elif exc.status_code == 405:
        message = f"{request.method} is not allowed on {request.url.path}"
    elif exc.status_code == 400 and exc.__cause__ is not None:
        message = _unreadable_body(exc.__cause__, str(exc.detail))
    else:
        message = str(exc.detail)
    headers = dict(exc.headers or {})
    return error_response(request, exc.status_code, _HTTP_CODES.get(exc.status_code, "http_error"),
                          message, headers)


def _unreadable_body(cause: BaseException, detail: str) -> str:
    """Why FastAPI could not parse a request body (it answers 400 and keeps the cause)."""
    if isinstance(cause, RecursionError):
        return "the request body is not valid: its JSON is nested too deeply to read"
    if isinstance(cause, UnicodeDecodeError):
        return "the request body is not valid: it is not UTF-8 text"
    if isinstance(cause, ValueError) and "digits" in str(cause):
        return "the request body is not valid: it has a number with too many digits to read"
    return detail  # not the cause's own text: it may name internals


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    response = error_response(request, 500, "internal_error", "an unexpected error occurred")
    # This handler runs outside the middleware stack, so add the headers it would have added.
    response.headers.update(SECURITY_HEADERS)
    return response


def _too_many_headers(scope: Scope, limit: int) -> Response:
    return error_response(Request(scope), 431, "request_header_fields_too_large",
                          f"the request has {len(scope['headers'])} header fields; at most "
                          f"{limit} are accepted")


def _too_large(scope: Scope, limit: int) -> Response:
    return error_response(Request(scope), 413, "request_too_large",
                          f"the request body is larger than {limit // 1024} kB")


def create_app(settings: Settings | None = None, store: Store | None = None) -> FastAPI:
    """The application for ``medcite serve``; a store passed in stays open after shutdown."""
    settings = settings or Settings.load()
    owned = store is None
    store = store or open_store(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        app.state.services.asks.close()
        if owned:
            store.close()

    app = FastAPI(
        title="medcite API",
        summary="Clinical questions answered with cited, verified and reviewed articles.",
        version="1",
        openapi_url="/api/v1/openapi.json",
        docs_url=None,  # the hosted Swagger UI needs a CDN and inline script; see pages.api_docs
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.services = WebServices.build(settings, store)
    app.state.templates = Jinja2Templates(env=TEMPLATES, context_processors=[_page_context])
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    app.include_router(pages.router)
    app.include_router(api.router)
    app.include_router(cds.router)

    app.add_exception_handler(MedciteError, _medcite_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)

    # Added innermost first: headers wrap everything, the session is there for error pages.
    app.add_middleware(BodyLimitMiddleware, limit=MAX_BODY_BYTES, too_large=_too_large)
    app.add_middleware(HeaderLimitMiddleware, limit=MAX_HEADERS, too_many=_too_many_headers)
    app.add_middleware(SessionMiddleware, secret_key=secret_key(settings, store),
                       session_cookie=SESSION_COOKIE, max_age=SESSION_MAX_AGE, same_site="lax")
    app.add_middleware(SecurityHeadersMiddleware)
    return app
