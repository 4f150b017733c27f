"""CDS Hooks end to end: a real HTTP server on 127.0.0.1 (the medcite web app under uvicorn,
with medcite serve's options), a real store of the shared DailyMed labels and guideline
summaries, and sample requests in the specification's shape whose FHIR R4 resources are
validated by fhir.resources here too."""

from __future__ import annotations

import json
import re
import time

import pytest

from tests.cds.conftest import HUMIRA_SET_ID, LIPITOR_SET_ID, CdsServer, sample

SAMPLES = ("order-sign-atorvastatin", "order-sign-adalimumab",
           "order-select-atorvastatin-gemfibrozil")


def _unescaped(markdown: str) -> str:
    return re.sub(r"\\(.)", r"\1", markdown)


def _quotes(card: dict) -> list[str]:
    """The sentences a card quotes, as the reader sees them once its Markdown is rendered."""
    return [_unescaped(line[2:]) for line in card["detail"].split("\n") if line.startswith("> ")]


def _passage_texts(server: CdsServer, set_id: str) -> str:
    return " ".join(" ".join(p.text.split()) for p in server.store.passages_of(f"spl:{set_id}"))


def _check_card_shape(card: dict, base_url: str) -> None:
    assert set(card) >= {"uuid", "summary", "detail", "indicator", "source"}
    assert len(card["summary"]) <= 140
    assert card["indicator"] in ("info", "warning", "critical")
    assert card["source"]["label"]
    for link in card.get("links", []):
        assert link["type"] == "absolute" and link["url"].startswith(base_url + "/articles/")


@pytest.mark.parametrize("name", SAMPLES)
def test_the_sample_requests_are_valid_fhir_r4(name):
    from fhir.resources.R4B.bundle import Bundle
    from fhir.resources.R4B.patient import Patient

    request = sample(name)
    drafts = Bundle.model_validate(request["context"]["draftOrders"])
    assert any(e.resource.get_resource_type() == "MedicationRequest" for e in drafts.entry)
    Patient.model_validate(request["prefetch"]["patient"])
    Bundle.model_validate(request["prefetch"]["medications"])


def test_discovery_lists_the_medication_order_services(cds_server: CdsServer):
    response = cds_server.client.get("/cds-services")
    assert response.status_code == 200
    services = {s["id"]: s for s in response.json()["services"]}
    assert {s["hook"] for s in services.values()} == {"order-select", "order-sign"}
    for service in services.values():
        assert service["title"] and service["description"]
        assert service["prefetch"] == {
            "patient": "Patient/{{context.patientId}}",
            "medications": "MedicationRequest?patient={{context.patientId}}&status=active"}


def test_a_documented_interaction_is_a_card_citing_its_label(cds_server: CdsServer):
    response = cds_server.call("medcite-order-sign", sample("order-sign-atorvastatin"))
    assert response.status_code == 200, response.text
    cards = response.json()["cards"]
    for card in cards:
        _check_card_shape(card, cds_server.url)
    [card] = [c for c in cards if c["summary"].startswith("Atorvastatin + Clarithromycin")]
    assert card["indicator"] in ("warning", "critical")
    label = cds_server.store.document(f"spl:{LIPITOR_SET_ID}")
    assert card["source"] == {"label": f"{label.title} (Drug label)", "url": label.url}
    # Every quote is a sentence of the indexed label, word for word, naming the pair.
    texts = _passage_texts(cds_server, LIPITOR_SET_ID)
    quotes = _quotes(card)
    assert quotes and all(q in texts for q in quotes)
    assert any("clarithromycin" in q.lower() for q in quotes)
    # The link opens the medcite article that answers the question, on the same server.
    [link] = card["links"]
    assert link["label"] == "medcite: Does atorvastatin interact with clarithromycin?"
    page = cds_server.client.get(link["url"])
    assert page.status_code == 200 and "clarithromycin" in page.text.lower()
    # The active Humira order (a Medication in the search Bundle) is identified, but nothing
    # indexed names it with atorvastatin: no card pairs them, and none says "no interaction".
    assert not any("Adalimumab" in c["summary"] for c in cards)
    assert not any("no interaction" in (c["summary"] + c["detail"]).lower() for c in cards)


def test_a_boxed_warning_in_the_drugs_label_is_a_critical_card(cds_server: CdsServer):
    response = cds_server.call("medcite-order-sign", sample("order-sign-adalimumab"))
    assert response.status_code == 200, response.text
    cards = response.json()["cards"]
    [boxed] = [c for c in cards if c["summary"].startswith("Boxed warning (Adalimumab)")]
    _check_card_shape(boxed, cds_server.url)
    assert boxed["indicator"] == "critical"
    label = cds_server.store.document(f"spl:{HUMIRA_SET_ID}")
    assert boxed["source"]["url"] == label.url
    boxed_text = " ".join(" ".join(p.text.split()) for p in cds_server.store.passages_of(label.key)
                          if p.section.startswith("WARNING: SERIOUS INFECTIONS"))
    quotes = _quotes(boxed)
    assert quotes and all(q in boxed_text for q in quotes)
    assert any("serious infections" in q for q in quotes)
    assert cds_server.client.get(boxed["links"][0]["url"]).status_code == 200
    # Humira's label says "None." under contraindications: no card for that. The active
    # Lipitor order is never named with adalimumab in the store: no interaction card either.
    assert not any(c["summary"].startswith("Contraindications (Adalimumab)") for c in cards)
    assert not any("Atorvastatin" in c["summary"] for c in cards)
    assert len(cards) == 1


def test_a_pair_with_nothing_documented_gets_no_card(cds_server: CdsServer):
    request = sample("order-sign-adalimumab")
    drafts = request["context"]["draftOrders"]["entry"]
    drafts[0]["resource"]["medicationCodeableConcept"] = {"text": "metformin 500 mg tablet"}
    request["prefetch"]["medications"]["entry"][0]["resource"]["medicationCodeableConcept"] = {
        "text": "lisinopril 10 mg tablet"}
    response = cds_server.call("medcite-order-sign", request)
    assert response.status_code == 200, response.text
    assert response.json() == {"cards": []}


def test_two_drugs_named_only_as_another_drugs_co_medications_are_no_pair(cds_server: CdsServer):
    """The Lipitor label names clarithromycin and cyclosporine in one sentence, as drugs that
    raise atorvastatin's myopathy risk, and under a heading naming both: that is Lipitor's
    interaction with each, not one between them."""
    request = sample("order-sign-atorvastatin")
    request["context"]["draftOrders"]["entry"][0]["resource"]["medicationCodeableConcept"] = {
        "text": "cyclosporine 100 mg capsule"}
    response = cds_server.call("medcite-order-sign", request)
    assert response.status_code == 200, response.text
    texts = _passage_texts(cds_server, LIPITOR_SET_ID).lower()
    assert "cyclosporine" in texts and "clarithromycin" in texts
    assert not any("Clarithromycin" in c["summary"] for c in response.json()["cards"])


def test_order_select_checks_the_selected_order_against_the_other_drafts(cds_server: CdsServer):
    response = cds_server.call("medcite-order-select", sample("order-select-atorvastatin-gemfibrozil"))
    assert response.status_code == 200, response.text
    cards = response.json()["cards"]
    summaries = [c["summary"] for c in cards]
    # The selected order names its drug by FDA UNII code only.
    [pair] = [c for c in cards if c["summary"].startswith("Atorvastatin + Gemfibrozil")]
    assert pair["indicator"] in ("warning", "critical")
    assert all(q in _passage_texts(cds_server, LIPITOR_SET_ID) for q in _quotes(pair))
    assert any(s.startswith("Contraindications (Atorvastatin)") for s in summaries)
    # Humira is a draft but not selected: no boxed-warning card for it now.
    assert not any("Adalimumab" in s for s in summaries)


def test_the_ingredients_of_one_combination_product_are_no_pair(cds_server: CdsServer):
    request = sample("order-sign-atorvastatin")
    draft = request["context"]["draftOrders"]["entry"][0]["resource"]
    draft["medicationCodeableConcept"] = {"text": "atorvastatin and clarithromycin (test combination)"}
    request["prefetch"]["medications"]["entry"] = []
    cards = cds_server.call("medcite-order-sign", request).json()["cards"]
    assert not any(" + " in c["summary"] for c in cards)
    # Each ingredient is still checked against its own label.
    assert any(c["summary"].startswith("Contraindications (Atorvastatin)") for c in cards)
    # Ordered apart, the two are a pair.
    request["prefetch"]["medications"]["entry"] = sample("order-sign-atorvastatin")[
        "prefetch"]["medications"]["entry"][:1]
    draft["medicationCodeableConcept"] = {"text": "atorvastatin 40 mg"}
    cards = cds_server.call("medcite-order-sign", request).json()["cards"]
    assert any(c["summary"].startswith("Atorvastatin + Clarithromycin") for c in cards)


def test_a_draft_names_its_drug_through_a_medication_it_references(cds_server: CdsServer):
    request = sample("order-sign-atorvastatin")
    entries = request["context"]["draftOrders"]["entry"]
    draft = entries[0]["resource"]
    del draft["medicationCodeableConcept"]
    draft["medicationReference"] = {"reference": "Medication/med-lipitor"}
    entries.append({"resource": {"resourceType": "Medication", "id": "med-lipitor",
                                 "code": {"coding": [{"system": "http://fdasis.nlm.nih.gov",
                                                      "code": "A0JWA85V8F"}]}}})
    cards = cds_server.call("medcite-order-sign", request).json()["cards"]
    assert any(c["summary"].startswith("Atorvastatin + Clarithromycin") for c in cards)
    # ... or a contained one.
    entries.pop()
    draft["contained"] = [{"resourceType": "Medication", "id": "m1",
                           "code": {"text": "LIPITOR 40 mg"}}]
    draft["medicationReference"] = {"reference": "#m1"}
    cards = cds_server.call("medcite-order-sign", request).json()["cards"]
    assert any(c["summary"].startswith("Atorvastatin + Clarithromycin") for c in cards)


def test_an_order_medcite_cannot_name_is_said_to_be_unchecked(cds_server: CdsServer):
    request = sample("order-sign-adalimumab")
    request["context"]["draftOrders"]["entry"][0]["resource"]["medicationCodeableConcept"] = {
        "coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "99999999"}]}
    response = cds_server.call("medcite-order-sign", request)
    [card] = response.json()["cards"]
    assert card["indicator"] == "info" and "not checked" in card["summary"]
    assert "MedicationRequest/draft-humira" in _unescaped(card["detail"])


def test_hostile_text_in_fhir_fields_is_data(cds_server: CdsServer):
    request = sample("order-sign-atorvastatin")
    hostile = ('<script>alert(1)</script> atorvastatin [click](javascript:alert(1)) '
               '{{context.patientId}} "; DROP TABLE passages; --')
    draft = request["context"]["draftOrders"]["entry"][0]["resource"]
    draft["medicationCodeableConcept"] = {"text": hostile}
    draft["note"] = [{"text": "<img src=x onerror=alert(1)>"}]
    response = cds_server.call("medcite-order-sign", request)
    assert response.status_code == 200, response.text
    assert any(c["summary"].startswith("Atorvastatin + Clarithromycin") for c in response.json()["cards"])
    for marker in ("<script", "javascript:", "onerror", "DROP TABLE"):
        assert marker not in response.text
    assert cds_server.store.stats().passages > 0  # the store answered and is whole


def test_a_repeated_hook_is_answered_from_the_cache(cds_server: CdsServer):
    request = sample("order-sign-atorvastatin")
    request["context"]["draftOrders"]["entry"][0]["resource"]["medicationCodeableConcept"] = {
        "text": "digoxin 0.125 mg tablet"}
    request["prefetch"]["medications"]["entry"][0]["resource"]["medicationCodeableConcept"] = {
        "text": "Lipitor 80 mg"}
    started = time.perf_counter()
    first = cds_server.call("medcite-order-sign", request)
    cold = time.perf_counter() - started
    started = time.perf_counter()
    second = cds_server.call("medcite-order-sign", request)
    warm = time.perf_counter() - started
    assert first.status_code == second.status_code == 200
    strip = lambda cards: [{k: v for k, v in c.items() if k != "uuid"} for c in cards]  # noqa: E731
    assert strip(first.json()["cards"]) == strip(second.json()["cards"])
    assert any(c["summary"].startswith("Atorvastatin + Digoxin") or c["summary"].startswith(
        "Digoxin + Atorvastatin") for c in first.json()["cards"])
    print(f"order-sign, 1 draft x 2 active: cold {cold * 1000:.0f} ms, warm {warm * 1000:.0f} ms")
    assert warm < 1.0 and warm <= cold


# -- bad input ----------------------------------------------------------------------------------


def _without(path: tuple, request: dict) -> dict:
    target = request
    for part in path[:-1]:
        target = target[part]
    del target[path[-1]]
    return request


def _with(path: tuple, value, request: dict) -> dict:
    target = request
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return request


DRAFT = ("context", "draftOrders", "entry", 0, "resource")
ACTIVE = ("prefetch", "medications", "entry", 0, "resource")
BAD_CALLS = [
    # (what, how the sample is spoiled, status, code, words the message must have)
    ("a Patient where a MedicationRequest is expected",
     lambda r: _with(DRAFT, {"resourceType": "Patient", "id": "x"}, r), 400, "invalid_cds_request",
     ["context.draftOrders.entry[0].resource", "Patient", "MedicationRequest"]),
    ("a Patient among the active medications",
     lambda r: _with(ACTIVE, {"resourceType": "Patient", "id": "pat-1288992"}, r), 400,
     "invalid_cds_request", ["prefetch.medications.entry[0].resource", "Patient"]),
    ("a MedicationRequest as the prefetched patient",
     lambda r: _with(("prefetch", "patient"), r["prefetch"]["medications"]["entry"][0]["resource"], r),
     400, "invalid_cds_request", ["prefetch.patient", "MedicationRequest", "Patient expected"]),
    ("draftOrders that is not a Bundle",
     lambda r: _with(("context", "draftOrders"), r["context"]["draftOrders"]["entry"][0]["resource"], r),
     400, "invalid_cds_request", ["context.draftOrders", "Bundle"]),
    ("no context", lambda r: _without(("context",), r), 400, "invalid_cds_request", ["context"]),
    ("no patientId", lambda r: _without(("context", "patientId"), r), 400, "invalid_cds_request",
     ["context.patientId"]),
    ("no draftOrders", lambda r: _without(("context", "draftOrders"), r), 400, "invalid_cds_request",
     ["context.draftOrders"]),
    ("no hookInstance", lambda r: _without(("hookInstance",), r), 400, "invalid_cds_request",
     ["hookInstance"]),
    ("a misspelt field", lambda r: _with(("prefech",), {}, r), 400, "invalid_cds_request", ["prefech"]),
    ("the other hook", lambda r: _with(("hook",), "order-select", r), 400, "invalid_cds_request",
     ["order-select", "order-sign"]),
    ("a MedicationRequest without intent (FHIR R4 requires it)",
     lambda r: _without(DRAFT + ("intent",), r), 400, "invalid_cds_request",
     ["not a valid FHIR R4 Bundle", "context.draftOrders.entry[0].resource.intent"]),
    ("a date FHIR does not accept", lambda r: _with(DRAFT + ("authoredOn",), "yesterday", r), 400,
     "invalid_cds_request", ["authoredOn"]),
    ("a medication that is a string, not a CodeableConcept",
     lambda r: _with(DRAFT + ("medicationCodeableConcept",), "atorvastatin", r), 400,
     "invalid_cds_request", ["medicationCodeableConcept"]),
    ("an element FHIR does not define", lambda r: _with(DRAFT + ("dose",), "40 mg", r), 400,
     "invalid_cds_request", ["entry[0].resource.dose"]),
    ("an unknown resourceType", lambda r: _with(DRAFT + ("resourceType",), "Prescription", r), 400,
     "invalid_cds_request", ["Prescription"]),
    ("an order for another patient",
     lambda r: _with(DRAFT + ("subject",), {"reference": "Patient/someone-else"}, r), 400,
     "invalid_cds_request", ["someone-else", "pat-1288992"]),
    ("a prefetched patient who is not the context's",
     lambda r: _with(("prefetch", "patient", "id"), "pat-2", r), 400, "invalid_cds_request",
     ["Patient/pat-2", "context.patientId"]),
    ("no prefetch", lambda r: _without(("prefetch",), r), 412, "prefetch_missing",
     ["prefetch.medications", "MedicationRequest?patient={{context.patientId}}&status=active"]),
    ("a prefetch the client could not fill", lambda r: _with(("prefetch", "medications"), None, r),
     412, "prefetch_missing", ["prefetch.medications"]),
]


@pytest.mark.parametrize("what,spoil,status,code,words", BAD_CALLS, ids=[c[0] for c in BAD_CALLS])
def test_a_bad_call_is_refused_naming_what_is_wrong(cds_server: CdsServer, what, spoil, status,
                                                    code, words):
    response = cds_server.call("medcite-order-sign", spoil(sample("order-sign-atorvastatin")))
    message = _envelope(response, status, code)
    for word in words:
        assert word in message, (what, message)


def test_text_no_response_can_encode_is_named_not_echoed(cds_server: CdsServer):
    """A lone surrogate (valid JSON, not encodable as UTF-8) in a field name or a value is a
    400 that says where, never a 500 from a response that cannot be encoded."""
    def call(request: dict):
        return cds_server.client.post("/cds-services/medcite-order-sign",
                                      content=json.dumps(request).encode(),  # "\\ud800" escapes
                                      headers={"content-type": "application/json"})

    request = sample("order-sign-atorvastatin")
    request["context"]["draftOrders"]["entry"][0]["resource"]["\ud800note"] = "x"
    assert "entry[0].resource" in _envelope(call(request), 400, "invalid_cds_request")
    request = sample("order-sign-atorvastatin")
    request["hook"] = "order-sign\ud800"
    assert "hook" in _envelope(call(request), 400, "invalid_cds_request")
    request = sample("order-sign-atorvastatin")
    request["\ud800hook"] = "x"  # an unknown field that no message could name as it is
    _envelope(call(request), 400, "invalid_cds_request")
    request = sample("order-sign-atorvastatin")
    request["context"]["draftOrders"]["entry"][0]["resource"]["medicationCodeableConcept"] = {
        "text": "atorvastatin \ud800"}
    assert "medicationCodeableConcept.text" in _envelope(call(request), 400, "invalid_cds_request")


@pytest.mark.parametrize("body,words", [
    (b'{"hook": "order-sign", ', ["not valid JSON", "line 1"]),
    (b"", ["no body"]),
    (b"\xff\xfe{}", ["not UTF-8"]),
    (b'["order-sign"]', ["JSON array", "JSON object"]),
    (b"[" * 50_000, ["nested too deeply"]),
], ids=["truncated JSON", "empty body", "not UTF-8", "an array", "too deep"])
def test_a_body_that_is_not_a_json_object_is_refused(cds_server: CdsServer, body, words):
    response = cds_server.client.post("/cds-services/medcite-order-sign", content=body,
                                      headers={"content-type": "application/json"})
    message = _envelope(response, 400, "invalid_cds_request")
    for word in words:
        assert word in message


def test_a_body_over_the_limit_is_413_in_the_json_envelope(cds_server: CdsServer):
    request = sample("order-sign-atorvastatin")
    request["prefetch"]["patient"]["name"][0]["text"] = "x" * 70_000
    assert "64 kB" in _envelope(cds_server.call("medcite-order-sign", request), 413,
                                "request_too_large")


def test_order_select_needs_selections_that_name_its_drafts(cds_server: CdsServer):
    request = sample("order-select-atorvastatin-gemfibrozil")
    request["context"]["selections"] = ["MedicationRequest/not-a-draft"]
    message = _envelope(cds_server.call("medcite-order-select", request), 400, "invalid_cds_request")
    assert "MedicationRequest/not-a-draft" in message
    del request["context"]["selections"]
    message = _envelope(cds_server.call("medcite-order-select", request), 400, "invalid_cds_request")
    assert "context.selections" in message


def test_an_unknown_service_is_404_in_the_json_envelope(cds_server: CdsServer):
    message = _envelope(cds_server.call("drug-interactions", sample("order-sign-atorvastatin")),
                        404, "not_found")
    assert "medcite-order-sign" in message
    _envelope(cds_server.client.get("/cds-services/medcite-order-sign"), 405, "method_not_allowed")


def test_without_the_cds_extra_the_service_says_which_extra_to_install(cds_server: CdsServer,
                                                                      monkeypatch):
    import sys

    # As in an install without medcite[cds]: importing fhir.resources fails.
    for name in [m for m in sys.modules if m == "fhir" or m.startswith("fhir.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "fhir", None)
    assert cds_server.client.get("/cds-services").status_code == 200  # discovery needs no models
    message = _envelope(cds_server.call("medcite-order-sign", sample("order-sign-atorvastatin")),
                        500, "missing_dependency")
    assert "pip install 'medcite[cds]'" in message


def _envelope(response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "status"}
    assert (body["error"]["code"], body["error"]["status"]) == (code, status)
    assert "Traceback" not in response.text
    return body["error"]["message"]
