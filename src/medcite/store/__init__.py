"""Storage: the store contract and its implementations."""

from __future__ import annotations

from medcite.errors import ConfigurationError
from medcite.settings import Settings
from medcite.store.base import BatchOutcome, LexicalHit, SearchFilters, Store
from medcite.store.sqlite import SQLiteStore

__all__ = ["BatchOutcome", "LexicalHit", "SearchFilters", "Store", "SQLiteStore", "open_store"]


def open_store(settings: Settings | None = None) -> SQLiteStore:
    """Open the store the settings name (the embedded SQLite file by default)."""
    settings = settings or Settings.load()
    location = settings.store_location
    if location.startswith(("postgresql://", "postgres://")):
        raise ConfigurationError(
            "a PostgreSQL store is not available in this version; use a SQLite path"
        )
    if location.startswith("sqlite:///"):
        location = location.removeprefix("sqlite:///")
    return SQLiteStore(location, busy_timeout=settings.store_busy_timeout)
