"""The question frame and plain-word fields in every rendering: where a quote is from, its gloss,
the evidence-through-a-class note, the patient summary and spelling corrections, all escaped."""

from medcite.models import Audience, Correction, QuestionFrame, Statement
from medcite.web.render import article_body, render_html, render_markdown, render_text
from tests.review.factories import sample_article

HOSTILE = "<script>alert(1)</script>"
QUOTE = "Edema & dizziness were reported with SSRIs."


def _article(audience: Audience = Audience.PATIENT, where: str = "Lipitor label, Drug Interactions"):
    statement = Statement(text=QUOTE, quote=QUOTE, citations=[1], passage_keys=["pmid:9#0"],
                          where=where, via_class="SSRIs",
                          gloss="In plain words: “Edema” means <swelling>.")
    article = sample_article(audience=audience, plain_summary=[
        "You asked whether sertraline & St John's wort can be taken together.",
        "Ask your doctor or pharmacist before you take them together.",
    ], frame=QuestionFrame(corrections=[Correction(typed="menigitis", corrected="meningitis")]))
    section = article.sections[0]
    sub = section.subsections[0].model_copy(update={"statements": [statement]})
    return article.model_copy(update={
        "sections": [section.model_copy(update={"subsections": [sub]})],
        "bottom_line": [*article.bottom_line, statement],
    })


def test_the_patient_page_shows_summary_first_then_corrections_where_class_and_gloss():
    html = str(article_body(_article()))
    assert '<section class="plain-summary">' in html
    assert "You asked whether sertraline &amp; St John&#39;s wort can be taken together." in html
    assert html.index("plain-summary") < html.index('class="headline"')
    assert "Searched for meningitis (you typed “menigitis”)" in html
    assert html.index('class="headline"') < html.index("Searched for meningitis")
    assert "Edema &amp; dizziness were reported with SSRIs." in html
    assert '<small class="where meta">Lipitor label, Drug Interactions</small>' in html
    assert "(evidence on the class: SSRIs)" in html
    assert "In plain words: “Edema” means &lt;swelling&gt;." in html
    assert "<swelling>" not in html


def test_clinicians_see_where_and_class_but_no_gloss_or_summary():
    html = str(article_body(_article(Audience.CLINICIAN)))
    assert "Lipitor label, Drug Interactions" in html and "(evidence on the class: SSRIs)" in html
    assert "Searched for meningitis" in html
    assert "In plain words" not in html and "plain-summary" not in html


def test_students_see_the_gloss_but_no_summary():
    html = str(article_body(_article(Audience.STUDENT)))
    assert "In plain words: “Edema” means &lt;swelling&gt;." in html and "plain-summary" not in html


def test_a_hostile_where_is_escaped_in_every_format():
    article = _article(where=HOSTILE)
    for html in (str(article_body(article)), render_html(article)):
        assert HOSTILE not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    markdown = render_markdown(article)
    assert HOSTILE not in markdown and r"\<script\>alert(1)\</script\>" in markdown


def test_markdown_and_text_carry_the_same_fields():
    markdown = render_markdown(_article())
    assert "## In short" in markdown and "- Ask your doctor or pharmacist before you take them together." in markdown
    assert "*Searched for meningitis (you typed “menigitis”)*" in markdown
    assert "(evidence on the class: SSRIs) — Lipitor label, Drug Interactions" in markdown
    assert "*In plain words: “Edema” means \\<swelling\\>.*" in markdown
    text = render_text(_article())
    assert "IN SHORT" in text and "Searched for meningitis (you typed “menigitis”)" in text
    assert "In plain words: “Edema” means <swelling>." in text
    assert "IN SHORT" not in render_text(_article(Audience.CLINICIAN))
