"""Sentence splitting and passage windows.

Extractive answers quote whole sentences, so sentence boundaries are computed once at ingest
and stored as character spans. The splitter is a single regular-expression pass with a list of
abbreviations that do not end a sentence; it favours speed over perfection (the ingest budget is
a fraction of a millisecond per abstract).
"""

from __future__ import annotations

import re

from medcite.models import PassageDraft, Section

# (start, end) character offsets; plain tuples because ingest creates millions of them.
Span = tuple[int, int]

# Abbreviations common in clinical and bibliographic text that end with a period mid-sentence.
_ABBREVIATIONS = frozenset(
    """
    e.g i.e etc al vs v fig figs eq eqs ref refs no nos vol approx ca cf dr mr mrs ms prof st
    jan feb mar apr jun jul aug sep sept oct nov dec inc ltd co corp dept univ min max mg mcg
    kg ml dl mmol approx resp incl excl pt pts yr yrs wk wks mo mos hr hrs sec b.i.d t.i.d
    q.i.d p.o i.v i.m s.c u.s u.k spp sp subsp var
    """.split()
)

# A candidate boundary: sentence punctuation, optional closing quote/bracket, whitespace, then
# something that can start a sentence (capital, digit, opening bracket or quote).
_BOUNDARY = re.compile(r"""([.!?])(["')\]]*)\s+(?=["'(\[]?[A-Z0-9])""")
_LINE_BREAK = re.compile(r"\n+")

MAX_PASSAGE_CHARS = 1500
MAX_ABSTRACT_CHARS = 4000  # an abstract is retrieved whole up to this length
MIN_SENTENCE_CHARS = 3


def split_sentences(text: str) -> list[Span]:
    """Character spans of the sentences in ``text`` (line breaks always end a sentence)."""
    spans: list[Span] = []
    line_start = 0
    for line_match in _LINE_BREAK.finditer(text + "\n"):
        _split_line(text, line_start, line_match.start(), spans)
        line_start = line_match.end()
    return spans


def _split_line(text: str, start: int, end: int, spans: list[Span]) -> None:
    sentence_start = start
    for match in _BOUNDARY.finditer(text, start, end):
        if match.group(1) == "." and _is_abbreviation(text, sentence_start, match.start()):
            continue
        _append(text, sentence_start, match.end(2), spans)
        sentence_start = match.end()
    _append(text, sentence_start, end, spans)


def _is_abbreviation(text: str, start: int, dot: int) -> bool:
    space = max(text.rfind(" ", start, dot), text.rfind("\t", start, dot))
    token = text[max(space + 1, start) : dot].lstrip("([\"'").lower()
    if not token:
        return False
    # Single letters ("J. Smith", "p. 4") and known abbreviations do not end sentences.
    return len(token) == 1 or token in _ABBREVIATIONS


def _append(text: str, start: int, end: int, spans: list[Span]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end - start >= MIN_SENTENCE_CHARS:
        spans.append((start, end))


def merged_abstract(sections: list[Section], max_chars: int = MAX_ABSTRACT_CHARS) -> list[Section]:
    """A structured abstract that fits one passage becomes one section, each part keeping its
    label inline ("RESULTS: ..."), so the abstract is retrieved and ranked as a whole."""
    parts = [s for s in sections if s.text.strip()]
    if len(parts) < 2:
        return parts
    text = "\n".join(f"{s.label.upper()}: {s.text.strip()}" if s.label else s.text.strip() for s in parts)
    if len(text) > max_chars:
        return parts
    return [Section(label="Abstract", text=text)]


def passages_for(sections: list[Section], max_chars: int = MAX_PASSAGE_CHARS) -> list[PassageDraft]:
    """Split sections into passages of at most ``max_chars``, breaking only between sentences."""
    drafts: list[PassageDraft] = []
    for section in sections:
        text = section.text.strip()
        if not text:
            continue
        sentences = split_sentences(text)
        if len(text) <= max_chars or not sentences:
            drafts.append(PassageDraft(section.label, text, 0, len(text), tuple(sentences)))
            continue
        window: list[Span] = []
        for sentence in sentences:
            if window and sentence[1] - window[0][0] > max_chars:
                drafts.append(_window(section.label, text, window))
                window = []
            window.append(sentence)
        if window:
            drafts.append(_window(section.label, text, window))
    return drafts


def _window(label: str, text: str, window: list[Span]) -> PassageDraft:
    start, end = window[0][0], window[-1][1]
    shifted = tuple((s - start, e - start) for s, e in window)
    return PassageDraft(label, text[start:end], start, end, shifted)
