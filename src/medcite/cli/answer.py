"""``medcite ask`` and ``medcite verify``."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TextIO

import click
from pydantic import ValidationError

from medcite.cli import cli
from medcite.errors import InputError
from medcite.models import Article, Audience
from medcite.settings import Settings
from medcite.store import open_store


def render(article: Article, fmt: str) -> str:
    """The article in the requested format (the renderers live with the web templates)."""
    if fmt == "json":
        return article.model_dump_json(indent=2)
    from medcite.web import render as renderers

    return {"text": renderers.render_text, "md": renderers.render_markdown,
            "html": renderers.render_html}[fmt](article)


class WritingMeter:
    """Shows on stderr how far a language model has got: a line rewritten in place on a
    terminal, a plain line every few seconds in a log."""

    def __init__(self, writer: str, stream: TextIO | None = None) -> None:
        self.writer = writer
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty()
        self.interval = 0.1 if self.live else 5.0
        self.started = time.monotonic()
        self.shown_at = 0.0
        self.tokens = 0

    def __call__(self, tokens: int) -> None:
        self.tokens = tokens
        now = time.monotonic()
        if now - self.shown_at >= self.interval:
            self.shown_at = now
            self._show(now)

    def _show(self, now: float) -> None:
        elapsed = max(now - self.started, 1e-6)
        line = (f"{self.writer} is writing the article: {self.tokens:,} tokens, "
                f"{self.tokens / elapsed:.1f} tokens/s, {elapsed:.0f} s")
        self.stream.write(f"\r{line}\x1b[K" if self.live else line + "\n")
        self.stream.flush()

    def close(self) -> None:
        """The final count, so the last line says how long the model took."""
        if self.tokens:
            self._show(time.monotonic())
            if self.live:
                self.stream.write("\n")
                self.stream.flush()


@cli.command()
@click.argument("question")
@click.option("--audience", type=click.Choice([a.value for a in Audience]), default="clinician",
              show_default=True, help="Who the article is written for.")
@click.option("--format", "fmt", type=click.Choice(["text", "md", "json", "html"]), default="text",
              show_default=True)
@click.option("--follow-up-of", help="Id of the article this question follows up.")
@click.option("--backend", type=click.Choice(["extractive", "openai"]), default=None,
              help="Answer backend (default: the backend setting, extractive).")
@click.option("--no-save", is_flag=True, help="Do not store the article.")
def ask(question: str, audience: str, fmt: str, follow_up_of: str | None, backend: str | None,
        no_save: bool) -> None:
    """Answer QUESTION with a cited, verified article (saved with status Submitted)."""
    from medcite.answer import ask as ask_question

    overrides = {"backend": backend} if backend else {}
    settings = Settings.load(**overrides)
    store = open_store(settings)
    meter = WritingMeter(settings.openai_model or "the language model")
    try:
        article = ask_question(question, audience=audience, follow_up_of=follow_up_of,
                               store=store, settings=settings, save=not no_save, progress=meter)
        lexical_only = _lexical_only(store, settings)
    finally:
        meter.close()
        store.close()
    click.echo(render(article, fmt))
    if lexical_only:
        click.echo(f"note: answered from lexical search only: {lexical_only}", err=True)


def _lexical_only(store, settings: Settings) -> str | None:
    """Why the answer's retrieval was lexical, unless the settings asked for that."""
    from medcite.answer import engine_for
    from medcite.retrieval.setup import lexical_reason

    if settings.dense == "off":
        return None
    return lexical_reason(store, settings, engine_for(store, settings).searcher)


def _load_article(reference: str, store) -> Article:
    path = Path(reference)
    if path.suffix == ".json" and path.is_dir():
        raise InputError(f"{path} is a folder, not an article JSON file")
    if path.suffix == ".json" and path.is_file():
        try:
            return Article.model_validate_json(path.read_bytes())
        except ValidationError as exc:
            raise InputError(f"{path} is not an article JSON file: {_first_problem(exc)}") from exc
        except OSError as exc:
            raise InputError(f"{path} cannot be read ({exc.strerror or exc})") from exc
    from medcite.review.articles import ArticleRepository

    return ArticleRepository(store).resolve(reference)


def _first_problem(exc: ValidationError) -> str:
    """A validation error in one line: how many problems, and the first with where it is."""
    errors = exc.errors(include_url=False)
    first = errors[0]
    where = ".".join(str(part) for part in first.get("loc", ()))
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where + ': ' if where else ''}{first.get('msg', 'invalid')}{more}"


@cli.command()
@click.argument("article", required=False)
def verify(article: str | None) -> None:
    """Check the review audit trail (its hash chain and each article's state against its
    events) and, given ARTICLE (an id, a slug or a .json file), recompute its every citation
    against the store."""
    from medcite.review.articles import ArticleRepository
    from medcite.synthesis.verify import check_article

    store = open_store()
    try:
        events, problems = ArticleRepository(store).audit()
        report = check_article(_load_article(article, store), store) if article else None
    finally:
        store.close()
    for problem in problems:
        click.echo(f"AUDIT {problem.message}")
    click.echo(f"audit trail: {events} review events checked, "
               + (f"{len(problems)} problems" if problems else "hash chain intact"))
    if report is not None:
        for check in report.failures:
            click.echo(f"FAIL {check.statement.citations}: {check.reason}: "
                       f"{check.statement.text[:120]}")
        click.echo(f"{len(report.checks)} statements checked, {len(report.failures)} failed")
    if problems or (report is not None and report.failures):
        sys.exit(1)


@cli.command()
def schema() -> None:
    """Print the JSON schema of an article (published as docs/article.schema.json)."""
    import json

    click.echo(json.dumps(Article.model_json_schema(), indent=2))
