"""``medcite serve``: the web pages and the JSON API."""

from __future__ import annotations

import click

from medcite.cli import cli
from medcite.errors import MissingDependencyError


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; the default serves this machine only.")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
def serve(host: str, port: int) -> None:
    """Serve the web pages and the JSON API (/api/v1) from the configured store."""
    try:
        import uvicorn

        from medcite.web.app import create_app
    except ModuleNotFoundError as exc:
        raise MissingDependencyError(f"the web server ({exc.name})", "pip install 'medcite[web]'") from exc
    click.echo(f"medcite is serving on http://{host}:{port}/ (API at /api/v1, Ctrl+C stops it)")
    uvicorn.run(create_app(), host=host, port=port, log_level="info")
