"""Withdrawal and correction through the JSON API and the pages, on the real answer pipeline."""

import pytest

from medcite.ingest.prepare import write_documents
from medcite.models import ReviewStatus
from medcite.review import ReviewWorkflow, UserAccounts
from tests.review.factories import QUESTION
from tests.web.conftest import PASSWORD, assert_envelope, csrf_of, sign_in
from tests.web.test_ask import DOCUMENTS

S = ReviewStatus


@pytest.fixture
def approved(client, store, articles, reviewer):
    """A question asked through the API, its answer approved; an editor account 'eddie'."""
    write_documents(store, DOCUMENTS)
    asked = client.post("/api/v1/ask", json={"question": QUESTION})
    assert asked.status_code == 200, asked.text
    article_id = asked.json()["id"]
    workflow = ReviewWorkflow(articles)
    workflow.move(article_id, S.UNDER_REVIEW, reviewer)
    workflow.move(article_id, S.APPROVED, reviewer, "checked")
    UserAccounts(store).add_user("eddie", PASSWORD, "editor")
    return article_id


def _review(client, article_id: str, user: str, **body):
    return client.post(f"/api/v1/articles/{article_id}/review", json=body, auth=(user, PASSWORD))


def test_api_withdrawal_roles_reason_and_what_is_served(client, articles, approved):
    refused = _review(client, approved, "rita", to="withdrawn", version=1, comment="retracted")
    assert "editor or admin" in assert_envelope(refused, 403, "forbidden")
    no_reason = _review(client, approved, "eddie", to="withdrawn", version=1)
    assert "needs a reason" in assert_envelope(no_reason, 400, "invalid_input")
    done = _review(client, approved, "eddie", to="withdrawn", version=1,
                   comment="the cited dose was corrected by the journal")
    assert done.status_code == 200, done.text
    assert (done.json()["from_status"], done.json()["to_status"], done.json()["actor"]) == (
        "approved", "withdrawn", "eddie")

    body = client.get(f"/api/v1/articles/{approved}").json()
    assert body["status"] == "withdrawn"
    assert body["withdrawal"]["by"] == "eddie"
    assert body["withdrawal"]["reason"] == "the cited dose was corrected by the journal"
    events = client.get(f"/api/v1/articles/{approved}/events").json()["events"]
    assert events[-1]["comment"] == "the cited dose was corrected by the journal"

    slug = body["slug"]
    page = client.get(f"/articles/{slug}").text
    assert 'class="banner withdrawn" role="alert">Withdrawn on' in page
    assert "the cited dose was corrected by the journal" in page
    assert "pending human review" not in page
    assert QUESTION not in client.get("/library").text
    # Asking the question again answers afresh: a new article, in review.
    again = client.post("/api/v1/ask", json={"question": QUESTION}).json()
    assert again["id"] != approved and again["status"] == "submitted"
    assert articles.audit()[1] == []


def test_api_correction_keeps_the_approved_version_served_until_approved(client, articles,
                                                                         reviewer, approved):
    refused = _review(client, approved, "rita", to="submitted", version=1, comment="dose")
    assert_envelope(refused, 403, "forbidden")
    no_comment = _review(client, approved, "eddie", to="submitted", version=1)
    assert "saying what it corrects" in assert_envelope(no_comment, 400, "invalid_input")
    corrected = _review(client, approved, "eddie", to="submitted", version=1,
                        comment="answered again after the label update")
    assert corrected.status_code == 200, corrected.text
    assert (corrected.json()["from_status"], corrected.json()["to_status"],
            corrected.json()["version"]) == ("approved", "submitted", 2)

    served = client.get(f"/api/v1/articles/{approved}").json()
    assert (served["version"], served["status"], served["correction_pending"]) == (1, "approved", 2)
    latest = client.get(f"/api/v1/articles/{approved}", params={"version": 2}).json()
    assert (latest["version"], latest["status"]) == (2, "submitted")
    asked = client.post("/api/v1/ask", json={"question": QUESTION}).json()
    assert (asked["id"], asked["version"]) == (approved, 1)
    page = client.get(f"/articles/{served['slug']}").text
    assert "A correction (version 2) is under review" in page
    assert "pending human review" not in page

    # A decision on the approved version the reader saw is stale: the correction is current.
    stale = _review(client, approved, "rita", to="under_review", version=1)
    assert_envelope(stale, 409, "stale_version")
    assert _review(client, approved, "rita", to="under_review", version=2).status_code == 200
    assert _review(client, approved, "rita", to="approved", version=2,
                   comment="checked").status_code == 200
    served = client.get(f"/api/v1/articles/{approved}").json()
    assert (served["version"], served["status"], served["correction_pending"]) == (
        2, "approved", None)
    assert articles.audit()[1] == []


def test_editor_sees_withdraw_and_correct_on_an_approved_page(client, articles, approved):
    slug = articles.get(approved).slug
    page = f"/articles/{slug}"
    sign_in(client, "rita")
    assert "Withdraw</button>" not in client.get(page).text
    client.post("/logout", data={"csrf_token": csrf_of(client, page)})
    sign_in(client, "eddie")
    html = client.get(page).text
    assert "Withdraw</button>" in html and "Answer again as a correction</button>" in html
    withdrawn = client.post(f"{page}/review", data={
        "to": "withdrawn", "version": "1", "comment": "duplicate of a newer article",
        "csrf_token": csrf_of(client, page)}, follow_redirects=False)
    assert withdrawn.status_code == 303
    assert articles.get(approved).status is S.WITHDRAWN
    html = client.get(page).text
    assert "duplicate of a newer article" in html
    assert "Answer again as a correction</button>" in html and "Withdraw</button>" not in html
    queue = client.get("/review").text
    assert "Withdrawn <span" in queue and f"/articles/{slug}?version=1#review" in queue
