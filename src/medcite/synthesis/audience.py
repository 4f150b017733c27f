"""Rendering one reviewed article for a reader: clinician, student or patient.

The evidence and citations do not change between audiences (so review covers all of them); what
changes is the help around them and how much is shown. A quoted statement is shown in its
source's own words for every reader: plain words go beside it, in ``gloss`` ("In plain words:
“edema” means swelling."), never into it. Patients also get consumer-health sources first,
shorter statements, and ``plain_summary``: a few short sentences built from the question frame,
the headline and the bottom line, restating only what the cited statements say.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from medcite.models import (
    Article,
    AskedFor,
    Audience,
    Population,
    QuestionFrame,
    SourceType,
    Statement,
    StatementKind,
    SubSection,
)
from medcite.synthesis.base import joined
from medcite.synthesis.references import renumber
from medcite.synthesis.safety import NOTHING_FOUND, NOTHING_FOUND_FOR_READERS, disclaimer

PATIENT_MAX_WORDS = 30
PATIENT_PER_SUBSECTION = 3
SUMMARY_MAX_WORDS = 20
SUMMARY_MAX_SENTENCES = 5
GLOSS_LEAD = "In plain words:"
GLOSS_MAX_TERMS = 4


@dataclass(frozen=True)
class GlossaryEntry:
    pattern: re.Pattern[str]
    term: str
    plain: str
    everyday: bool  # reworded in summaries, but too common to explain beside a quote

    @property
    def explanation(self) -> str:
        """What a gloss says the term means ("serotonin syndrome (a serious ...)" → "a serious ...")."""
        if self.plain.lower().startswith(self.term.lower()):
            return self.plain[len(self.term):].strip(" ()")
        return self.plain


@lru_cache(maxsize=1)
def glossary() -> tuple[GlossaryEntry, ...]:
    """The glossary entries, longest terms first so phrases win over single words."""
    text = resources.files("medcite.synthesis").joinpath("data/glossary.tsv").read_text("utf-8")
    entries = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        term, plain, *flags = (field.strip() for field in line.split("\t"))
        entries.append(GlossaryEntry(re.compile(rf"(?<![\w-]){re.escape(term)}(?![\w-])", re.I),
                                     term, plain, "everyday" in flags))
    entries.sort(key=lambda e: -len(e.term))
    return tuple(entries)


def _matches(text: str) -> list[tuple[int, int, GlossaryEntry]]:
    """Non-overlapping glossary matches in ``text``, in reading order."""
    spans: list[tuple[int, int, GlossaryEntry]] = []
    for entry in glossary():
        for match in entry.pattern.finditer(text):
            if not any(s < match.end() and match.start() < e for s, e, _ in spans):
                spans.append((match.start(), match.end(), entry))
    return sorted(spans, key=lambda span: span[0])


def plain_words(text: str) -> str:
    """Replace clinical terms with plain words (for text medcite writes, never for a quote)."""
    for start, end, entry in reversed(_matches(text)):
        plain = entry.plain
        if start == 0 and text[:1].isupper():
            plain = plain[:1].upper() + plain[1:]
        text = text[:start] + plain + text[end:]
    return text


def gloss(text: str) -> str | None:
    """Plain words for the clinical terms of a quote, one short sentence per term; None when the
    glossary has nothing to explain in it."""
    explained: list[str] = []
    seen: set[str] = set()
    for start, end, entry in _matches(text):
        meaning = entry.explanation
        if entry.everyday or not meaning or meaning.lower() == entry.term.lower() or entry.term in seen:
            continue
        seen.add(entry.term)
        explained.append(f"“{text[start:end]}” means {meaning}.")
        if len(explained) == GLOSS_MAX_TERMS:
            break
    return f"{GLOSS_LEAD} {' '.join(explained)}" if explained else None


def _outside_quotes(text: str, how) -> str:
    """Apply ``how`` to the parts of ``text`` outside “curly quotes” (a headline may quote a source)."""
    parts = re.split(r"(“[^”]*”)", text)
    return "".join(part if part.startswith("“") else how(part) for part in parts)


def _with_gloss(statement: Statement, reader: bool = False) -> Statement:
    if statement.quote is None:
        # Written by medcite (counts, absence of evidence): its own words may be made plainer;
        # a patient is told whom to ask, not how to ingest documents.
        text = NOTHING_FOUND_FOR_READERS if reader and statement.text == NOTHING_FOUND else statement.text
        return statement.model_copy(update={"text": plain_words(text), "gloss": None})
    return statement.model_copy(update={"text": statement.quote, "gloss": gloss(statement.quote)})


def _patient_subsection(sub: SubSection, consumer_numbers: set[int]) -> SubSection:
    facts = [s for s in sub.statements if s.kind is StatementKind.EVIDENCE_BASE]
    clinical = [s for s in sub.statements if s.kind is StatementKind.CLINICAL]
    # Consumer-health sources first, then shorter statements; the original order breaks ties.
    ranked = sorted(enumerate(clinical), key=lambda p: (
        not (set(p[1].citations) & consumer_numbers), len(p[1].text.split()) > PATIENT_MAX_WORDS, p[0]))
    short = [s for _, s in ranked if len(s.text.split()) <= PATIENT_MAX_WORDS]
    chosen = (short or [min(clinical, key=lambda s: len(s.text))] if clinical else [])
    chosen = chosen[:PATIENT_PER_SUBSECTION]
    return sub.model_copy(update={"statements": [_with_gloss(s, reader=True) for s in facts + chosen]})


# -- the patient summary ------------------------------------------------------------------------

_ASKED = {
    AskedFor.DOSE: "about the dose of {x}",
    AskedFor.MAXIMUM_DOSE: "about the highest dose of {x}",
    AskedFor.TIMING: "when to take {x}",
    AskedFor.DURATION: "how long to take {x}",
    AskedFor.THRESHOLD: "about the levels that matter for {x}",
    AskedFor.CONTRAINDICATION: "whether {x} is safe",
    AskedFor.INDICATION: "who should have {x}",
    AskedFor.INTERACTION: "whether {x} affects other medicines",
    AskedFor.ADVERSE_EFFECTS: "about the side effects of {x}",
    AskedFor.EFFICACY: "whether {x} works",
    AskedFor.FIRST_LINE: "about the first treatment to try for {x}",
    AskedFor.TREATMENT: "about what treats or relieves {x}",
    AskedFor.COMPARISON: "how {x} compare",
    AskedFor.DEFINITION: "what {x} is",
    AskedFor.SYMPTOMS: "how {x} shows itself",
    AskedFor.CAUSE: "what causes {x}",
    AskedFor.INHERITANCE: "how {x} is inherited",
    AskedFor.MISSED_DOSE: "what to do after missing a dose of {x}",
    AskedFor.MECHANISM: "how {x} works",
    AskedFor.ELIMINATION: "how long {x} stays in the body",
    AskedFor.ONSET: "how soon {x} starts to work",
    AskedFor.APPEARANCE: "what {x} looks like",
    AskedFor.INGREDIENTS: "what is in {x}",
    AskedFor.STRENGTH: "the strengths {x} comes in",
    AskedFor.STORAGE: "how to store {x}",
    AskedFor.GENERAL: "about {x}",
}
_SPEAKERS = {
    SourceType.DRUG_LABEL: "The drug label says:",
    SourceType.GUIDELINE: "A guideline says:",
    SourceType.CONSUMER_HEALTH: "A health information page says:",
    SourceType.RESEARCH: "A study says:",
}
_AGE_GROUPS = {"infant": "a baby", "child": "a child", "adolescent": "a teenager",
               "adult": "an adult", "older adult": "an older adult"}
# Where a long sentence may end early without changing what it claims: before an elaboration
# (an example, a reason, a scope note), never before a condition or an exception.
_CUT = re.compile(r",\s+(?=(?:which|thereby|regardless|including|such as|e\.g\.|as it|as they|by|"
                  r"or through|whereas)\b)|\s+(?=(?:either as|regardless of)\b)", re.I)
# A remainder saying any of these qualifies the claim, so the claim may not be cut from it.
_QUALIFIER = re.compile(r"\b(?:unless|except|if|only|but|however|not|no|avoid|caution|never|"
                        r"contraindicated|do not|should not|must not|exceed)\b", re.I)
_LEADING_CONNECTIVE = re.compile(r"^(?:however|but|and|thus|therefore|also)\s*,?\s*", re.I)
_PARENTHESIS = re.compile(r"\s*[(\[][^()\[\]]*[)\]]")
_HEADLINE_QUOTE = re.compile(r"“([^”]+)”")


def _words(text: str) -> int:
    return len(text.split())


def _population_words(population: Population) -> str:
    parts = []
    if population.age_group in _AGE_GROUPS:
        parts.append(f"for {_AGE_GROUPS[population.age_group]}")
    if population.pregnancy:
        parts.append("during pregnancy")
    if population.lactation:
        parts.append("while breastfeeding")
    if population.renal_impairment:
        parts.append("with kidney problems")
    if population.hepatic_impairment:
        parts.append("with liver problems")
    return " ".join(parts)


def _subject_names(article: Article) -> tuple[list[str], list[str]]:
    """(agents, conditions) named the way a patient reads them."""
    frame = article.frame
    if frame is not None:
        agents = [plain_words(f"{a.name} {a.form}" if a.form and a.form not in a.name else a.name)
                  for a in frame.agents]
        conditions = [plain_words(c.name) for c in frame.conditions]
        return agents, conditions
    entities = article.searched.entities if article.searched else []
    return [plain_words(e.name) for e in entities], []


def _asked_sentence(article: Article) -> str | None:
    """"You asked whether atorvastatin can be taken with clarithromycin." from the frame."""
    agents, conditions = _subject_names(article)
    frame = article.frame or QuestionFrame()
    population = _population_words(frame.population)
    conditions = [c for c in conditions if c.lower() not in population.lower()]
    if not agents and not conditions:
        return None
    together = frame.combination and len(agents) > 1
    if together and frame.asked_for in (AskedFor.INTERACTION, AskedFor.CONTRAINDICATION, AskedFor.GENERAL):
        asked = f"whether {joined(agents)} can be taken together"
    else:
        subject = joined(agents or conditions, "or" if frame.alternatives else "and")
        if together:
            subject = f"{agents[0]} with {joined(agents[1:])}"
        asked = _ASKED[frame.asked_for].format(x=subject)
        if agents and conditions:
            asked += f" for {joined(conditions)}"
    for tail in (f" {population}" if population else "", ""):
        sentence = f"You asked {asked}{tail}."
        if _words(sentence) <= SUMMARY_MAX_WORDS:
            return sentence
    return f"You asked about {joined((agents or conditions)[:2])}."


def shorten(text: str, limit: int = SUMMARY_MAX_WORDS) -> str | None:
    """``text`` cut to its main clause and made plain, within ``limit`` words; None when it
    cannot be shortened without dropping a condition or exception it states."""
    text = " ".join(text.split())
    while _PARENTHESIS.search(text):
        text = _PARENTHESIS.sub("", text)
    label = re.match(r"^[^:;|]{1,30}\s?:\s+", text)
    if label and _words(label.group(0)) <= 3:
        text = text[label.end():]  # "Summary : A1C is ..." — a heading, not part of the claim
    clause, *rest = re.split(r"\s*[;|]\s*|\s+—\s+", text, maxsplit=1)
    if rest and _QUALIFIER.search(rest[0]):
        return None
    clause = _LEADING_CONNECTIVE.sub("", clause).strip(" ,.:")
    candidates = [clause] + [clause[:m.start()] for m in reversed(list(_CUT.finditer(clause)))
                             if not _QUALIFIER.search(clause[m.start():])]
    for candidate in candidates:
        plain = plain_words(candidate.strip(" ,.:"))
        if plain and _words(plain) <= limit:
            return plain[:1].upper() + plain[1:] + "."
    return None


def _speaker(article: Article, statement: Statement) -> str:
    types = {r.number: r.source_type for r in article.references}
    for number in statement.citations:
        if number in types:
            return _SPEAKERS.get(types[number], "A source says:")
    return "A source says:"


def _verdict_sentences(article: Article) -> list[str]:
    """What the headline and bottom line say, restated briefly and plainly: a quoted span of the
    headline only where it is verbatim in a cited statement, otherwise the statements themselves."""
    sentences: list[str] = []
    used: list[Statement] = []
    cited = [s for s in article.statements() if s.quote]
    for span in _HEADLINE_QUOTE.findall(article.headline):
        if span.endswith("…") or _words(span) < 3:
            continue  # a truncated or one-word span says too little to restate on its own
        source = next((s for s in cited if span in s.quote), None)
        if source is None:
            continue
        speaker = _speaker(article, source)
        short = shorten(span, SUMMARY_MAX_WORDS - _words(speaker))
        if short:
            sentences.append(f"{speaker} {short}")
            used.append(source)
    for statement in article.bottom_line:
        if len(sentences) >= 2:
            break
        if statement in used:
            continue
        if statement.quote is None:
            short = shorten(statement.text)
            if short:
                sentences.append(short)
            continue
        speaker = _speaker(article, statement)
        short = shorten(statement.quote, SUMMARY_MAX_WORDS - _words(speaker))
        if short:
            sentences.append(f"{speaker} {short}")
    if not sentences and any(s.kind is StatementKind.CLINICAL for s in article.statements()):
        sentences.append("The exact words of the sources we found are quoted below.")
    return sentences


def _consult_sentence(article: Article) -> str:
    if article.emergency_notice:
        return "Please read the urgent help notice at the top of this page first."
    agents, _ = _subject_names(article)
    frame = article.frame
    if frame is not None and frame.combination and len(agents) > 1:
        sentence = f"Ask your doctor or pharmacist before you take {joined(agents)} together."
    elif agents:
        sentence = f"Ask your doctor or pharmacist before you start, stop or change {joined(agents, 'or')}."
    else:
        sentence = "Ask your doctor or pharmacist what this means for you."
    return sentence if _words(sentence) <= SUMMARY_MAX_WORDS else \
        "Ask your doctor or pharmacist before you start, stop or change a medicine."


def plain_summary(article: Article) -> list[str]:
    """Two to five short plain sentences for a patient: what was asked, for whom, what the cited
    sources say, and whom to ask. Nothing in it goes beyond the article's own statements."""
    if article.refusal:
        return []
    asked = _asked_sentence(article)
    lines = ([asked] if asked else []) + _verdict_sentences(article) + [_consult_sentence(article)]
    return lines[:SUMMARY_MAX_SENTENCES]


def adapt(article: Article, audience: Audience) -> Article:
    """The same article rendered for ``audience``; clinician is the article as written."""
    audience = Audience(audience)
    if audience is Audience.CLINICIAN:
        return article.model_copy(update={"audience": audience, "disclaimer": disclaimer(audience),
                                          "plain_summary": []})
    consumer = {r.number for r in article.references if r.source_type is SourceType.CONSUMER_HEALTH}
    if audience is Audience.PATIENT:
        sections = [
            section.model_copy(update={"subsections": [
                _patient_subsection(sub, consumer) for sub in section.subsections]})
            for section in article.sections
        ]
        headline = _outside_quotes(article.headline, plain_words)
        summary = plain_summary(article)
    else:
        sections = [
            section.model_copy(update={"subsections": [
                sub.model_copy(update={"statements": [_with_gloss(s) for s in sub.statements]})
                for sub in section.subsections]})
            for section in article.sections
        ]
        headline = article.headline
        summary = []
    bottom = [_with_gloss(s, reader=audience is Audience.PATIENT) for s in article.bottom_line]
    # Patients may see fewer statements, so references are renumbered to those still cited.
    return renumber(article.model_copy(update={
        "audience": audience, "sections": sections, "bottom_line": bottom, "headline": headline,
        "plain_summary": summary, "disclaimer": disclaimer(audience),
    }))
