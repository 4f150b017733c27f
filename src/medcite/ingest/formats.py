"""Which ingestor reads a file: decided from its first 8 KB of content, never its name."""

from __future__ import annotations

from pathlib import Path

from medcite.errors import IngestInputError
from medcite.ingest.base import GZIP_MAGIC, Ingestor, read_head
from medcite.ingest.guidelines import (GuidelineDocumentIngestor, NgcJsonlIngestor,
                                       OpenMedicineJsonlIngestor)
from medcite.ingest.jats import JatsIngestor
from medcite.ingest.medquad import MedquadJsonlIngestor, MedquadXmlIngestor
from medcite.ingest.pubmed import PubmedIngestor
from medcite.ingest.spl import SplIngestor

# Sniff order: the XML formats by root element first, then JSON lines by their keys, then
# Markdown front matter / HTML, which is the loosest test.
INGESTORS: tuple[Ingestor, ...] = (
    PubmedIngestor(),
    JatsIngestor(),
    SplIngestor(),
    MedquadXmlIngestor(),
    OpenMedicineJsonlIngestor(),
    NgcJsonlIngestor(),
    MedquadJsonlIngestor(),
    GuidelineDocumentIngestor(),
)

_TEXT_CONTROLS = frozenset(b"\t\n\r\f\v\x1b")
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


class UnrecognisedFormatError(IngestInputError):
    """A readable text file that is none of the corpus formats (e.g. a README in a corpus
    folder): callers walking folders may skip these, unlike damaged corpus files."""


def looks_binary(head: bytes) -> bool:
    """NUL bytes or more than 1% control characters: not a text corpus file."""
    if head.startswith(_UTF16_BOMS):
        return False
    if b"\x00" in head:
        return True
    controls = sum(1 for b in head if (b < 32 and b not in _TEXT_CONTROLS) or b == 127)
    return controls > len(head) // 100


def detect(path: Path | str) -> Ingestor:
    """The ingestor for ``path``; ``IngestInputError`` when it is empty, binary, a damaged
    gzip or not a known format."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            magic = fh.read(2)
        head = read_head(path)
    except OSError as exc:
        raise IngestInputError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    if magic == GZIP_MAGIC and head[:2] == GZIP_MAGIC:
        # read_head falls back to the raw bytes when decompression fails.
        raise IngestInputError(f"{path}: the gzip data is truncated or corrupt")
    if not head.strip():
        raise IngestInputError(f"{path}: the file is empty" if not head else
                               f"{path}: the file contains only whitespace")
    if looks_binary(head):
        raise IngestInputError(f"{path}: binary data, not a text corpus file (PubMed XML, "
                               "JATS, SPL, guideline or MedQuAD)")
    for ingestor in INGESTORS:
        if ingestor.sniff(head):
            return ingestor
    raise UnrecognisedFormatError(
        f"{path}: unrecognised format (not PubMed XML, JATS, SPL, guideline or MedQuAD)")
