"""An article as plain text, Markdown or a standalone HTML page: pure functions of the article.

The web pages, ``medcite articles show`` and ``medcite ask --format`` all render through here.
Document text is data: HTML is produced only by autoescaping Jinja templates, and Markdown
escapes the characters that would let a source's text become markup or a link.
"""

from __future__ import annotations

import re
import textwrap
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from datetime import datetime
from typing import Generic, TypeVar
from urllib.parse import quote, urlsplit

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from medcite.models import (
    Article,
    Audience,
    Reference,
    ReviewStatus,
    SearchDescription,
    SourceChangeKind,
    SourceType,
    Statement,
    StudyDesign,
)

PENDING_BANNER = "Educational purpose only — pending human review"
DEFAULT_DISCLAIMER = (
    "This article summarises indexed sources for education. It is not medical advice and does not "
    "replace the judgement of a qualified clinician who knows the patient. Check every statement "
    "against its cited source before acting on it."
)
AUDIENCE_LABELS = {
    Audience.CLINICIAN: "Healthcare professional",
    Audience.STUDENT: "Student",
    Audience.PATIENT: "Patient or caregiver",
}

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class RecentlyUsed(Generic[K, V]):
    """A bounded, thread-safe map that forgets the least recently used entry first."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._items: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_make(self, key: K, make: Callable[[], V]) -> V:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = make()  # outside the lock: two threads may both make it, harmlessly
        with self._lock:
            self._items[key] = value
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)
        return value


def stored_version_key(article: Article) -> tuple[str, int, str] | None:
    """What identifies a stored article's content: a version's text never changes (the store
    refuses updates), and the audience rendering is a function of it."""
    if article.id is None or article.version is None:
        return None
    return (article.id, article.version, article.audience.value)


_BODIES: RecentlyUsed[tuple[str, int, str], Markup] = RecentlyUsed(1024)


def article_body(article: Article) -> Markup:
    """The article's content (headline to disclaimer) as HTML, rendered once per stored
    version and audience; the page around it (review state, forms) is rendered per request."""
    def render() -> Markup:
        return Markup(TEMPLATES.get_template("_article_body.html").render(article=article))

    key = stored_version_key(article)
    return render() if key is None else _BODIES.get_or_make(key, render)


_PMID = re.compile(r"\d{1,9}")
_PMCID = re.compile(r"PMC\d{1,9}")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|])")


def long_date(moment: datetime | None) -> str:
    return f"{moment:%B} {moment.day}, {moment.year}" if moment else "unknown"


def timestamp(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC" if moment else ""


def review_steps(status: ReviewStatus) -> list[tuple[str, str]]:
    """(label, state) for the status stepper; state is done, current or todo. A rejected or
    withdrawn article shows Rejected or Withdrawn where Approved would be."""
    last = status if status in (ReviewStatus.REJECTED, ReviewStatus.WITHDRAWN) \
        else ReviewStatus.APPROVED
    steps = (ReviewStatus.SUBMITTED, ReviewStatus.UNDER_REVIEW, last)
    reached = steps.index(status)
    return [(step.label, "done" if i < reached else "current" if i == reached else "todo")
            for i, step in enumerate(steps)]


def citation_marker(numbers: Sequence[int]) -> str:
    """``[1]`` or ``[2, 3]``; empty for a statement without citations."""
    return f"[{', '.join(str(n) for n in numbers)}]" if numbers else ""


# Characters a URL keeps as they are; anything else (spaces, newlines, parentheses, brackets,
# quotes, control bytes) is percent-encoded, so no export format can end a link early and read
# the rest of a source's URL as markup (a Markdown "[x](javascript:...)" after a newline).
_URL_SAFE = "/:?#@!$&'*+,;=%~-._"


def _web_url(url: str | None) -> str | None:
    """Only http(s) links leave the page: a source's ``javascript:`` URL is never a link."""
    if not url:
        return None
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return quote(url.strip(), safe=_URL_SAFE)


def reference_links(ref: Reference) -> list[tuple[str, str]]:
    """(label, URL) pairs for a reference, built from its identifiers."""
    links: list[tuple[str, str]] = []
    if ref.pmid and _PMID.fullmatch(ref.pmid):
        links.append(("PubMed", f"https://pubmed.ncbi.nlm.nih.gov/{ref.pmid}/"))
    if ref.pmcid and _PMCID.fullmatch(ref.pmcid):
        links.append(("PMC", f"https://www.ncbi.nlm.nih.gov/pmc/articles/{ref.pmcid}/"))
    if ref.doi:
        links.append(("DOI", "https://doi.org/" + quote(ref.doi.strip(), safe="/:;()._-")))
    url = _web_url(ref.url)
    host = urlsplit(url).netloc.lower() if url else ""
    shown = {_same_page(link) for _, link in links}
    if url and _same_page(url) in shown:
        pass  # the source's own URL is one of the links above (PubMed's page, usually)
    elif url and not (ref.doi and host in ("doi.org", "dx.doi.org")):  # the DOI link says it
        links.append(("DailyMed" if host.endswith("dailymed.nlm.nih.gov") else host, url))
    elif ref.spl_set_id and not url:
        links.append(("DailyMed", "https://dailymed.nlm.nih.gov/dailymed/drugInfo.cfm?setid="
                      + quote(ref.spl_set_id.strip(), safe="")))
    return links


def _same_page(url: str) -> str:
    """A URL compared without scheme, "www." or trailing slash."""
    parts = urlsplit(url)
    host = parts.netloc.lower().removeprefix("www.")
    return f"{host}{parts.path.rstrip('/')}?{parts.query}"


def reference_details(ref: Reference) -> str:
    """Source, year and, for research, the study design: "J Affect Disord, 2021. RCT"."""
    where = ", ".join(part for part in (ref.source, str(ref.year) if ref.year else None) if part)
    shows_design = (ref.source_type is SourceType.RESEARCH and ref.study_design is not None
                    and ref.study_design is not StudyDesign.OTHER)
    design = ref.study_design.value.capitalize() if shows_design and ref.study_design else ""
    return ". ".join(part for part in (where, design) if part)


def _source_label(kind: str) -> str:
    try:
        return SourceType(kind).label.lower()
    except ValueError:
        return kind


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def searched_lines(searched: SearchDescription | None) -> list[str]:
    """What the answer is based on, so an absence of evidence states its scope."""
    if searched is None:
        return []
    kinds = ", ".join(f"{_source_label(kind)}: {n:,}"
                      for kind, n in searched.corpus_by_source_type.items())
    lines = [f"Corpus searched: {_count(searched.corpus_documents, 'document')}"
             + (f" ({kinds})" if kinds else "")]
    if searched.terms:
        lines.append("Search terms: " + ", ".join(searched.terms))
    for entity in searched.entities:
        shown = (entity.name if entity.surface.lower() == entity.name.lower()
                 else f"{entity.name} (asked as “{entity.surface}”)")
        lines.append(f"Recognised {entity.kind}: {shown}, in "
                     f"{_count(entity.documents_matched, 'document')}")
    lines.extend(f"Fetched for this answer — {line}" for line in searched.fetched)
    lines.append(f"Passages considered: {searched.passages_considered:,}")
    if len(searched.entities) > 1:
        lines.append("Documents mentioning all of them together: "
                     f"{searched.documents_addressing_all:,}")
    return lines


def banner(article: Article) -> str | None:
    """The warning every rendering opens with: the article's withdrawal, or the pending-review
    banner on any version not approved."""
    if article.withdrawal is not None:
        w = article.withdrawal
        return (f"Withdrawn on {long_date(w.at)} by the editors ({w.by}): {w.reason} — this "
                "article is no longer served as an answer; do not rely on it")
    if article.status is not ReviewStatus.APPROVED:
        return PENDING_BANNER
    return None


def correction_notice(article: Article) -> str | None:
    if article.correction_pending is None:
        return None
    return (f"A correction (version {article.correction_pending}) is under review; this "
            f"approved version {article.version} is the one served until the correction is "
            "approved.")


def source_change_lines(article: Article) -> list[str]:
    """"A cited source was withdrawn on March 3, 2026: [2] ..." for each cited document
    deleted or replaced since this version was stored, then what re-verifying it found; said
    instead of any claim that its citations were verified."""
    if not article.source_changes:
        return []
    references = {r.document_key: r for r in article.references}
    lines = []
    for change in article.source_changes:
        ref = references.get(change.document_key)
        cited = (f"[{ref.number}] {ref.title.rstrip('. ')} ({change.document_key})" if ref
                 else change.document_key)
        if change.change is SourceChangeKind.WITHDRAWN:
            lines.append(f"A cited source was withdrawn on {long_date(change.at)}: {cited}.")
        else:
            revisions = (f", revision {change.from_revision} → {change.to_revision}"
                         if change.from_revision != change.to_revision else "")
            lines.append(f"A cited source changed on {long_date(change.at)}: {cited}"
                         f"{revisions}.")
    done = article.verification.reverification
    if done is None:
        lines.append("Re-verification against the store is pending: this version's citations "
                     "are not shown as verified.")
    else:
        lines.append(f"Re-verified against the store on {long_date(done.at)}: "
                     f"{done.no_longer_supported} of {_count(done.checked, 'statement')} no "
                     "longer supported by their citations"
                     + (" (an editor can correct or withdraw the article)."
                        if done.no_longer_supported else "; every statement still is."))
    return lines


def review_notices(article: Article) -> list[str]:
    """What the reader must know about the state of this version beyond its review status."""
    correction = correction_notice(article)
    return ([correction] if correction else []) + source_change_lines(article)


def _status_line(article: Article) -> str:
    return (f"Review status: {article.status.label} (version {article.version}); "
            f"last updated {long_date(article.updated_at)}")


def _statement_text(statement: Statement, escape: Callable[[str], str] = str) -> str:
    text = f"{escape(statement.text)} {citation_marker(statement.citations)}".rstrip()
    if statement.via_class:
        text += f" (evidence on the class: {escape(statement.via_class)})"
    if statement.where:
        text += f" — {escape(statement.where)}"
    return text


def _running(statements: list[Statement], escape: Callable[[str], str] = str) -> str:
    """Statements run together as a paragraph; one whose notes end it ("— Guideline, Major
    recommendations") gets its full stop, so the next does not read as part of its source."""
    texts = [_statement_text(s, escape) for s in statements]
    return " ".join(t + "." if s.where and i < len(texts) - 1 else t
                    for i, (s, t) in enumerate(zip(statements, texts)))


def _gloss(article: Article, statement: Statement) -> str | None:
    """A statement's plain words, shown to students and patients only."""
    return statement.gloss if article.audience is not Audience.CLINICIAN else None


def correction_line(article: Article) -> str | None:
    """"Searched for meningitis (you typed “menigitis”)" when the question's spelling was corrected,
    "Read “sweating” as hyperhidrosis" for an everyday word."""
    if article.frame is None or not article.frame.corrections:
        return None
    return "; ".join(f"Searched for {c.corrected} (you typed “{c.typed}”)" if c.kind == "spelling"
                     else f"Read “{c.typed}” as {c.corrected}" for c in article.frame.corrections)


def _summary(article: Article) -> list[str]:
    return article.plain_summary if article.audience is Audience.PATIENT else []


def _markdown_escape(text: str) -> str:
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def render_markdown(article: Article) -> str:
    """The article as Markdown; every piece of document text is escaped."""
    esc = _markdown_escape
    out = [f"# {esc(article.question)}", ""]
    warning = banner(article)
    if warning:
        out += [f"> **{esc(warning)}**", ""]
    out += [f"*{_status_line(article)}*", ""]
    out += [item for line in review_notices(article) for item in (f"> {esc(line)}", "")]
    if article.emergency_notice:
        out += [f"> **{esc(article.emergency_notice)}**", ""]
    if article.refusal:
        out += [esc(article.refusal), ""]
    if _summary(article):
        out += ["## In short", ""] + [f"- {esc(line)}" for line in _summary(article)] + [""]
    out += [f"## {esc(article.headline)}", ""]
    corrected = correction_line(article)
    if corrected:
        out += [f"*{esc(corrected)}*", ""]
    if article.bottom_line:
        out += ["**" + _running(article.bottom_line, esc) + "**", ""]
        for statement in article.bottom_line:
            glossed = _gloss(article, statement)
            if glossed:
                out += [f"*{esc(glossed)}*", ""]
    for section in article.sections:
        out += [f"## {esc(section.heading)}", ""]
        for sub in section.subsections:
            out += [f"### {esc(sub.heading)}", ""]
            for statement in sub.statements:
                out.append(f"- {_statement_text(statement, esc)}")
                glossed = _gloss(article, statement)
                if glossed:
                    out.append(f"  *{esc(glossed)}*")
            out.append("")
    if article.references:
        out += ["## References", ""]
        for ref in article.references:
            links = " · ".join(f"[{esc(label)}]({url.replace(')', '%29')})"
                               for label, url in reference_links(ref))
            details = reference_details(ref)
            out.append(f"{ref.number}. *{ref.type_label}*. {esc(ref.title.rstrip('. '))}"
                       + (f". {esc(details)}" if details else "") + (f". {links}" if links else ""))
        out.append("")
    lines = searched_lines(article.searched)
    if lines:
        out += ["## What was searched", ""] + [f"- {esc(line)}" for line in lines] + [""]
    out += ["## Disclaimer", "", esc(article.disclaimer or DEFAULT_DISCLAIMER), ""]
    return "\n".join(out)


def render_text(article: Article, width: int = 100) -> str:
    """The article as wrapped plain text for a terminal."""
    def para(text: str, indent: str = "", first: str | None = None) -> list[str]:
        return textwrap.wrap(" ".join(text.split()), width, initial_indent=first or indent,
                             subsequent_indent=indent) or [indent]

    out = [article.question, "=" * min(width, len(article.question)), ""]
    warning = banner(article)
    if warning:
        out += para(warning, first="!! ", indent="   ") + [""]
    out += [_status_line(article), ""]
    for line in review_notices(article):
        out += para(line, first="NOTE: ", indent="      ") + [""]
    if article.emergency_notice:
        out += para(article.emergency_notice, first="EMERGENCY: ", indent="  ") + [""]
    if article.refusal:
        out += para(article.refusal) + [""]
    if _summary(article):
        out += ["IN SHORT", ""]
        for line in _summary(article):
            out += para(line, first="  - ", indent="    ")
        out += [""]
    out += para(article.headline) + [""]
    corrected = correction_line(article)
    if corrected:
        out += para(corrected) + [""]
    if article.bottom_line:
        out += para(_running(article.bottom_line)) + [""]
        for statement in article.bottom_line:
            glossed = _gloss(article, statement)
            if glossed:
                out += para(glossed) + [""]
    for section in article.sections:
        out += [section.heading.upper(), ""]
        for sub in section.subsections:
            out += [sub.heading]
            for statement in sub.statements:
                out += para(_statement_text(statement), first="  - ", indent="    ")
                glossed = _gloss(article, statement)
                if glossed:
                    out += para(glossed, indent="    ")
            out += [""]
    if article.references:
        out += ["REFERENCES", ""]
        for ref in article.references:
            details = reference_details(ref)
            out += para(f"{ref.type_label}. {ref.title.rstrip('. ')}" + (f". {details}" if details else ""),
                        first=f"[{ref.number}] ", indent="    ")
            out += [f"    {label}: {url}" for label, url in reference_links(ref)]
        out += [""]
    lines = searched_lines(article.searched)
    if lines:
        out += ["WHAT WAS SEARCHED", ""]
        for line in lines:
            out += para(line, first="  - ", indent="    ")
        out += [""]
    out += ["DISCLAIMER", ""] + para(article.disclaimer or DEFAULT_DISCLAIMER)
    return "\n".join(out) + "\n"


def render_html(article: Article) -> str:
    """A standalone HTML page of the article, for saving or printing."""
    return TEMPLATES.get_template("export.html").render(article=article)


def _environment() -> Environment:
    env = Environment(loader=PackageLoader("medcite.web", "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(long_date=long_date, timestamp=timestamp)
    env.globals.update(
        reference_links=reference_links, reference_details=reference_details,
        searched_lines=searched_lines, correction_line=correction_line, review_steps=review_steps, PENDING_BANNER=PENDING_BANNER,
        banner=banner, review_notices=review_notices, correction_notice=correction_notice,
        source_change_lines=source_change_lines,
        DEFAULT_DISCLAIMER=DEFAULT_DISCLAIMER, AUDIENCE_LABELS=AUDIENCE_LABELS,
        ReviewStatus=ReviewStatus, article_body=article_body,
    )
    return env


# One environment for the site and the exports, so both escape the same way.
TEMPLATES = _environment()
