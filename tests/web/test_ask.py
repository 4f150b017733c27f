"""The ask and follow-up routes run the real pipeline (medcite.answer) on a small store."""

from urllib.parse import urlsplit

import pytest

from medcite.ingest.prepare import write_documents
from medcite.models import Document, ReviewStatus, Section, SourceType
from medcite.review import ReviewWorkflow, UserAccounts
from tests.review.factories import QUESTION
from tests.web.conftest import PASSWORD, csrf_of, sign_in

DOCUMENTS = [
    Document(key="pmid:9", source_type=SourceType.RESEARCH, title="Mirtazapine, an antidepressant.",
             source="Am J Health Syst Pharm", year=1998, pmid="9", sections=[Section(
                 label="ABSTRACT", text="Mirtazapine is effective in major depression at 15 to 45 mg "
                 "daily. Somnolence, increased appetite and weight gain are common adverse effects.")]),
    Document(key="pmid:10", source_type=SourceType.RESEARCH, title="Magnesium for depression.",
             source="Nutrients", year=2020, pmid="10", sections=[Section(
                 label="RESULTS", text="Magnesium supplementation reduced depressive symptoms in a "
                 "small randomized controlled trial of adults with mild to moderate depression.")]),
    Document(key="pmid:11", source_type=SourceType.RESEARCH, title="Sertraline in depression.",
             source="Lancet", year=2018, pmid="11", sections=[Section(
                 label="RESULTS", text="Sertraline was more effective than placebo for major "
                 "depression. Nausea and diarrhoea were the most common adverse effects.")]),
]


@pytest.fixture
def pipeline(store):
    try:
        import medcite.answer  # noqa: F401
    except ImportError as exc:
        pytest.fail(f"the answer pipeline medcite.answer is not importable ({exc}); the /ask "
                    "routes call medcite.answer.ask and are not tested against a stand-in",
                    pytrace=False)
    write_documents(store, DOCUMENTS)


def _slug(location: str) -> str:
    return urlsplit(location).path.removeprefix("/articles/")


def test_ask_page_redirects_to_the_stored_article(client, pipeline, articles):
    response = client.post("/ask", data={"question": QUESTION, "audience": "patient",
                                         "csrf_token": csrf_of(client)}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].endswith("?audience=patient")
    assert "medcite_audience=patient" in response.headers["set-cookie"]
    slug = _slug(response.headers["location"])
    page = client.get(response.headers["location"])
    assert page.status_code == 200 and f"<h1>{QUESTION}</h1>" in page.text
    assert "pending human review" in page.text
    assert articles.get_by_slug(slug).question == QUESTION
    again = client.post("/ask", data={"question": QUESTION.upper(), "csrf_token": csrf_of(client)},
                        follow_redirects=False)
    assert _slug(again.headers["location"]) == slug  # the stored answer is reused


def test_follow_up_page_continues_the_thread(client, pipeline, articles):
    first = client.post("/ask", data={"question": QUESTION, "csrf_token": csrf_of(client)},
                        follow_redirects=False)
    parent = articles.get_by_slug(_slug(first.headers["location"]))
    page = f"/articles/{parent.slug}"
    follow = client.post(f"{page}/follow-up", data={"question": "What about with sertraline?",
                                                    "csrf_token": csrf_of(client, page)},
                         follow_redirects=False)
    assert follow.status_code == 303
    child = articles.get_by_slug(_slug(follow.headers["location"]))
    assert (child.parent_id, child.thread_id) == (parent.id, parent.id)
    html = client.get(follow.headers["location"]).text
    assert "This conversation" in html and parent.question in html


def test_api_ask_and_follow_up(client, pipeline):
    asked = client.post("/api/v1/ask", json={"question": QUESTION})
    assert asked.status_code == 200, asked.text
    article = asked.json()
    assert article["id"] and article["status"] == "submitted" and article["question"] == QUESTION
    follow = client.post(f"/api/v1/articles/{article['id']}/follow-up",
                         json={"question": "What about with sertraline?", "audience": "student"})
    assert follow.status_code == 200, follow.text
    assert (follow.json()["parent_id"], follow.json()["audience"]) == (article["id"], "student")
    direct = client.post("/api/v1/ask", json={"question": "And with lithium?",
                                              "follow_up_of": article["id"]})
    assert direct.json()["thread_id"] == article["thread_id"]


def test_editor_resubmits_a_rejected_article_as_a_new_version(client, pipeline, articles, store,
                                                             reviewer):
    article_id = client.post("/api/v1/ask", json={"question": QUESTION}).json()["id"]
    workflow = ReviewWorkflow(articles)
    workflow.move(article_id, ReviewStatus.UNDER_REVIEW, reviewer)
    workflow.move(article_id, ReviewStatus.REJECTED, reviewer, "misses the QT caution")
    UserAccounts(store).add_user("eddie", PASSWORD, "editor")
    sign_in(client, "eddie")
    page = f"/articles/{articles.get(article_id).slug}"
    assert "Answer again and resubmit" in client.get(page).text
    resubmitted = client.post(f"{page}/review", data={
        "to": "submitted", "version": "1", "comment": "added the label", "csrf_token": csrf_of(client, page)},
        follow_redirects=False)
    assert resubmitted.status_code == 303
    latest = articles.get(article_id)
    assert (latest.version, latest.status) == (2, ReviewStatus.SUBMITTED)
    assert articles.get(article_id, 1).status is ReviewStatus.REJECTED
    event = client.get(f"/api/v1/articles/{article_id}/events").json()["events"][-1]
    assert (event["from_status"], event["to_status"], event["actor"], event["comment"]) == (
        "rejected", "submitted", "eddie", "added the label")
