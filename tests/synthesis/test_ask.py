"""``medcite.answer.ask`` and the CLI: saving, re-asking, follow-ups, verify."""

import json
import os
import subprocess
import sys

import pytest

from medcite.answer import ask
from medcite.models import Audience, ReviewStatus
from medcite.settings import Settings

QUESTION = "Can magnesium glycinate be used to support mirtazapine (Remeron) therapy?"


@pytest.fixture(scope="module")
def saved(clinical_store):
    return ask(QUESTION, store=clinical_store, settings=Settings.load(dense="off"))


def test_ask_saves_a_submitted_article_and_reasking_returns_it(saved, clinical_store):
    assert saved.id and saved.slug and saved.status is ReviewStatus.SUBMITTED and saved.version == 1
    again = ask(QUESTION, store=clinical_store, settings=Settings.load(dense="off"))
    assert again.id == saved.id


def test_readers_asking_a_new_question_together_get_one_article(clinical_store):
    from concurrent.futures import ThreadPoolExecutor

    question = "Does lithium interact with ibuprofen in older adults?"
    settings = Settings.load(dense="off")
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda _: ask(question, store=clinical_store, settings=settings),
                                range(4)))
    assert len({a.id for a in answers}) == 1


def test_follow_up_inherits_the_parent_entities(saved, clinical_store):
    child = ask("What about with sertraline?", follow_up_of=saved.id, store=clinical_store,
                settings=Settings.load(dense="off"))
    names = {e.name for e in child.searched.entities}
    assert {"mirtazapine", "magnesium", "sertraline"} <= names
    assert child.parent_id == saved.id and child.thread_id == saved.id


def test_the_package_level_ask_is_the_pipeline(saved, clinical_store):
    import medcite

    again = medcite.ask(QUESTION, store=clinical_store, settings=Settings.load(dense="off"))
    assert again.id == saved.id and medcite.__version__ != "0+unknown"


def test_patient_audience_from_the_api(saved, clinical_store):
    patient = ask(QUESTION, audience="patient", store=clinical_store, settings=Settings.load(dense="off"))
    assert patient.id == saved.id and patient.audience is Audience.PATIENT


def test_cli_ask_show_and_verify(saved, clinical_store, tmp_path):
    env = {**os.environ, "MEDCITE_STORE_URL": clinical_store.location, "MEDCITE_DENSE": "off"}

    def medcite(*args):
        return subprocess.run([sys.executable, "-m", "medcite.cli.__main__", *args],
                              capture_output=True, text=True, env=env)

    shown = medcite("ask", QUESTION, "--format", "json")
    assert shown.returncode == 0, shown.stderr
    article = json.loads(shown.stdout)
    assert article["id"] == saved.id and article["references"]
    text = medcite("ask", QUESTION)
    assert "EVIDENCE REVIEW" in text.stdout.upper() and "REFERENCES" in text.stdout.upper()
    assert medcite("verify", saved.id).returncode == 0

    tampered = dict(article)
    statement = next(s for sec in tampered["sections"] for sub in sec["subsections"]
                     for s in sub["statements"] if s["kind"] == "clinical")
    statement["quote"] = statement["quote"].replace("a", "the", 1) + " always"
    path = tmp_path / "tampered.json"
    path.write_text(json.dumps(tampered))
    failed = medcite("verify", str(path))
    assert failed.returncode == 1 and "FAIL" in failed.stdout
    missing = medcite("verify", "no-such-article")
    assert missing.returncode == 3 and missing.stderr.startswith("error:")
