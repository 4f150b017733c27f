"""What the connectors remember between runs: the date each PubMed query was last brought up
to date, kept in ``<home>/connectors/pubmed-queries.json`` so the next run asks E-utilities
only for records entered since (``mindate``/``maxdate`` with ``datetype=edat``)."""

from __future__ import annotations

import json
import os
import uuid
from datetime import date
from pathlib import Path

from medcite.errors import ConfigurationError


def query_key(term: str) -> str:
    """The same query however it was spaced."""
    return " ".join(term.split())


class QueryLog:
    """Last complete run per PubMed query (the ``maxdate`` it fetched up to)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _read(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise ConfigurationError(f"{self.path} cannot be read as the PubMed query log ({exc})",
                                     hint="remove it to fetch every query in full again") from exc
        return data if isinstance(data, dict) else {}

    def last_run(self, term: str) -> date | None:
        value = self._read().get(query_key(term))
        try:
            return date.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            return None

    def record(self, term: str, until: date) -> None:
        data = self._read()
        data[query_key(term)] = until.isoformat()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_name(f"{self.path.name}.{uuid.uuid4().hex[:12]}.part")
        partial.write_text(json.dumps(data, indent=2, sort_keys=True), encoding="utf-8")
        os.replace(partial, self.path)  # a reader sees the old log or the new one, never half
