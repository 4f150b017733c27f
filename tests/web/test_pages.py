import re

from medcite.models import Article, ReviewStatus
from medcite.review import ArticleRepository, ReviewWorkflow, User
from medcite.web.render import PENDING_BANNER
from tests.review.factories import sample_article
from tests.web.conftest import csrf_of, sign_in


def _approve(articles: ArticleRepository, article_id: str, user: User) -> None:
    workflow = ReviewWorkflow(articles)
    workflow.move(article_id, ReviewStatus.UNDER_REVIEW, user)
    workflow.move(article_id, ReviewStatus.APPROVED, user)


def test_home_has_ask_form_and_recently_approved(client, articles, article, reviewer):
    page = client.get("/")
    assert page.status_code == 200
    assert '<form method="post" action="/ask"' in page.text
    assert "No article has been approved yet." in page.text
    _approve(articles, article.id, reviewer)
    assert f'href="/articles/{article.slug}?version=1"' in client.get("/").text


def test_article_page_layout(client, article: Article):
    page = client.get(f"/articles/{article.slug}")
    assert page.status_code == 200
    html = page.text
    assert f"<h1>{article.question}</h1>" in html
    assert PENDING_BANNER in html
    assert '<li class="step-current" aria-current="step">Submitted</li>' in html
    assert '<li class="step-todo">Approved</li>' in html
    assert re.search(r"Last updated \w+ \d{1,2}, \d{4}", html)
    assert 'href="/policy">View editorial policy' in html
    assert "Which best describes you?" in html
    assert f'<h2 class="headline">{article.headline}</h2>' in html
    assert '<p class="bottom-line"><strong>No indexed source studied the two together.' in html
    assert "<h2>Evidence Review</h2>" in html and "<h3>Mirtazapine</h3>" in html
    assert '[<a href="#ref-1">1</a>, <a href="#ref-2">2</a>]' in html
    assert 'id="ref-1"' in html and 'id="ref-2"' in html
    assert "Research" in html and "Guideline" in html and "Narrative review" in html
    assert 'href="https://pubmed.ncbi.nlm.nih.gov/9/"' in html
    assert 'href="https://doi.org/10.1093/ajhp/55.16.1641"' in html
    assert "What was searched" in html and "Corpus searched: 1,200 documents" in html
    assert "Recognised drug: mirtazapine (asked as “Remeron”), in 14 documents" in html
    assert "Professional disclaimer" in html
    assert f'action="/articles/{article.slug}/follow-up"' in html
    assert "Version history" in html and "Review history" in html
    assert "Move to" not in html  # no review actions for visitors


def test_emergency_notice_comes_first_and_refusal_is_shown(client, articles):
    urgent = articles.save_new(sample_article(
        "Chest pain after taking sumatriptan?", emergency_notice="Call emergency services now."))
    html = client.get(f"/articles/{urgent.slug}").text
    assert html.index("Call emergency services now.") < html.index('class="headline"')
    refused = articles.save_new(sample_article("Best pizza in town?", refusal="Medicine only."))
    assert "Medicine only." in client.get(f"/articles/{refused.slug}").text


def test_audience_choice_is_remembered_in_a_cookie(client, article):
    chosen = client.get(f"/articles/{article.slug}", params={"audience": "patient"})
    assert chosen.status_code == 200
    cookie = chosen.headers["set-cookie"]
    assert "medcite_audience=patient" in cookie and "HttpOnly" in cookie
    assert "samesite=lax" in cookie.lower()
    assert 'value="patient" class="chosen" aria-pressed="true"' in chosen.text
    later = client.get(f"/articles/{article.slug}")
    assert 'value="patient" class="chosen" aria-pressed="true"' in later.text
    assert client.get(f"/articles/{article.slug}", params={"audience": "nobody"}).status_code == 422


def test_versions_and_history(client, articles, article, reviewer):
    _approve(articles, article.id, reviewer)
    articles.save_revision(article.id, sample_article(statement="A newer sentence."), "editor")
    latest = client.get(f"/articles/{article.slug}", params={"version": 2}).text
    assert "A newer sentence." in latest and PENDING_BANNER in latest
    assert "Approved — the approved version" in latest
    # Readers are served the approved version while the correction is in review.
    for first in (client.get(f"/articles/{article.slug}").text,
                  client.get(f"/articles/{article.slug}", params={"version": 1}).text):
        assert PENDING_BANNER not in first and "A newer sentence." not in first
        assert "A correction (version 2) is under review" in first
        assert f'href="/articles/{article.slug}?version=2">Read the correction</a>' in first
    assert client.get(f"/articles/{article.slug}", params={"version": 9}).status_code == 404


def test_unknown_article_and_page_are_404_pages(client):
    for path in ("/articles/no-such-article", "/no/such/page"):
        page = client.get(path)
        assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
        assert 'data-code="not_found"' in page.text


def test_library_lists_only_approved_and_searches(client, articles, reviewer):
    draft = articles.save_new(sample_article("Sertraline and breastfeeding?"))
    published = articles.save_new(sample_article("Lithium levels in older adults?"))
    _approve(articles, published.id, reviewer)
    html = client.get("/library").text
    assert published.question in html and draft.question not in html
    assert published.question in client.get("/library", params={"q": "LITHIUM"}).text
    assert "No approved article matches" in client.get("/library", params={"q": "sertraline"}).text


def test_policy_page(client):
    html = client.get("/policy").text
    assert "Editorial policy" in html and PENDING_BANNER in html and "advisory board" in html


def test_sign_in_review_queue_and_sign_out(client, article, reviewer):
    assert client.get("/review").status_code == 401
    failed = client.post("/login", data={"username": "rita", "password": "wrong password",
                                         "csrf_token": csrf_of(client, "/login")})
    assert failed.status_code == 401 and "invalid username or password" in failed.text
    response = sign_in(client)
    assert response.status_code == 303 and response.headers["location"] == "/review"
    queue = client.get("/review")
    assert queue.status_code == 200 and article.question in queue.text
    assert "Sign out (rita)" in queue.text
    client.post("/logout", data={"csrf_token": csrf_of(client)})
    assert client.get("/review").status_code == 401


def test_sign_in_redirects_only_to_local_paths(client, reviewer):
    token = csrf_of(client, "/login")
    for target, expected in (("/library", "/library"), ("https://evil.example/", "/review"),
                             ("//evil.example/", "/review"), ("/\\evil.example", "/review")):
        response = client.post("/login", data={"username": "rita", "password": "correct horse battery",
                                               "csrf_token": token, "next": target},
                               follow_redirects=False)
        assert response.headers["location"] == expected
        token = csrf_of(client, "/login")  # signing in rotates the token


def test_review_actions_move_the_article_and_remove_the_banner(client, article, reviewer):
    page = f"/articles/{article.slug}"
    anonymous = client.post(f"{page}/review", data={"version": "1", "to": "under_review",
                                                   "csrf_token": csrf_of(client, page)})
    assert anonymous.status_code == 401
    sign_in(client)
    html = client.get(page).text
    assert 'value="under_review"' in html and 'value="approved"' not in html
    for to in ("under_review", "approved"):
        moved = client.post(f"{page}/review", data={"version": "1", "to": to, "comment": f"ok {to}",
                                                   "csrf_token": csrf_of(client, page)},
                            follow_redirects=False)
        assert moved.status_code == 303
    html = client.get(page).text
    assert PENDING_BANNER not in html
    assert '<li class="step-current" aria-current="step">Approved</li>' in html
    for cell in ("<td>rita</td>", "<td>Under Review</td>", "<td>ok approved</td>"):
        assert cell in html
    again = client.post(f"{page}/review", data={"version": "1", "to": "approved", "csrf_token": csrf_of(client, page)})
    assert again.status_code == 409 and "cannot move from Approved to Approved" in again.text


def test_rejection_without_comment_is_refused_then_shown(client, articles, article, reviewer):
    ReviewWorkflow(articles).move(article.id, ReviewStatus.UNDER_REVIEW, reviewer)
    sign_in(client)
    page = f"/articles/{article.slug}"
    refused = client.post(f"{page}/review", data={"version": "1", "to": "rejected", "comment": " ",
                                                 "csrf_token": csrf_of(client, page)})
    assert refused.status_code == 400 and "needs a comment" in refused.text
    client.post(f"{page}/review", data={"version": "1", "to": "rejected", "comment": "cites a retracted trial",
                                       "csrf_token": csrf_of(client, page)})
    html = client.get(page).text
    assert '<li class="step-current" aria-current="step">Rejected</li>' in html
    assert PENDING_BANNER in html and "cites a retracted trial" in html


def test_api_docs_page_lists_operations(client):
    html = client.get("/api/v1/docs").text
    assert "POST /api/v1/ask" in html and "/api/v1/openapi.json" in html


def test_ask_page_refuses_an_overlong_question_before_answering(client):
    page = client.post("/ask", data={"question": "why " * 600, "csrf_token": csrf_of(client)})
    assert page.status_code == 400 and 'data-code="invalid_query"' in page.text
    assert "the limit is 2,000 characters" in page.text
