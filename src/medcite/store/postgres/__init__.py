"""The PostgreSQL store (the ``postgres`` extra: psycopg 3 and psycopg-pool)."""

from __future__ import annotations

from medcite.errors import MissingDependencyError

try:
    import psycopg  # noqa: F401
    import psycopg_pool  # noqa: F401
except ImportError as exc:  # the core install has no driver
    raise MissingDependencyError("PostgreSQL support (psycopg, psycopg-pool)",
                                 "pip install 'medcite[postgres]'") from exc

from medcite.store.postgres.store import PostgresStore  # noqa: E402

__all__ = ["PostgresStore"]
