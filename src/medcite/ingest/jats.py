"""PMC full text in JATS / NLM archiving XML (``.nxml``; also an efetch ``pmc-articleset``).

Sections, in order: the abstract ("Abstract", or "Abstract > Background" ... for structured
abstracts; author summaries under their own title), then every body ``<sec>`` with nested titles
joined "Methods > Study design". Paragraph and list text only: figures and their captions,
tables, formulas, supplementary material and the back matter (references, acknowledgements)
are left out, as are administrative sections (competing interests, author contributions,
funding ...). Numeric citation markers like "[10-13]" are removed so that they cannot be
confused with medcite's own citation numbers; author-year citations stay.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from lxml import etree

from medcite.ingest._common import BlockText, collapse, parse_xml_tree, xml_root, year_in
from medcite.ingest.base import ParsedRecord
from medcite.models import Document, RecordError, Section, SourceType

NO_TITLE = "[No title available]"

# Elements whose content is not running text.
_DROP = ("fig", "fig-group", "table-wrap", "table-wrap-group", "supplementary-material",
         "disp-formula", "disp-formula-group", "tex-math", "graphic", "inline-graphic", "media",
         "object-id", "ref-list", "fn-group")
_MARKER_XREFS = frozenset({"aff", "fn", "table-fn", "corresp", "author-notes"})
_NUMERIC = re.compile(r"^[\s\d,;\-\u2010-\u2015\[\]()]*$")
_EMPTY_BRACKETS = re.compile(r"\s*(?:\[[\s,;\-\u2010-\u2015]*\]|\([\s,;\-\u2010-\u2015]*\))")

# Sections that describe the paper's production, not its findings.
_ADMIN_TITLES = frozenset("""
competing interests|conflict of interest|conflicts of interest|conflict of interest statement|
declaration of interests|disclosure|disclosures|authors' contributions|author contributions|
authors contributions|contributors|funding|financial support|acknowledgements|acknowledgments|
pre-publication history|supplementary material|supplementary materials|supporting information|
abbreviations|availability of data and materials|data availability|ethics statement
""".replace("\n", "").split("|"))
_ADMIN_TYPES = frozenset({"supplementary-material", "COI-statement", "author-contributions",
                          "funding-information", "data-availability", "ethics-statement"})
_SKIP_ABSTRACTS = frozenset({"graphical", "teaser", "toc", "web-summary"})

# JATS article-type values in PubMed's publication-type vocabulary (what the evidence ranking
# reads); unknown values are kept as they are.
_ARTICLE_TYPES = {
    "research-article": "Journal Article", "review-article": "Review",
    "systematic-review": "Systematic Review", "meta-analysis": "Meta-Analysis",
    "case-report": "Case Reports", "editorial": "Editorial", "letter": "Letter",
    "correction": "Published Erratum", "retraction": "Retraction of Publication",
    "brief-report": "Journal Article", "rapid-communication": "Journal Article",
    "practice-guideline": "Practice Guideline", "guideline": "Guideline",
    "news": "News", "book-review": "Review", "commentary": "Comment",
    "clinical-trial": "Clinical Trial",
}

_BLOCK = BlockText(
    blocks=frozenset({"p", "list", "def-list", "disp-quote", "boxed-text", "statement",
                      "verse-group", "speech", "array", "caption", "title"}),
    items=frozenset({"list-item", "def-item"}),
    rows=frozenset({"tr"}), cells=frozenset({"td", "th"}),
    skip=frozenset({"label"}),
)


class JatsIngestor:
    name = "jats"

    def sniff(self, head: bytes) -> bool:
        root = xml_root(head)
        if root is None:
            return False
        if root[0] == "pmc-articleset":
            return True
        text = head.decode("utf-8", errors="replace")
        return root[0] == "article" and ("JATS" in text or "NLM//DTD" in text
                                         or "<front>" in text or "article-meta" in text)

    def parse(self, path: Path) -> Iterator[ParsedRecord]:
        path = Path(path)
        root = parse_xml_tree(path).getroot()
        articles = [root] if root.tag == "article" else list(root.iter("article"))
        for ordinal, article in enumerate(articles, 1):
            try:
                yield _document(article, path, ordinal)
            except _Skip as problem:
                yield RecordError(path=str(path), record_id=problem.record_id,
                                  message=problem.message)
            except (ValueError, TypeError, AttributeError) as exc:  # one odd article
                yield RecordError(path=str(path), record_id=f"article {ordinal}",
                                  message=f"the article could not be parsed: {exc}")


class _Skip(Exception):
    def __init__(self, record_id: str, message: str) -> None:
        super().__init__(message)
        self.record_id, self.message = record_id, message


def _document(article: etree._Element, path: Path, ordinal: int) -> Document:
    meta = article.find("front/article-meta")
    if meta is None:
        raise _Skip(f"article {ordinal}", f"article #{ordinal} has no front/article-meta")
    ids: dict[str, str] = {}
    for item in meta.iterfind("article-id"):
        kind, value = item.get("pub-id-type"), collapse(item.text)
        if kind and value:
            ids.setdefault(kind, value)
    pmc = ids.get("pmc") or ids.get("pmcid")
    pmcid = (pmc if pmc.upper().startswith("PMC") else f"PMC{pmc}") if pmc else None
    pmid, doi = ids.get("pmid"), ids.get("doi")
    if pmcid:
        key = f"pmc:{pmcid}"
    elif pmid:
        key = f"pmid:{pmid}"
    elif doi:
        key = f"doi:{doi.lower()}"
    else:
        raise _Skip(f"article {ordinal}", f"article #{ordinal} has no PMC id, PMID or DOI")

    _clean(article)
    journal = article.find("front/journal-meta")
    source = None
    if journal is not None:
        title_el = journal.find("journal-title-group/journal-title")
        if title_el is None:
            title_el = journal.find("journal-title")
        source = _BLOCK.inline(title_el) if title_el is not None else None
    title_el = meta.find("title-group/article-title")
    title = (_BLOCK.inline(title_el) if title_el is not None else "") or NO_TITLE
    article_type = article.get("article-type")
    keywords = list(dict.fromkeys(
        k for k in (_BLOCK.inline(kwd) for kwd in meta.iterfind("kwd-group/kwd")) if k))

    sections = _abstracts(meta)
    body = article.find("body")
    if body is not None:
        sections.extend(_body_sections(body))
    return Document(
        key=key,
        source_type=SourceType.RESEARCH,
        title=title,
        sections=sections,
        source=source or None,
        year=_year(meta),
        pmid=pmid,
        pmcid=pmcid,
        doi=doi,
        url=f"https://www.ncbi.nlm.nih.gov/pmc/articles/{pmcid}/" if pmcid else (
            f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/" if pmid else None),
        publication_types=[_ARTICLE_TYPES.get(article_type, article_type)] if article_type else [],
        keywords=keywords,
        language=article.get("{http://www.w3.org/XML/1998/namespace}lang"),
        title_only=not sections,
    )


def _clean(article: etree._Element) -> None:
    """Remove non-text elements and numeric citation markers, keeping the text around them."""
    for path in _DROP:
        for el in list(article.iterfind(f".//{path}")):
            _remove(el, " ")  # a dropped display block still separates the words around it
    for xref in list(article.iter("xref")):
        kind = xref.get("ref-type")
        text = "".join(xref.itertext())
        if kind in _MARKER_XREFS or (kind == "bibr" and _NUMERIC.match(text)):
            _remove(xref, "")


def _remove(el: etree._Element, gap: str) -> None:
    parent = el.getparent()
    if parent is None:
        return
    tail = el.tail or ""
    previous = el.getprevious()
    before = (previous.tail if previous is not None else parent.text) or ""
    if not gap and tail[:1] in (".", ",", ";", ":", ")") and before[-1:].isspace():
        before = before.rstrip()  # "shown previously [12]." -> "shown previously."
    if previous is not None:
        previous.tail = before + gap + tail
    else:
        parent.text = before + gap + tail
    parent.remove(el)


def _text(el: etree._Element) -> str:
    text = "\n".join(line for _, line in _BLOCK.tokens(el))
    return _EMPTY_BRACKETS.sub("", text).strip()


def _abstracts(meta: etree._Element) -> list[Section]:
    sections: list[Section] = []
    for abstract in meta.iterfind("abstract"):
        kind = abstract.get("abstract-type")
        if kind in _SKIP_ABSTRACTS:
            continue
        title_el = abstract.find("title")
        label = "Abstract"
        if kind:
            heading = _BLOCK.inline(title_el) if title_el is not None else ""
            label = heading or f"Abstract ({kind})"
        sections.extend(_sec_sections(abstract, [label], top=True))
    return sections


def _body_sections(body: etree._Element) -> list[Section]:
    sections: list[Section] = []
    loose: list[str] = []  # paragraphs before the first <sec>: the unheaded introduction
    for child in body:
        if child.tag == "sec":
            sections.extend(_sec_sections(child, []))
        elif isinstance(child.tag, str):
            text = _text(child)
            if text:
                loose.append(text)
    if loose:
        sections.insert(0, Section(label="Introduction", text="\n".join(loose)))
    return sections


def _sec_sections(sec: etree._Element, path: list[str], top: bool = False) -> list[Section]:
    """The section's own paragraphs as one Section, then its subsections, depth first."""
    title_el = sec.find("title")
    title = (_BLOCK.inline(title_el) if title_el is not None else "").rstrip(":").strip()
    if title.islower():
        title = title[0].upper() + title[1:]  # "methods" -> "Methods"
    if not top:
        if title.lower() in _ADMIN_TITLES or sec.get("sec-type") in _ADMIN_TYPES:
            return []
        path = [*path, title] if title else path
    own: list[str] = []
    nested: list[Section] = []
    for child in sec:
        if not isinstance(child.tag, str) or child.tag in ("title", "label"):
            continue
        if child.tag == "sec":
            nested.extend(_sec_sections(child, path))
        else:
            text = _text(child)
            if text:
                own.append(text)
    label = " > ".join(path)
    return ([Section(label=label, text="\n".join(own))] if own else []) + nested


def _year(meta: etree._Element) -> int | None:
    dates = {}
    for date in meta.iterfind("pub-date"):
        year = year_in(date.findtext("year"))
        kind = date.get("pub-type") or date.get("date-type") or ""
        if year and kind not in dates:
            dates[kind] = year
    for kind in ("epub", "ppub", "collection", "pub", "epub-ppub", ""):
        if kind in dates:
            return dates[kind]
    return min(dates.values()) if dates else None
