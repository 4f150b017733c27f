"""A replica killed under load loses nothing (#13 item 5).

Two ``medcite serve`` processes, each with its own home, serve one store (PostgreSQL under
MEDCITE_TEST_STORE=postgresql, else one SQLite file in WAL mode, as ``--workers`` shares it).
Client threads ask questions (some of them on both replicas at once, some as background ask
jobs), move articles round the review cycle (each move a new event, some a new version) and
read pages, spread over both replicas; one replica is SIGKILLed in the middle and the load
goes on against the other. Afterwards, through the survivor and the store:

- every response either replica sent was a success; only requests to the killed replica that
  were still open when it died (or sent to it after) failed, and only with a broken connection;
- every acknowledged article, version, review move and ask job is there, complete;
- no question has two articles, and every article's review history is one unbroken chain that
  ends in the status it is served with (no half-written transition), as the store's audit of
  its hash-chained trail also finds.

Checked to fail: with the article row and its first version written in two transactions, with
a review event and the status it sets written in two, or with concurrent asks of one question
not serialised, the test fails (the survivor answers 404 or 409, or a question has two
articles).
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from medcite.ingest.runner import ingest_paths
from medcite.review import ArticleRepository, UserAccounts
from medcite.review.articles import normalise_question
from medcite.web.security import unicode_text
from tests.web.conftest import PASSWORD
from tests.web.live import free_port

pytestmark = pytest.mark.slow

# The kill comes once the replica to be killed has answered this many requests under the load
# (or after the longest wait), and the load goes on against the survivor for a while after it.
ANSWERED_BEFORE_KILL = 12
LONGEST_WAIT_BEFORE_KILL_S = 20.0
LOAD_AFTER_KILL_S = 5.0
REVIEWED_ARTICLES = 4  # asked before the load; two review threads cycle two each
STARTUP_TIMEOUT_S = 60.0
# The next move of the review cycle, as an editor: odd versions are rejected and revised, even
# ones approved, withdrawn and corrected; the moves to Submitted write a new version (answered
# again from the store), so versions are written under load too.
def _next_move(status: str, version: int) -> tuple[str, str]:
    return {"submitted": ("under_review", ""),
            "under_review": ("rejected", "rejected for the test") if version % 2
            else ("approved", ""),
            "rejected": ("submitted", ""), "approved": ("withdrawn", "withdrawn for the test"),
            "withdrawn": ("submitted", "corrected for the test")}[status]


def askable(question: str) -> bool:
    try:
        unicode_text(question)
    except ValueError:
        return False
    return True


def _questions(shared_data: Path, n: int) -> list[str]:
    """The first ``n`` distinct MedicationQA questions the API takes (a few hold control
    characters, refused with 422: a refusal is not what this test is about)."""
    seen, found = set(), []
    for line in (shared_data / "medicationqa" / "medicationqa.jsonl").read_text().splitlines():
        question = " ".join(json.loads(line)["question"].split())
        if (question and normalise_question(question) not in seen and len(question) < 400
                and askable(question)):
            seen.add(normalise_question(question))
            found.append(question)
            if len(found) == n:
                break
    return found


def _serve(home: Path, store_url: str) -> tuple[subprocess.Popen, str]:
    """``medcite serve`` in its own process; returns it and its base URL once it answers."""
    port = free_port()
    env = {**os.environ, "MEDCITE_HOME": str(home), "MEDCITE_STORE_URL": store_url,
           "MEDCITE_DEBUG": "", "MEDCITE_ASK_RATE_LIMIT": "1000000"}  # all clients are 127.0.0.1
    process = subprocess.Popen([sys.executable, "-m", "medcite.cli", "serve", "--port", str(port)],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while True:
        assert process.poll() is None, "medcite serve exited"
        assert time.monotonic() < deadline, f"medcite serve did not start in {STARTUP_TIMEOUT_S} s"
        try:
            if httpx.get(url + "/policy", timeout=2).status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.2)


@dataclass
class Ledger:
    """What the clients sent and what was acknowledged, shared by the load threads."""

    a: str
    b: str
    killed_at: float | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    failures: list[str] = field(default_factory=list)  # responses that should not have happened
    cut_off: int = 0  # requests to the killed replica that broke
    answered_by_b: int = 0  # acknowledgements from the replica that was killed
    articles: dict[str, list[dict]] = field(default_factory=dict)  # question -> acked articles
    moves: list[dict] = field(default_factory=list)  # acknowledged review events
    jobs: list[str] = field(default_factory=list)  # acknowledged ask job ids
    turn: itertools.count = field(default_factory=itertools.count)

    def replica(self) -> str:
        """Both replicas in turn while both run, then the survivor."""
        return self.b if self.killed_at is None and next(self.turn) % 2 else self.a

    def send(self, base: str, method: str, path: str, **kw) -> httpx.Response | None:
        """The response, or None when the killed replica broke the connection; anything else
        that goes wrong is recorded as a failure."""
        try:
            response = httpx.request(method, base + path, timeout=60, **kw)
        except httpx.TransportError as exc:
            with self.lock:
                if base == self.b and self.killed_at is not None:
                    self.cut_off += 1
                else:
                    self.failures.append(f"{method} {base}{path}: {exc!r}")
            return None
        if response.status_code >= 400:
            with self.lock:
                self.failures.append(f"{method} {base}{path}: {response.status_code} "
                                     f"{response.text[:300]}")
            return None
        if base == self.b:
            with self.lock:
                self.answered_by_b += 1
        return response


def _asker(ledger: Ledger, questions: list[str], stop: threading.Event, pinned: str | None = None,
           jobs_every: int = 0) -> None:
    for i, question in enumerate(questions):
        if stop.is_set():
            return
        base = pinned if pinned and ledger.killed_at is None else ledger.replica()
        if jobs_every and i % jobs_every == jobs_every - 1:
            started = ledger.send(base, "POST", "/api/v1/asks", json={"question": question})
            if started is not None:
                with ledger.lock:
                    ledger.jobs.append(started.json()["id"])
            continue
        answered = ledger.send(base, "POST", "/api/v1/ask", json={"question": question})
        if answered is not None:
            with ledger.lock:
                ledger.articles.setdefault(question, []).append(answered.json())


def _reviewer(ledger: Ledger, article_ids: list[str], stop: threading.Event) -> None:
    editor = ("edith", PASSWORD)
    for article_id in itertools.cycle(article_ids):
        if stop.is_set():
            return
        # The state is read from the replica about to be asked, so a move whose answer was cut
        # off with the killed replica is followed by the right next one.
        base = ledger.replica()
        current = ledger.send(base, "GET", f"/api/v1/articles/{article_id}/versions")
        if current is None:
            continue
        latest = current.json()["versions"][-1]
        to, comment = _next_move(latest["status"], latest["version"])
        moved = ledger.send(base, "POST", f"/api/v1/articles/{article_id}/review", auth=editor,
                            json={"to": to, "version": latest["version"], "comment": comment})
        if moved is not None:
            with ledger.lock:
                ledger.moves.append(moved.json())


def _reader(ledger: Ledger, stop: threading.Event) -> None:
    while not stop.is_set():
        base = ledger.replica()
        listed = ledger.send(base, "GET", "/api/v1/articles", params={"limit": 20})
        if listed is None:
            continue
        for summary in listed.json()["articles"][:3]:
            ledger.send(base, "GET", f"/articles/{summary['slug']}")
            ledger.send(base, "GET", f"/api/v1/articles/{summary['id']}/events")
        ledger.send(base, "GET", "/library", params={"q": "dose"})


def _all_articles(base: str) -> list[dict]:
    found: list[dict] = []
    while True:
        page = httpx.get(f"{base}/api/v1/articles", params={"limit": 200, "offset": len(found)},
                         timeout=60).json()["articles"]
        found += page
        if len(page) < 200:
            return found


def test_a_replica_killed_under_load_loses_nothing(store, shared_data: Path, tmp_path: Path):
    labels = shared_data / "dailymed_spl_samples"
    report = ingest_paths(store, [shared_data / "medquad" / "xml_samples",
                                  labels / "humira.xml", labels / "lipitor-orig.xml"],
                          progress=False)
    assert not report.file_errors, report.file_errors
    UserAccounts(store).add_user("edith", PASSWORD, "editor")
    questions = _questions(shared_data, 400)
    reviewed, shared, own = (questions[:REVIEWED_ARTICLES],
                             questions[REVIEWED_ARTICLES:60], questions[60:])
    process_a, a = _serve(tmp_path / "replica-a", store.location)
    process_b, b = _serve(tmp_path / "replica-b", store.location)
    ledger = Ledger(a, b)
    try:
        # Asked on both, so each replica has loaded what answering needs before the load.
        article_ids = [httpx.post(f"{base}/api/v1/ask", json={"question": q},
                                  timeout=60).json()["id"] for base, q in zip((a, b) * 2, reviewed)]
        stop = threading.Event()
        threads = [
            # The same questions in the same order, one thread on each replica: each is asked
            # on both at about the same moment.
            threading.Thread(target=_asker, args=(ledger, shared, stop, a)),
            threading.Thread(target=_asker, args=(ledger, shared, stop, b)),
            threading.Thread(target=_asker, args=(ledger, own[0::2], stop),
                             kwargs={"jobs_every": 3}),
            threading.Thread(target=_asker, args=(ledger, own[1::2], stop)),
            threading.Thread(target=_reviewer, args=(ledger, article_ids[0::2], stop)),
            threading.Thread(target=_reviewer, args=(ledger, article_ids[1::2], stop)),
            threading.Thread(target=_reader, args=(ledger, stop)),
        ]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + LONGEST_WAIT_BEFORE_KILL_S
        while ledger.answered_by_b < ANSWERED_BEFORE_KILL and time.monotonic() < deadline:
            time.sleep(0.1)
        ledger.killed_at = time.monotonic()
        process_b.send_signal(signal.SIGKILL)
        process_b.wait(timeout=10)
        time.sleep(LOAD_AFTER_KILL_S)
        stop.set()
        for thread in threads:
            thread.join(timeout=120)
        assert not any(thread.is_alive() for thread in threads), "a client thread hung"

        assert ledger.failures == []
        # The kill happened under load: the killed replica had answered, and broke requests.
        assert ledger.answered_by_b > 0 and ledger.cut_off > 0, (ledger.answered_by_b,
                                                                 ledger.cut_off)
        # Enough happened to be a test (kept low: a loaded CI machine answers slowly).
        assert sum(len(acks) for acks in ledger.articles.values()) >= 5 and len(ledger.moves) >= 2

        # No question has two articles, acknowledged or not.
        stored = _all_articles(a)
        norms = [normalise_question(x["question"]) for x in stored]
        assert len(norms) == len(set(norms)), "a question has two articles"
        by_id = {x["id"]: x for x in stored}
        for question, acks in ledger.articles.items():
            assert len({ack["id"] for ack in acks}) == 1, f"{question!r}: two articles"
            assert acks[0]["id"] in by_id, f"acknowledged article lost: {question!r}"
        # Every article is complete and its history one chain that ends in its status.
        events = {}
        for article_id, summary in by_id.items():
            got = httpx.get(f"{a}/api/v1/articles/{article_id}", timeout=60)
            assert got.status_code == 200 and got.json()["question"] == summary["question"]
            versions = httpx.get(f"{a}/api/v1/articles/{article_id}/versions",
                                 timeout=60).json()["versions"]
            history = httpx.get(f"{a}/api/v1/articles/{article_id}/events",
                                timeout=60).json()["events"]
            events[article_id] = history
            assert [v["version"] for v in versions] == \
                list(range(1, summary["current_version"] + 1))
            assert (history[0]["from_status"], history[0]["to_status"]) == (None, "submitted")
            for before, after in itertools.pairwise(history):
                assert after["from_status"] == before["to_status"], history
            for version in versions:
                its = [e for e in history if e["version"] == version["version"]]
                assert its and its[0]["to_status"] == "submitted", (version, history)
                assert its[-1]["to_status"] == version["status"], (version, history)
            assert versions[-1]["status"] == summary["status"]
        # Every acknowledged move is in its article's history.
        for move in ledger.moves:
            assert {k: move[k] for k in ("version", "from_status", "to_status")} in [
                {k: e[k] for k in ("version", "from_status", "to_status")}
                for e in events[move["article_id"]]], move
        # The store's own audit: the review events' hash chain, and each article's state
        # against its events.
        checked, problems = ArticleRepository(store).audit()
        assert checked >= len(ledger.moves) and problems == [], problems
        # Every acknowledged ask job is readable on the survivor; a finished one has its article.
        for job_id in ledger.jobs:
            job = httpx.get(f"{a}/api/v1/asks/{job_id}", timeout=60)
            assert job.status_code == 200, job.text
            if job.json()["state"] == "done":
                assert job.json()["article_id"] in by_id
    finally:
        for process in (process_a, process_b):
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=30)
