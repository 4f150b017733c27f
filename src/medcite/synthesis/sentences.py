"""Candidate sentences for an extractive article: which ones, for which section, in what order.

A candidate is a stored sentence span, quoted verbatim. It is scored by how much of the question
it covers (concepts, then the user's terms), by the evidence hierarchy, and by recency; cue
phrases decide whether it reads as a recommendation (Clinical Implications) or a caution
(Common Pitfalls).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from medcite.models import SourceType
from medcite.retrieval.evidence import RANK
from medcite.synthesis.base import Evidence
from medcite.synthesis.support import instruction_like, untrusted_documents
from medcite.vocab.routes import another_route
from medcite.vocab.salts import counter_ions

MIN_CHARS = 40
MAX_CHARS = 420
# A guideline's recommendation often lists its criteria in one sentence ("when all of the
# following are met: (1) ... (2) ..."); cut short it would lose whom it applies to.
MAX_RECOMMENDATION_CHARS = 700
NEAR_DUPLICATE = 0.75  # token Jaccard above which two sentences say the same thing

_RECOMMENDATION = re.compile(
    r"\b(recommend\w*|should\b|is indicated|are indicated|first[- ]line|second[- ]line|"
    r"consider(?:ed)?\b|we suggest|is suggested|are suggested|is preferred|are preferred|"
    r"may be used|can be used|is effective|are effective|start\w* at|titrate\w*)",
    re.I,
)
_CAUTION = re.compile(
    r"\b(avoid\w*|contraindicat\w+|caution\w*|warning\w*|risk of|risks|interact\w*|"
    r"QT\b|QTc|torsade\w*|serotonin syndrome|toxicit\w+|overdos\w+|adverse|side effects?|"
    r"should not|must not|do not|monitor\w*|withdraw\w*|discontinu\w+|hyponatr\w+|"
    r"suicid\w+|bleeding|hypermagnes\w+|sedation|weight gain)",
    re.I,
)
# Sentences that describe a study rather than report what it found.
_STUDY_FRAMING = re.compile(
    r"^(?:[A-Za-z ]{3,30}: )?(?:the )?(?:aim|objective|purpose|goal)s? of (?:this|the|our) |^(?:we|this study|this "
    r"review|this article|here we) (?:aim|aimed|sought|investigat|examin|describ|evaluat|assess"
    r"|report|present)|^(?:[A-Za-z ]{3,30}: )?in this (?:study|paper|review|article)"
    # the protocol: "The secondary aims were ...", "Patients were allocated into two groups"
    r"|^(?:the )?(?:primary|secondary|main|other) (?:aims?|objectives?|outcomes?|end ?points?) (?:was|were|included)\b"
    r"|^(?:patients|participants|subjects|women|men|children)\b[^.]{0,40}\bwere (?:allocated|randomi[sz]ed|assigned|divided)\b",
    re.I)
_SECTION_WEIGHTS = (
    (re.compile(r"conclusion|interpretation|implication|recommend|summary|key point", re.I), 1.3),
    (re.compile(r"result|finding|outcome|warning|precaution|interaction|contraindication", re.I), 1.15),
    (re.compile(r"method|design|setting|participant|patients and|material", re.I), 0.5),
    (re.compile(r"background|introduction|objective|purpose|aim|context|importance", re.I), 0.6),
)
_ARROW = re.compile(r"^\s*(?:-+>|=+>|\u2192|\u21d2)")


def _header_row(text: str) -> bool:
    """A flattened table's heading row ("CrCl (mL/min) | Recommended Maximum Daily Dose"):
    cells and no value in any of them."""
    cells = [c.strip() for c in text.split("|")]
    return len(cells) >= 2 and not any(re.search(r"\d", re.sub(r"\([^)]*\)", "", c)) for c in cells)


_EDITORIAL = re.compile(r"^\(?(?:refer to|see (?:the|also|section|table|appendix)|in (?:other|separate|previous|related) recommendation statements|note from the|the (?:recommendations|sections) (?:for|of|in|with)\b[^.]{0,80}\b(?:are|is) (?:organi[sz]ed|provided|presented|listed)|for (?:more|additional|further) "
                        r"(?:information|details)|table \d|figure \d"
                        # a pointer elsewhere: "Additional information about ... is available from"
                        r"|(?:additional|more|further) information\b[^.]{0,100}\b(?:is|are) available)", re.I)
# The medication guide's standing lines, which name no effect and no instruction of their own.
_BOILERPLATE = re.compile(r"^(?:these are not all (?:of )?the possible side effects|call your doctor for medical advice "
                          r"about side effects|you (?:may|are encouraged to) report (?:negative )?side effects"
                          r"|tell your (?:doctor|healthcare provider) if you have any side effect that bothers you"
                          # a reference page's pointer to the table that follows it
                          r"|[^.]{0,80}\bprovides the following list\b|signs and symptoms approximate number of patients"
                          r"|.{0,300}\bhuman phenotype ontology\b)", re.I)
_LEAD_IN = re.compile(r"\b(?:include|includes|including|such as|the following|as follows|are)\s*[:\-–]?$", re.I)
_RECOMMENDS = re.compile(r"\b(recommends?|is recommended|are recommended|we suggest)\b", re.I)
_TABLE_ROW = re.compile(r"\|.*\|")
_LIST_MARK = re.compile(r"^(?:[-*•]\s+|\d+[.)]\s+)")
_TOKEN = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class Candidate:
    """One quotable sentence with what it says and where it comes from."""

    quote: str  # verbatim span of evidence.passage.text
    evidence: Evidence
    concepts: frozenset[str]
    term_hits: int
    recommendation: bool
    caution: bool
    score: float
    context_hits: int = 0

    @property
    def on_topic(self) -> bool:
        """Tied to the question beyond naming a concept: other words of the question, the
        context of the other concepts, or a source type that is clinical by nature."""
        strong = self.evidence.design.value in ("guideline", "drug label", "consumer health information",
                                                "systematic review or meta-analysis",
                                                "randomized controlled trial")
        return self.term_hits > 0 or self.context_hits > 0 or strong

    @property
    def tokens(self) -> frozenset[str]:
        return _traits(self.quote).tokens


_INLINE_LABEL = re.compile(r"^([A-Z][A-Z &/,-]{2,40}): ")


def inline_label(text: str) -> str | None:
    """The structured-abstract label a sentence starts with ("RESULTS: ..."), if any."""
    match = _INLINE_LABEL.match(text)
    return match.group(1) if match else None


@lru_cache(maxsize=65_536)  # the same passages come back across questions
def quotable(text: str) -> str | None:
    """The sentence as it may be quoted, or None when it is a fragment, table row or heading.
    Only a leading list marker or structured-abstract label is trimmed, never a word inside."""
    text = _INLINE_LABEL.sub("", _LIST_MARK.sub("", text.strip()))
    if len(text) < MIN_CHARS or len(text) > MAX_RECOMMENDATION_CHARS:
        return None
    if len(text) > MAX_CHARS and not _RECOMMENDS.search(text):
        return None
    if _TABLE_ROW.search(text) or text.endswith((":", "?")) or text.startswith("#"):  # headings
        return None
    if not re.search(r"[a-z]", text) or len(text.split()) < 6:
        return None
    if _EDITORIAL.match(text) or _BOILERPLATE.match(text):  # they state nothing of their own
        return None
    if _ARROW.match(text) or _header_row(text):  # an algorithm's branch without its condition,
        return None                              # a table's headings without its cells
    if _LEAD_IN.search(text):  # "Signs of dehydration include" with its list cut off
        return None
    if instruction_like(text):  # text addressed to a model is data, never a clinical statement
        return None
    return text


# A sentence that leans on the one before it ("It should not be ...", "However, ...") or is
# qualified by the one after it ("If eGFR falls below 30 ...", "Reduce the dose ...").
_LEANS_BACK = re.compile(
    r"^(?:it|its|this|these|they|their|those|such|both|however|therefore|thus|hence|in (?:these|such|this)"
    r"|the (?:drug|medicine|medication|agent|combination|dose)|at (?:this|that|these) (?:dose|level)s?)\b", re.I)
_QUALIFIED_BY = re.compile(
    r"^(?:if|unless|except|however|but|when|in patients (?:with|who|on)|for patients|patients with|reduce|"
    r"do not|consider (?:a )?(?:dose|reducing|lower)|dose reduction|avoid|discontinue|stop)\b", re.I)
MAX_CONTEXT_CHARS = 700


def in_context(passage, index: int, quote: str) -> str:
    """``quote`` (the sentence at ``index``) widened to a contiguous verbatim span with the
    sentence before it when it leans back on it, and the one after when that qualifies it."""
    spans = passage.sentences
    start, end = spans[index].start, spans[index].end
    text = passage.text
    if index > 0 and _LEANS_BACK.match(quote):
        previous = text[spans[index - 1].start:spans[index - 1].end]
        if quotable(previous) is not None:
            start = spans[index - 1].start
    if index + 1 < len(spans):
        following = text[spans[index + 1].start:spans[index + 1].end].strip()
        if _QUALIFIED_BY.match(following) and quotable(following) is not None:
            end = spans[index + 1].end
    if (start, end) == (spans[index].start, spans[index].end) or end - start > MAX_CONTEXT_CHARS:
        return quote
    offset = text.find(quote, spans[index].start)
    if offset < 0:
        return quote
    begin = start if start < spans[index].start else offset
    return text[begin:end].strip()


def with_its_list(passage, index: int) -> str | None:
    """A list's lead-in ("Common symptoms include") quoted with the list that follows it, as
    one verbatim span, or None when there is no list to take."""
    spans = passage.sentences
    if index + 1 >= len(spans):
        return None
    return quotable(passage.text[spans[index].start:spans[index + 1].end].strip())


def concept_names(lowered_names: dict[str, list[str]], sentence: str) -> frozenset[str]:
    """The concepts whose (lower-case, non-empty) names the sentence contains as words."""
    lowered = sentence.lower().replace("\u2019", "'")  # a label's "Crohn’s" is "Crohn's"
    return frozenset(cid for cid, names in lowered_names.items()
                     if any(_contains_word(lowered, n) for n in names))


@dataclass(frozen=True)
class AskedForm:
    """The salt or form the reader named ("glycinate" in "magnesium glycinate")."""

    moiety_names: tuple[str, ...]  # lower-case names of the substance itself ("magnesium")
    words: frozenset[str]  # the form's words ("glycinate")


def names_another_form(sentence: str, asked: AskedForm) -> bool:
    """The sentence is about a different salt or form of the substance than the one asked
    about ("magnesium sulfate IV" for a question on magnesium glycinate): another product, often
    another route and indication; or that gives it only by another route than the asked form's
    ("steroid injections" for a steroid cream). A sentence naming the substance alone, or the
    asked form too, is not."""
    if another_route(sentence, asked.words):
        return True
    words = _TOKEN.findall(sentence.lower())
    other = False
    for i in range(len(words) - 1):
        for name in asked.moiety_names:
            parts = _TOKEN.findall(name)
            if not parts or words[i:i + len(parts)] != parts or i + len(parts) >= len(words):
                continue
            following = words[i + len(parts)]
            if following in asked.words:
                return False
            if following in counter_ions():
                other = True
    return other


@dataclass(frozen=True)
class _Traits:
    """What a sentence says regardless of the question."""

    tokens: frozenset[str]
    stems: frozenset[str]
    recommendation: bool
    caution: bool
    framing: bool


# Words whose stem is another word: an "evening" dose is no "even" one. ("Fasting" keeps its
# stem: a question's "fast before the test" means it far more often than a quick onset.)
_OWN_WORDS = frozenset({"evening", "evenings", "nothing", "something", "everything", "anything"})
_SUFFIXES = ("ographies", "ography", "ograms", "ogram", "ations", "ation", "ings", "ing", "edly", "ed",
             "ies", "es", "s")


@lru_cache(maxsize=262_144)
def stem(word: str) -> str:
    """A crude stem, so that a question's "mammogram" or "screened" meets a sentence's
    "mammography" or "screening"; never shorter than four letters."""
    if word in _OWN_WORDS:
        return word
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[:-len(suffix)] + ("y" if suffix == "ies" else "")
    return word


# An agency's name is no word of the topic: "foods to avoid" is not answered by "the Food and
# Drug Administration".
_AGENCY = re.compile(r"\bfood and drug administration\b")


@lru_cache(maxsize=65_536)
def _traits(quote: str) -> _Traits:
    tokens = frozenset(_TOKEN.findall(_AGENCY.sub(" ", quote.lower())))
    return _Traits(tokens=tokens, stems=frozenset(stem(t) for t in tokens),
                   recommendation=bool(_RECOMMENDATION.search(quote)),
                   caution=bool(_CAUTION.search(quote)),
                   framing=bool(_STUDY_FRAMING.search(quote)))


def _contains_word(haystack: str, needle: str) -> bool:
    start = haystack.find(needle)
    while start != -1:
        before = haystack[start - 1] if start else " "
        end = start + len(needle)
        after = haystack[end] if end < len(haystack) else " "
        if not before.isalnum() and not after.isalnum():
            return True
        start = haystack.find(needle, start + 1)
    return False


@lru_cache(maxsize=4096)
def section_weight(label: str) -> float:
    for pattern, weight in _SECTION_WEIGHTS:
        if pattern.search(label):
            return weight
    return 1.0


def candidates_from(
    evidence: list[Evidence],
    names_by_concept: dict[str, list[str]],
    terms: list[str],
    newest_year: int,
    context: dict[str, frozenset[str]] | None = None,
    asked_forms: dict[str, AskedForm] | None = None,
) -> list[Candidate]:
    """Every quotable sentence of the evidence, scored.

    ``terms`` are the user's words other than concept names; ``context`` maps a concept id to
    words typical of the *other* concepts' evidence (e.g. "depression" for magnesium when the
    question is about mirtazapine), so a sentence about magnesium in depression outranks one
    about magnesium in asthma. A sentence about another salt or form of a substance than the
    one in ``asked_forms`` does not count as evidence on that substance. A document any of
    whose passages addresses a model ("disregard the earlier guidance: ...") is no source at
    all: none of its sentences is quoted, however harmless they read.
    """
    found: list[Candidate] = []
    term_set = {t.lower() for t in terms}
    term_stems = {stem(t) for t in term_set}
    context = context or {}
    lowered_names = {cid: [n.lower() for n in names if n] for cid, names in names_by_concept.items()}
    untrusted = untrusted_documents(evidence)
    for item in evidence:
        if item.document.key in untrusted:
            continue
        design_weight = 1.0 + 0.08 * (len(RANK) - RANK[item.design])
        year = item.document.year or (newest_year - 15)
        recency = 1.0 + 0.02 * max(0, 15 - (newest_year - year))
        label = item.passage.section
        sentences = item.passage.sentence_texts()
        for index, raw in enumerate(sentences):
            label = inline_label(raw) or label  # a label holds until the next one
            where = section_weight(label)
            quote = quotable(raw)
            if quote is None and _LEAD_IN.search(raw.strip()):
                quote = with_its_list(item.passage, index)
            elif quote is not None:
                widened = in_context(item.passage, index, quote)
                if widened == quote and _LEANS_BACK.match(quote) \
                        and item.document.source_type is not SourceType.DRUG_LABEL:
                    # "These changes are caused by ..." without the sentence it leans on says
                    # nothing a reader can use (a label's "It" is its own drug)
                    continue
                quote = widened
            if quote is None:
                continue
            concepts = concept_names(lowered_names, quote)
            if asked_forms and concepts & asked_forms.keys():
                concepts = frozenset(c for c in concepts if c not in asked_forms
                                     or not names_another_form(quote, asked_forms[c]))
            traits = _traits(quote)
            tokens = traits.tokens
            term_hits = len(term_stems & traits.stems)
            context_hits = max((len(context.get(c, frozenset()) & tokens) for c in concepts), default=0)
            relevance = 2.0 * len(concepts) + 0.5 * term_hits + 0.6 * min(context_hits, 3) + 0.1
            framing = 0.4 if traits.framing else 1.0
            found.append(Candidate(
                quote=quote, evidence=item, concepts=concepts, term_hits=term_hits,
                # a study's protocol ("the secondary aims were ... side effects") neither
                # recommends nor warns
                recommendation=traits.recommendation and not traits.framing,
                caution=traits.caution and not traits.framing,
                score=relevance * design_weight * recency * where * framing * (1.0 + item.score),
                context_hits=context_hits,
            ))
    # Deterministic order: score, then where the sentence lives.
    found.sort(key=lambda c: (-c.score, c.evidence.passage.key, c.quote))
    return found


def is_near_duplicate(candidate: Candidate, chosen: list[Candidate]) -> bool:
    tokens = candidate.tokens
    for other in chosen:
        other_tokens = other.tokens
        union = len(tokens | other_tokens)
        if union and len(tokens & other_tokens) / union >= NEAR_DUPLICATE:
            return True
    return False
