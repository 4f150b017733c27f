"""A hook that has medcite answer questions counts them against the client's question limit."""

from __future__ import annotations

from pathlib import Path

import httpx

from medcite.settings import Settings
from medcite.web.app import create_app
from tests.cds.conftest import sample
from tests.web.live import serving


def test_questions_a_hook_asks_count_against_the_clients_limit(cds_store):
    settings = Settings.load(home=str(Path(cds_store.location).parent), store_url="",
                             backend="extractive", ask_rate_limit=1)
    with serving(create_app(settings, cds_store), settings) as url, \
            httpx.Client(base_url=url, timeout=60) as client:
        # A documented pair and the draft's label: two questions, one more than the limit.
        refused = client.post("/cds-services/medcite-order-sign",
                              json=sample("order-sign-atorvastatin"))
        assert refused.status_code == 429, refused.text
        assert refused.json()["error"]["code"] == "rate_limited"
        assert int(refused.headers["Retry-After"]) > 0
        # A pair nothing indexed names together, and drugs without a label: nothing is asked.
        request = sample("order-sign-adalimumab")
        request["context"]["draftOrders"]["entry"][0]["resource"]["medicationCodeableConcept"] = {
            "text": "metformin 500 mg tablet"}
        request["prefetch"]["medications"]["entry"][0]["resource"]["medicationCodeableConcept"] = {
            "text": "lisinopril 10 mg tablet"}
        answered = client.post("/cds-services/medcite-order-sign", json=request)
        assert answered.status_code == 200 and answered.json() == {"cards": []}
