"""The review layer on each store: its rules hold whatever the store (they sit on the contract)."""

from __future__ import annotations

import threading

import pytest

from medcite.errors import ConflictError, StaleVersionError
from medcite.models import ReviewStatus
from medcite.review.articles import ArticleRepository
from medcite.review.users import Role, User
from medcite.review.workflow import ReviewWorkflow
from medcite.store import Store

from tests.review.factories import sample_article


def test_one_article_per_question_and_one_decision_per_state(any_store: Store):
    articles = ArticleRepository(any_store)
    saved = [articles.save_answer(sample_article()) for _ in range(2)]
    assert saved[0].id == saved[1].id
    workflow = ReviewWorkflow(articles)
    rita, sam = User("rita", Role.REVIEWER), User("sam", Role.REVIEWER)
    outcomes: list[object] = []
    barrier = threading.Barrier(2)

    def start_review(user: User) -> None:
        barrier.wait()
        try:
            outcomes.append(workflow.move(saved[0].id, ReviewStatus.UNDER_REVIEW, user))
        except ConflictError as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=start_review, args=(u,)) for u in (rita, sam)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(isinstance(o, ConflictError) for o in outcomes) == 1
    workflow.move(saved[0].id, ReviewStatus.APPROVED, rita, version=1)
    editor = User("edna", Role.EDITOR)
    revised = workflow.revise(saved[0].id, sample_article(statement="Mirtazapine 15 mg daily."),
                              editor, comment="dose corrected")
    assert revised.version == 2
    with pytest.raises(StaleVersionError):
        workflow.move(saved[0].id, ReviewStatus.UNDER_REVIEW, rita, version=1)
    served = articles.get(saved[0].id, served=True)
    assert (served.version, served.correction_pending) == (1, 2)
    assert articles.find_for_question(sample_article().question).version == 1
    assert [v.approved for v in articles.versions(saved[0].id)] == [True, False]
    assert articles.audit()[1] == []
