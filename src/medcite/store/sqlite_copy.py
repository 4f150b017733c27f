"""Rows in and out of the SQLite store for ``store.copy`` (canonical columns: ``copy.ALL_TABLES``)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from medcite.store.sqlite import SQLiteStore

_ORDER = {"documents": "id", "document_aliases": "alias", "ingested_files": "fingerprint",
          "users": "username", "sessions": "token_hash", "shared_state": "name", "learned_conditions": "id",
          "articles": "rowid", "article_versions": "article_id, version",
          "review_events": "id", "article_citations": "article_id, version, document_key",
          "article_flags": "id", "article_reverifications": "id"}
_BOOLEAN = {"documents": "title_only", "users": "disabled"}


class SQLiteCopying:
    def __init__(self, store: SQLiteStore) -> None:
        self._store = store

    def export_rows(self, table: str) -> Iterator[tuple]:
        from medcite.store.copy import ALL_TABLES

        columns = ALL_TABLES[table]
        if table == "passages":
            sql = ("SELECT p.id, p.document_id, p.ordinal, p.section, p.char_start, p.char_end, "
                   "p.sentences, t.title, t.body FROM passages p "
                   "JOIN passage_text t ON t.rowid = p.id ORDER BY p.id")
        else:
            sql = f"SELECT {', '.join(columns)} FROM {table} ORDER BY {_ORDER[table]}"
        flag = columns.index(_BOOLEAN[table]) if table in _BOOLEAN else None
        with self._store.reading() as conn:
            for row in conn.execute(sql):
                if flag is not None:
                    row = (*row[:flag], bool(row[flag]), *row[flag + 1:])
                yield tuple(row)

    def import_rows(self, table: str, rows: Sequence[tuple]) -> None:
        from medcite.store.copy import ALL_TABLES

        columns = ALL_TABLES[table]
        if table in _BOOLEAN:
            flag = columns.index(_BOOLEAN[table])
            rows = [(*r[:flag], int(r[flag]), *r[flag + 1:]) for r in rows]

        def insert(conn: sqlite3.Connection) -> None:
            if table == "passages":
                conn.executemany("INSERT INTO passages (id, document_id, ordinal, section, "
                                 "char_start, char_end, sentences) VALUES (?,?,?,?,?,?,?)",
                                 [(*r[:6], bytes(r[6])) for r in rows])
                conn.executemany("INSERT INTO passage_text (rowid, title, section, body) "
                                 "VALUES (?,?,?,?)", [(r[0], r[7], r[3], r[8]) for r in rows])
                return
            marks = ",".join("?" * len(columns))
            conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)

        self._store.write(insert)

    def finish_import(self) -> None:
        def finish(conn: sqlite3.Connection) -> None:
            conn.execute("UPDATE passage_id_sequence SET next_id = max(next_id, "
                         "(SELECT coalesce(max(id), 0) + 1 FROM passages))")
            conn.execute("UPDATE corpus_generation SET generation = generation + 1")

        self._store.write(finish)
