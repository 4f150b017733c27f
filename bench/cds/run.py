"""CDS Hooks latency: order-sign calls against a real store, over real HTTP on 127.0.0.1.

Run: .venv/bin/python bench/cds/run.py [--calls 40] [--active 5] [--seed 7]

Needs MEDCITE_HOME set to a home with an ingested corpus (for example after `medcite corpus
demo` and `medcite ingest` of the DailyMed labels). The store is copied to a temporary home
first, so the articles the hooks create do not stay. The medcite app is served by uvicorn on a
free 127.0.0.1 port in this process; each call is one order-sign hook with one draft
MedicationRequest and --active active ones, drugs drawn (seeded) from a list of commonly
co-prescribed drugs, so pairs repeat across calls as they do in a clinic. Three passes:

  cold:  every call once, in order, on a fresh server (pairs already met are cache hits);
  warm:  the same calls again (every pair and label is cached);
  fresh: the cold pass on a new server whose store already holds the articles the first one
         wrote (the per-process cache is empty, the stored answers are reused).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import socket
import sqlite3
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.common import machine, percentile  # noqa: E402
from medcite.settings import Settings  # noqa: E402
from medcite.store import open_store  # noqa: E402
from medcite.web.app import create_app  # noqa: E402

DRUGS = ("atorvastatin", "simvastatin", "clarithromycin", "gemfibrozil", "digoxin", "warfarin",
         "aspirin", "ibuprofen", "sertraline", "tramadol", "metformin", "lisinopril",
         "amlodipine", "omeprazole", "methotrexate", "adalimumab", "prednisone", "cyclosporine",
         "rifampin", "itraconazole", "colchicine", "levothyroxine", "fluoxetine", "anakinra")


def _order(ident: str, drug: str, status: str) -> dict:
    return {"resource": {"resourceType": "MedicationRequest", "id": ident, "status": status,
                         "intent": "order", "subject": {"reference": "Patient/bench"},
                         "medicationCodeableConcept": {"text": f"{drug} tablet"}}}


def hook_calls(count: int, active: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    calls = []
    for n in range(count):
        drugs = rng.sample(DRUGS, active + 1)
        calls.append({
            "hook": "order-sign", "hookInstance": f"bench-{n}",
            "context": {"userId": "Practitioner/bench", "patientId": "bench",
                        "draftOrders": {"resourceType": "Bundle", "type": "collection",
                                        "entry": [_order("draft", drugs[0], "draft")]}},
            "prefetch": {"patient": {"resourceType": "Patient", "id": "bench"},
                         "medications": {"resourceType": "Bundle", "type": "searchset",
                                         "entry": [_order(f"a{i}", d, "active")
                                                   for i, d in enumerate(drugs[1:])]}}})
    return calls


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def copy_home(source: Settings, target: Path) -> None:
    """A consistent copy of the store (SQLite backup) and the conditions learned beside it."""
    with sqlite3.connect(source.store_location) as src, \
            sqlite3.connect(target / "medcite.sqlite") as dst:
        src.backup(dst)
    learned = source.home_path / "conditions-learned.json"
    if learned.exists():
        shutil.copy2(learned, target / learned.name)


def run_pass(home: Path, cache: Path, calls: list[dict]) -> tuple[list[float], list[float], int]:
    """(cold, warm) latencies in ms on one new server, and the cards the cold pass returned."""
    # Every call comes from 127.0.0.1: the question limit is lifted, as in bench/load.
    settings = Settings.load(home=str(home), cache=str(cache), store_url="", backend="extractive",
                             ask_rate_limit=1_000_000)
    store = open_store(settings)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings, store), host="127.0.0.1",
                                           port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    cold, warm, cards = [], [], 0
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
            for timings in (cold, warm):
                for call in calls:
                    started = time.perf_counter()
                    response = client.post("/cds-services/medcite-order-sign", json=call)
                    timings.append((time.perf_counter() - started) * 1000)
                    response.raise_for_status()
                    if timings is cold:
                        cards += len(response.json()["cards"])
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        store.close()
    return cold, warm, cards


def _line(name: str, timings: list[float]) -> str:
    return (f"{name:6} p50 {percentile(timings, 50):7.0f} ms  p95 {percentile(timings, 95):7.0f} ms"
            f"  max {max(timings):7.0f} ms  (first call {timings[0]:.0f} ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=40)
    parser.add_argument("--active", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    source = Settings.load()
    with tempfile.TemporaryDirectory(prefix="medcite-cds-bench-") as tmp:
        home = Path(tmp)
        copy_home(source, home)
        calls = hook_calls(args.calls, args.active, args.seed)
        cold, warm, cards = run_pass(home, source.cache_path, calls)
        fresh, _, _ = run_pass(home, source.cache_path, calls)
    print(json.dumps({"machine": machine(), "store": source.store_location, "calls": args.calls,
                      "pairs_per_call": args.active, "cards": cards}))
    print(_line("cold", cold))
    print(_line("warm", warm))
    print(_line("fresh", fresh))


if __name__ == "__main__":
    main()
