from itertools import product

import pytest

from medcite.errors import ConflictError, InputError, PermissionDeniedError
from medcite.models import ReviewStatus
from medcite.review import ArticleRepository, ReviewWorkflow, Role
from medcite.review.workflow import TRANSITIONS, check_transition, moves_for
from tests.review.factories import sample_article

S = ReviewStatus
ALLOWED_MOVES = {(S.SUBMITTED, S.UNDER_REVIEW), (S.UNDER_REVIEW, S.APPROVED),
                 (S.UNDER_REVIEW, S.REJECTED)}
# Editors and admins only, with a reason.
WITHDRAWALS = {(start, S.WITHDRAWN) for start in (S.SUBMITTED, S.UNDER_REVIEW, S.APPROVED,
                                                  S.REJECTED)}
# Editors and admins only, and only as a new version (``revise``), never by ``move``.
NEW_VERSIONS = {(S.REJECTED, S.SUBMITTED), (S.APPROVED, S.SUBMITTED), (S.WITHDRAWN, S.SUBMITTED)}


def _article_in(status: ReviewStatus, articles: ArticleRepository, workflow: ReviewWorkflow,
                admin) -> str:
    """An article whose current version has ``status``, reached by the allowed path."""
    article_id = articles.save_new(sample_article()).id
    path = {S.SUBMITTED: [], S.UNDER_REVIEW: [S.UNDER_REVIEW],
            S.APPROVED: [S.UNDER_REVIEW, S.APPROVED],
            S.REJECTED: [S.UNDER_REVIEW, S.REJECTED],
            S.WITHDRAWN: [S.UNDER_REVIEW, S.APPROVED, S.WITHDRAWN]}[status]
    for step in path:
        workflow.move(article_id, step, admin, "because")
    return article_id


def test_rule_table_is_the_documented_one():
    assert set(TRANSITIONS) == ALLOWED_MOVES | WITHDRAWALS | NEW_VERSIONS
    assert all(TRANSITIONS[move] == {Role.EDITOR, Role.ADMIN} for move in WITHDRAWALS | NEW_VERSIONS)
    assert all(TRANSITIONS[move] == set(Role) for move in ALLOWED_MOVES)


@pytest.mark.parametrize("start,to,role", list(product(S, S, Role)))
def test_every_move_for_every_role(start, to, role, articles, workflow, people):
    article_id = _article_in(start, articles, workflow, people[Role.ADMIN])
    user = people[role]
    if (start, to) in ALLOWED_MOVES:
        event = workflow.move(article_id, to, user, "checked against sources")
        assert (event.from_status, event.to_status, event.actor) == (start, to, user.username)
        assert articles.get(article_id).status is to
    elif (start, to) in WITHDRAWALS:
        if role is Role.REVIEWER:
            with pytest.raises(PermissionDeniedError, match="editor or admin"):
                workflow.move(article_id, to, user, "out of date")
            assert articles.get(article_id).status is start
        else:
            event = workflow.move(article_id, to, user, "out of date")
            assert (event.from_status, event.to_status, event.comment) == (start, to, "out of date")
            assert articles.get(article_id).status is to
            assert articles.audit()[1] == []
    elif (start, to) in NEW_VERSIONS:
        expected = (PermissionDeniedError if role is Role.REVIEWER else ConflictError)
        with pytest.raises(expected):
            workflow.move(article_id, to, user, "again")
        assert articles.get(article_id).status is start
    else:
        with pytest.raises(ConflictError) as caught:
            workflow.move(article_id, to, user, "x")
        assert start.label in str(caught.value) and to.label in str(caught.value)
        assert articles.get(article_id).status is start


def test_rejecting_needs_a_comment(articles, workflow, people):
    article_id = _article_in(S.UNDER_REVIEW, articles, workflow, people[Role.ADMIN])
    for comment in ("", "   "):
        with pytest.raises(InputError, match="comment"):
            workflow.move(article_id, S.REJECTED, people[Role.REVIEWER], comment)
    assert articles.get(article_id).status is S.UNDER_REVIEW


def test_every_move_is_recorded_and_approval_marks_the_version(articles, workflow, people):
    rita = people[Role.REVIEWER]
    article_id = articles.save_new(sample_article()).id
    workflow.move(article_id, S.UNDER_REVIEW, rita)
    workflow.move(article_id, S.APPROVED, rita, "  matches the sources ")
    events = articles.events(article_id)
    assert [(e.from_status, e.to_status, e.actor, e.version) for e in events] == [
        (None, S.SUBMITTED, "system", 1),
        (S.SUBMITTED, S.UNDER_REVIEW, rita.username, 1),
        (S.UNDER_REVIEW, S.APPROVED, rita.username, 1),
    ]
    assert events[-1].comment == "matches the sources"
    assert all(e.at is not None for e in events)
    assert articles.versions(article_id)[0].approved
    assert articles.list(S.APPROVED)[0].approved_version == 1


def test_revising_a_rejected_article(articles, workflow, people):
    article_id = _article_in(S.REJECTED, articles, workflow, people[Role.ADMIN])
    with pytest.raises(PermissionDeniedError, match="editor or admin"):
        workflow.revise(article_id, sample_article(), people[Role.REVIEWER])
    revised = workflow.revise(article_id, sample_article(statement="Corrected."),
                              people[Role.EDITOR], "added the 2023 guideline")
    assert (revised.version, revised.status) == (2, S.SUBMITTED)
    last = articles.events(article_id)[-1]
    assert (last.from_status, last.to_status, last.version, last.actor, last.comment) == (
        S.REJECTED, S.SUBMITTED, 2, people[Role.EDITOR].username, "added the 2023 guideline")
    assert articles.get(article_id, 1).status is S.REJECTED
    # A version still in review is not replaced by another (reject it first).
    with pytest.raises(ConflictError):
        workflow.revise(article_id, sample_article(), people[Role.EDITOR])


def test_moves_offered_to_each_role():
    assert moves_for(S.SUBMITTED, Role.REVIEWER) == [S.UNDER_REVIEW]
    assert moves_for(S.SUBMITTED, Role.EDITOR) == [S.UNDER_REVIEW, S.WITHDRAWN]
    assert moves_for(S.UNDER_REVIEW, Role.REVIEWER) == [S.APPROVED, S.REJECTED]
    assert moves_for(S.UNDER_REVIEW, Role.EDITOR) == [S.APPROVED, S.REJECTED, S.WITHDRAWN]
    assert moves_for(S.REJECTED, Role.ADMIN) == [S.SUBMITTED, S.WITHDRAWN]
    assert moves_for(S.REJECTED, Role.REVIEWER) == []
    assert moves_for(S.APPROVED, Role.ADMIN) == [S.SUBMITTED, S.WITHDRAWN]
    assert moves_for(S.APPROVED, Role.REVIEWER) == []
    assert moves_for(S.WITHDRAWN, Role.EDITOR) == [S.SUBMITTED]
    assert moves_for(S.WITHDRAWN, Role.REVIEWER) == []


def test_check_transition_order_conflict_then_role():
    with pytest.raises(ConflictError):
        check_transition(S.APPROVED, S.UNDER_REVIEW, Role.REVIEWER)
    with pytest.raises(ConflictError):
        check_transition(S.WITHDRAWN, S.WITHDRAWN, Role.ADMIN)
    with pytest.raises(PermissionDeniedError):
        check_transition(S.REJECTED, S.SUBMITTED, Role.REVIEWER)
    with pytest.raises(PermissionDeniedError):
        check_transition(S.APPROVED, S.SUBMITTED, Role.REVIEWER, "fixes the dose")
    # The role is checked before the reason, so a reviewer is not asked for one.
    with pytest.raises(PermissionDeniedError):
        check_transition(S.APPROVED, S.WITHDRAWN, Role.REVIEWER)
