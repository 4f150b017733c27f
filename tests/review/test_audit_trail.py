"""The audit trail cannot be rewritten: raw SQL on the real store file is refused, and a rewrite
made with the triggers dropped breaks the hash chain that ``medcite verify`` checks."""

import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

import medcite.cli.answer  # noqa: F401  (registers the commands)
from medcite.cli import cli
from medcite.models import ReviewStatus
from medcite.review import ArticleRepository, ReviewWorkflow
from medcite.store import SQLiteStore, migrations
from tests.conftest import sqlite_only
from tests.review.factories import sample_article


@pytest.fixture
def approved(articles: ArticleRepository, workflow: ReviewWorkflow, people):
    """An approved v1 and a revision v2 in review, plus a second article still submitted."""
    saved = articles.save_new(sample_article())
    reviewer = next(iter(people.values()))
    workflow.move(saved.id, ReviewStatus.UNDER_REVIEW, reviewer)
    workflow.move(saved.id, ReviewStatus.APPROVED, reviewer, "checked")
    articles.save_revision(saved.id, sample_article(statement="A later sentence."), "ed")
    other = articles.save_new(sample_article("Is sertraline safe in pregnancy?"))
    return saved, other


def raw(store: SQLiteStore) -> sqlite3.Connection:
    """What an operator (or an attacker) with the file gets: a plain connection, default
    pragmas (no foreign keys, no recursive triggers)."""
    return sqlite3.connect(store.location, isolation_level=None)


def verify(location: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("MEDCITE_STORE_URL", location)
    return CliRunner().invoke(cli, ["verify"])


def snapshot(conn: sqlite3.Connection) -> list:
    return [conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()
            for table in ("articles", "article_versions", "review_events")]


def rewrites(article_id: str, other_id: str) -> list[str]:
    return [
        # the approved text, by REPLACE (deletes the old row without a delete trigger firing)
        f"INSERT OR REPLACE INTO article_versions VALUES ('{article_id}', 1, '{{}}', "
        "'2020-01-01T00:00:00+00:00', 'mallory')",
        f"REPLACE INTO article_versions VALUES ('{article_id}', 1, '{{}}', 'x', 'mallory')",
        f"INSERT INTO article_versions VALUES ('{article_id}', 1, '{{}}', 'x', 'mallory') "
        "ON CONFLICT DO UPDATE SET json = excluded.json",
        f"INSERT INTO article_versions VALUES ('{article_id}', 7, '{{}}', 'x', 'mallory')",
        "UPDATE article_versions SET json = '{}'",
        "DELETE FROM article_versions",
        # the events
        "UPDATE review_events SET actor = 'mallory' WHERE to_status = 'approved'",
        "DELETE FROM review_events WHERE to_status = 'approved'",
        "INSERT OR REPLACE INTO review_events (id, article_id, version, to_status, actor, at, "
        f"prev_hash, hash) VALUES (3, '{article_id}', 1, 'rejected', 'mallory', 'x', NULL, 'h')",
        "INSERT INTO review_events (id, article_id, version, to_status, actor, at, prev_hash, "
        f"hash) SELECT max(id) + 1, '{other_id}', 1, 'approved', 'mallory', 'x', 'forged', 'h' "
        "FROM review_events",
        # the article's review state without the event that records it
        f"UPDATE articles SET approved_version = 1 WHERE id = '{other_id}'",
        f"UPDATE articles SET status = 'approved', approved_version = 1 WHERE id = '{other_id}'",
        f"UPDATE articles SET approved_version = 2 WHERE id = '{article_id}'",
        f"UPDATE articles SET approved_version = NULL WHERE id = '{article_id}'",
        f"UPDATE articles SET question = 'Is it safe?' WHERE id = '{article_id}'",
        f"INSERT OR REPLACE INTO articles SELECT id, slug, question, question_norm, thread_id, "
        f"parent_id, current_version, 2, 'approved', created_at, updated_at FROM articles "
        f"WHERE id = '{article_id}'",
        f"INSERT INTO articles VALUES ('forged', 'forged', 'q', 'q', 'forged', NULL, 1, 1, "
        "'approved', 'x', 'x')",
        "DELETE FROM articles",
    ]


@sqlite_only
def test_every_rewrite_is_refused_by_the_database(store, approved, monkeypatch):
    saved, other = approved
    conn = raw(store)
    before = snapshot(conn)
    for sql in rewrites(saved.id, other.id):
        with pytest.raises(sqlite3.IntegrityError):
            conn.execute(sql)
        assert snapshot(conn) == before, sql
    conn.close()
    result = verify(store.location, monkeypatch)
    assert result.exit_code == 0, result.output
    assert "audit trail: 5 review events checked, hash chain intact" in result.output


def _tampered_copy(store: SQLiteStore, tmp_path: Path, *sql: str) -> str:
    """A copy of the store with the triggers dropped and ``sql`` run on it."""
    copy = tmp_path / "tampered.sqlite"
    with sqlite3.connect(store.location) as source, sqlite3.connect(copy) as target:
        source.backup(target)
    conn = sqlite3.connect(copy, isolation_level=None)
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
        conn.execute(f"DROP TRIGGER {name}")
    for statement in sql:
        conn.execute(statement)
    conn.close()
    return str(copy)


def _approval_id(store: SQLiteStore) -> int:
    return raw(store).execute("SELECT id FROM review_events WHERE to_status = 'approved'").fetchone()[0]


@sqlite_only
@pytest.mark.parametrize("tamper,reported", [
    ("UPDATE review_events SET actor = 'mallory' WHERE id = {approval}",
     "event {approval} (article {id} version 1, to approved): broken link: its content"),
    ("DELETE FROM review_events WHERE id = {approval}",
     "event {next} (article {id} version 2, to submitted): broken link: it does not follow"),
    ("UPDATE article_versions SET json = replace(json, 'Mirtazapine 15', 'Mirtazapine 150') "
     "WHERE article_id = '{id}' AND version = 1",
     "event {approval} (article {id} version 1, to approved): broken link: its content or the "
     "version text"),
    ("UPDATE articles SET status = 'approved', approved_version = 1 WHERE id = '{other}'",
     "article {other} records version 1, approved, approved version 1, but its events record "
     "version 1, submitted, approved version None"),
])
def test_a_rewrite_with_the_triggers_dropped_is_reported_by_verify(store, approved, tmp_path,
                                                                   monkeypatch, tamper, reported):
    saved, other = approved
    approval = _approval_id(store)
    names = {"approval": approval, "next": approval + 1, "id": saved.id, "other": other.id}
    copy = _tampered_copy(store, tmp_path, tamper.format(**names))
    result = verify(copy, monkeypatch)
    assert result.exit_code == 1, result.output
    assert "AUDIT " + reported.format(**names) in result.output
    assert "problem" in result.output.splitlines()[-1]
    # The original is untouched and still verifies.
    assert verify(store.location, monkeypatch).exit_code == 0


def test_an_older_store_gets_its_chain_when_it_is_upgraded(tmp_path, monkeypatch, people):
    """A store made before the chain existed: its events are chained at migration, and the
    rules hold from then on."""
    path = tmp_path / "old.sqlite"
    monkeypatch.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:5])
    old = SQLiteStore(path)
    conn = raw(old)
    conn.executescript("""
        INSERT INTO articles VALUES ('a1', 'q', 'Q?', 'q', 'a1', NULL, 1, NULL, 'under_review',
                                     '2024-01-01T00:00:00+00:00', '2024-01-01T00:00:00+00:00');
    """)
    conn.execute("INSERT INTO article_versions VALUES ('a1', 1, ?, '2024-01-01T00:00:00+00:00', "
                 "'system')", (sample_article("Q?").model_dump_json(),))
    conn.executescript("""
        INSERT INTO review_events (article_id, version, from_status, to_status, actor, comment, at)
        VALUES ('a1', 1, NULL, 'submitted', 'system', 'generated', '2024-01-01T00:00:00+00:00'),
               ('a1', 1, 'submitted', 'under_review', 'rita', '', '2024-01-02T00:00:00+00:00');
    """)
    conn.close()
    old.close()
    monkeypatch.undo()

    upgraded = SQLiteStore(path)
    hashes = raw(upgraded).execute("SELECT prev_hash, hash FROM review_events ORDER BY id").fetchall()
    assert hashes[0][0] is None and hashes[1][0] == hashes[0][1] and all(h for _, h in hashes)
    articles = ArticleRepository(upgraded)
    assert articles.audit() == (2, [])
    reviewer = next(iter(people.values()))
    ReviewWorkflow(articles).move("a1", ReviewStatus.APPROVED, reviewer)
    assert articles.audit() == (3, [])
    with pytest.raises(sqlite3.IntegrityError):
        raw(upgraded).execute("UPDATE review_events SET comment = 'x'")
    upgraded.close()
