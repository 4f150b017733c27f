"""Document text is data: hostile HTML in a source never becomes markup on a page."""

import json

import pytest

from medcite.models import Reference, SourceType
from medcite.web.render import render_html, render_markdown
from tests.review.factories import sample_article

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"


@pytest.fixture
def hostile(articles):
    article = sample_article(f"Is {SCRIPT} safe?", statement=f"Mirtazapine {SCRIPT} works {IMG}.",
                             reference_title=f"Trial {IMG} {SCRIPT}")
    article.references.append(Reference(
        number=3, document_key="medquad:1", source_type=SourceType.CONSUMER_HEALTH,
        type_label="Consumer health", title="Click me", url="javascript:alert(1)"))
    article.sections[0].subsections[0].heading = f"Sub {IMG}"
    return articles.save_new(article)


def _assert_escaped(html: str) -> None:
    assert SCRIPT not in html and IMG not in html
    assert "<img" not in html and html.count("<script") <= 1  # only the site's own script file
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert 'href="javascript:' not in html


def test_page_escapes_document_text(client, hostile):
    page = client.get(f"/articles/{hostile.slug}")
    assert page.status_code == 200
    _assert_escaped(page.text)
    assert "Click me" in page.text  # the title is shown, the unsafe URL is not a link


def test_lists_and_exports_escape_document_text(client, articles, hostile, reviewer):
    from medcite.review import ReviewWorkflow

    workflow = ReviewWorkflow(articles)
    workflow.move(hostile.id, "under_review", reviewer)
    workflow.move(hostile.id, "approved", reviewer)
    for path in ("/", "/library"):
        assert SCRIPT not in client.get(path).text
    _assert_escaped(render_html(articles.get(hostile.id)))
    markdown = render_markdown(articles.get(hostile.id))
    assert SCRIPT not in markdown and IMG not in markdown and "(javascript:" not in markdown


def test_api_returns_hostile_text_only_as_json_strings(client, hostile):
    response = client.get(f"/api/v1/articles/{hostile.id}")
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-content-type-options"] == "nosniff"
    body = response.json()
    assert body["sections"][0]["subsections"][0]["statements"][0]["text"] == (
        f"Mirtazapine {SCRIPT} works {IMG}.")
    assert json.loads(response.text)["references"][0]["title"] == f"Trial {IMG} {SCRIPT}"


def test_hostile_search_text_is_escaped(client):
    page = client.get("/library", params={"q": SCRIPT})
    assert SCRIPT not in page.text and "&lt;script&gt;" in page.text
