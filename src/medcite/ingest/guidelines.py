"""Clinical guidelines: open-medicine summaries (JSON lines or the wheel itself), National
Guideline Clearinghouse summaries (JSON lines), and any Markdown or HTML guideline page.

Granularity: one ``Document`` per guideline, keyed ``guideline:<id>``; its sections are the
guideline's text split at headings, labelled "pharmacotherapy > First-Line ... > SSRIs". The
open-medicine JSON lines and the wheel give identical documents (sections in section-name
order in both), so ingesting one after the other changes nothing. NGC summaries are keyed
``ngc:<ngc_id>`` and dated by their latest revision ("1996 (revised 2013 Mar 19)" is 2013).

HTML is parsed, never run: scripts, styles, forms, navigation and footers are dropped and only
the page's text is kept, split at its h1-h6 headings.
"""

from __future__ import annotations

import html
import json
import re
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import lxml.html
from lxml import etree

from medcite.errors import IngestInputError
from medcite.ingest._common import (BlockText, checked_year, clean_lines, collapse, has_json_key,
                                    head_text, iter_json_lines, jsonl_first_line, slugify,
                                    year_in)
from medcite.ingest.base import ParsedRecord, open_maybe_gzip
from medcite.models import Document, RecordError, Section, SourceType

Token = tuple[int, str]  # (heading level, text); level 0 is a line of body text

# --------------------------------------------------------------------------- Markdown

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_RULE = re.compile(r"^(?:-{3,}|\*{3,}|_{3,})$")
_TABLE_SEPARATOR = re.compile(r"^\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?$")
_BULLET = re.compile(r"^\s*(?P<marker>[-*+]|\d{1,3}[.)])\s+(?P<text>.*)$")
_INLINE = [
    (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), r"\1"),  # image -> alt text
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),  # link -> its text
    (re.compile(r"\*\*(.+?)\*\*"), r"\1"),
    (re.compile(r"__(.+?)__"), r"\1"),
    (re.compile(r"(?<![\w*\\])\*(?![\s*])(.+?)(?<![\s\\])\*(?![\w*])"), r"\1"),
    (re.compile(r"(?<![\w\\])_(?![\s_])(.+?)(?<!\s)_(?!\w)"), r"\1"),
    (re.compile(r"`([^`]+)`"), r"\1"),
    (re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>"), " "),  # inline HTML tags
    (re.compile(r"\\([\\`*_{}\[\]()#+\-.!|])"), r"\1"),
]


def _md_inline(text: str) -> str:
    for pattern, replacement in _INLINE:
        text = pattern.sub(replacement, text)
    return collapse(html.unescape(text))


def markdown_tokens(markdown: str) -> list[Token]:
    """Markdown as (heading level, text) tokens: paragraphs joined into one line, each list
    item its own line ("- item", "1. item"), table rows as "cell | cell", markup dropped."""
    tokens: list[Token] = []
    para: list[str] = []
    fenced = False

    def flush() -> None:
        if para:
            text = _md_inline(" ".join(para))
            if text and text != "-":
                tokens.append((0, text))
            para.clear()

    for raw in markdown.splitlines():
        line = raw.rstrip()
        stripped = line.strip()
        if stripped.startswith(("```", "~~~")):
            flush()
            fenced = not fenced
        elif fenced:
            if stripped:
                tokens.append((0, stripped))
        elif not stripped or _RULE.match(stripped):
            flush()
        elif (heading := _HEADING.match(stripped)) and len(line) - len(line.lstrip()) < 4:
            flush()
            title = _md_inline(heading.group(2))
            if title:
                tokens.append((len(heading.group(1)), title))
        elif stripped.startswith("|"):
            flush()
            if not _TABLE_SEPARATOR.match(stripped):
                cells = [_md_inline(c) for c in re.split(r"(?<!\\)\|", stripped.strip("|"))]
                row = " | ".join(c for c in cells if c)
                if row:
                    tokens.append((0, row))
        elif bullet := _BULLET.match(line):
            flush()
            marker = bullet.group("marker")
            para.append(("- " if marker in "-*+" else marker + " ") + bullet.group("text"))
        else:
            para.append(stripped.lstrip("> ").strip() if stripped.startswith(">") else stripped)
    flush()
    return tokens


def sections_from_tokens(tokens: Iterable[Token], prefix: list[str], *,
                         skip_h1: bool = False, title: str = "") -> list[Section]:
    """Split tokens at headings; the label is the prefix plus the heading path. A level-1
    heading is dropped when ``skip_h1`` is set or when it repeats the document title."""
    out: list[Section] = []
    path: list[tuple[int, str]] = []
    lines: list[str] = []

    def flush() -> None:
        if lines:
            label = " > ".join([*prefix, *(text for _, text in path)])
            out.append(Section(label=label, text="\n".join(lines)))
            lines.clear()

    for level, text in tokens:
        if level == 0:
            lines.append(text)
            continue
        flush()
        if level == 1 and (skip_h1 or text.casefold() == title.casefold()):
            path.clear()
            continue
        while path and path[-1][0] >= level:
            path.pop()
        path.append((level, text))
    flush()
    return out


# --------------------------------------------------------------------------- open-medicine

_OM_REQUIRED = ("guideline_id", "title", "section", "text_markdown")


def open_medicine_document(meta: dict[str, Any], sections: dict[str, str]) -> Document:
    """One guideline from its registry metadata and {section name: markdown}."""
    gid = str(meta.get("guideline_id") or meta["id"])
    doi = (meta.get("doi") or "").strip() or None
    parts: list[Section] = []
    for name in sorted(sections):  # the JSON lines are in this order; the registry is not
        parts.extend(sections_from_tokens(markdown_tokens(sections[name]),
                                          [name.replace("_", " ")], skip_h1=True))
    year = meta.get("year")
    return Document(
        key=f"guideline:{gid}",
        source_type=SourceType.GUIDELINE,
        title=collapse(str(meta["title"])),
        sections=parts,
        source=collapse(str(meta.get("organization") or "")) or None,
        year=checked_year(year) if isinstance(year, int) else year_in(str(year or "")),
        doi=doi,
        url=f"https://doi.org/{doi}" if doi else None,
        keywords=[str(t) for t in topics] if isinstance(topics := meta.get("topics"), list) else [],
        title_only=not parts,
    )


class OpenMedicineJsonlIngestor:
    """``guideline_sections.jsonl``: one line per (guideline, section), grouped here into one
    document per guideline."""

    name = "open-medicine-jsonl"

    def sniff(self, head: bytes) -> bool:
        return has_json_key(jsonl_first_line(head), "guideline_id")

    def parse(self, path: Path) -> Iterator[ParsedRecord]:
        path = Path(path)
        groups: dict[str, tuple[dict[str, Any], dict[str, str]]] = {}
        for lineno, row in iter_json_lines(path):
            if isinstance(row, str):
                yield RecordError(path=str(path), record_id=f"line {lineno}", message=row)
                continue
            missing = [k for k in _OM_REQUIRED if not isinstance(row.get(k), str) or not row[k]]
            if missing:
                yield RecordError(path=str(path), record_id=f"line {lineno}",
                                  message=f"missing or empty field(s): {', '.join(missing)}")
                continue
            meta, sections = groups.setdefault(row["guideline_id"], (row, {}))
            sections[row["section"]] = row["text_markdown"]
        for gid, (meta, sections) in groups.items():
            try:
                yield open_medicine_document(meta, sections)
            except (ValueError, TypeError) as exc:  # e.g. topics that are not a list
                yield RecordError(path=str(path), record_id=gid, message=str(exc))


def documents_from_open_medicine_wheel(wheel_path: Path | str) -> Iterator[Document]:
    """The same documents as the JSON lines, read straight from the open-medicine wheel
    (``open_medicine/guidelines/registry.json`` plus ``content/<id>/<section>.md``)."""
    base = "open_medicine/guidelines/"
    try:
        with zipfile.ZipFile(wheel_path) as wheel:
            names = set(wheel.namelist())
            registry = json.loads(_member(wheel, base + "registry.json"))
            if not isinstance(registry, list):
                raise IngestInputError(f"{wheel_path}: registry.json is not a list of guidelines")
            for entry in registry:
                sections = {}
                for section in entry.get("sections") or []:
                    member = f"{base}content/{entry['id']}/{section}.md"
                    if member in names:
                        sections[section] = _member(wheel, member).decode("utf-8")
                yield open_medicine_document(entry, sections)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise IngestInputError(f"{wheel_path}: not a readable open-medicine wheel ({exc})") from exc


def _member(wheel: zipfile.ZipFile, name: str, limit: int = 20 << 20) -> bytes:
    if wheel.getinfo(name).file_size > limit:  # a zip bomb is not a guideline
        raise IngestInputError(f"{wheel.filename}: {name} is larger than {limit >> 20} MB")
    return wheel.read(name)


# --------------------------------------------------------------------------- NGC

_NGC_SECTIONS = (
    ("major_recommendations", "Major recommendations"),
    ("potential_benefits", "Potential benefits"),
    ("potential_harms", "Potential harms"),
    ("target_population", "Target population"),
    ("interventions", "Interventions and practices considered"),
    ("conditions", "Conditions"),
)


class NgcJsonlIngestor:
    """National Guideline Clearinghouse summaries (AHRQ, archived 2018)."""

    name = "ngc-jsonl"

    def sniff(self, head: bytes) -> bool:
        return has_json_key(jsonl_first_line(head), "ngc_id")

    def parse(self, path: Path) -> Iterator[ParsedRecord]:
        path = Path(path)
        for lineno, row in iter_json_lines(path):
            if isinstance(row, str):
                yield RecordError(path=str(path), record_id=f"line {lineno}", message=row)
                continue
            ngc_id = str(row.get("ngc_id") or "").strip()
            title = collapse(str(row.get("title") or ""))
            if not ngc_id or not title:
                yield RecordError(path=str(path), record_id=ngc_id or f"line {lineno}",
                                  message="an NGC summary needs ngc_id and title")
                continue
            sections = [Section(label=label, text=text) for field, label in _NGC_SECTIONS
                        if (text := clean_lines(str(row.get(field) or "")))]
            try:
                document = Document(
                    key=f"ngc:{ngc_id}",
                    source_type=SourceType.GUIDELINE,
                    title=title,
                    sections=sections,
                    source=collapse(str(row.get("developers") or "")) or None,
                    year=_ngc_year(row),
                    url=(row.get("url") or None),
                    title_only=not sections,
                )
            except (ValueError, TypeError) as exc:
                yield RecordError(path=str(path), record_id=ngc_id, message=str(exc))
                continue
            yield document


def _ngc_year(row: dict[str, Any]) -> int | None:
    """The year of the release summarised: "1996 (revised 2013 Mar 19)" is the 2013 text."""
    year = (checked_year(row["year"]) if isinstance(row.get("year"), int)
            else year_in(str(row.get("year"))))
    released = [int(y) for y in re.findall(r"(?<!\d)(?:19|20)\d\d(?!\d)",
                                             str(row.get("date_released") or ""))]
    return max([*released, *([year] if year else [])], default=None)


# --------------------------------------------------------------------------- Markdown / HTML

_MAX_BYTES = 50 << 20
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.S)
_HTML_START = re.compile(r"\A\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*(?:<!doctype\s+html|<html)",
                         re.I | re.S)
_TYPES = {"guideline": SourceType.GUIDELINE, "research": SourceType.RESEARCH,
          "drug_label": SourceType.DRUG_LABEL, "drug label": SourceType.DRUG_LABEL,
          "consumer_health": SourceType.CONSUMER_HEALTH,
          "consumer health": SourceType.CONSUMER_HEALTH, "consumer": SourceType.CONSUMER_HEALTH}
_HTML_DROP = ("script", "style", "noscript", "template", "svg", "math", "iframe", "object",
              "embed", "canvas", "form", "button", "select", "textarea", "nav", "footer")
_HTML_TEXT = BlockText(
    blocks=frozenset({"p", "div", "section", "article", "main", "header", "aside", "blockquote",
                      "pre", "ul", "ol", "dl", "dt", "dd", "figure", "figcaption", "table",
                      "caption", "address", "details", "summary", "body"}),
    items=frozenset({"li"}), rows=frozenset({"tr"}), cells=frozenset({"td", "th"}),
    breaks=frozenset({"br", "hr"}),
    headings={f"h{n}": n for n in range(1, 7)},
    name=lambda el: el.tag.lower() if isinstance(el.tag, str) else None,
)


class GuidelineDocumentIngestor:
    """A guideline as Markdown with front matter (title, organization, year, doi, url, type)
    or as an HTML page with <title> and citation_* / dc.* meta tags."""

    name = "guideline-document"

    def sniff(self, head: bytes) -> bool:
        text = head_text(head)
        if re.match(r"\A---[ \t]*\r?\n", text):
            front = _FRONT_MATTER.match(text)  # the closing '---' may lie beyond the head
            return re.search(r"(?m)^title\s*:", front.group(1) if front else text) is not None
        return _HTML_START.match(text) is not None

    def parse(self, path: Path) -> Iterator[ParsedRecord]:
        path = Path(path)
        try:
            with open_maybe_gzip(path) as fh:
                data = fh.read(_MAX_BYTES + 1)
        except (OSError, EOFError) as exc:
            raise IngestInputError(f"{path}: cannot be read ({exc})") from exc
        if len(data) > _MAX_BYTES:
            raise IngestInputError(f"{path}: larger than {_MAX_BYTES >> 20} MB; a guideline "
                                   "page is expected to be far smaller")
        if not data.strip():
            raise IngestInputError(f"{path}: the file is empty")
        if _HTML_START.match(head_text(data[:4096])):
            yield _html_document(path, data)
            return
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise IngestInputError(f"{path}: the text is not valid UTF-8 ({exc.reason} at byte "
                                   f"{exc.start})") from exc
        yield _markdown_document(path, text)


def _front_matter(block: str) -> dict[str, Any]:
    """The small YAML subset front matter uses: ``key: value``, ``[a, b]`` and ``- item``."""
    meta: dict[str, Any] = {}
    key = None
    for line in block.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        item = re.match(r"^\s+-\s+(.*)$", line) or re.match(r"^-\s+(.*)$", line)
        if item and key:
            if not isinstance(meta.get(key), list):
                meta[key] = []
            meta[key].append(_scalar(item.group(1)))
            continue
        pair = re.match(r"^([A-Za-z_][\w.-]*)\s*:\s*(.*)$", line)
        if pair:
            key, value = pair.group(1).lower(), pair.group(2).strip()
            if value.startswith("[") and value.endswith("]"):
                meta[key] = [_scalar(v) for v in value[1:-1].split(",") if v.strip()]
            else:
                meta[key] = _scalar(value) if value else ""
    return meta


def _scalar(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        value = value[1:-1]
    return value


def _markdown_document(path: Path, text: str) -> Document:
    match = _FRONT_MATTER.match(text)
    if not match:
        raise IngestInputError(f"{path}: Markdown guideline without a closing '---' after its "
                               "front matter")
    meta = _front_matter(match.group(1))
    title = collapse(str(meta.get("title") or ""))
    if not title:
        raise IngestInputError(f"{path}: the front matter has no title")
    sections = sections_from_tokens(markdown_tokens(text[match.end():]), [], title=title)
    return _guideline(path, meta, title, sections)


def _html_document(path: Path, data: bytes) -> Document:
    parser = lxml.html.HTMLParser(remove_comments=True, remove_pis=True, no_network=True,
                                  huge_tree=False)
    # libxml2 reads undeclared bytes as Latin-1; most pages today are UTF-8, so decode first
    # unless the page declares its own encoding in an XML declaration.
    source: bytes | str = data
    if not data.lstrip().startswith(b"<?xml"):
        try:
            source = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            pass
    try:
        root = lxml.html.document_fromstring(source, parser=parser)
    except (etree.Error, ValueError) as exc:
        raise IngestInputError(f"{path}: not readable as HTML ({exc})") from exc
    meta: dict[str, Any] = {}
    for el in root.iter("meta"):
        name = (el.get("name") or el.get("property") or "").strip().lower()
        content = collapse(el.get("content"))
        if name and content:
            meta.setdefault(name, content)
    for link in root.iter("link"):
        if (link.get("rel") or "").lower() == "canonical" and link.get("href"):
            meta.setdefault("canonical", link.get("href").strip())
    page_title = collapse(root.findtext(".//title"))
    title = _first(meta, "citation_title", "dc.title", "og:title") or page_title
    if not title:
        raise IngestInputError(f"{path}: the HTML page has no <title> or citation_title")
    for tag in _HTML_DROP:  # never executed, never indexed
        for el in list(root.iter(tag)):
            el.drop_tree()
    body = root.find("body")
    tokens = _HTML_TEXT.tokens(body) if body is not None else []
    fields = {
        "id": _first(meta, "guideline_id", "medcite:id", "citation_id"),
        "organization": _first(meta, "citation_publisher", "dc.publisher", "dc.creator",
                               "citation_author", "author", "og:site_name"),
        "year": _first(meta, "citation_publication_date", "citation_date", "dc.date",
                       "citation_online_date", "article:published_time"),
        "doi": _first(meta, "citation_doi", "dc.identifier", "prism.doi"),
        "url": _first(meta, "citation_abstract_html_url", "citation_fulltext_html_url",
                      "og:url", "canonical"),
        "type": _first(meta, "medcite:type", "dc.type"),
        "keywords": [k.strip() for k in re.split(r"[;,]", _first(meta, "citation_keywords",
                                                                   "keywords")) if k.strip()],
        "language": _first(meta, "citation_language", "dc.language") or root.get("lang"),
    }
    return _guideline(path, fields, title, sections_from_tokens(tokens, [], title=title))


def _first(meta: dict[str, Any], *names: str) -> str:
    for name in names:
        if meta.get(name):
            return str(meta[name])
    return ""


def _guideline(path: Path, meta: dict[str, Any], title: str, sections: list[Section]) -> Document:
    ident = str(meta.get("id") or meta.get("guideline_id") or "").strip()
    slug = ident if re.fullmatch(r"[A-Za-z0-9_.\-]+", ident) else slugify(ident or title)
    if not slug:
        raise IngestInputError(f"{path}: cannot make a stable key from the title {title!r}")
    doi = re.sub(r"^(?:https?://(?:dx\.)?doi\.org/|doi:\s*)", "", str(meta.get("doi") or ""),
                 flags=re.I).strip() or None
    if doi and not doi.startswith("10."):
        doi = None  # dc.identifier is not always a DOI
    source = _first(meta, "organization", "organisation", "source", "publisher", "developer",
                    "author")
    keywords = meta.get("keywords") or meta.get("topics") or meta.get("tags") or []
    source_type = _TYPES.get(str(meta.get("type") or "guideline").strip().lower(),
                             SourceType.GUIDELINE)
    return Document(
        key=f"guideline:{slug}",
        source_type=source_type,
        title=title,
        sections=sections,
        source=collapse(source) or None,
        year=year_in(str(meta.get("year") or meta.get("date") or "")),
        doi=doi,
        url=str(meta.get("url") or "").strip() or (f"https://doi.org/{doi}" if doi else None),
        keywords=[str(k) for k in keywords] if isinstance(keywords, list) else [
            k.strip() for k in str(keywords).split(",") if k.strip()],
        language=str(meta.get("language") or "").strip() or None,
        title_only=not sections,
    )
