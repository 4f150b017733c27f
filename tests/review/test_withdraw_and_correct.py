"""Withdrawing an article and correcting an approved one (#12 item 3): roles, reasons, the
review events they record, what is served meanwhile, and the audit trail's replay of both."""

import sqlite3

import pytest
from click.testing import CliRunner

import medcite.cli.answer  # noqa: F401  (registers the commands)
import medcite.cli.review  # noqa: F401
from medcite.cli import cli
from medcite.errors import ConflictError, InputError, PermissionDeniedError
from medcite.models import ReviewStatus
from medcite.review import ArticleRepository, ReviewWorkflow, Role
from medcite.store import SQLiteStore, audit, migrations
from medcite.web.render import PENDING_BANNER, render_markdown, render_text
from tests.conftest import sqlite_only
from tests.review.factories import QUESTION, sample_article

S = ReviewStatus
PASSWORD = "correct horse battery"


@pytest.fixture
def approved_id(articles: ArticleRepository, workflow: ReviewWorkflow, people) -> str:
    article_id = articles.save_new(sample_article()).id
    workflow.move(article_id, S.UNDER_REVIEW, people[Role.REVIEWER])
    workflow.move(article_id, S.APPROVED, people[Role.REVIEWER], "matches the sources")
    return article_id


def verify_cli(store: SQLiteStore, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("MEDCITE_STORE_URL", store.location)
    return CliRunner().invoke(cli, ["verify"])


# -- withdrawal ---------------------------------------------------------------------------


def test_withdrawing_needs_an_editor_and_a_reason(articles, workflow, people, approved_id):
    with pytest.raises(PermissionDeniedError, match="editor or admin"):
        workflow.withdraw(approved_id, people[Role.REVIEWER], "the dose changed")
    for reason in ("", "   "):
        with pytest.raises(InputError, match="needs a reason"):
            workflow.withdraw(approved_id, people[Role.EDITOR], reason)
    summary = articles.list(S.APPROVED)[0]
    assert (summary.status, summary.approved_version) == (S.APPROVED, 1)
    assert len(articles.events(approved_id)) == 3  # nothing was recorded


def test_a_withdrawn_article_is_recorded_and_no_longer_served(store, articles, workflow, people,
                                                               approved_id, monkeypatch):
    editor = people[Role.EDITOR]
    event = workflow.withdraw(approved_id, editor, "  the cited trial was retracted ", version=1)
    assert (event.from_status, event.to_status, event.version, event.actor, event.comment) == (
        S.APPROVED, S.WITHDRAWN, 1, editor.username, "the cited trial was retracted")
    assert articles.events(approved_id)[-1] == event

    withdrawn = articles.get(approved_id)
    assert withdrawn.status is S.WITHDRAWN
    assert withdrawn.withdrawal is not None
    assert (withdrawn.withdrawal.by, withdrawn.withdrawal.reason) == (
        editor.username, "the cited trial was retracted")
    assert articles.get(approved_id, served=True) == withdrawn  # nothing approved to serve
    summary = articles.list(S.WITHDRAWN)[0]
    assert (summary.id, summary.approved_version) == (approved_id, None)
    assert [(v.version, v.status, v.approved) for v in articles.versions(approved_id)] == [
        (1, S.WITHDRAWN, False)]

    # Not served as an answer, not in the library: asking again answers afresh.
    assert articles.library() == []
    assert articles.find_for_question(QUESTION) is None
    fresh = articles.save_answer(sample_article())
    assert fresh.id != approved_id and fresh.status is S.SUBMITTED
    assert articles.find_for_question(QUESTION).id == fresh.id

    # Every rendering opens with the withdrawal instead of an approval.
    for rendered in (render_text(withdrawn), render_markdown(withdrawn)):
        assert "Withdrawn on" in rendered and "the cited trial was retracted" in rendered
        assert PENDING_BANNER not in rendered

    # The audit trail replays it: the chain is intact and the state is the events'.
    assert articles.audit() == (5, [])
    result = verify_cli(store, monkeypatch)
    assert result.exit_code == 0, result.output
    assert "audit trail: 5 review events checked, hash chain intact" in result.output

    # A withdrawn article is not withdrawn again, nor moved back without a new version.
    with pytest.raises(ConflictError):
        workflow.withdraw(approved_id, editor, "again")
    with pytest.raises(ConflictError, match="only as a new version"):
        workflow.move(approved_id, S.SUBMITTED, editor, "back")


def test_a_withdrawn_article_comes_back_only_as_a_corrected_version(articles, workflow, people,
                                                                     approved_id):
    workflow.withdraw(approved_id, people[Role.ADMIN], "superseded by the 2023 guideline")
    with pytest.raises(PermissionDeniedError):
        workflow.revise(approved_id, sample_article(statement="Corrected."),
                        people[Role.REVIEWER], "cites the 2023 guideline")
    with pytest.raises(InputError, match="saying what it corrects"):
        workflow.revise(approved_id, sample_article(statement="Corrected."), people[Role.EDITOR])
    corrected = workflow.revise(approved_id, sample_article(statement="Corrected."),
                                people[Role.EDITOR], "cites the 2023 guideline", based_on=1)
    assert (corrected.version, corrected.status) == (2, S.SUBMITTED)
    assert articles.get(approved_id).withdrawal is None  # in review again, not withdrawn
    assert articles.find_for_question(QUESTION).version == 2
    assert articles.audit()[1] == []


def test_withdrawing_while_a_correction_is_in_review(articles, workflow, people, approved_id):
    workflow.revise(approved_id, sample_article(statement="Corrected."), people[Role.EDITOR],
                    "new dose")
    workflow.withdraw(approved_id, people[Role.EDITOR], "unsafe advice", version=2)
    summary = articles.list(S.WITHDRAWN)[0]
    assert (summary.current_version, summary.approved_version) == (2, None)
    # Whatever version is read, it says the article was withdrawn.
    for version in (1, 2, None):
        assert articles.get(approved_id, version, served=True).withdrawal.reason == "unsafe advice"
    assert articles.find_for_question(QUESTION) is None
    assert articles.audit()[1] == []


@sqlite_only
def test_the_database_refuses_a_withdrawal_without_its_event(store, articles, workflow, people,
                                                             approved_id):
    conn = sqlite3.connect(store.location, isolation_level=None)
    for sql in (f"UPDATE articles SET status = 'withdrawn', approved_version = NULL "
                f"WHERE id = '{approved_id}'",
                f"UPDATE articles SET approved_version = NULL WHERE id = '{approved_id}'"):
        with pytest.raises(sqlite3.IntegrityError):
            conn.execute(sql)
    workflow.withdraw(approved_id, people[Role.EDITOR], "retracted")
    # Nor can the withdrawn article get its approval back.
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute(f"UPDATE articles SET approved_version = 1 WHERE id = '{approved_id}'")
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute(f"UPDATE articles SET status = 'approved' WHERE id = '{approved_id}'")
    conn.close()
    assert articles.get(approved_id).status is S.WITHDRAWN


@sqlite_only
def test_verify_reports_a_withdrawal_undone_behind_the_triggers(store, articles, workflow, people,
                                                                approved_id, tmp_path,
                                                                monkeypatch):
    workflow.withdraw(approved_id, people[Role.EDITOR], "retracted")
    copy = tmp_path / "tampered.sqlite"
    with sqlite3.connect(store.location) as source, sqlite3.connect(copy) as target:
        source.backup(target)
    conn = sqlite3.connect(copy, isolation_level=None)
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
        conn.execute(f"DROP TRIGGER {name}")
    conn.execute(f"UPDATE articles SET approved_version = 1 WHERE id = '{approved_id}'")
    conn.close()
    monkeypatch.setenv("MEDCITE_STORE_URL", str(copy))
    result = CliRunner().invoke(cli, ["verify"])
    assert result.exit_code == 1, result.output
    assert (f"AUDIT article {approved_id} records version 1, withdrawn, approved version 1, but "
            "its events record version 1, withdrawn, approved version None") in result.output


def test_withdrawing_from_the_command_line(store, articles, approved_id, accounts, monkeypatch):
    accounts.add_user("edna", PASSWORD, "editor")
    accounts.add_user("rita", PASSWORD, "reviewer")
    runner = CliRunner()
    refused = runner.invoke(cli, ["review", "move", approved_id, "--to", "withdrawn", "--as",
                                  "rita", "--comment", "x", "--password-stdin"], input=PASSWORD)
    assert refused.exit_code != 0 and "editor or admin" in refused.output
    moved = runner.invoke(cli, ["review", "move", approved_id, "--to", "withdrawn", "--as", "edna",
                                "--comment", "retracted trial", "--password-stdin"],
                          input=PASSWORD)
    assert moved.exit_code == 0, moved.output
    assert "Approved -> Withdrawn by edna" in moved.output
    assert articles.get(approved_id).withdrawal.reason == "retracted trial"
    assert verify_cli(store, monkeypatch).exit_code == 0


# -- correction ---------------------------------------------------------------------------


def test_a_correction_needs_an_editor_and_says_what_it_corrects(articles, workflow, people,
                                                                approved_id):
    corrected = sample_article(statement="Mirtazapine 7.5 mg is the starting dose in older adults.")
    with pytest.raises(PermissionDeniedError, match="editor or admin"):
        workflow.revise(approved_id, corrected, people[Role.REVIEWER], "starting dose")
    with pytest.raises(InputError, match="saying what it corrects"):
        workflow.revise(approved_id, corrected, people[Role.EDITOR], "  ")
    with pytest.raises(ConflictError, match="only as a new version"):
        workflow.move(approved_id, S.SUBMITTED, people[Role.EDITOR], "starting dose")
    assert [v.version for v in articles.versions(approved_id)] == [1]


def test_the_approved_version_stays_served_until_the_correction_is_approved(
        store, articles, workflow, people, approved_id, monkeypatch):
    editor, reviewer = people[Role.EDITOR], people[Role.REVIEWER]
    text = "Mirtazapine 7.5 mg is the starting dose in older adults."
    correction = workflow.revise(approved_id, sample_article(statement=text), editor,
                                 "starting dose for older adults", based_on=1)
    assert (correction.version, correction.status) == (2, S.SUBMITTED)
    last = articles.events(approved_id)[-1]
    assert (last.from_status, last.to_status, last.version, last.actor, last.comment) == (
        S.APPROVED, S.SUBMITTED, 2, editor.username, "starting dose for older adults")

    # Readers (and askers) get version 1, saying that a correction is in review.
    served = articles.find_for_question(QUESTION)
    assert (served.version, served.status, served.correction_pending) == (1, S.APPROVED, 2)
    assert articles.get(approved_id, served=True) == served
    assert articles.get(approved_id).version == 2  # the latest, for its reviewers
    assert [a.id for a in articles.library()] == [approved_id]
    notice = "A correction (version 2) is under review; this approved version 1 is the one served"
    assert notice in render_text(served) and PENDING_BANNER not in render_text(served)
    assert articles.audit()[1] == []

    workflow.move(approved_id, S.UNDER_REVIEW, reviewer, version=2)
    assert articles.find_for_question(QUESTION).correction_pending == 2
    workflow.move(approved_id, S.APPROVED, reviewer, "the new dose is in the label", version=2)
    served = articles.find_for_question(QUESTION)
    assert (served.version, served.status, served.correction_pending) == (2, S.APPROVED, None)
    assert served.statements()[1].text == text
    assert [(v.version, v.status, v.approved) for v in articles.versions(approved_id)] == [
        (1, S.APPROVED, False), (2, S.APPROVED, True)]
    result = verify_cli(store, monkeypatch)
    assert result.exit_code == 0 and "hash chain intact" in result.output, result.output


def test_a_rejected_correction_leaves_the_approved_version_served(articles, workflow, people,
                                                                  approved_id):
    editor, reviewer = people[Role.EDITOR], people[Role.REVIEWER]
    workflow.revise(approved_id, sample_article(statement="Wrong."), editor, "typo")
    workflow.move(approved_id, S.UNDER_REVIEW, reviewer)
    workflow.move(approved_id, S.REJECTED, reviewer, "not supported by the label")
    served = articles.find_for_question(QUESTION)
    assert (served.version, served.status, served.correction_pending) == (1, S.APPROVED, None)
    assert articles.list(S.REJECTED)[0].approved_version == 1
    again = workflow.revise(approved_id, sample_article(statement="Right."), editor)
    assert again.version == 3
    assert articles.find_for_question(QUESTION).correction_pending == 3
    assert articles.audit()[1] == []


def test_an_older_store_upgrades_to_allow_withdrawal(tmp_path, monkeypatch, people):
    """A store made before withdrawal existed keeps its articles, their order and their rules,
    and learns which documents its versions cite."""
    path = tmp_path / "old.sqlite"
    monkeypatch.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:6])
    SQLiteStore(path).close()
    monkeypatch.undo()
    conn = sqlite3.connect(path, isolation_level=None)
    at = "2024-01-01T00:00:00+00:00"
    for article_id, question in (("a1", QUESTION), ("a2", "Is sertraline safe in pregnancy?")):
        conn.execute("INSERT INTO articles VALUES (?, ?, ?, ?, ?, NULL, 1, NULL, 'submitted', ?, ?)",
                     (article_id, article_id, question, question.lower(), article_id, at, at))
        stored = sample_article(question).model_copy(update={"id": article_id, "slug": article_id})
        conn.execute("INSERT INTO article_versions VALUES (?, 1, ?, ?, 'system')",
                     (article_id, stored.model_dump_json(), at))
        audit.insert_event(conn, article_id, 1, None, "submitted", "system", "generated", at)
    before = conn.execute("SELECT rowid, * FROM articles ORDER BY rowid").fetchall()

    upgraded = SQLiteStore(path)
    assert conn.execute("SELECT rowid, * FROM articles ORDER BY rowid").fetchall() == before
    assert conn.execute("SELECT article_id, document_key FROM article_citations "
                        "ORDER BY 1, 2").fetchall() == [
        ("a1", "guideline:apa/mdd"), ("a1", "pmid:9"), ("a2", "guideline:apa/mdd"),
        ("a2", "pmid:9")]
    articles, workflow = ArticleRepository(upgraded), ReviewWorkflow(ArticleRepository(upgraded))
    workflow.withdraw("a1", people[Role.EDITOR], "duplicate")
    assert articles.get("a1").status is S.WITHDRAWN
    assert articles.audit() == (3, [])
    for sql in ("DELETE FROM articles", "UPDATE articles SET status = 'approved' WHERE id = 'a2'"):
        with pytest.raises(sqlite3.IntegrityError):
            conn.execute(sql)
    conn.close()
    upgraded.close()
