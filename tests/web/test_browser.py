"""End to end in headless Chromium: ask, switch audience, follow up, review, approve.

Runs the real pipeline on a small real corpus, served by uvicorn on 127.0.0.1. Screenshots of
each step go to test-artifacts/browser/.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from medcite.ingest.prepare import write_documents
from medcite.review import UserAccounts
from medcite.settings import Settings
from medcite.store import SQLiteStore
from tests.review.factories import QUESTION
from tests.web.conftest import PASSWORD

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
FOLLOW_UP = "What about with sertraline?"
BANNER = "p.banner"


@pytest.fixture(scope="module")
def chromium() -> str:
    path = shutil.which("chromium") or (CHROMIUM if os.access(CHROMIUM, os.X_OK) else None)
    if path is None:
        message = "Debian chromium is not installed (apt-get install chromium)"
        if os.environ.get("MEDCITE_REQUIRE_ALL") == "1":
            pytest.fail(message + "; MEDCITE_REQUIRE_ALL=1 makes this a failure", pytrace=False)
        pytest.skip(message)
    return path


@contextmanager
def serving(app) -> Iterator[str]:
    """The app under uvicorn on a free 127.0.0.1 port."""
    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def server_url(settings: Settings, store: SQLiteStore, shared_data: Path) -> Iterator[str]:
    """The app over a store holding a small real corpus."""
    try:
        import medcite.answer  # noqa: F401
        from medcite.ingest.runner import ingest_paths
    except ImportError as exc:
        pytest.fail(f"the pipeline or the ingest parsers are not importable ({exc})", pytrace=False)
    from medcite.web.app import create_app

    report = ingest_paths(store, [
        shared_data / "open_medicine_guidelines" / "guideline_sections.jsonl",
        shared_data / "medquad" / "xml_samples",
    ], progress=False)
    assert not report.failed, report.summary_lines()
    UserAccounts(store).add_user("rita", PASSWORD, "reviewer")
    with serving(create_app(settings, store)) as url:
        yield url


def test_ask_personalise_follow_up_and_approve(chromium: str, server_url: str):
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(60_000)  # the first question loads the retrieval models
            blocked: list[str] = []
            page.on("console", lambda m: blocked.append(m.text)
                    if "Content Security Policy" in m.text else None)

            def shot(name: str) -> None:
                page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

            page.goto(server_url + "/")
            shot("01-home")
            page.fill("#question", QUESTION)
            page.click("form[action='/ask'] button[type=submit]")
            page.wait_for_url("**/articles/**")
            article_path = page.url.removeprefix(server_url).split("?")[0]
            expect(page.locator("h1")).to_have_text(QUESTION)
            expect(page.locator(BANNER)).to_be_visible()
            expect(page.locator(".stepper [aria-current=step]")).to_have_text("Submitted")
            expect(page.locator("#references li").first).to_be_visible()
            shot("02-article")

            page.click("button[name=audience][value=patient]")
            page.wait_for_url("**audience=patient**")
            expect(page.locator("button[value=patient]")).to_have_attribute("aria-pressed", "true")
            page.goto(server_url + article_path)  # the choice is remembered
            expect(page.locator("button[value=patient]")).to_have_attribute("aria-pressed", "true")
            shot("03-patient")

            page.fill("#follow-up-question", FOLLOW_UP)
            page.click("form.ask-form[action$='/follow-up'] button[type=submit]")
            page.wait_for_url(lambda url: "/articles/" in url and article_path not in url)
            expect(page.locator("h1")).to_have_text(FOLLOW_UP)
            expect(page.locator(".thread")).to_contain_text(QUESTION)
            shot("04-follow-up")

            page.goto(f"{server_url}/login?next={article_path}")
            page.fill("#username", "rita")
            page.fill("#password", PASSWORD)
            page.click("form.login button[type=submit]")
            page.wait_for_url(f"**{article_path}")
            shot("05-signed-in")
            for to, label in (("under_review", "Under Review"), ("approved", "Approved")):
                page.fill("#review-comment", f"checked: {label}")
                page.click(f"button[name=to][value={to}]")
                page.wait_for_load_state()
                expect(page.locator(".stepper [aria-current=step]")).to_have_text(label)
                shot(f"06-{to}")
            expect(page.locator(BANNER)).to_have_count(0)
            expect(page.locator("#review")).to_contain_text("checked: Approved")
            shot("07-approved")
            assert blocked == []
        finally:
            browser.close()


def test_a_slow_model_shows_how_far_it_has_got(chromium: str, home: Path, store: SQLiteStore,
                                               monkeypatch: pytest.MonkeyPatch):
    """With the openai backend the ask page opens a progress page that counts the model's
    tokens (updated by medcite.js) and then opens the article."""
    from playwright.sync_api import expect, sync_playwright

    from medcite.web import pages
    from medcite.web.app import create_app
    from tests.llm.conftest import DOCUMENTS
    from tests.llm.scripted_server import ScriptedServer, completion
    from tests.llm.test_openai_backend import GOOD

    write_documents(store, DOCUMENTS)
    monkeypatch.setattr(pages, "ASK_WAIT_SECONDS", 0.1)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with ScriptedServer() as model, sync_playwright() as playwright:
        model.reply(completion(GOOD, pace=0.03))  # about five seconds of streaming
        settings = Settings.load(backend="openai", openai_base_url=model.base_url,
                                 openai_model="scripted-model")
        with serving(create_app(settings, store)) as url:
            browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page()
                page.set_default_timeout(60_000)
                page.goto(url + "/")
                page.fill("#question", QUESTION)
                page.click("form[action='/ask'] button[type=submit]")
                page.wait_for_url("**/asks/**")
                expect(page.locator(".progress-state")).to_contain_text("tokens so far")
                page.screenshot(path=str(ARTIFACTS / "10-model-writing.png"), full_page=True)
                page.wait_for_url("**/articles/**")
                expect(page.locator("h1")).to_have_text(QUESTION)
                expect(page.locator("#references li").first).to_be_visible()
                page.screenshot(path=str(ARTIFACTS / "11-model-article.png"), full_page=True)
            finally:
                browser.close()
        assert model.requests and model.requests[0]["stream"] is True
