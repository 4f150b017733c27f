"""Load benchmark: the web app under concurrent clients, stored article pages vs fresh questions.

Run: .venv/bin/python bench/load/run.py [--duration 60] [--clients 20] [--workers 2]

Needs MEDCITE_HOME set to a home with an ingested corpus (for example after `medcite corpus demo`).
The store is copied to a temporary home first, so the articles the run creates do not stay. The
server is `uvicorn` serving medcite's app in a subprocess on a free 127.0.0.1 port, with the ask
rate limit lifted (every client shares one address). After a warm-up that asks a few questions,
two phases run for --duration seconds each:

  pages: every client fetches the stored article pages, round robin (GET /articles/{slug});
  ask:   every client asks questions never asked before (POST /api/v1/ask), taken in order from
         MedicationQA, then K-QA and MedQuAD (shared data), each question once.

The load comes from wrk (Debian package ``wrk``; a C client, so the server keeps the cores) with
bench/load/wrk.lua, or, where wrk is not installed, from an httpx async client in this process
(``--client httpx``), which takes a good share of a small machine's CPU itself. Requests go only
to 127.0.0.1 and are bounded by time (and, for httpx, by --max-requests per phase).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import secrets
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.common import machine, percentile, shared_data  # noqa: E402
from medcite.review.articles import normalise_question  # noqa: E402
from medcite.settings import Settings  # noqa: E402

WARM_UP_QUESTIONS = 5
REQUEST_TIMEOUT_S = 120.0
STARTUP_TIMEOUT_S = 120.0
WRK_THREADS = 2
# Fresh questions, in this order: (file under shared data, the question's field).
QUESTION_SOURCES = (("medicationqa/medicationqa.jsonl", "question"),
                    ("k_qa/questions.jsonl", "Question"),
                    ("medquad/medquad_answered.jsonl", "question"))


@dataclass
class Phase:
    name: str
    clients: int
    latencies_ms: list[float] = field(default_factory=list)  # httpx: every successful request
    errors: int = 0
    elapsed_s: float = 0.0
    measured: dict[str, float] = field(default_factory=dict)  # wrk: its own counts and percentiles

    @property
    def requests(self) -> int:
        return int(self.measured["requests"]) if self.measured else len(self.latencies_ms) + self.errors

    def ms(self, q: int) -> str:
        if self.measured:
            return f"{self.measured[f'p{q}_ms']:,.1f}"
        return f"{percentile(self.latencies_ms, q):,.1f}" if self.latencies_ms else "—"

    def row(self) -> str:
        rate = (self.requests - self.errors) / self.elapsed_s if self.elapsed_s else 0.0
        return (f"| {self.name} | {self.clients} | {self.requests:,} | {self.errors:,} | "
                f"{rate:,.1f} | {self.ms(50)} | {self.ms(95)} | {self.ms(99)} |")


def questions(data: Path) -> list[str]:
    """Real questions, each normalised form once, in source order."""
    seen: set[str] = set()
    found = []
    for name, key in QUESTION_SOURCES:
        for line in (data / name).read_text(encoding="utf-8").splitlines():
            question = " ".join(json.loads(line)[key].split())
            normalised = normalise_question(question)
            if question and normalised not in seen and len(question) <= 2000:
                seen.add(normalised)
                found.append(question)
    return found


def copy_home(source: Path, target: Path) -> None:
    """A consistent copy of the store (SQLite backup) plus the files beside it; the download
    cache is linked, not copied."""
    for item in source.iterdir():
        if item.name == "cache":
            (target / "cache").symlink_to(item.resolve())
        elif item.name.startswith("medcite.sqlite"):
            continue
        elif item.is_dir():
            shutil.copytree(item, target / item.name)
        else:
            shutil.copy2(item, target / item.name)
    with sqlite3.connect(source / "medcite.sqlite") as src, \
            sqlite3.connect(target / "medcite.sqlite") as dst:
        src.backup(dst)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(home: Path, port: int, workers: int = 1) -> subprocess.Popen:
    env = {**os.environ, "MEDCITE_HOME": str(home), "MEDCITE_STORE_URL": "",
           "MEDCITE_ASK_RATE_LIMIT": "1000000000", "MEDCITE_SECRET_KEY": secrets.token_urlsafe(32)}
    return subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "medcite.web.app:create_app",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
         "--workers", str(workers)],
        env=env,
    )


def wait_until_ready(base_url: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"the server exited with status {server.returncode} before it was ready")
        try:
            if httpx.get(base_url + "/api/v1/openapi.json", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    sys.exit(f"the server was not ready after {STARTUP_TIMEOUT_S:.0f} s")


Request = tuple[str, str, dict | None]  # method, path, JSON body


async def run_phase(phase: Phase, base_url: str, next_request: Callable[[], Request | None],
                    duration_s: float, max_requests: int) -> None:
    """``phase.clients`` clients send ``next_request()`` until the time, the request budget or
    the work runs out."""
    budget = itertools.count()
    deadline = time.monotonic() + duration_s

    async def client() -> None:
        async with httpx.AsyncClient(base_url=base_url, timeout=REQUEST_TIMEOUT_S) as http:
            while time.monotonic() < deadline and next(budget) < max_requests:
                request = next_request()
                if request is None:
                    return
                method, path, body = request
                started = time.perf_counter()
                try:
                    response = await http.request(method, path, json=body)
                    ok = response.status_code < 400
                except httpx.HTTPError:
                    ok = False
                if ok:
                    phase.latencies_ms.append((time.perf_counter() - started) * 1000)
                else:
                    phase.errors += 1

    started = time.monotonic()
    await asyncio.gather(*(client() for _ in range(phase.clients)))
    phase.elapsed_s = time.monotonic() - started


def run_wrk(phase: Phase, base_url: str, mode: str, lines: list[str], duration_s: float) -> None:
    """One phase under wrk; its Lua script prints the counts and percentiles as JSON."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt", encoding="utf-8") as work:
        work.write("\n".join(lines) + "\n")
        work.flush()
        env = {**os.environ, "MEDCITE_WRK_MODE": mode, "MEDCITE_WRK_INPUT": work.name,
               "MEDCITE_WRK_THREADS": str(WRK_THREADS)}
        script = Path(__file__).with_name("wrk.lua")
        done = subprocess.run(
            ["wrk", f"-t{WRK_THREADS}", f"-c{phase.clients}", f"-d{duration_s:g}s",
             f"--timeout={REQUEST_TIMEOUT_S:g}s", "-s", str(script), base_url],
            env=env, capture_output=True, text=True, check=False)
    result = next((line.removeprefix("MEDCITE_RESULT ") for line in done.stdout.splitlines()
                   if line.startswith("MEDCITE_RESULT ")), None)
    if done.returncode != 0 or result is None:
        sys.exit(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    phase.measured = json.loads(result)
    phase.errors = int(phase.measured["errors"])
    phase.elapsed_s = phase.measured["seconds"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds per phase")
    parser.add_argument("--clients", type=int, default=20, help="concurrent clients")
    parser.add_argument("--max-requests", type=int, default=100_000, help="cap per phase")
    parser.add_argument("--workers", type=int, default=2, help="server processes (medcite serve --workers)")
    parser.add_argument("--client", choices=["wrk", "httpx"],
                        default="wrk" if shutil.which("wrk") else "httpx",
                        help="load generator (default: wrk when installed)")
    args = parser.parse_args()

    home = Settings.load().home_path
    if not (home / "medcite.sqlite").is_file():
        sys.exit(f"no store at {home}/medcite.sqlite; set MEDCITE_HOME to an ingested home")
    pool = questions(shared_data())
    warm_up, fresh = pool[:WARM_UP_QUESTIONS], pool[WARM_UP_QUESTIONS:]

    with tempfile.TemporaryDirectory(prefix="medcite-load-") as tmp:
        copy_home(home, Path(tmp))
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        server = start_server(Path(tmp), port, args.workers)
        try:
            wait_until_ready(base_url, server)
            started = time.perf_counter()
            slugs = []
            for question in warm_up:
                response = httpx.post(base_url + "/api/v1/ask", json={"question": question},
                                      timeout=REQUEST_TIMEOUT_S)
                response.raise_for_status()
                slugs.append(response.json()["slug"])
                httpx.get(f"{base_url}/articles/{slugs[-1]}", timeout=REQUEST_TIMEOUT_S)
            warm_up_s = time.perf_counter() - started

            pages = Phase("pages: GET a stored article page", args.clients)
            asks = Phase("ask: POST /api/v1/ask, a new question", args.clients)
            page_paths = [f"/articles/{slug}" for slug in slugs]
            if args.client == "wrk":
                run_wrk(pages, base_url, "pages", page_paths, args.duration)
                run_wrk(asks, base_url, "ask", [json.dumps({"question": q}) for q in fresh],
                        args.duration)
            else:
                cycle = itertools.cycle(page_paths)
                asyncio.run(run_phase(pages, base_url, lambda: ("GET", next(cycle), None),
                                      args.duration, args.max_requests))
                remaining = iter(fresh)

                def next_question() -> tuple[str, str, dict] | None:
                    question = next(remaining, None)
                    return None if question is None else ("POST", "/api/v1/ask", {"question": question})

                asyncio.run(run_phase(asks, base_url, next_question, args.duration, args.max_requests))
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()

    print(f"machine: {machine()}")
    print(f"server: uvicorn, {args.workers} worker process(es), 127.0.0.1; store copied from {home}; "
          f"warm-up: {len(warm_up)} questions asked in {warm_up_s:.1f} s")
    print(f"load generator: {args.client}; phases: {args.duration:g} s each, {args.clients} clients\n")
    print("| phase | clients | requests | errors | throughput (req/s) | p50 ms | p95 ms | p99 ms |")
    print("|---|---|---|---|---|---|---|---|")
    print(pages.row())
    print(asks.row())


if __name__ == "__main__":
    main()
