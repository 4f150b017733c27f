"""``medcite user``, ``medcite review`` and ``medcite articles``: accounts, review decisions and
stored articles from the command line."""

from __future__ import annotations

import sys
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager

import click

from medcite.cli import cli
from medcite.errors import InputError, NotFoundError
from medcite.models import Audience, ReviewStatus
from medcite.review import ArticleRepository, ArticleSummary, ReviewWorkflow, Role, UserAccounts
from medcite.store import Store, open_store

_MOVES = [s.value for s in (ReviewStatus.UNDER_REVIEW, ReviewStatus.APPROVED, ReviewStatus.REJECTED,
                            ReviewStatus.WITHDRAWN)]


@contextmanager
def _store() -> Iterator[Store]:
    store = open_store()
    try:
        yield store
    finally:
        store.close()


def _password(from_stdin: bool, *, confirm: bool) -> str:
    try:
        if from_stdin:
            line = sys.stdin.readline().rstrip("\r\n")
            if not line:
                raise InputError("no password on standard input")
            password = line
        else:
            password = click.prompt("Password", hide_input=True, confirmation_prompt=confirm)
        password.encode("utf-8")
    except (UnicodeDecodeError, UnicodeEncodeError):
        raise InputError("the password is not valid UTF-8 text") from None
    return password


def terminal_safe(text: str) -> str:
    """``text`` with control and format characters shown as escapes (``\\x1b``): questions come
    from anonymous visitors, and an escape sequence must not reach an operator's terminal."""
    return "".join(ch if ch == " " or unicodedata.category(ch)[0] not in "CZ"
                   or unicodedata.category(ch) == "Zs"
                   else ch.encode("unicode_escape").decode("ascii") for ch in text)


def _print_summaries(items: list[ArticleSummary]) -> None:
    if not items:
        click.echo("no articles")
        return
    for item in items:
        approved = f", approved v{item.approved_version}" if item.approved_version else ""
        click.echo(f"{item.id}  {item.status.label:<12}  v{item.current_version}{approved}  "
                   f"{item.updated_at:%Y-%m-%d}  {terminal_safe(item.question)}")


# -- accounts --------------------------------------------------------------------------------


@cli.group()
def user() -> None:
    """Reviewer accounts (medical advisory board)."""


@user.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def user_add(username: str, role: str, password_stdin: bool) -> None:
    """Create an account; the password is stored only as an argon2 hash."""
    password = _password(password_stdin, confirm=True)
    with _store() as store:
        created = UserAccounts(store).add_user(username, password, role)
    click.echo(f"added {created.role.value} {created.username}")


def _ended(count: int) -> str:
    return f"{count} session{'' if count == 1 else 's'} ended"


@user.command("disable")
@click.argument("username")
def user_disable(username: str) -> None:
    """Disable an account: it cannot sign in, and its sessions end at once."""
    with _store() as store:
        ended = UserAccounts(store).set_disabled(username, True)
    click.echo(f"disabled {username}; {_ended(ended)}")


@user.command("enable")
@click.argument("username")
def user_enable(username: str) -> None:
    """Enable a disabled account again."""
    with _store() as store:
        UserAccounts(store).set_disabled(username, False)
    click.echo(f"enabled {username}")


@user.command("password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the new password from standard input.")
def user_password(username: str, password_stdin: bool) -> None:
    """Set a new password (asked twice, not shown); the account's sessions end."""
    with _store() as store:
        accounts = UserAccounts(store)
        if accounts.get(username) is None:  # before asking for a password to no purpose
            raise NotFoundError(f"there is no user {username!r}")
        ended = accounts.set_password(username, _password(password_stdin, confirm=True))
    click.echo(f"changed the password of {username}; {_ended(ended)}")


# -- review ----------------------------------------------------------------------------------


@cli.group()
def review() -> None:
    """The review queue and review decisions."""


@review.command("list")
@click.option("--status", type=click.Choice([s.value for s in ReviewStatus]), default=None,
              help="Only articles whose current version has this status.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=100, show_default=True)
def review_list(status: str | None, limit: int) -> None:
    """Articles by review status, most recently updated first."""
    with _store() as store:
        _print_summaries(ArticleRepository(store).list(
            ReviewStatus(status) if status else None, limit=limit))


@review.command("move")
@click.argument("article")
@click.option("--to", "to", type=click.Choice(_MOVES), required=True)
@click.option("--as", "username", required=True, help="Your reviewer account.")
@click.option("--comment", default="", help="Why (required to reject or withdraw).")
@click.option("--version", "version", type=click.IntRange(1, 2**63 - 1), default=None,
              help="The version you read; refused if it is no longer current (default: the "
                   "current version).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def review_move(article: str, to: str, username: str, comment: str, version: int | None,
                password_stdin: bool) -> None:
    """Move ARTICLE (id or slug) to another review status."""
    password = _password(password_stdin, confirm=False)
    with _store() as store:
        reviewer = UserAccounts(store).authenticate(username, password)
        articles = ArticleRepository(store)
        found = articles.resolve(article)
        assert found.id is not None
        event = ReviewWorkflow(articles).move(found.id, to, reviewer, comment, version=version)
    click.echo(f"{found.id} version {event.version}: {event.from_status.label if event.from_status else '-'}"
               f" -> {event.to_status.label} by {event.actor}")


@review.command("resubmit")
@click.argument("article")
@click.option("--as", "username", required=True, help="Your editor or admin account.")
@click.option("--comment", default="",
              help="What the new version corrects (required for a correction of an approved "
                   "or withdrawn article).")
@click.option("--version", "version", type=click.IntRange(1, 2**63 - 1), default=None,
              help="The version you read; refused if it is no longer current.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def review_resubmit(article: str, username: str, comment: str, version: int | None,
                    password_stdin: bool) -> None:
    """Answer ARTICLE's question again from the store as it is now and store the answer as a
    new version in review: a revision of a rejected article, or a correction of an approved
    one (its approved version stays served until the correction is approved) or of a
    withdrawn one."""
    from medcite.answer import ask
    from medcite.errors import StaleVersionError
    from medcite.review.workflow import check_transition

    password = _password(password_stdin, confirm=False)
    with _store() as store:
        editor = UserAccounts(store).authenticate(username, password)
        articles = ArticleRepository(store)
        found = articles.resolve(article)
        assert found.id is not None
        if version is not None and version != found.version:
            raise StaleVersionError(version, found.version, found.status.label)
        # Refused before the costly answer; checked again when the version is stored.
        check_transition(found.status, ReviewStatus.SUBMITTED, editor.role, comment)
        answered = ask(found.question, follow_up_of=found.parent_id, store=store, save=False)
        saved = ReviewWorkflow(articles).revise(
            found.id, answered, editor, comment or "answered again from the store",
            based_on=found.version)
    click.echo(f"{saved.id} version {saved.version}: {found.status.label} -> Submitted by "
               f"{editor.username}")


# -- articles --------------------------------------------------------------------------------


@cli.group(invoke_without_command=True)
@click.pass_context
def articles(ctx: click.Context) -> None:
    """Stored articles (lists them when no subcommand is given)."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(articles_list)


@articles.command("list")
@click.option("--status", type=click.Choice([s.value for s in ReviewStatus]), default=None)
@click.option("--search", default=None, help="Words of the question.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
def articles_list(status: str | None = None, search: str | None = None, limit: int = 50) -> None:
    """List stored articles."""
    with _store() as store:
        _print_summaries(ArticleRepository(store).list(
            ReviewStatus(status) if status else None, search, limit=limit))


@articles.command("show")
@click.argument("id_or_slug")
@click.option("--format", "fmt", type=click.Choice(["text", "md", "json", "html"]),
              default="text", show_default=True)
@click.option("--audience", type=click.Choice([a.value for a in Audience]), default=None,
              help="Reword for this reader (default: as stored).")
@click.option("--version", type=click.IntRange(1, 2**63 - 1), default=None,
              help="Default: the latest.")
def articles_show(id_or_slug: str, fmt: str, audience: str | None, version: int | None) -> None:
    """Print one article as text, Markdown, JSON or a standalone HTML page."""
    from medcite.web.render import render_html, render_markdown, render_text

    with _store() as store:
        article = ArticleRepository(store).resolve(id_or_slug, version)
    if audience is not None:
        from medcite.synthesis.audience import adapt

        article = adapt(article, Audience(audience))
    renderers = {"text": render_text, "md": render_markdown, "html": render_html,
                 "json": lambda a: a.model_dump_json(indent=2)}
    click.echo(renderers[fmt](article))
