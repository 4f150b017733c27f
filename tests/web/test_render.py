from datetime import UTC, datetime

from medcite.models import ReviewStatus
from medcite.web.render import (
    PENDING_BANNER,
    citation_marker,
    reference_links,
    render_html,
    render_markdown,
    render_text,
    review_steps,
)
from tests.review.factories import sample_article


def _article(**fields):
    moment = datetime(2025, 11, 28, 9, 30, tzinfo=UTC)
    return sample_article(id="abc", version=2, created_at=moment, updated_at=moment, **fields)


def test_citation_markers():
    assert (citation_marker([1]), citation_marker([2, 3]), citation_marker([])) == ("[1]", "[2, 3]", "")


def test_reference_links_from_identifiers():
    research, guideline = _article().references
    assert reference_links(research) == [
        ("PubMed", "https://pubmed.ncbi.nlm.nih.gov/9/"),
        ("DOI", "https://doi.org/10.1093/ajhp/55.16.1641"),
    ]
    label = research.model_copy(update={"pmid": None, "doi": None, "source_type": "drug_label",
                                        "spl_set_id": "abc-123", "url": None})
    assert reference_links(label) == [
        ("DailyMed", "https://dailymed.nlm.nih.gov/dailymed/drugInfo.cfm?setid=abc-123")]
    pmc = research.model_copy(update={"pmid": "not digits", "doi": None, "pmcid": "PMC3166277"})
    assert reference_links(pmc) == [("PMC", "https://www.ncbi.nlm.nih.gov/pmc/articles/PMC3166277/")]
    assert reference_links(guideline) == [("psychiatryonline.org", "https://psychiatryonline.org/guidelines")]
    with_doi = guideline.model_copy(update={"doi": "10.1/x", "url": "https://doi.org/10.1/x"})
    assert reference_links(with_doi) == [("DOI", "https://doi.org/10.1/x")]
    unsafe = guideline.model_copy(update={"url": "javascript:alert(1)"})
    assert reference_links(unsafe) == []
    # A record whose own URL is its PubMed page shows that link once.
    own_page = research.model_copy(update={"doi": None, "url": "http://www.pubmed.ncbi.nlm.nih.gov/9"})
    assert reference_links(own_page) == [("PubMed", "https://pubmed.ncbi.nlm.nih.gov/9/")]


def test_review_steps():
    assert review_steps(ReviewStatus.UNDER_REVIEW) == [
        ("Submitted", "done"), ("Under Review", "current"), ("Approved", "todo")]
    assert review_steps(ReviewStatus.REJECTED)[-1] == ("Rejected", "current")


def test_markdown():
    markdown = render_markdown(_article())
    assert markdown.startswith(
        "# Can magnesium glycinate be used to support mirtazapine (Remeron) therapy?\n")
    assert f"> **{PENDING_BANNER}**" in markdown
    assert "*Review status: Submitted (version 2); last updated November 28, 2025*" in markdown
    assert "**No indexed source studied the two together.**" in markdown
    assert "## Evidence Review" in markdown and "### Mirtazapine" in markdown
    assert "- Weight gain and sedation were common. [1, 2]" in markdown
    assert ("1. *Research*. Mirtazapine, an antidepressant. Am J Health Syst Pharm, 1998. "
            "Narrative review. [PubMed](https://pubmed.ncbi.nlm.nih.gov/9/)") in markdown
    assert "## What was searched" in markdown and "## Disclaimer" in markdown
    approved = render_markdown(_article(status=ReviewStatus.APPROVED))
    assert PENDING_BANNER not in approved


def test_text():
    text = render_text(_article())
    assert text.splitlines()[0] == _article().question
    assert f"!! {PENDING_BANNER}" in text
    assert "  - Mirtazapine 15 to 45 mg daily was effective in major depression. [1]" in text
    assert ("[2] Guideline. Treatment of major depressive disorder. "
            "American Psychiatric Association, 2010") in text
    assert "    PubMed: https://pubmed.ncbi.nlm.nih.gov/9/" in text
    assert "DISCLAIMER" in text and "Corpus searched: 1,200 documents" in text
    assert all(len(line) <= 100 for line in text.splitlines())


def test_html_export_is_a_standalone_page():
    html = render_html(_article(emergency_notice="Call emergency services now."))
    assert html.startswith("<!doctype html>")
    assert "<h1>Can magnesium glycinate" in html and PENDING_BANNER in html
    assert html.index("Call emergency services now.") < html.index('class="headline"')
    assert 'id="ref-2"' in html and "Professional disclaimer" in html
    assert "csrf" not in html and "<form" not in html


def test_recently_used_keeps_the_newest_entries():
    from medcite.web.render import RecentlyUsed

    made: list[int] = []
    cache: RecentlyUsed[int, int] = RecentlyUsed(2)

    def square(n: int) -> int:
        made.append(n)
        return n * n

    for n in (1, 2, 1, 3, 1, 2):
        assert cache.get_or_make(n, lambda n=n: square(n)) == n * n
    assert made == [1, 2, 3, 2]  # 1 stayed in use; 2 was the least recent when 3 came


def test_an_article_body_is_rendered_once_per_stored_version_and_audience():
    from medcite.models import Audience
    from medcite.web.render import article_body

    first = article_body(_article())
    assert article_body(_article()) is first  # the same stored version: rendered once
    assert "Mirtazapine" in first
    assert article_body(_article(audience=Audience.PATIENT)) is not first
    unsaved = sample_article()
    assert unsaved.id is None and article_body(unsaved) is not article_body(unsaved)
