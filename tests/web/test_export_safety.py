"""Exports and operator listings never turn a source's or a visitor's text into markup or
terminal control."""

import re

from click.testing import CliRunner

import medcite.cli.review  # noqa: F401  (registers the commands)
from medcite.cli import cli
from medcite.web.render import render_markdown
from tests.review.factories import sample_article


def test_a_source_url_with_spaces_or_newlines_yields_no_javascript_link():
    article = sample_article()
    hostile = "https://example.org/a b\n[click](javascript:alert(1)) \"t\")\r\n<x>"
    article.references[1].url = hostile
    markdown = render_markdown(article)
    references = markdown.split("## References", 1)[1].split("##", 1)[0]
    assert len([line for line in references.splitlines() if line.strip()]) == 2
    destinations = re.findall(r"\]\(([^)\s]*)", markdown)
    assert destinations and all(d.startswith("https://") for d in destinations), destinations
    assert "](javascript:" not in markdown


def test_articles_list_does_not_print_escape_bytes_raw(store):
    from medcite.review import ArticleRepository

    ArticleRepository(store).save_new(sample_article("Sertraline\x1b[2J\x1b]0;owned\x07 dose?"))
    listed = CliRunner().invoke(cli, ["articles", "list"])
    assert listed.exit_code == 0, listed.output
    assert "\x1b" not in listed.output and "\x07" not in listed.output
    assert "Sertraline\\x1b[2J" in listed.output
