"""Review integrity over the web: decisions bound to the version read, rejected answers not
served again."""

from medcite.models import ReviewStatus
from medcite.review import ReviewWorkflow, UserAccounts
from tests.review.factories import QUESTION, sample_article
from tests.web.conftest import PASSWORD, assert_envelope, csrf_of, sign_in
from tests.web.test_ask import pipeline  # noqa: F401  (fixture)

RITA = ("rita", PASSWORD)


def _revised_meanwhile(articles, store, article, reviewer) -> None:
    """Reject v1 (under review), then an editor answers again: v2, which nobody has read."""
    workflow = ReviewWorkflow(articles)
    workflow.move(article.id, ReviewStatus.REJECTED, reviewer, "misses the QT caution")
    editor = UserAccounts(store).add_user("eddie", PASSWORD, "editor")
    workflow.revise(article.id, sample_article(statement="Revised text nobody read."), editor)
    workflow.move(article.id, ReviewStatus.UNDER_REVIEW, reviewer, version=2)


def test_a_stale_approve_form_does_not_approve_the_new_version(client, articles, store, article,
                                                               reviewer):
    ReviewWorkflow(articles).move(article.id, ReviewStatus.UNDER_REVIEW, reviewer)
    sign_in(client)
    page = f"/articles/{article.slug}"
    html = client.get(page).text
    assert '<input type="hidden" name="version" value="1">' in html
    token = csrf_of(client, page)
    _revised_meanwhile(articles, store, articles.get(article.id), reviewer)
    stale = client.post(f"{page}/review", data={"to": "approved", "version": "1",
                                               "csrf_token": token})
    assert stale.status_code == 409 and "now at version 2" in stale.text
    assert articles.get(article.id).status is ReviewStatus.UNDER_REVIEW
    assert articles.versions(article.id)[-1].approved is False
    # Read again: the form carries version 2, and approving it works.
    assert '<input type="hidden" name="version" value="2">' in client.get(page).text
    fresh = client.post(f"{page}/review", data={"to": "approved", "version": "2",
                                               "csrf_token": csrf_of(client, page)},
                        follow_redirects=False)
    assert fresh.status_code == 303
    assert articles.get(article.id).status is ReviewStatus.APPROVED


def test_the_api_refuses_a_decision_on_a_stale_or_missing_version(client, articles, store,
                                                                  article, reviewer):
    path = f"/api/v1/articles/{article.id}/review"
    assert_envelope(client.post(path, json={"to": "under_review"}, auth=RITA), 422,
                    "invalid_request")
    ReviewWorkflow(articles).move(article.id, ReviewStatus.UNDER_REVIEW, reviewer)
    _revised_meanwhile(articles, store, article, reviewer)
    stale = client.post(path, json={"to": "approved", "version": 1}, auth=RITA)
    message = assert_envelope(stale, 409, "stale_version")
    assert "version 1" in message and "now at version 2" in message
    assert articles.get(article.id).status is ReviewStatus.UNDER_REVIEW
    approved = client.post(path, json={"to": "approved", "version": 2}, auth=RITA)
    assert approved.status_code == 200 and approved.json()["version"] == 2


def test_a_rejected_article_is_not_served_and_asking_again_answers_afresh(client, pipeline,
                                                                         articles, reviewer):
    first = client.post("/api/v1/ask", json={"question": QUESTION}).json()
    workflow = ReviewWorkflow(articles)
    workflow.move(first["id"], ReviewStatus.UNDER_REVIEW, reviewer)
    workflow.move(first["id"], ReviewStatus.REJECTED, reviewer, "wrong population")
    again = client.post("/api/v1/ask", json={"question": QUESTION})
    assert again.status_code == 200, again.text
    assert again.json()["id"] != first["id"]
    assert again.json()["status"] == "submitted"
    page = client.post("/ask", data={"question": QUESTION, "csrf_token": csrf_of(client)},
                       follow_redirects=False)
    assert page.headers["location"].startswith(f"/articles/{again.json()['slug']}?")
    # The rejected article keeps its history for reviewers.
    assert articles.get(first["id"]).status is ReviewStatus.REJECTED
