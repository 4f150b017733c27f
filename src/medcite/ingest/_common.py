"""Helpers shared by the ingestors: safe XML parsing, sniffing, text clean-up, JSON lines.

Every XML parser here is built with entity resolution, DTD loading, network access and huge
trees switched off, and a document that declares entities in its DOCTYPE is refused before it
is parsed: the formats medcite reads never need them, and they are how an "entity-expansion
bomb" works.
"""

from __future__ import annotations

import gzip
import json
import re
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from lxml import etree

from medcite.errors import IngestInputError
from medcite.ingest.base import open_maybe_gzip, read_head

_WS = re.compile(r"\s+")
_HSPACE = re.compile(r"[^\S\n]+")
_ROOT_TAG = re.compile(r"<([A-Za-z_][\w.\-]*(?::[\w.\-]+)?)([^>]*)>?")


def collapse(text: str | None) -> str:
    """All whitespace runs to one space, trimmed."""
    return " ".join(text.split()) if text else ""


def clean_lines(text: str | None) -> str:
    """Whitespace collapsed inside lines; blank lines dropped; lines joined with ``\\n``."""
    if not text:
        return ""
    lines = (_HSPACE.sub(" ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def slugify(text: str, limit: int = 80) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:limit].rstrip("-")


# Years a dated source can carry; a number outside is a damaged field, not a date.
PLAUSIBLE_YEARS = range(1500, 2100)


def checked_year(value: int) -> int:
    """``value`` when it is a plausible year, else ``ValueError`` naming it (a record with
    ``"year": 99999999999999999999`` is reported, not stored with a year no store can hold)."""
    if isinstance(value, bool) or value not in PLAUSIBLE_YEARS:
        raise ValueError(f"year {value!r} is out of range (expected {PLAUSIBLE_YEARS.start}-"
                         f"{PLAUSIBLE_YEARS.stop - 1})")
    return value


def year_in(text: str | None) -> int | None:
    """The first plausible four-digit year in ``text``."""
    if not text:
        return None
    match = re.search(r"(?<!\d)(1[5-9]\d\d|20\d\d)(?!\d)", text)
    return int(match.group(1)) if match else None


# --------------------------------------------------------------------------- sniffing


def head_text(head: bytes) -> str:
    """The sniffed bytes as text (BOM removed; a cut multi-byte character is harmless)."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return head.decode("utf-16", errors="replace").lstrip("\ufeff")
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    return head.decode("utf-8", errors="replace")


def xml_root(head: bytes) -> tuple[str, str] | None:
    """(local name, start tag) of the first element, after the XML declaration, processing
    instructions, comments and DOCTYPE; ``None`` when the head does not look like XML."""
    text = head_text(head)
    pos, end = 0, len(text)
    while True:
        while pos < end and text[pos].isspace():
            pos += 1
        if text.startswith("<?", pos):
            close, skip = text.find("?>", pos), 2
        elif text.startswith("<!--", pos):
            close, skip = text.find("-->", pos), 3
        elif text.startswith(("<!DOCTYPE", "<!doctype"), pos):
            close, skip = _doctype_end(text, pos), 1
        else:
            break
        if close < 0:
            return None
        pos = close + skip
    match = _ROOT_TAG.match(text, pos)
    if not match:
        return None
    return match.group(1).rpartition(":")[2], match.group(0)


def _doctype_end(text: str, pos: int) -> int:
    """Index of the ``>`` that closes a DOCTYPE, skipping an internal subset in brackets."""
    bracket = text.find("[", pos)
    close = text.find(">", pos)
    if bracket != -1 and (close == -1 or bracket < close):
        subset_end = text.find("]", bracket)
        return -1 if subset_end < 0 else text.find(">", subset_end)
    return close


def jsonl_first_line(head: bytes) -> str | None:
    """The first non-blank line of a JSON-lines head (possibly cut at 8 KB), or ``None``."""
    text = head_text(head).lstrip()
    if not text.startswith("{"):
        return None
    return text.split("\n", 1)[0]


def has_json_key(line: str | None, *keys: str) -> bool:
    return line is not None and all(re.search(rf'"{re.escape(k)}"\s*:', line) for k in keys)


# --------------------------------------------------------------------------- XML


def xml_parser(**extra: Any) -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False,
                           load_dtd=False, remove_comments=True, remove_pis=True, **extra)


def refuse_entities(path: Path, head: bytes) -> None:
    """Refuse a document whose DOCTYPE declares entities (the "billion laughs" attack)."""
    if b"<!ENTITY" in head:
        raise IngestInputError(
            f"{path}: the XML declares entities in its DOCTYPE; medcite does not expand XML "
            "entities (this is how an entity-expansion bomb works), so the file is refused")


def read_xml_head(path: Path) -> bytes:
    """First bytes (decompressed) of a file; raises a clear error when it cannot be opened."""
    try:
        return read_head(path)
    except OSError as exc:
        raise IngestInputError(f"{path}: cannot be read ({exc.strerror or exc})") from exc


def declared_encoding(head: bytes) -> str:
    match = re.match(rb"""\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)""",
                     head.removeprefix(b"\xef\xbb\xbf"))
    return match.group(1).decode("ascii").upper() if match else "UTF-8"


def xml_error(path: Path, exc: BaseException, *, after: int | None = None,
              head: bytes = b"") -> IngestInputError:
    """A clear, file-level message for an XML, encoding or gzip failure."""
    msg = str(exc)
    if isinstance(exc, (EOFError, zlib.error, gzip.BadGzipFile)) or "Compressed file ended" in msg:
        what = "the gzip data is truncated or corrupt"
    elif (isinstance(exc, UnicodeDecodeError) or "not proper UTF-8" in msg
          or "Invalid bytes in character encoding" in msg or "encoding" in msg.lower()):
        what = (f"the text is not valid {declared_encoding(head)} as declared (is it Latin-1 "
                f"or another encoding?): {msg}")
    elif "Document is empty" in msg:
        what = "there is no XML content"
    elif "entity" in msg.lower() and ("loop" in msg or "amplification" in msg):
        what = "entity expansion refused"
    elif isinstance(exc, OSError) and not isinstance(exc, etree.Error):
        what = f"cannot be read ({exc})"
    else:
        what = f"invalid XML ({msg})"
    where = f" after {after} records" if after else ""
    return IngestInputError(f"{path}: {what}{where}")


def parse_xml_tree(path: Path) -> etree._ElementTree:
    """Parse a whole (small) XML file safely; any failure becomes ``IngestInputError``."""
    head = read_xml_head(path)
    refuse_entities(path, head)
    try:
        with open_maybe_gzip(path) as fh:
            return etree.parse(fh, xml_parser())
    except (etree.Error, OSError, EOFError, zlib.error) as exc:
        raise xml_error(path, exc, head=head) from exc


def local(el: Any) -> str | None:
    """Local tag name of an element; ``None`` for comments, PIs and entities."""
    tag = el.tag
    if not isinstance(tag, str):
        return None
    return tag.rpartition("}")[2]


class BlockText:
    """Turns a marked-up element into lines of plain text: block elements start new lines,
    list items get a ``- `` prefix, table rows become ``cell | cell``, skipped elements
    vanish, inline elements keep their text. ``tokens`` returns (heading level, text) pairs,
    level 0 being ordinary text."""

    def __init__(self, *, blocks: frozenset[str], skip: frozenset[str] = frozenset(),
                 items: frozenset[str] = frozenset(), rows: frozenset[str] = frozenset(),
                 cells: frozenset[str] = frozenset(), breaks: frozenset[str] = frozenset(),
                 headings: dict[str, int] | None = None,
                 name: Callable[[Any], str | None] = local) -> None:
        self.blocks, self.skip, self.items = blocks, skip, items
        self.rows, self.cells, self.breaks = rows, cells, breaks
        self.headings = headings or {}
        self.name = name

    def text(self, el: Any) -> str:
        return "\n".join(t for _, t in self.tokens(el))

    def inline(self, el: Any) -> str:
        parts: list[str] = []
        self._inline(el, parts)
        return collapse("".join(parts))

    def _inline(self, el: Any, parts: list[str]) -> None:
        parts.append(el.text or "")
        for child in el:
            tag = self.name(child)
            if tag is not None and tag not in self.skip:
                if tag in self.blocks or tag in self.breaks or tag in self.cells:
                    parts.append(" ")
                self._inline(child, parts)
                parts.append(" " if tag in self.blocks or tag in self.cells else "")
            parts.append(child.tail or "")

    def tokens(self, root: Any) -> list[tuple[int, str]]:
        out: list[tuple[int, str]] = []
        buf: list[str] = []
        prefix = [""]

        def flush() -> None:
            text = collapse("".join(buf))
            buf.clear()
            if text:
                out.append((0, prefix[0] + text))
                prefix[0] = ""

        def walk(el: Any) -> None:
            tag = self.name(el)
            if tag is None or tag in self.skip:
                return
            if tag in self.breaks:
                flush()
            elif tag in self.headings:
                flush()
                heading = self.inline(el)
                if heading:
                    out.append((self.headings[tag], heading))
            elif tag in self.rows:
                flush()
                cells = [self.inline(c) for c in el if self.name(c) in self.cells]
                row = " | ".join(c for c in cells if c)
                if row:
                    out.append((0, prefix[0] + row))
                    prefix[0] = ""
            elif tag in self.items or tag in self.blocks:
                flush()
                if tag in self.items:
                    prefix[0] = "- "
                buf.append(el.text or "")
                for child in el:
                    walk(child)
                    buf.append(child.tail or "")
                flush()
                prefix[0] = ""  # an empty item must not lend its "- " to the next line
            else:
                buf.append(el.text or "")
                for child in el:
                    walk(child)
                    buf.append(child.tail or "")

        walk(root)
        flush()
        return out


# --------------------------------------------------------------------------- JSON lines


# No corpus record nests this deep; deeper ones are refused before any code recurses into them.
MAX_JSON_DEPTH = 32


def _nesting_over(obj: Any, limit: int) -> bool:
    """Whether ``obj`` nests lists/objects more than ``limit`` levels (walked without recursion)."""
    stack = [(obj, 1)]
    while stack:
        value, depth = stack.pop()
        children = value.values() if isinstance(value, dict) else value
        for child in children:
            if isinstance(child, (dict, list)):
                if depth + 1 > limit:
                    return True
                stack.append((child, depth + 1))
    return False


def iter_json_lines(path: Path) -> Iterator[tuple[int, dict[str, Any] | str]]:
    """(line number, object) for each non-blank line, or (line number, error message) when a
    line is not a JSON object or nests deeper than ``MAX_JSON_DEPTH``; a file that cannot be
    opened raises ``IngestInputError``."""
    try:
        fh = open_maybe_gzip(path)
    except OSError as exc:
        raise IngestInputError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    with fh:
        lineno = 0
        try:
            for lineno, raw in enumerate(fh, 1):
                if not raw.strip():
                    continue
                try:
                    obj = json.loads(raw.decode("utf-8"))
                except UnicodeDecodeError:
                    yield lineno, "line is not valid UTF-8"
                    continue
                except ValueError as exc:
                    yield lineno, f"line is not valid JSON ({exc})"
                    continue
                except RecursionError:  # the decoder recurses once per level of nesting
                    yield lineno, f"line nests more than {MAX_JSON_DEPTH} levels deep"
                    continue
                if not isinstance(obj, dict):
                    yield lineno, "line is not a JSON object"
                elif _nesting_over(obj, MAX_JSON_DEPTH):
                    yield lineno, f"line nests more than {MAX_JSON_DEPTH} levels deep"
                else:
                    yield lineno, obj
        except (EOFError, zlib.error, OSError) as exc:
            raise xml_error(path, exc, after=lineno) from exc
