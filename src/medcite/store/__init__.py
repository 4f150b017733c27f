"""Storage: the store contract and its implementations, chosen by ``open_store(url)``."""

from __future__ import annotations

from pathlib import Path

from medcite.errors import ConfigurationError
from medcite.settings import Settings
from medcite.store.base import BatchOutcome, LexicalHit, SearchFilters, Store
from medcite.store.sqlite import DEFAULT_BUSY_TIMEOUT, SQLiteStore

__all__ = ["BatchOutcome", "LexicalHit", "SearchFilters", "Store", "SQLiteStore", "open_store"]

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def open_store(target: Settings | str | Path | None = None) -> Store:
    """Open the store a URL names, or the one the settings name (``MEDCITE_STORE_URL``; the
    embedded SQLite file by default): ``postgresql://`` is PostgreSQL, ``sqlite:///PATH`` or a
    plain path is SQLite."""
    if target is None or isinstance(target, Settings):
        settings = target or Settings.load()
        url, busy_timeout = settings.store_location, settings.store_busy_timeout
        tuning = {"ef_search": settings.hnsw_ef_search}
    else:
        url, busy_timeout, tuning = str(target), DEFAULT_BUSY_TIMEOUT, {}
    if url.startswith(POSTGRES_SCHEMES):
        from medcite.store.postgres import PostgresStore  # needs the postgres extra

        return PostgresStore(url, busy_timeout=busy_timeout, **tuning)
    if "://" in url and not url.startswith("sqlite:///"):
        raise ConfigurationError(f"unknown store URL {url!r}: use postgresql://..., "
                                 "sqlite:///PATH or a file path")
    return SQLiteStore(url.removeprefix("sqlite:///"), busy_timeout=busy_timeout)
