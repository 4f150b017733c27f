"""Support checks that license a language model's prose.

``verify_article`` only proves that a statement's ``quote`` is a verbatim span of each cited
passage. A model writes its own words, so before that check runs each drafted statement must be
*supported* by the passage it cites:

1. every quantity it states (``15 mg``, ``45 mg/day``, ``20%``, a bare number) appears in the
   passage (or the document's title/year), with the same unit: a missing per-day denominator is
   tolerated, ``mg`` for ``mg/kg`` is not;
2. at least ``MIN_COVERAGE`` of its content words (stop words removed, stemmed) appear in the
   passage;
3. when the sentence encoder loads, its cosine to the closest passage sentence is at least
   ``MIN_SIMILARITY`` (a veto on word-salad overlap). The encoder also picks the quote.

Thresholds were tuned with ``bench/llm/tune_support.py`` for precision first (a dropped
statement costs less than an unsupported one shown), on three sets of claims paired with text:

======================================  ======  ====  ======================  ==================
set                                     claims  base  coverage >= 0.6         + cosine >= 0.5
======================================  ======  ====  ======================  ==================
ExpertQA medical, expert ``support``    305     0.68  P 0.731  R 0.512        P 0.761  R 0.507
ExpertQA "Complete" claims vs the same  386     0.50  P 0.841  R 0.492        P 0.839  R 0.487
claims citing another claim's evidence
K-QA physician NLI (Entailment)         399     0.38  P 0.625  R 0.359        P 0.625  R 0.359
======================================  ======  ====  ======================  ==================

Coverage 0.5 keeps more (R 0.66 / 0.64 / 0.56) at lower precision (0.69 / 0.79 / 0.57); 0.7 gains
little precision for a large recall loss. Coverage alone has AUC 0.82 on the mis-citation set and
0.73 on K-QA (0.57 on the expert labels, where "Partial" claims share the evidence's words). A
rescue route (coverage >= 0.45 with cosine >= 0.75) was rejected: the statements it adds are
only 54-67% supported; so was a floor on the quote's own coverage (0.3-0.5: precision no better,
recall 3-16 points lower). The quantity check alone fails 24 K-QA claims, 22 of them unsupported.
These are lexical and embedding checks, not entailment: a model that recombines a passage's words
into a different claim can still pass, so the pipeline keeps the quote beside the prose.

Sentences that address a reader as instructions ("ignore previous instructions ...") can never
support a statement: text inside a document is data, not instructions.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from medcite.models import Passage

if TYPE_CHECKING:
    from medcite.synthesis.base import Evidence

MIN_COVERAGE = 0.60  # share of the statement's content words found in the cited passage
MIN_SIMILARITY = 0.50  # cosine to the closest passage sentence, when the encoder is loaded
VECTOR_CACHE = 4096

_MARKERS = re.compile(r"\s*\[\s*\d+(?:\s*[,;\u2013-]\s*\d+)*\s*\]")
_WORD = re.compile(r"[a-z][a-z0-9]*|\d+[a-z]+[a-z0-9]*")
_POSSESSIVE = re.compile(r"['\u2019]s\b")

STOPWORDS = frozenset("""
a about above after again against all almost also although am among an and any are aren't as at
be because been before being below between both but by can cannot could did do does doing done
down during each either else etc even ever every few for from further had has have having he her
here hers herself him himself his how however i if in into is isn't it its itself just least
less like made make many may me might more most much must my myself neither no nor not now of
off often on once one only or other others our ours ourselves out over own per perhaps quite
rather really same several shall she should since so some such than that the their theirs them
themselves then there these they this those though through thus to too under until up upon us
use used uses using very via was wasn't we well were what when where whether which while who
whom whose why will with within without would yet you your yours yourself yourselves
""".split())

# Longest first, so "ational" wins over "al"; a stem keeps at least MIN_STEM characters.
_SUFFIXES = ("ational", "ization", "isation", "ations", "ation", "ements", "ement", "ments",
             "ment", "ness", "ities", "ity", "ically", "ical", "ings", "ing", "ives", "ive",
             "ously", "ous", "ally", "edly", "ly", "ies", "ied", "ers", "er", "ed", "es", "s",
             "al", "ic", "e")
MIN_STEM = 3


def stem(word: str) -> str:
    """A light suffix-stripping stemmer: ``recommended``/``recommendation`` → ``recommend``."""
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= MIN_STEM:
            return word[: -len(suffix)]
    return word


def strip_markers(text: str) -> str:
    """The statement without inline citation markers like ``[1]`` or ``[2, 3]``."""
    return re.sub(r"\s+", " ", _MARKERS.sub("", text)).strip()


def content_words(text: str) -> set[str]:
    """Stemmed words that carry meaning (no stop words, no bare numbers, no single letters)."""
    words = _WORD.findall(_POSSESSIVE.sub("", text.lower()))
    return {stem(w) for w in words if len(w) > 1 and w not in STOPWORDS}


# -- instructions inside documents ----------------------------------------------------------------
# Text inside a document is data. A sentence that speaks to a model (or to "whoever is reading"),
# tells it to drop what it was told, gives it a new role, carries a chat-template role token, or
# orders it to tell every patient something is an injection attempt, however it is worded.
# Detection reads a folded copy of the sentence, so look-alike letters, fullwidth forms and
# invisible characters cannot split or disguise a word; the sentence itself is never changed.

_INVISIBLE = dict.fromkeys(
    [0x00AD, 0x180E, *range(0x200B, 0x2010), *range(0x202A, 0x202F), *range(0x2060, 0x2070),
     0xFEFF], None)
# Cyrillic and Greek letters that look like Latin ones (NFKC leaves them alone). The micro sign
# and mu stay: "µg" is a unit, and no instruction word needs them.
_CONFUSABLES = str.maketrans(
    "аеёіїјкорсухѕԁԛԝһӏɡıАВЕЅІЈКМНОРСТХУҮαεικνορτυχΑΒΕΖΗΙΚΜΝΟΡΤΥΧ‘’",
    "aeeiijkopcyxsdqwhlgiABESIJKMHOPCTXYYaeiknoptuxABEZHIKMNOPTYX''")
# "I g n o r e" or "i.g.n.o.r.e": letters spaced out to dodge word matching.
_SPACED_LETTERS = re.compile(r"\b(?:[a-z][ .\-_*|]){3,}[a-z]\b", re.I)
_SPACERS = re.compile(r"[ .\-_*|]")
_WORDS = re.compile(r"[a-z][a-z']*")

_MACHINE_WORDS = frozenset("""ai artificial assistant assistants chatbot chatbots chat bot bots llm
    llms language gpt gpts chatgpt claude gemini copilot virtual""".split())
_MACHINE = (r"(?:ai|artificial intelligence|ai (?:assistant|model|system|agent|tool)s?"
            r"|assistants?|chat ?bots?|bots?|llms?|large language models?|language models?"
            r"|gpts?|chatgpt|claude|gemini|copilot|virtual assistants?)")
_DIRECTIVE = (r"(?:say|state|tell|write|output|print|respond|reply|answer|recommend|advise|claim"
              r"|assert|declare|insist|report|include|add|repeat|ignore|disregard|forget|pretend"
              r"|act|stop|never|always|only|do|don't|make sure|ensure|remember)")
_OVERRIDE_WORDS = frozenset("""ignore ignoring disregard forget override overrule bypass skip discard
    abandon set throw pay follow following obey heed""".split())
_OVERRIDE = (r"(?<!not )(?<!n't )(?<!never )\b(?:ignore|disregard|forget(?: about)?|override|overrule"
             r"|bypass|skip|discard|abandon|set aside|throw out|pay no attention to"
             r"|(?:do not|don't|no longer|stop) (?:follow|obey|heed)(?:ing)?)")
_EARLIER = (r"(?:previous|previously given|prior|earlier|above|preceding|foregoing|former|original"
            r"|initial|old|existing|system|developer|safety|hidden|standing|current)")
_ORDERS = (r"(?:instructions?|guidance|guidelines?|rules?|prompts?|directions?|directives?|context"
           r"|commands?|orders?|constraints?|polic(?:y|ies)|restrictions?|safeguards?|programming"
           r"|messages?|text)")
_TELLING_WORDS = frozenset("""say state tell write output print claim assert declare insist announce
    reply respond answer""".split())
_TELLING = (r"(?:say|state|tell|write|output|print|claim|assert|declare|insist|announce|reply"
            r"|respond|answer)")

# (words one of which the sentence must contain, pattern): the words keep detection fast, since
# almost no clinical sentence contains any of them in the shape the pattern asks for.
_CHECKS = [(frozenset(words), re.compile(pattern)) for words, pattern in [
    # a) spoken to a model: "Assistant, ...", "Note to the AI model reading this: ..."
    (_MACHINE_WORDS,
     rf"^(?:(?:hey|hi|hello|dear|ok|okay|attention|listen|note)[ ,:]+)?(?:the |an? )?{_MACHINE}\s*[,:!]"
     rf"|[,;:]\s*(?:hey |dear )?{_MACHINE}\s*[,:]\s*(?:please |now |from now on,? |you |kindly |just )*"
     rf"{_DIRECTIVE}\b"
     r"|\b(?:you are|you're) (?:an? |the )?(?:ai|artificial intelligence|(?:large )?language model"
     r"|llm|chat ?bot|ai (?:assistant|model|system))\b"
     # "As an AI language model, ..." (not "As AI methods drive ...": the role needs its comma)
     r"|^as an? (?:ai|artificial intelligence|(?:large )?language model|llm|chat ?bot)"
     r"(?: (?:assistant|model|system|language model))?\s*,"
     rf"|\b{_MACHINE} (?:reading|processing|summari[sz]ing|parsing|analy[sz]ing|indexing|crawling"
     r"|ingesting|answering|using|that reads?|which reads?) (?:this|these|the following)\b"),
    (_MACHINE_WORDS | {"model", "models"},
     r"\b(?:note|message|instructions?|attention|reminder|request|memo|directive|notice|p\.?s\.?)"
     rf"\s+(?:to|for)\s+(?:the |any |all |every |an? )?(?:{_MACHINE}|(?:ai |language )?models?)\b"),
    ({"system"}, r"\b(?:note|message|memo|reminder) (?:to|for) (?:the )?system\b"),
    (_MACHINE_WORDS | {"automated"},
     rf"\bif you(?: are|'re| were)? (?:an? )?(?:{_MACHINE}|automated (?:system|tool|agent))\b"),
    ({"whoever", "anyone", "anybody"},
     r"\b(?:whoever|anyone|anybody) (?:who (?:is|are) )?(?:is )?(?:reading|processing|summari[sz]ing)"
     r" (?:this|these)\b"),
    # b) told to drop what came before: "Disregard the earlier guidance", "forget all that"
    (_OVERRIDE_WORDS,
     rf"{_OVERRIDE}\s+(?:(?:all|any|every|each|of|the|your|my|these|those|this|that)\s+)*"
     rf"(?:{_EARLIER}\s+(?:and\s+)?)*{_ORDERS}\b"
     rf"|{_OVERRIDE}\s+(?:all |everything |anything )?(?:(?:of )?(?:the|that|what(?:'s| is| was)?)\s+)?"
     r"(?:above|before|previous(?:ly)?|earlier|prior|so far|said|written)\s*(?:$|[.,:;!]|and\b)"
     rf"|{_OVERRIDE}\s+(?:everything|all|anything|what)\b[^.!?]{{0,30}}\b(?:above|before|earlier"
     r"|previously|so far|you (?:were|have been|'ve been) (?:told|given|instructed))\b"),
    # c) a new role: "you are now", "act as", "from now on", "your new task"
    ({"now"}, rf"\byou(?: are|'re) now\b|\bfrom now on\b[,:]?\s*(?:you\b|{_DIRECTIVE}\b)"),
    ({"act", "behave", "roleplay", "role", "pose"},
     r"(?:^|[.:;!]\s*|\byou (?:will |must |should |shall |are to |now )?|\bplease\s+)"
     r"(?:act|behave|roleplay|role-play|pose) (?:as|like)\b"
     r"(?! (?:soon|quickly|fast|early|promptly|well|much|long|though)\b)"),
    ({"pretend", "pretending"}, r"\bpretend(?:ing)? (?:to be|you are|you're|that you)\b"),
    ({"your"}, r"\byour (?:new|real|true|actual) (?:task|role|job|instructions?|goal|objective"
               r"|persona|identity|purpose|directive)s?\b"),
    ({"instruction", "instructions", "system", "developer", "anything"} | {"jailbreak", "jailbroken"},
     r"\bnew instructions?\s*:|\bsystem prompt\b|\bjailbr(?:ea|o)k\w*|\bdeveloper mode\b"
     r"|\bdo anything now\b"),
    ({"you", "you've"},
     r"\byou (?:have been|'ve been|were|are being) (?:reprogrammed|jailbroken|freed|unlocked"
     r"|given new instructions)\b|\byou (?:must|will|shall) (?:now )?(?:obey|comply)\b"),
    # e) an order to tell every reader something: "tell every patient to ...", "say that ..."
    (_TELLING_WORDS,
     rf"(?:^|[.:;!]\s*|\b(?:please|now|and|always|just|simply|must|should|will)\s+){_TELLING}\b"
     r"[^.!?]{0,20}?\b(?:every|all|each|any) (?:patients?|readers?|users?|persons?|people|adults?"
     r"|one|humans?|visitors?)\b"
     rf"|^(?:please |now |you must |always |just )?{_TELLING}\s+(?:that|only|exactly|:|\")"
     # an order, not a report ("participants respond with a key press", "product output with"):
     # at the start of a sentence or clause, or after an imperative adverb
     r"|(?:^|[.:;!]\s*|\b(?:please|now|always|just|simply|only|must)\s+)"
     r"(?:respond|reply|answer|output)\s+(?:only\s+)?with\b"),
    ({"tell", "inform", "remind"},
     r"\b(?:tell|inform|remind) (?:the |your |all |our )?(?:readers?|users?|humans?|visitors?)"
     r"\s+(?:that|to)\b"),
]]
# d) chat-template and role markup: <system>, </s>, [INST], <|im_start|>, ### Instruction, SYSTEM:
_ROLE_MARKUP = re.compile(
    r"<\s*/?\s*(?:system|assistant|user|human|instructions?|prompt|sys|inst|im_start|im_end)\s*/?>"
    r"|</s>|\[/?\s*inst\s*\]|<<\s*/?\s*sys\s*>>|<\|[a-z_]{2,30}\|>"
    r"|(?:^|\n)\s*#{2,}\s*(?:instructions?|system|response|input|prompt)\b"
    r"|(?:^|\n)\s*(?:SYSTEM|ASSISTANT|HUMAN|USER|System prompt)\s*:"
    r"|(?:^|\n)\s*system\s*:\s*(?:you|ignore|disregard|from now on|new)\b",
    re.I,
)
_MARKUP_CHARS = frozenset("<[#:")


def detection_text(text: str) -> str:
    """The text as injection detection reads it: NFKC forms, no invisible characters, look-alike
    Cyrillic and Greek letters as Latin, curly apostrophes straight, spaced-out letters joined."""
    folded = unicodedata.normalize("NFKC", text).translate(_INVISIBLE).translate(_CONFUSABLES)
    return _SPACED_LETTERS.sub(lambda m: _SPACERS.sub("", m.group()), folded)


@lru_cache(maxsize=65_536)  # every evidence sentence is checked twice (its page, then itself)
def instruction_like(sentence: str) -> bool:
    """Text that speaks to a model rather than about medicine (prompt injection)."""
    text = detection_text(sentence)
    if not _MARKUP_CHARS.isdisjoint(text) and _ROLE_MARKUP.search(text):
        return True
    lowered = " ".join(text.lower().split())
    words = set(_WORDS.findall(lowered))
    return any(not triggers.isdisjoint(words) and pattern.search(lowered)
               for triggers, pattern in _CHECKS)


# -- quantities ---------------------------------------------------------------------------------

_UNIT_WORDS = {
    "%": "%", "percent": "%", "per cent": "%", "mg": "mg", "milligram": "mg", "milligrams": "mg",
    "mcg": "mcg", "µg": "mcg", "μg": "mcg", "ug": "mcg", "microgram": "mcg", "micrograms": "mcg",
    "g": "g", "gram": "g", "grams": "g", "kg": "kg", "ml": "ml", "l": "l", "iu": "iu",
    "unit": "units", "units": "units", "mmol": "mmol", "meq": "meq", "mmhg": "mmhg",
    "day": "days", "days": "days", "week": "weeks", "weeks": "weeks", "month": "months",
    "months": "months", "year": "years", "years": "years", "hour": "h", "hours": "h", "h": "h",
    "hr": "h", "hrs": "h", "minute": "min", "minutes": "min", "min": "min", "times": "times",
    "fold": "times", "x": "times",
}
_DENOMINATORS = {"day": "day", "d": "day", "daily": "day", "kg": "kg", "dose": "dose", "h": "h",
                 "hr": "h", "hour": "h", "week": "week", "wk": "week", "m2": "m2", "l": "l",
                 "dl": "dl", "ml": "ml", "min": "min"}
_TIME_DENOMINATORS = frozenset({"day", "dose", "week", "h"})
_UNIT = "|".join(sorted((re.escape(u) for u in _UNIT_WORDS), key=len, reverse=True))
_DENOM = "|".join(sorted((re.escape(d) for d in _DENOMINATORS), key=len, reverse=True))
_NUMBER = r"(?<![A-Za-z0-9.,])(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?|\.\d+)(?![\d,]*[A-Za-z]{2,}\d)"
_QUANTITY = re.compile(
    _NUMBER + r"(?:\s*(?:-|\u2013|to)\s*(\d+(?:\.\d+)?))?"  # an optional range end
    rf"(?:\s*-?\s*({_UNIT})(?![a-z])(?:\s*(?:/|per)\s*({_DENOM})(?![a-z]))?)?",
    re.I,
)


@dataclass(frozen=True)
class Quantity:
    value: str  # canonical decimal: "15", "0.5", "1000"
    unit: str | None = None  # canonical unit with an optional denominator: "mg/day", "%"

    def __str__(self) -> str:
        return f"{self.value} {self.unit}" if self.unit else self.value


def _canonical(number: str) -> str:
    try:
        value = Decimal(number.replace(",", ""))
    except InvalidOperation:
        return number
    text = format(value.normalize(), "f")
    return text


def quantities(text: str) -> list[Quantity]:
    """Numbers with their units; both ends of a range get the range's unit."""
    found: list[Quantity] = []
    for match in _QUANTITY.finditer(text):
        first, second, unit, denominator = match.groups()
        canonical_unit = _UNIT_WORDS.get(unit.lower()) if unit else None
        if canonical_unit and denominator:
            canonical_unit += "/" + _DENOMINATORS[denominator.lower()]
        found.append(Quantity(_canonical(first), canonical_unit))
        if second:
            found.append(Quantity(_canonical(second), canonical_unit))
    return found


def _matches(stated: Quantity, available: Sequence[Quantity]) -> bool:
    for candidate in available:
        if candidate.value != stated.value:
            continue
        if stated.unit is None or candidate.unit == stated.unit:
            return True
        if candidate.unit is None:
            continue
        # "45 mg" may stand for "45 mg/day", never for "45 mg/kg".
        base_s, _, per_s = stated.unit.partition("/")
        base_c, _, per_c = candidate.unit.partition("/")
        if base_s == base_c and (per_s or per_c) in _TIME_DENOMINATORS and not (per_s and per_c):
            return True
    return False


def missing_quantities(statement: str, source: str) -> list[Quantity]:
    """The statement's quantities that the source does not state."""
    available = quantities(source)
    return [q for q in quantities(statement) if not _matches(q, available)]


# -- support ------------------------------------------------------------------------------------


class SentenceEncoder(Protocol):
    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray: ...


@dataclass(frozen=True)
class Support:
    """Whether one passage supports one statement, and the sentence that best shows it."""

    supported: bool
    coverage: float
    quote: str | None  # verbatim sentence of the passage; None when nothing is quotable
    similarity: float | None = None
    reason: str = ""  # why not, in detail
    problem: str = ""  # why not, as one of a few categories (for counts)


def untrusted_documents(evidence: Iterable[Evidence]) -> set[str]:
    """Keys of the documents any of whose passages in ``evidence`` addresses a model: such a
    page is no source at all, its harmless-looking sentences included (they may be the planted
    misinformation the instruction was there to push)."""
    return {item.document.key for item in evidence
            if any(instruction_like(s) for s in item.passage.sentence_texts() or [item.passage.text])}


def passage_sentences(passage: Passage) -> list[str]:
    """The passage's sentences, verbatim and stripped, without instruction-like ones."""
    sentences = passage.sentence_texts() or [passage.text]
    return [s.strip() for s in sentences if s.strip() and not instruction_like(s)]


class SupportChecker:
    """Scores statements against passages; the encoder is optional."""

    def __init__(self, encoder: SentenceEncoder | None = None, *, min_coverage: float = MIN_COVERAGE,
                 min_similarity: float = MIN_SIMILARITY) -> None:
        self.encoder = encoder
        self.min_coverage = min_coverage
        self.min_similarity = min_similarity
        # Passages are cited by several statements; encode each sentence once.
        self._vectors: dict[str, np.ndarray] = {}

    @staticmethod
    def coverage(statement: str, source: str) -> float:
        """Share of the statement's content words that the source contains."""
        words = content_words(strip_markers(statement))
        return len(words & content_words(source)) / len(words) if words else 0.0

    def check(self, statement: str, passage: Passage, context: str = "") -> Support:
        """``context`` is extra source text numbers may come from (the document's title, year)."""
        text = strip_markers(statement)
        sentences = passage_sentences(passage)
        if not sentences:
            return Support(False, 0.0, None, reason="the passage has no quotable sentence",
                           problem="no quotable sentence")
        source = " ".join(sentences)
        words = content_words(text)
        if not words:
            return Support(False, 0.0, None, reason="the statement has no content words",
                           problem="no content words")
        coverage = len(words & content_words(source + " " + context)) / len(words)
        quote, similarity = self._best_sentence(text, words, sentences)
        missing = missing_quantities(text, source + " " + context)
        if missing:
            return Support(False, coverage, quote, similarity,
                           reason="not in the cited passage: " + ", ".join(map(str, missing)),
                           problem="a number or dose the passage does not state")
        if coverage < self.min_coverage:
            return Support(False, coverage, quote, similarity,
                           reason=f"only {coverage:.0%} of its content words are in the cited passage",
                           problem="too few of its words in the passage")
        if similarity is not None and similarity < self.min_similarity:
            return Support(False, coverage, quote, similarity,
                           reason=f"no passage sentence is close in meaning (cosine {similarity:.2f})",
                           problem="not close in meaning to any passage sentence")
        return Support(True, coverage, quote, similarity)

    def _best_sentence(self, text: str, words: set[str], sentences: list[str]) -> tuple[str, float | None]:
        from medcite.synthesis.sentences import quotable

        # A heading, table row or fragment does not show a reader why a statement holds; quote
        # a whole sentence when the passage has one (quotable() only trims a leading list mark,
        # so the quote stays verbatim).
        whole = [q for q in map(quotable, sentences) if q]
        similarity = self._similarity(text, sentences)
        if whole:
            sentences = whole
        stated = quantities(text)
        # A sentence that states the statement's numbers is the one that licenses them.
        overlap = [(len(words & content_words(s)) + sum(_matches(q, quantities(s)) for q in stated))
                   / (len(words) + len(stated)) for s in sentences]
        if self.encoder is None:
            best = max(range(len(sentences)), key=lambda i: (overlap[i], -i))
            return sentences[best], None
        vectors = self._encode([text, *sentences])
        cosine = vectors[1:] @ vectors[0]
        # Word overlap decides the quote; the encoder breaks ties.
        best = max(range(len(sentences)), key=lambda i: (overlap[i] + 0.5 * float(cosine[i]), -i))
        return sentences[best], similarity

    def _similarity(self, text: str, sentences: list[str]) -> float | None:
        """Cosine of the statement to its closest passage sentence (the tuned veto signal)."""
        if self.encoder is None:
            return None
        vectors = self._encode([text, *sentences])
        return float((vectors[1:] @ vectors[0]).max())


    def _encode(self, texts: list[str]) -> np.ndarray:
        assert self.encoder is not None
        todo = list(dict.fromkeys(t for t in texts if t not in self._vectors))
        if todo:
            if len(self._vectors) > VECTOR_CACHE:
                self._vectors.clear()
            self._vectors.update(zip(todo, self.encoder.encode(todo)))
        return np.stack([self._vectors[t] for t in texts])


def load_checker(cache_dir: Path | None = None) -> SupportChecker:
    """A checker with the sentence encoder when it can be loaded, without it otherwise."""
    try:
        from medcite.retrieval.embedding import Encoder

        return SupportChecker(Encoder(cache_dir=Path(cache_dir) if cache_dir else None))
    except Exception:  # noqa: BLE001 - the encoder is optional; any failure means "skip it"
        return SupportChecker(None)
