"""Progress while a language model writes: the request's callback, the CLI meter, the web job."""

from __future__ import annotations

import io
import time
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from medcite.cli import cli
from medcite.cli.answer import WritingMeter
from medcite.errors import NotFoundError
from medcite.models import Article, Audience
from medcite.settings import Settings
from medcite.web import pages
from medcite.web.app import create_app
from medcite.synthesis.openai_backend import FALLBACK_BACKEND
from medcite.web.asks import AskJobs, AskState
from tests.llm.conftest import QUESTION, request_for
from tests.llm.scripted_server import completion, error
from tests.llm.test_openai_backend import GOOD, backend_for
from tests.web.conftest import assert_envelope, csrf_of


def openai_settings(server) -> Settings:
    return Settings.load(backend="openai", openai_base_url=server.base_url,
                         openai_model="scripted-model", openai_timeout="20")


def test_the_request_carries_the_progress_callback(server, corpus, lexical_checker):
    seen: list[int] = []
    server.reply(completion(GOOD))
    request = request_for(corpus)
    request.progress = seen.append
    backend_for(server, lexical_checker).write(request)  # the backend itself has no callback
    assert server.requests[0]["stream"] is True
    assert len(seen) > 10 and seen == sorted(seen)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_meter_rewrites_one_line_on_a_terminal():
    screen = Terminal()
    meter = WritingMeter("qwen", screen)
    for tokens in range(1, 40):
        meter(tokens)
    meter.close()
    text = screen.getvalue()
    assert text.startswith("\rqwen is writing the article: 1 tokens")
    assert text.endswith("\n") and text.count("\n") == 1  # one line, rewritten in place
    assert "39 tokens" in text.rsplit("\r", 1)[1]


def test_the_meter_writes_plain_lines_to_a_log():
    log = io.StringIO()
    meter = WritingMeter("qwen", log)
    for tokens in range(1, 40):
        meter(tokens)
    meter.close()
    lines = log.getvalue().splitlines()
    assert "\r" not in log.getvalue() and len(lines) == 2  # the first count and the last
    assert lines[0].startswith("qwen is writing the article: 1 tokens")
    assert lines[1].startswith("qwen is writing the article: 39 tokens")


def test_cli_ask_shows_the_model_writing(server, corpus, home, monkeypatch):
    monkeypatch.setenv("MEDCITE_OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("MEDCITE_OPENAI_MODEL", "scripted-model")
    server.reply(completion(GOOD))
    result = CliRunner().invoke(cli, ["ask", QUESTION, "--backend", "openai", "--no-save",
                                      "--format", "json"], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    assert "scripted-model is writing the article:" in result.stderr
    article = Article.model_validate_json(result.stdout)
    assert article.backend in ("openai", FALLBACK_BACKEND) and article.references


def test_the_ask_page_follows_a_slow_model_to_its_article(server, corpus, monkeypatch):
    monkeypatch.setattr(pages, "ASK_WAIT_SECONDS", 0.05)
    server.reply(completion(GOOD, pace=0.015))  # about two and a half seconds of streaming
    with TestClient(create_app(openai_settings(server), corpus)) as client:
        asked = client.post("/ask", data={"question": QUESTION, "audience": "student",
                                          "csrf_token": csrf_of(client)}, follow_redirects=False)
        assert asked.status_code == 303 and asked.headers["location"].startswith("/asks/")
        job_path = asked.headers["location"]
        page = client.get(job_path, follow_redirects=False)
        assert page.status_code == 200 and QUESTION.replace("(", "") in page.text.replace("(", "")
        assert '<meta http-equiv="refresh" content="2">' in page.text  # inside <noscript>

        job_id = job_path.rsplit("/", 1)[1]
        counts = []
        deadline = time.monotonic() + 60
        while (job := client.get(f"/api/v1/asks/{job_id}").json())["state"] == "writing":
            assert time.monotonic() < deadline, job
            counts.append(job["tokens"])
            time.sleep(0.1)
        assert job["state"] == "done", job
        assert max(counts) > 0 and counts == sorted(counts)

        done = client.get(job_path, follow_redirects=False)
        assert done.status_code == 303
        assert done.headers["location"] == f"/articles/{job['article_slug']}?audience=student"
        assert client.get(done.headers["location"]).status_code == 200


def test_resubmitting_with_a_slow_model_is_followed_on_the_progress_page(server, corpus,
                                                                       monkeypatch):
    from medcite.models import ReviewStatus
    from medcite.review import ArticleRepository, ReviewWorkflow, UserAccounts
    from tests.review.factories import sample_article
    from tests.web.conftest import PASSWORD, sign_in

    monkeypatch.setattr(pages, "ASK_WAIT_SECONDS", 0.05)
    articles = ArticleRepository(corpus)
    accounts = UserAccounts(corpus)
    rita = accounts.add_user("rita", PASSWORD, "reviewer")
    accounts.add_user("eddie", PASSWORD, "editor")
    article = articles.save_new(sample_article(QUESTION))
    workflow = ReviewWorkflow(articles)
    workflow.move(article.id, ReviewStatus.UNDER_REVIEW, rita)
    workflow.move(article.id, ReviewStatus.REJECTED, rita, "misses the QT caution")

    server.reply(completion(GOOD, pace=0.01))
    with TestClient(create_app(openai_settings(server), corpus)) as client:
        sign_in(client, "eddie")
        page = f"/articles/{article.slug}"
        moved = client.post(f"{page}/review", data={"to": "submitted", "comment": "label added",
                                                    "version": str(article.version),
                                                    "csrf_token": csrf_of(client, page)},
                            follow_redirects=False)
        assert moved.status_code == 303 and moved.headers["location"].startswith("/asks/")
        job_id = moved.headers["location"].rsplit("/", 1)[1]
        deadline = time.monotonic() + 60
        while (job := client.get(f"/api/v1/asks/{job_id}").json())["state"] == "writing":
            assert time.monotonic() < deadline, job
            time.sleep(0.1)
        assert job["state"] == "done" and job["article_id"] == article.id, job
    revised = articles.get(article.id)
    assert (revised.version, revised.status) == (2, ReviewStatus.SUBMITTED)
    assert revised.backend in ("openai", FALLBACK_BACKEND) and server.requests
    assert articles.events(article.id)[-1].comment == "label added"


def test_a_failed_model_is_reported_on_the_page_and_by_the_api(server, corpus):
    server.reply(*[error(400, "context length exceeded")] * 4)  # refused in every format
    with TestClient(create_app(openai_settings(server), corpus)) as client:
        started = client.post("/api/v1/asks", json={"question": QUESTION})
        assert started.status_code == 202 and started.json()["state"] == "writing"
        job_id = started.json()["id"]
        deadline = time.monotonic() + 30
        while (job := client.get(f"/api/v1/asks/{job_id}").json())["state"] == "writing":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert job["state"] == "failed" and job["error"]["status"] == 502
        assert "context length exceeded" in job["error"]["message"]
        page = client.get(f"/asks/{job_id}")
        assert page.status_code == 502 and "context length exceeded" in page.text


def test_bad_and_unknown_asks_are_clear_errors(server, corpus):
    with TestClient(create_app(openai_settings(server), corpus)) as client:
        assert "empty" in assert_envelope(client.post("/api/v1/asks", json={"question": "  "}),
                                          400, "invalid_query")
        assert_envelope(client.get("/api/v1/asks/no-such-job"), 404, "not_found")
        assert client.get("/asks/no-such-job").status_code == 404
    assert not server.requests  # nothing reached the model


def test_a_job_whose_process_stopped_reads_as_failed(store):
    def never_called(*args):
        raise AssertionError("not started")

    jobs = AskJobs(store, never_called, stale_after=timedelta(minutes=5))
    old = (datetime.now(UTC) - timedelta(minutes=6)).isoformat()
    store.write(lambda conn: conn.execute(
        "INSERT INTO ask_jobs (id, question, audience, state, started_at, updated_at) "
        "VALUES ('lost', 'q', 'clinician', 'writing', ?, ?)", (old, old)))
    job = jobs.get("lost")
    assert job.state is AskState.FAILED and "stopped" in job.error.message
    with pytest.raises(NotFoundError):
        jobs.get("other")
    jobs.close()


def test_finished_jobs_are_pruned_after_a_day(store):
    finished: list[str] = []

    def answer(question, audience, follow_up_of, progress) -> Article:
        finished.append(question)
        return Article(question=question, slug="a", headline="h", backend="test")

    jobs = AskJobs(store, answer)
    old = (datetime.now(UTC) - timedelta(days=2)).isoformat()
    store.write(lambda conn: conn.execute(
        "INSERT INTO ask_jobs (id, question, audience, state, started_at, updated_at) "
        "VALUES ('old', 'q', 'clinician', 'done', ?, ?)", (old, old)))
    job = jobs.wait(jobs.start("new question", Audience.PATIENT).id, 10)
    assert job.state is AskState.DONE and finished == ["new question"]
    with pytest.raises(NotFoundError):
        jobs.get("old")
    jobs.close()
