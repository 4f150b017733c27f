"""``medcite serve``: the web pages and the JSON API."""

from __future__ import annotations

import click

from medcite.cli import cli
from medcite.errors import MissingDependencyError
from medcite.settings import Settings


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; the default serves this machine only.")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Server processes; they share the store (SQLite in WAL mode).")
def serve(host: str, port: int, workers: int) -> None:
    """Serve the web pages and the JSON API (/api/v1) from the configured store."""
    try:
        import uvicorn

        from medcite.web.app import create_app
        from medcite.web.server import uvicorn_options
    except ModuleNotFoundError as exc:  # core dependencies: only a damaged install lacks them
        raise MissingDependencyError(f"the web server ({exc.name})", "pip install medcite") from exc
    options = {**uvicorn_options(Settings.load()), "host": host, "port": port, "log_level": "info"}
    click.echo(f"medcite is serving on http://{host}:{port}/ (API at /api/v1, Ctrl+C stops it)")
    if workers == 1:
        uvicorn.run(create_app(), **options)
    else:  # each worker process builds its own app from the factory
        uvicorn.run("medcite.web.app:create_app", factory=True, workers=workers, **options)
