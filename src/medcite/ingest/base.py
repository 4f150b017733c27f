"""The ingestor interface: one module per corpus format, chosen by sniffing content."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol, Union

from medcite.models import Deletion, Document, RecordError

ParsedRecord = Union[Document, Deletion, RecordError]

SNIFF_BYTES = 8192
GZIP_MAGIC = b"\x1f\x8b"


class Ingestor(Protocol):
    """Parses one corpus format. ``sniff`` sees the first bytes (already un-gzipped)."""

    name: str

    def sniff(self, head: bytes) -> bool: ...

    def parse(self, path: Path) -> Iterator[ParsedRecord]:
        """Yield documents, deletions and per-record errors. Raise ``IngestInputError`` only
        when the file as a whole cannot be read."""
        ...


def read_head(path: Path, size: int = SNIFF_BYTES) -> bytes:
    """First bytes of a file, decompressed when it is gzip."""
    with open(path, "rb") as fh:
        magic = fh.read(2)
    opener = gzip.open if magic == GZIP_MAGIC else open
    try:
        with opener(path, "rb") as fh:
            return fh.read(size)
    except (OSError, EOFError):
        with open(path, "rb") as fh:
            return fh.read(size)


def open_maybe_gzip(path: Path):
    """Open a file for binary reading, transparently decompressing gzip."""
    with open(path, "rb") as fh:
        magic = fh.read(2)
    return gzip.open(path, "rb") if magic == GZIP_MAGIC else open(path, "rb")
