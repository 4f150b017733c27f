"""``medcite store copy``: SQLite to PostgreSQL and back, verified by counts and a digest, and
what was copied works in the destination (search, articles, the audit trail, sign-in)."""

from __future__ import annotations

from pathlib import Path

import pytest

from medcite.errors import InputError
from medcite.ingest.prepare import write_documents
from medcite.models import Deletion, ReviewStatus
from medcite.review import ArticleRepository, ReviewWorkflow, Role, UserAccounts
from medcite.store import open_store
from medcite.store.copy import copy_store, digest_of
from tests.conftest import postgres_database
from tests.review.factories import cheap_argon2, sample_article  # noqa: F401  (autouse)
from tests.store.contract.conftest import research


def _fill(store) -> str:
    write_documents(store, [research("9", "Mirtazapine 15 to 45 mg daily was effective in major "
                                "depression."), research("2", "Weight gain was common."),
                       research("3", "Deleted later.")])
    write_documents(store, [research("2", "Weight gain and sedation were common.", revision=2),
                       Deletion(key="pmid:3")])  # ids with gaps, a flagged change later
    accounts = UserAccounts(store)
    rita = accounts.add_user("rita", "correct horse battery", Role.REVIEWER)
    edna = accounts.add_user("edna", "correct horse battery", Role.EDITOR)
    accounts.start_session(rita)
    articles = ArticleRepository(store)
    workflow = ReviewWorkflow(articles)
    first = articles.save_answer(sample_article())
    articles.save_answer(sample_article("What about sertraline?", parent_id=first.id))
    workflow.move(first.id, ReviewStatus.UNDER_REVIEW, rita)
    workflow.move(first.id, ReviewStatus.APPROVED, rita)
    workflow.revise(first.id, sample_article(statement="Mirtazapine 15 mg daily."), edna,
                    comment="dose corrected")
    other = articles.save_answer(sample_article("Is magnesium safe?"))
    workflow.withdraw(other.id, edna, "retracted")
    write_documents(store, [research("9", "Mirtazapine, revised abstract.", revision=2)])  # flags
    from medcite.review.flags import reverify_pending

    reverify_pending(store)
    store.state.put_if_absent("secret_key", "k" * 40)
    return first.id


def test_sqlite_to_postgresql_and_back(tmp_path: Path, postgres_server, home):
    from medcite.store.postgres import server

    source = open_store(tmp_path / "source.sqlite")
    name, url = postgres_database(postgres_server)
    middle = open_store(url)
    back = open_store(tmp_path / "back.sqlite")
    try:
        article_id = _fill(source)
        original = digest_of(source)
        assert original.counts["review_events"] == 7 and original.counts["article_flags"] >= 1
        assert copy_store(source, middle) == original
        assert copy_store(middle, back) == original
        for copy in (middle, back):
            articles = ArticleRepository(copy)
            assert articles.audit() == (7, [])  # the same chain, hash for hash
            served = articles.get(article_id, served=True)
            assert (served.version, served.correction_pending) == (1, 2)
            assert served.source_changes and served.verification.reverification is not None
            assert UserAccounts(copy).authenticate("rita", "correct horse battery").role is \
                Role.REVIEWER
            hits = copy.lexical_search(["sedation"], limit=5)
            assert [copy.documents([h.document_id])[h.document_id].key for h in hits] == ["pmid:2"]
            # New writes continue after the copied ids, in the copy's own sequences.
            before = {p.id for p in copy.passages_of("pmid:2")}
            write_documents(copy, [research("10", "A new record after the copy.")])
            assert copy.passages_of("pmid:10")[0].id > max(before)
        with pytest.raises(InputError, match="not empty"):
            copy_store(source, back)
    finally:
        for store in (source, middle, back):
            store.close()
        server.drop_database(postgres_server, name)
