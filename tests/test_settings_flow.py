"""Settings passed in win over the environment, all the way down (#12 item 16).

The environment says one question limit and the passed ``Settings`` another; whichever way
round, the passed one decides, in ``medcite.ask``, in a searcher and in the web app. Every
environment variable medcite reads is a declared setting (``MEDCITE_DEBUG`` and
``MEDCITE_SHARED_DATA`` were read beside them, undocumented).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

import medcite
from medcite.errors import NotFoundError, QueryError
from medcite.ingest.runner import ingest_paths
from medcite.retrieval.setup import searcher_for
from medcite.settings import SETTINGS, Settings
from medcite.web.app import create_app

ROOT = Path(__file__).resolve().parents[1]
QUESTION = "What are the symptoms of anemia and how is anemia usually treated?"
SHORT, LONG = 20, 2000


@pytest.fixture
def anemia_store(store, shared_data: Path):
    """A real store: the NHLBI anemia pages of MedQuAD."""
    report = ingest_paths(store, [shared_data / "medquad" / "xml_samples" /
                                  "8_NHLBI_QA_XML__0000002.xml"], progress=False)
    assert not report.failed and report.outcome.added
    return store


def test_question_is_longer_than_the_short_limit():
    assert SHORT < len(QUESTION) < LONG


def test_passed_settings_win_over_the_environment_in_ask(anemia_store, monkeypatch):
    monkeypatch.setenv("MEDCITE_MAX_QUESTION_CHARS", str(SHORT))
    article = medcite.ask(QUESTION, store=anemia_store, save=False,
                          settings=Settings.load(max_question_chars=LONG))
    assert article.question == QUESTION and article.references

    monkeypatch.setenv("MEDCITE_MAX_QUESTION_CHARS", str(LONG))
    with pytest.raises(QueryError, match=f"the limit is {SHORT}"):
        medcite.ask(QUESTION, store=anemia_store, save=False,
                    settings=Settings.load(max_question_chars=SHORT))


def test_a_searcher_keeps_the_settings_it_was_built_with(anemia_store, monkeypatch):
    monkeypatch.setenv("MEDCITE_MAX_QUESTION_CHARS", str(SHORT))
    searcher = searcher_for(anemia_store, Settings.load(max_question_chars=LONG))
    assert searcher.search(QUESTION)

    monkeypatch.setenv("MEDCITE_MAX_QUESTION_CHARS", str(LONG))
    searcher = searcher_for(anemia_store, Settings.load(max_question_chars=SHORT))
    with pytest.raises(QueryError):
        searcher.search(QUESTION)


def test_the_web_app_uses_the_settings_it_was_created_with(anemia_store, monkeypatch):
    monkeypatch.setenv("MEDCITE_MAX_QUESTION_CHARS", str(SHORT))
    with TestClient(create_app(Settings.load(max_question_chars=LONG), anemia_store)) as client:
        answered = client.post("/api/v1/ask", json={"question": QUESTION})
    assert answered.status_code == 200, answered.text
    assert answered.json()["question"] == QUESTION

    monkeypatch.setenv("MEDCITE_MAX_QUESTION_CHARS", str(LONG))
    with TestClient(create_app(Settings.load(max_question_chars=SHORT), anemia_store)) as client:
        refused = client.post("/api/v1/ask", json={"question": QUESTION})
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"]["code"] == "invalid_query"


def _cli():
    from medcite.cli import cli
    from medcite.cli import evaluate, review  # noqa: F401  (register their commands)

    return cli


@pytest.mark.parametrize("value, raises", [("1", True), ("true", True), ("0", False),
                                           ("false", False), ("", False)])
def test_debug_is_a_declared_flag(home, value, raises):
    result = CliRunner().invoke(_cli(), ["articles", "show", "no-such-article"],
                                env={"MEDCITE_DEBUG": value})
    if raises:  # the error itself, for its traceback
        assert isinstance(result.exception, NotFoundError), result.output
    else:  # "0" used to count as on: any non-empty value did
        assert result.exit_code == NotFoundError.exit_code, result.output
        assert "error: " in result.output


def test_eval_reads_the_shared_data_setting(home, tmp_path):
    nowhere = tmp_path / "no-shared-data"
    result = CliRunner().invoke(_cli(), ["eval", "retrieval"],
                                env={"MEDCITE_SHARED_DATA": str(nowhere)})
    assert result.exit_code == 2 and str(nowhere) in result.output
    assert Settings.load(shared_data=str(nowhere)).shared_data == str(nowhere)


_ENVIRONMENT = re.compile(r"\bos\.(environ|getenv|putenv)\b|\bfrom os import\b.*\b(environ|getenv)\b"
                          r"|\bos\.environb\b")


def test_the_environment_is_read_only_in_settings():
    package = ROOT / "src" / "medcite"
    readers = [f"{path.relative_to(package)}:{n}" for path in package.rglob("*.py")
               if path.name != "settings.py" or path.parent != package
               for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
               if _ENVIRONMENT.search(line)]
    assert readers == [], "environment read outside medcite/settings.py: " + ", ".join(readers)


def test_every_setting_is_in_the_settings_table():
    table = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "docs/settings.md" in readme
    for setting in SETTINGS:
        assert re.search(rf"^\| {setting.name} \| `{setting.env}` \|", table, re.M), setting.env
