"""The store contract holds: no SQL, no database driver and no concrete store above
``src/medcite/store/`` (everything above talks to ``medcite.store.base.Store``)."""

from __future__ import annotations

import re
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[2] / "src" / "medcite"
FORBIDDEN = re.compile(r"\bimport sqlite3\b|\bimport psycopg|\bfrom psycopg|\bSQLiteStore\b"
                       r"|\bPostgresStore\b|\.execute(many)?\(|\bSELECT\s.+\bFROM\b")


def test_nothing_above_the_store_speaks_sql():
    offenders = []
    for path in sorted(SOURCE.rglob("*.py")):
        if SOURCE / "store" in path.parents:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if FORBIDDEN.search(line):
                offenders.append(f"{path.relative_to(SOURCE)}:{number}: {line.strip()}")
    assert not offenders, "SQL or a concrete store outside store/:\n" + "\n".join(offenders)


# The pipeline's stages sit above the store: a store writes the rows they prepared and never
# chunks, hashes or analyses text itself.
ABOVE_THE_STORE = re.compile(r"^\s*(from|import) medcite\.(ingest|retrieval|synthesis|review|web|"
                             r"cli|answer|connectors|mcp_server|cds|evaluation)\b")


def test_the_store_imports_no_pipeline_stage():
    offenders = []
    for path in sorted((SOURCE / "store").rglob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if ABOVE_THE_STORE.search(line):
                offenders.append(f"{path.relative_to(SOURCE)}:{number}: {line.strip()}")
    assert not offenders, "store/ imports a stage above it:\n" + "\n".join(offenders)
