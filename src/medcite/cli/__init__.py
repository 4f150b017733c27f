"""The ``medcite`` command line. Errors from the package become one line and an exit code here.

Each command group lives in its own module and registers itself on ``cli``.
"""

from __future__ import annotations

import os
import sys

import click

from medcite.errors import ConfigurationError, MedciteError
from medcite.settings import Settings


def _debug() -> bool:
    """The debug setting; an unreadable setting cannot ask for a traceback."""
    try:
        return Settings.load().debug
    except ConfigurationError:
        return False


class _Group(click.Group):
    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except MedciteError as exc:
            if _debug():
                raise
            click.echo(f"error: {exc}", err=True)
            sys.exit(exc.exit_code)


@click.group(cls=_Group)
@click.version_option(package_name="medcite")
def cli() -> None:
    """medcite: clinical questions answered with cited, verified articles, offline."""


def _undecodable_argument() -> str | None:
    """The first argument that is not valid text in the locale's encoding, as typed."""
    for argument in sys.argv[1:]:
        try:
            argument.encode("utf-8")
        except UnicodeEncodeError:
            return os.fsencode(argument).decode("utf-8", "backslashreplace")
    return None


def main() -> None:
    from medcite.cli import connectors, corpus  # noqa: F401  (register commands)

    undecodable = _undecodable_argument()
    if undecodable is not None:  # click and the store would fail on it later, with a traceback
        click.echo(f"error: the argument {undecodable!r} is not valid UTF-8 text", err=True)
        sys.exit(2)

    for module in ("search", "answer", "web", "review", "evaluate", "mcp", "db"):
        try:
            __import__(f"medcite.cli.{module}")
        except ModuleNotFoundError as exc:
            if exc.name != f"medcite.cli.{module}":
                raise
    cli(prog_name="medcite")
