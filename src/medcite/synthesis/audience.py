"""Rendering one reviewed article for a reader: clinician, student or patient.

The evidence and citations do not change between audiences (so review covers all of them); what
changes is the language and how much is shown. Patients get consumer-health sources first,
shorter statements and plain words from the glossary; students get the clinical text with plain
words glossed in brackets. Each statement keeps its verbatim ``quote`` for verification.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

from medcite.models import Article, Audience, SourceType, Statement, StatementKind, SubSection
from medcite.synthesis.references import renumber
from medcite.synthesis.safety import disclaimer

PATIENT_MAX_WORDS = 30
PATIENT_PER_SUBSECTION = 3


@lru_cache(maxsize=1)
def glossary() -> tuple[tuple[re.Pattern[str], str, str], ...]:
    """(pattern, term, plain words), longest terms first so phrases win over single words."""
    text = resources.files("medcite.synthesis").joinpath("data/glossary.tsv").read_text("utf-8")
    pairs = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        term, plain = line.split("\t", 1)
        pairs.append((term.strip(), plain.strip()))
    pairs.sort(key=lambda p: -len(p[0]))
    return tuple((re.compile(rf"\b{re.escape(t)}\b", re.I), t, p) for t, p in pairs)


def plain_words(text: str) -> str:
    """Replace clinical terms with plain words; each span is replaced at most once."""
    spans: list[tuple[int, int, str]] = []
    for pattern, _, plain in glossary():
        for match in pattern.finditer(text):
            if any(s < match.end() and match.start() < e for s, e, _ in spans):
                continue
            spans.append((match.start(), match.end(), plain))
    for start, end, plain in sorted(spans, reverse=True):
        original = text[start:end]
        replacement = plain[:1].upper() + plain[1:] if original[:1].isupper() and start == 0 else plain
        text = text[:start] + replacement + text[end:]
    return text


def glossed(text: str) -> str:
    """Keep the clinical term and add the plain words in brackets the first time."""
    seen: set[str] = set()
    spans: list[tuple[int, int, str]] = []
    for pattern, term, plain in glossary():
        if plain.lower() == term.lower():
            continue
        match = pattern.search(text)
        if match and term not in seen and not any(s < match.end() and match.start() < e for s, e, _ in spans):
            seen.add(term)
            spans.append((match.start(), match.end(), plain))
    for start, end, plain in sorted(spans, reverse=True):
        text = text[:end] + f" [{plain}]" + text[end:]
    return text


def _patient_subsection(sub: SubSection, consumer_numbers: set[int]) -> SubSection:
    facts = [s for s in sub.statements if s.kind is StatementKind.EVIDENCE_BASE]
    clinical = [s for s in sub.statements if s.kind is StatementKind.CLINICAL]
    # Consumer-health sources first, then shorter statements; the original order breaks ties.
    ranked = sorted(enumerate(clinical), key=lambda p: (
        not (set(p[1].citations) & consumer_numbers), len(p[1].text.split()) > PATIENT_MAX_WORDS, p[0]))
    short = [s for _, s in ranked if len(s.text.split()) <= PATIENT_MAX_WORDS]
    chosen = (short or [min(clinical, key=lambda s: len(s.text))] if clinical else [])
    chosen = chosen[:PATIENT_PER_SUBSECTION]
    return sub.model_copy(update={"statements": [_reword(s, plain_words) for s in facts + chosen]})


def _reword(statement: Statement, how) -> Statement:
    # The shown text is reworded; ``quote`` stays verbatim for verification.
    return statement.model_copy(update={"text": how(statement.text)})


def adapt(article: Article, audience: Audience) -> Article:
    """The same article rendered for ``audience``; clinician is the article as written."""
    audience = Audience(audience)
    if audience is Audience.CLINICIAN:
        return article.model_copy(update={"audience": audience, "disclaimer": disclaimer(audience)})
    consumer = {r.number for r in article.references if r.source_type is SourceType.CONSUMER_HEALTH}
    if audience is Audience.PATIENT:
        sections = [
            section.model_copy(update={"subsections": [
                _patient_subsection(sub, consumer) for sub in section.subsections]})
            for section in article.sections
        ]
        bottom = [_reword(s, plain_words) for s in article.bottom_line]
        headline = plain_words(article.headline)
    else:
        sections = [
            section.model_copy(update={"subsections": [
                sub.model_copy(update={"statements": [_reword(s, glossed) for s in sub.statements]})
                for sub in section.subsections]})
            for section in article.sections
        ]
        bottom = [_reword(s, glossed) for s in article.bottom_line]
        headline = article.headline
    # Patients may see fewer statements, so references are renumbered to those still cited.
    return renumber(article.model_copy(update={
        "audience": audience, "sections": sections, "bottom_line": bottom,
        "headline": headline, "disclaimer": disclaimer(audience),
    }))
