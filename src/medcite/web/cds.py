"""CDS Hooks 2.0 for medication orders: ``GET /cds-services`` and ``POST /cds-services/{id}``.

The body is read here rather than by FastAPI so that every way it can be unusable (not JSON,
not an object, not the hook's shape, a FHIR resource of the wrong type or that fails FHIR R4
validation) is a 400 in the app's one error shape, naming what was wrong; an unknown service
is a 404, and a missing prefetch 412, as the specification asks. Cards are worked out on a
worker thread (they run the answer pipeline). Each question a hook has medcite answer (a pair
or a label not in the cache) counts against the client's question rate limit, as an asked
question does, so a client cannot make the server answer without bound.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from medcite.cds.cards import SERVICES, CardsResponse, Discovery, cards_for, discovery
from medcite.cds.findings import Findings
from medcite.cds.request import read_call
from medcite.errors import CdsRequestError, NotFoundError
from medcite.models import Article, Audience
from medcite.vocab.vocabulary import Vocabulary
from medcite.web.security import client_address
from medcite.web.services import services

# CDS Hooks describes itself (discovery); the OpenAPI schema is the JSON API's, under /api/v1.
router = APIRouter(prefix="/cds-services", include_in_schema=False)
_findings_lock = threading.Lock()


@router.get("", response_model=Discovery)
def discover() -> Discovery:
    """The CDS services medcite offers (CDS Hooks discovery)."""
    return discovery()


@router.post("/{service_id}", response_model=CardsResponse)
async def call_service(request: Request, service_id: str) -> CardsResponse:
    """Cards for one hook call: documented interactions and label warnings of the orders."""
    service = SERVICES.get(service_id)
    if service is None:
        raise NotFoundError(f"no CDS service {service_id[:60]!r}; GET /cds-services lists "
                            f"them: {', '.join(SERVICES)}")
    body = _parsed(await request.body())
    return await run_in_threadpool(_cards, request, body, service.hook)


def _cards(request: Request, body: Any, hook: str) -> CardsResponse:
    orders = read_call(body, hook)
    web = services(request)

    def answer(question: str) -> Article:
        web.ask_limiter.hit(client_address(request), "questions")
        return web.asks.answer(question, Audience.CLINICIAN, None, None)

    return cards_for(orders, _findings(request), answer, Vocabulary.load(web.settings),
                     str(request.base_url))


def _findings(request: Request) -> Findings:
    """One set of findings (and its cache) per app, made on the first hook call."""
    state = request.app.state
    with _findings_lock:
        findings = getattr(state, "cds_findings", None)
        if findings is None:
            findings = state.cds_findings = Findings(services(request).store)
    return findings


def _parsed(raw: bytes) -> Any:
    if not raw.strip():
        raise CdsRequestError("the request has no body: send the CDS Hooks request as JSON")
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise CdsRequestError("the request body is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise CdsRequestError(f"the request body is not valid JSON: {exc.msg} at line "
                              f"{exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise CdsRequestError("the request body's JSON is nested too deeply to read") from None
    except ValueError:  # a number with more digits than Python converts
        raise CdsRequestError("the request body has a number with too many digits to read") from None
