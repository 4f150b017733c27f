"""PubMed/MEDLINE XML: NLM baseline and update files, and E-utilities efetch output.

The file is streamed through lxml's incremental parser (``XMLPullParser``, the engine behind
``iterparse``): each ``PubmedArticle`` (or ``PubmedBookArticle``) becomes a ``Document`` and is
then cleared, so memory stays flat on files of any size. Each ``PMID`` in a ``DeleteCitation``
becomes a ``Deletion``. A record that cannot be used (no PMID) is reported as a
``RecordError`` and the rest of the file still goes in.

Speed: author lists, history dates and reference lists are about 60% of the bytes of a recent
NLM file and medcite reads none of them, so ``_RecordStripper`` cuts them out of each record's
bytes before libxml2 builds a tree. The document is still parsed as a whole, so a malformed
or truncated file is still an error.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path

from lxml import etree

from medcite.errors import IngestInputError
from medcite.ingest._common import read_xml_head, refuse_entities, xml_error, xml_root
from medcite.ingest.base import ParsedRecord, open_maybe_gzip
from medcite.models import Deletion, Document, RecordError, Section, SourceType

_RECORD_TAGS = ("PubmedArticle", "PubmedBookArticle", "DeleteCitation")
_CHUNK = 1 << 20
_ROOTS = frozenset({"PubmedArticleSet", "PubmedArticle", "PubmedBookArticle"})
_YEAR = re.compile(r"\d{4}")
NO_TITLE = "[No title available]"
_SCRIPTS = frozenset({"sub", "sup"})


def _text(el: etree._Element | None) -> str:
    """Plain text of an element: inline markup (<i>, <sup>, MathML) keeps its text."""
    if el is None:
        return ""
    text = el.text if len(el) == 0 else _mixed_text(el)
    if not text:
        return ""
    if "\n" in text or "  " in text or "\t" in text:  # cheap scans; most texts are clean
        return " ".join(text.split())
    return text.strip()


def _mixed_text(el: etree._Element) -> str:
    """Text of an element with inline children. A line break plus indentation just before a
    <sub>/<sup> is pretty-printing, not a space ("beta<sub>2</sub>" stays "beta2")."""
    parts = [el.text or ""]
    for child in el:
        if child.tag in _SCRIPTS:
            before = parts[-1].rstrip()
            if "\n" in parts[-1][len(before):]:
                parts[-1] = before
        parts.append("".join(child.itertext()))
        parts.append(child.tail or "")
    return "".join(parts)


# MeSH qualifiers used with diseases (tree categories C and F03): a heading that carries one
# names a condition. Those also allowed on organs, procedures or places ("surgery",
# "physiopathology", "mortality", "epidemiology": "Laos/epidemiology") would not tell.
_DISEASE_QUALIFIERS = frozenset({
    "drug therapy", "therapy", "diet therapy", "diagnosis", "prevention & control", "etiology",
    "complications", "chemically induced", "rehabilitation",
})


def _disease_qualified(heading: etree._Element) -> bool:
    return any((q.text or "").strip().lower() in _DISEASE_QUALIFIERS
               for q in heading.iterfind("QualifierName"))


def _descriptor(heading: etree._Element) -> etree._Element | None:
    """A MeshHeading's DescriptorName, which the DTD puts first."""
    if len(heading) and heading[0].tag == "DescriptorName":
        return heading[0]
    return heading.find("DescriptorName")


class PubmedIngestor:
    name = "pubmed"

    def sniff(self, head: bytes) -> bool:
        root = xml_root(head)
        return root is not None and root[0] in _ROOTS

    def parse(self, path: Path) -> Iterator[ParsedRecord]:
        path = Path(path)
        head = read_xml_head(path)
        refuse_entities(path, head)
        if not head.strip():
            raise IngestInputError(f"{path}: the file is empty")
        count = 0
        parser = etree.XMLPullParser(
            events=("end",), tag=_RECORD_TAGS, resolve_entities=False, no_network=True,
            huge_tree=False, load_dtd=False, remove_blank_text=True, remove_comments=True,
            remove_pis=True)
        stripper = _RecordStripper()
        try:
            with open_maybe_gzip(path) as fh:
                while True:
                    chunk = fh.read(_CHUNK)
                    data = stripper.feed(chunk, final=not chunk)
                    if data:
                        parser.feed(data)
                    for _, el in parser.read_events():
                        count += 1
                        yield from self._records(el, path, count)
                        # Free the record and everything before it: constant memory.
                        el.clear(keep_tail=True)
                        parent = el.getparent()
                        if parent is not None:
                            while el.getprevious() is not None:
                                del parent[0]
                    if not chunk:
                        break
                parser.close()
        except (etree.Error, OSError, EOFError, zlib.error) as exc:
            raise xml_error(path, exc, after=count, head=head) from exc
        if count == 0:
            raise IngestInputError(f"{path}: no PubmedArticle or DeleteCitation records found")

    def _records(self, el: etree._Element, path: Path, ordinal: int) -> Iterator[ParsedRecord]:
        tag = el.tag
        if tag == "DeleteCitation":
            for pmid in el.iterfind("PMID"):
                value = (pmid.text or "").strip()
                if value:
                    yield Deletion(key=f"pmid:{value}")
            return
        try:
            if tag == "PubmedArticle":
                yield self._article(el, path, ordinal)
            else:
                yield self._book(el, path, ordinal)
        except _Skip as problem:
            yield RecordError(path=str(path), record_id=problem.record_id, message=problem.message)
        except (ValueError, TypeError, AttributeError) as exc:  # defensive: one odd record
            yield RecordError(path=str(path), record_id=f"record {ordinal}",
                              message=f"{tag} could not be parsed: {exc}")

    def _article(self, el: etree._Element, path: Path, ordinal: int) -> Document:
        # One pass over the children we need instead of path look-ups: ``find`` costs about
        # 2 us a call, and this method runs for every record of 1,300 baseline files.
        citation = pubmed_data = None
        for child in el:
            if child.tag == "MedlineCitation":
                citation = child
            elif child.tag == "PubmedData":
                pubmed_data = child
        pmid_el = article = None
        mesh: list[str] = []
        conditions: list[list[str]] = []
        keywords: list[str] = []
        if citation is not None:
            for child in citation:
                tag = child.tag
                if tag == "PMID":
                    pmid_el = child
                elif tag == "Article":
                    article = child
                elif tag == "MeshHeadingList":
                    mesh = _texts(_descriptor(h) for h in child)
                    conditions = [[name] for name in _texts(
                        _descriptor(h) for h in child if _disease_qualified(h))]
                elif tag == "KeywordList":
                    keywords.extend(_texts(child))
        pmid = (pmid_el.text or "").strip() if pmid_el is not None else ""
        if not pmid:
            title = _text(article.find("ArticleTitle")) if article is not None else ""
            raise _Skip(f"record {ordinal}",
                        f"PubmedArticle #{ordinal} has no PMID"
                        + (f" (title: {title[:80]!r})" if title else ""))
        if article is None:
            raise _Skip(f"pmid:{pmid}", f"PMID {pmid} has no Article element")

        title = vernacular = journal_title = language = doi = ""
        year: int | None = None
        article_year: int | None = None
        sections: list[Section] = []
        publication_types: list[str] = []
        for child in article:
            tag = child.tag
            if tag == "Journal":
                for part in child:
                    if part.tag == "Title":
                        journal_title = _text(part)
                    elif part.tag == "JournalIssue":
                        pub_date = part.find("PubDate")
                        if pub_date is not None:
                            year = _year(pub_date.findtext("Year")) or _year(
                                pub_date.findtext("MedlineDate"))
            elif tag == "ArticleTitle":
                title = _text(child)
            elif tag == "VernacularTitle":
                vernacular = _text(child)
            elif tag == "ELocationID":
                if (not doi and child.get("EIdType") == "doi"
                        and child.get("ValidYN", "Y") == "Y" and child.text):
                    doi = child.text.strip()
            elif tag == "Abstract":
                sections = _abstract(child)
            elif tag == "Language":
                language = language or (child.text or "").strip()
            elif tag == "PublicationTypeList":
                publication_types = _texts(child)
            elif tag == "ArticleDate" and article_year is None:
                article_year = _year(child.findtext("Year"))

        ids: dict[str, str] = {}
        if pubmed_data is not None:
            for child in pubmed_data:
                if child.tag == "ArticleIdList":  # not the ones inside ReferenceList
                    ids = _article_ids(child)
                    break
        return Document(
            key=f"pmid:{pmid}",
            source_type=SourceType.RESEARCH,
            # Some errata have no title at all; PubMed itself shows "[No title available]".
            title=title or vernacular or NO_TITLE,
            sections=sections,
            source=journal_title or None,
            year=year or article_year,
            pmid=pmid,
            pmcid=ids.get("pmc"),
            doi=doi or ids.get("doi"),
            url=f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/",
            publication_types=publication_types,
            mesh_terms=mesh,
            condition_names=conditions,
            keywords=keywords,
            language=language or None,
            revision=_revision(pmid_el, pmid),
            title_only=not sections,
        )

    def _book(self, el: etree._Element, path: Path, ordinal: int) -> Document:
        """NCBI Bookshelf records (GeneReviews, StatPearls ...) share the PubMed stream."""
        doc = el.find("BookDocument")
        pmid_el = doc.find("PMID") if doc is not None else None
        pmid = (pmid_el.text or "").strip() if pmid_el is not None else ""
        if doc is None or not pmid:
            raise _Skip(f"record {ordinal}", f"PubmedBookArticle #{ordinal} has no PMID")
        book = doc.find("Book")
        book_title = _text(book.find("BookTitle")) if book is not None else ""
        title = _text(doc.find("ArticleTitle")) or book_title or NO_TITLE
        ids = _article_ids(el.find("PubmedBookData/ArticleIdList"))
        sections = _abstract(doc.find("Abstract"))
        publisher = _text(book.find("Publisher/PublisherName")) if book is not None else ""
        return Document(
            key=f"pmid:{pmid}", source_type=SourceType.RESEARCH, title=title, sections=sections,
            source=book_title or publisher or None,
            year=_year(book.findtext("PubDate/Year")) if book is not None else None,
            pmid=pmid, pmcid=ids.get("pmc"), doi=ids.get("doi"),
            url=f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/",
            publication_types=_texts(doc.iterfind("PublicationType")),
            keywords=_texts(doc.iterfind("KeywordList/Keyword")),
            language=(doc.findtext("Language") or "").strip() or None,
            revision=_revision(pmid_el, pmid), title_only=not sections,
        )


class _RecordStripper:
    """Cuts unread blocks out of complete ``PubmedArticle`` records in a byte stream.

    Only whole records are touched (a record still cut by the chunk boundary waits for the next
    chunk), so every cut lies inside one record; bytes between records pass unchanged. Blocks
    are looked for in DTD order, each search starting where the last one ended (about one pass
    over the bytes), and memoryview slices keep the output to a single copy."""

    _START = b"<PubmedArticle>"
    _END = b"</PubmedArticle>"

    def __init__(self) -> None:
        self.carry = b""

    def feed(self, chunk: bytes, final: bool = False) -> bytes:
        data = self.carry + chunk if self.carry else chunk
        view = memoryview(data)
        out: list[memoryview] = []
        pos = 0
        while True:
            start = data.find(self._START, pos)
            if start < 0:
                break
            end = data.find(self._END, start)
            if end < 0:
                break
            end += len(self._END)
            out.append(view[pos:start])
            _keep_parts(data, view, start, end, out)
            pos = end
        if final:
            keep = len(data)
        else:
            # Keep an unfinished record (or a cut "<PubmedArt") for the next chunk.
            start = data.find(self._START, pos)
            keep = start if start >= 0 else max(pos, len(data) - len(self._START))
        out.append(view[pos:keep])
        self.carry = data[keep:]
        return b"".join(out)


# Elements medcite never reads: AuthorList in MedlineCitation/Article; History and the
# ReferenceLists in PubmedData.
_NAME_END = frozenset(b"> \t\r\n")


def _keep_parts(data: bytes, view: memoryview, start: int, end: int,
                out: list[memoryview]) -> None:
    """Append the parts of the record ``data[start:end]`` that the parser needs."""
    pos = _cut_block(data, view, start, end, start, b"<AuthorList", b"</AuthorList>", out)
    pubmed_data = data.find(b"<PubmedData", pos, end)
    if pubmed_data >= 0:
        pos = _cut_block(data, view, pos, end, pubmed_data, b"<History", b"</History>", out)
        # ReferenceList* closes PubmedData in the DTD (and nests), so cut up to </PubmedData>.
        refs = data.find(b"<ReferenceList", max(pos, pubmed_data), end)
        if refs >= 0:
            close = data.rfind(b"</PubmedData>", refs, end)
            if close > refs:
                out.append(view[pos:refs])
                pos = close
    out.append(view[pos:end])


def _cut_block(data: bytes, view: memoryview, pos: int, end: int, search_from: int,
               open_tag: bytes, close_tag: bytes, out: list[memoryview]) -> int:
    """Drop the first <open_tag ...>...</close_tag> at or after ``search_from``: append what
    precedes it and return where the kept bytes resume. Anything unexpected (a longer name, a
    self-closing tag, no end tag) is left for libxml2 to parse or reject."""
    found = data.find(open_tag, search_from, end)
    if found < 0 or data[found + len(open_tag)] not in _NAME_END:
        return pos
    tag_end = data.find(b">", found, end)
    close = data.find(close_tag, tag_end, end)
    if tag_end < 0 or close < 0 or data[tag_end - 1] == 0x2F:  # 0x2F: "/>"
        return pos
    out.append(view[pos:found])
    return close + len(close_tag)


class _Skip(Exception):
    def __init__(self, record_id: str, message: str) -> None:
        super().__init__(message)
        self.record_id, self.message = record_id, message


def _abstract(abstract: etree._Element | None) -> list[Section]:
    """One section per AbstractText, keeping structured-abstract labels (BACKGROUND ...)."""
    if abstract is None:
        return []
    sections = []
    for part in abstract:
        if part.tag != "AbstractText":  # e.g. CopyrightInformation
            continue
        text = _text(part)
        if text:
            sections.append(Section(label=(part.get("Label") or "").strip(), text=text))
    return sections


def _article_ids(id_list: etree._Element | None) -> dict[str, str]:
    ids: dict[str, str] = {}
    if id_list is not None:
        for item in id_list.iterfind("ArticleId"):
            kind, value = item.get("IdType"), (item.text or "").strip()
            if kind and value and kind not in ids:
                ids[kind] = value
    if "pmc" in ids and not ids["pmc"].upper().startswith("PMC"):
        ids["pmc"] = "PMC" + ids["pmc"]
    return ids


def _texts(elements: Iterable[etree._Element | None]) -> list[str]:
    """Distinct non-empty texts, in order."""
    seen: dict[str, None] = {}
    for el in elements:
        text = _text(el)
        if text:
            seen.setdefault(text, None)
    return list(seen)


def _year(text: str | None) -> int | None:
    if not text:
        return None
    match = _YEAR.search(text)
    return int(match.group()) if match else None


# Revisions are stored as SQLite integers (64-bit); PubMed's own versions are single digits.
_MAX_REVISION = (1 << 63) - 1


def _revision(pmid_el: etree._Element | None, pmid: str) -> int:
    version = pmid_el.get("Version") if pmid_el is not None else None
    if not (version and version.strip().isdigit()):
        return 1
    if int(version) > _MAX_REVISION:  # a damaged attribute: reported, never stored wrapped
        raise _Skip(f"pmid:{pmid}", f"PMID {pmid} has Version=\"{version.strip()}\", out of range")
    return int(version)
