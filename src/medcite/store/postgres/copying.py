"""Rows in and out of the PostgreSQL store for ``store.copy`` (canonical columns:
``copy.ALL_TABLES``); ids are kept (``OVERRIDING SYSTEM VALUE``) and the sequences moved past
them."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from medcite.store.postgres.lexical import insert_postings

if TYPE_CHECKING:
    from medcite.store.postgres.store import PostgresStore

_ORDER = {"documents": "id", "passages": "id", "document_aliases": "alias",
          "ingested_files": "fingerprint", "users": "username", "sessions": "token_hash",
          "shared_state": "name", "learned_conditions": "id", "articles": "seq",
          "article_versions": "article_id, version", "review_events": "id",
          "article_citations": "article_id, version, document_key", "article_flags": "id",
          "article_reverifications": "id"}
_IDENTITY = ("documents", "passages", "article_flags", "article_reverifications",
             "learned_conditions")


class PostgresCopying:
    def __init__(self, store: PostgresStore) -> None:
        self._store = store

    def export_rows(self, table: str) -> Iterator[tuple]:
        from medcite.store.copy import ALL_TABLES

        # Text collation differs between the dialects; order by bytes, as SQLite does.
        order = ", ".join(f'{c} COLLATE "C"' if c in ("alias", "fingerprint", "username",
                                                     "token_hash", "name", "article_id",
                                                     "document_key") else c
                          for c in (o.strip() for o in _ORDER[table].split(",")))
        sql = f"SELECT {', '.join(ALL_TABLES[table])} FROM {table} ORDER BY {order}"
        with self._store.reading() as conn:
            for row in conn.execute(sql):
                yield tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)

    def import_rows(self, table: str, rows: Sequence[tuple]) -> None:
        from medcite.store.copy import ALL_TABLES

        columns = ALL_TABLES[table]
        overriding = " OVERRIDING SYSTEM VALUE" if table in _IDENTITY else ""
        marks = ",".join(["%s"] * len(columns))
        rows = list(rows)
        with self._store.transaction() as conn, conn.cursor() as cursor:
            cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}){overriding} "
                               f"VALUES ({marks})", rows)
            if table == "passages":  # derived rows, in the same transaction
                insert_postings(conn, [row[columns.index("id")] for row in rows])

    def finish_import(self) -> None:
        with self._store.transaction() as conn:
            for table in _IDENTITY:
                conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                             f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)")
            conn.execute("UPDATE corpus_generation SET generation = generation + 1")
