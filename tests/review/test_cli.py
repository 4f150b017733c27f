import json

import pytest
from click.testing import CliRunner

import medcite.cli.review  # noqa: F401  (registers the commands)
from medcite.cli import cli
from medcite.models import ReviewStatus
from medcite.review import ArticleRepository
from tests.review.factories import sample_article

PASSWORD = "correct horse battery"


@pytest.fixture
def saved(store):
    return ArticleRepository(store).save_new(sample_article())


def run(*args: str, stdin: str | None = None):
    return CliRunner().invoke(cli, list(args), input=stdin)


def test_user_add_with_prompt_and_from_stdin(store):
    prompted = run("user", "add", "alice", "--role", "reviewer", stdin=f"{PASSWORD}\n{PASSWORD}\n")
    assert prompted.exit_code == 0, prompted.output
    assert "added reviewer alice" in prompted.output
    piped = run("user", "add", "bob", "--role", "editor", "--password-stdin", stdin=PASSWORD + "\n")
    assert piped.exit_code == 0 and "added editor bob" in piped.output
    short = run("user", "add", "carol", "--role", "admin", "--password-stdin", stdin="short\n")
    assert short.exit_code == 2 and "at least 8 characters" in short.output


def test_review_list_and_move(store, saved):
    run("user", "add", "alice", "--role", "reviewer", "--password-stdin", stdin=PASSWORD)
    listed = run("review", "list", "--status", "submitted")
    assert saved.id in listed.output and "Submitted" in listed.output
    moved = run("review", "move", saved.slug, "--to", "under_review", "--as", "alice",
                "--password-stdin", stdin=PASSWORD)
    assert moved.exit_code == 0, moved.output
    assert "Submitted -> Under Review by alice" in moved.output
    wrong = run("review", "move", saved.id, "--to", "approved", "--as", "alice",
                "--password-stdin", stdin="not the password")
    assert wrong.exit_code == 7 and "invalid username or password" in wrong.output
    reject = run("review", "move", saved.id, "--to", "rejected", "--as", "alice",
                 "--password-stdin", stdin=PASSWORD)
    assert reject.exit_code == 2 and "needs a comment" in reject.output
    again = run("review", "move", saved.id, "--to", "under_review", "--as", "alice",
                "--password-stdin", stdin=PASSWORD)
    assert again.exit_code == 8 and "Under Review to Under Review" in again.output
    assert ArticleRepository(store).get(saved.id).status is ReviewStatus.UNDER_REVIEW


def test_articles_list_and_show_formats(saved):
    assert saved.id in run("articles").output
    assert saved.id in run("articles", "list", "--search", "magnesium").output
    text = run("articles", "show", saved.slug).output
    assert text.startswith(saved.question) and "[1] Research. Mirtazapine, an antidepressant." in text
    markdown = run("articles", "show", saved.id, "--format", "md").output
    assert markdown.startswith("# Can magnesium") and "## References" in markdown
    assert json.loads(run("articles", "show", saved.id, "--format", "json").output)["id"] == saved.id
    html = run("articles", "show", saved.id, "--format", "html", "--audience", "patient").output
    assert html.startswith("<!doctype html>") and "pending human review" in html
    missing = run("articles", "show", "nothing-here")
    assert missing.exit_code == 3 and "no article 'nothing-here'" in missing.output


def test_review_move_refuses_a_version_no_longer_current(store, saved):
    run("user", "add", "alice", "--role", "reviewer", "--password-stdin", stdin=PASSWORD)
    stale = CliRunner().invoke(cli, ["review", "move", saved.id, "--to", "under_review", "--as",
                                     "alice", "--version", "2", "--password-stdin"],
                               input=PASSWORD)
    assert stale.exit_code == 8 and "now at version 1" in stale.output
    run("review", "move", saved.id, "--to", "under_review", "--as", "alice", "--version", "1",
        "--password-stdin", stdin=PASSWORD)
