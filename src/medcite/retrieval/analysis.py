"""Query analysis: what a question names, what it asks, and whether it is urgent or medical.

``analyse`` turns a question into a ``QueryAnalysis``: the drugs, supplements and conditions it
names (normalised by ``medcite.vocab``), its intent, the user's own search terms, synonym
expansions per concept, urgent red flags, and whether it is a medical question at all.
``follow_up`` analyses a question asked in the thread of an earlier one.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from enum import StrEnum
from functools import cache

from pydantic import BaseModel, Field, model_validator

from medcite.errors import QueryError
from medcite.models import Correction, QuestionFrame
from medcite.retrieval.frame import frame_for, inherit
from medcite.settings import Settings
from medcite.vocab import Concept, Mention, Vocabulary, fuzzy
from medcite.vocab.text import curated_lines, data_lines, is_dose, norm, tokens, word_list

PACKAGE = "medcite.retrieval"
MAX_BRANDS = 5
MAX_FORMS = 3
MAX_OTHER_NAMES = 4
USER_WEIGHT = 1.0
EXPANSION_WEIGHT = 0.5
AGENT_KINDS = ("drug", "supplement")


class Intent(StrEnum):
    INTERACTION = "interaction"
    EFFICACY = "efficacy"
    DOSING = "dosing"
    ADVERSE_EFFECTS = "adverse_effects"
    MECHANISM = "mechanism"
    INDICATION = "indication"
    COMPARISON = "comparison"
    GENERAL = "general"


class QueryAnalysis(BaseModel):
    """A question, analysed.

    ``mentions`` holds every place a concept is named, in reading order: "mirtazapine (Remeron)"
    gives two mentions of ``drug:mirtazapine`` (one exact, one brand), so both surfaces stay
    visible; ``concepts`` is the de-duplicated list. ``expansions`` maps each concept id to the
    names searched on the user's behalf (generic name, a few brands, main salt forms).
    """

    question: str
    mentions: list[Mention] = Field(default_factory=list)
    intent: Intent = Intent.GENERAL
    terms: list[str] = Field(default_factory=list)
    expansions: dict[str, list[str]] = Field(default_factory=dict)
    red_flags: list[str] = Field(default_factory=list)
    medical: bool = True
    parent_question: str | None = None  # set on a follow-up
    frame: QuestionFrame = Field(default_factory=QuestionFrame)
    # The question with misspellings corrected; what was searched and recognised.
    corrected: str | None = None

    @property
    def word_forms(self) -> list[str]:
        """Other forms of the user's words that the index's stemmer does not join ("women" for
        "woman", "mammography" for "mammogram"), searched beside the expansions."""
        return [v for t in self.terms for v in word_variants(t) if v not in self.terms]

    @model_validator(mode="after")
    def _framed(self) -> QueryAnalysis:
        # An analysis built from its parts (an API client, a test) still has the frame of its
        # mentions; an empty frame would answer "this question" about nothing.
        if self.mentions and not self.frame.subjects():
            self.frame = frame_for(self.question, self.mentions, self.expansions)
        return self

    @property
    def concepts(self) -> list[Concept]:
        """Each named concept once, in order of first mention."""
        return list({m.concept.id: m.concept for m in self.mentions}.values())

    @property
    def agents(self) -> list[Concept]:
        """The drugs and supplements named."""
        return [c for c in self.concepts if c.kind in AGENT_KINDS]


# --- data ---------------------------------------------------------------------------------
@cache
def _red_flags() -> list[tuple[str, re.Pattern[str]]]:
    patterns = []
    for line in data_lines("red_flags.txt", PACKAGE):
        label, _, pattern = line.partition("|")
        patterns.append((label.strip(), re.compile(pattern.strip(), re.IGNORECASE)))
    return patterns


def _words(name: str) -> frozenset[str]:
    return word_list(name, PACKAGE)


def _cue(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


# Intent cues, tried in the order of ``_intent``.
_INTERACT = _cue(r"\binteract\w*|\bcontraindicat\w*")
_TOGETHER = _cue(
    r"\b(together|with|combin\w*|alongside|along with|in addition to|concomitant\w*|co-?administ\w*"
    r"|augment\w*|mix\w*|same time|at once|add(ed|ing)? (to|on)|while (taking|on|using)"
    r"|on top of)\b|\bsupport\w*\b.*\b(therapy|treatment)\b"
)
_COMPARE = _cue(r"\b(vs\.?|versus|compared?|comparison|comparing|better than|worse than"
                r"|difference between|differ from|same as|instead of)\b")
_DOSING = _cue(r"\b(doses?|dosage|dosing|how much|how many (mg|milligrams|pills|tablets)"
               r"|milligrams?|maximum daily|max dose|titrat\w*|how often should)\b"
               r"|\b\d+(\.\d+)? ?(mg|mcg|µg|iu|ml)\b")
_ADVERSE = _cue(r"\b(side[- ]?effects?|adverse|risks?|safe|safety|unsafe|dangerous|danger"
                r"|harm\w*|toxic\w*|warnings?)\b")
_CAUSE = _cue(r"\b(cause[sd]?|causing|lead to|leads to)\b")
_MECHANISM = _cue(r"\bhow (does|do|did)\b.*\bwork|\bmechanism\w*|\bmode of action\b"
                  r"|\bpharmacolog\w*|\bwhat does\b.*\bdo (to|in)\b")
_INDICATION = _cue(r"\b(used for|use for|uses of|indicat\w*|treats?|treating|treatment (of|for)"
                   r"|prescribed for|what is\b.*\bfor|good for)\b")
_EFFICACY = _cue(r"\b(effective\w*|efficacy|works? for|help(s|ed)?(?! me\b)|improv\w*"
                 r"|benefits?|beneficial|evidence)\b")
_REPLACE = _cue(r"\b(instead|rather than|switch\w*|replac\w*|in place of|change to)\b")


# --- analysis -----------------------------------------------------------------------------
def analyse(question: str, vocabulary: Vocabulary | None = None, *,
            settings: Settings | None = None,
            frequency: Callable[[str], int] | None = None) -> QueryAnalysis:
    """Analyse a question. Raises ``QueryError`` when it is empty or too long.

    ``frequency`` counts the corpus's passages with a word; a word the corpus (almost) lacks is
    corrected to the vocabulary name it misspells when the corpus has that name far more often
    ("menigitis", in 1 passage -> "meningitis", in 264), and the frame records the correction.
    """
    settings = settings or Settings.load()
    _check(question, settings.max_question_chars)
    vocabulary = vocabulary or Vocabulary.load(settings)
    text, corrections = _corrected(question, vocabulary, frequency)
    recognised = vocabulary.recognise(text)
    text, everyday = _everyday_words(text, recognised)
    if everyday:  # the conditions' names were added to the text
        corrections += everyday
        recognised = vocabulary.recognise(text)
    mentions = _without_verbs(text, recognised)
    expansions = _expansions(mentions)
    return QueryAnalysis(
        question=question,
        mentions=mentions,
        intent=_intent(text, mentions),
        terms=_terms(text),
        expansions=expansions,
        red_flags=red_flags(question),
        medical=bool(mentions) or _has_medical_word(text) or not _has_non_medical_cue(text),
        frame=frame_for(text, mentions, expansions, corrections),
        corrected=text if corrections else None,
    )


# A typo a few authors made too is still a typo: a word in at most RARE passages is corrected
# to a name found in at least COMMONER times as many (and MIN_FOUND) passages.
RARE = 2
COMMONER = 20
MIN_FOUND = 3


def _question_word(word: str) -> str | None:
    """The word of asking ("administered") that ``word`` misspells, if exactly one is nearest."""
    limit, words = fuzzy.max_distance(len(word)), _words("question_words.txt")
    if not limit or word in words:
        return None
    near = [(fuzzy.distance(word, w), w) for w in words if w[0] == word[0] and abs(len(w) - len(word)) <= limit]
    near = sorted(d for d in near if d[0] <= limit)
    return near[0][1] if near and (len(near) == 1 or near[1][0] > near[0][0]) else None


def _corrected(question: str, vocabulary: Vocabulary,
               frequency: Callable[[str], int] | None) -> tuple[str, list[Correction]]:
    """The question with words the corpus (almost) lacks replaced by the name they misspell."""
    if frequency is None:
        return question, []
    corrections: list[Correction] = []
    pieces: list[str] = []
    last = 0
    toks = tokens(question)
    fixed_words: dict[int, str] = {}
    named = vocabulary.correct_phrase([t for t, _, _ in toks])
    if named is not None:  # a misspelt word inside a condition's name
        begin, finish, words = named
        fixed_words = {i: w for i, w in zip(range(begin, finish), words) if w != toks[i][0]}
    for i, (word, start, end) in enumerate(toks):
        if i in fixed_words:
            pieces += [question[last:start], fixed_words[i]]
            last = end
            corrections.append(Correction(typed=question[start:end], corrected=fixed_words[i]))
            continue
        if len(word) < 6 or not word.isalpha():
            continue
        found = frequency(word)
        if found > RARE:
            continue
        fixed = vocabulary.correct(word, lambda w, f=found: frequency(w) >= max(MIN_FOUND, COMMONER * f)) \
            or _question_word(word)
        if fixed and fixed != word:
            pieces += [question[last:start], fixed]
            last = end
            corrections.append(Correction(typed=question[start:end], corrected=fixed))
    return "".join([*pieces, question[last:]]), corrections


@cache
def _everyday_terms() -> dict[str, str]:
    return {norm(parts[0]): parts[1] for parts in curated_lines("everyday_terms.txt")}


def _everyday_words(text: str, recognised: list[Mention]) -> tuple[str, list[Correction]]:
    """``text`` with each everyday word for a condition that nothing else recognised followed
    by the condition's name ("my sweating (hyperhidrosis)"): the word stays one of the
    question's words, and the name is what is recognised and searched as the condition."""
    covered = [(m.start, m.end) for m in recognised]
    readings: list[Correction] = []
    pieces: list[str] = []
    last = 0
    found = [(start, end, _everyday_terms().get(word)) for word, start, end in tokens(text)]
    found += [(m.start(), m.end(), condition) for pattern, condition in _IN_CONTEXT for m in pattern.finditer(text)]
    for start, end, condition in sorted((f for f in found if f[2]), key=lambda f: f[0]):
        if start < last or any(a <= start < b for a, b in covered) or condition.lower() in text.lower():
            continue
        pieces += [text[last:end], f" ({condition})"]
        last = end
        readings.append(Correction(typed=text[start:end], corrected=condition, kind="everyday word"))
    return "".join([*pieces, text[last:]]), readings


# Everyday words that name a condition only where the words around say so: "a cold", "cold
# symptoms", "colds" (not "why am I so cold", nor "a cold sore").
_IN_CONTEXT = (
    (re.compile(r"\b(?:(?:a|the|for|with|catch|caught|have|had|got|my|bad|head|chest|common)\s+colds?"
                r"|colds?\s+(?:symptoms?|symtoms?|medicines?|medications?|virus\w*|and (?:the )?flu|or (?:the )?flu)"
                r"|colds)\b(?!\s+sores?)", re.I), "common cold"),
)


# A one-word condition name used as a verb or a measure ("her eGFR falls below 30").
_VERB_CONTEXT = re.compile(r"^\s*(below|under|above|over|beneath|to \d|by \d|from \d|\d)", re.I)


# Everyday words that name a concept only in some senses: "a waiting period" is no menstruation,
# and "the pill oxybutynin" names oxybutynin, not an oral contraceptive.
_PERIOD = re.compile(r"^periods?$", re.I)
_NOT_MENSES_BEFORE = re.compile(r"\b(wean\w*( down| off)?|waiting|trial|washout|grace|time|short|long|extended"
                                r"|incubation|titration|taper\w*|adjustment|recovery|this|that|same|whole)\s+$", re.I)
_NOT_MENSES_AFTER = re.compile(r"^\s+of\b", re.I)
_PILL = re.compile(r"^(the )?pills?$", re.I)


def _without_verbs(text: str, mentions: list[Mention]) -> list[Mention]:
    """Mentions whose words are used in the concept's sense (not a verb, a span of time, a tablet)."""
    kept = []
    for m in mentions:
        surface = m.surface.strip()
        if m.concept.kind == "condition" and " " not in surface and _VERB_CONTEXT.match(text[m.end:]):
            continue
        if _PERIOD.match(surface) and (_NOT_MENSES_BEFORE.search(text[:m.start])
                                       or _NOT_MENSES_AFTER.match(text[m.end:])):
            continue
        if _PILL.match(surface) and any(o is not m and o.concept.kind in AGENT_KINDS
                                        and 0 <= o.start - m.end <= 2 for o in mentions):
            continue  # "the pill oxybutynin": the pill is the drug that follows
        kept.append(m)
    return kept


def follow_up(parent: QueryAnalysis, question: str, vocabulary: Vocabulary | None = None, *,
              settings: Settings | None = None,
              frequency: Callable[[str], int] | None = None) -> QueryAnalysis:
    """Analyse ``question`` as a follow-up in the thread of ``parent``.

    The rule for concepts:

    - a follow-up that names no drug, supplement or condition inherits all of the parent's
      ("is it safe in pregnancy?" keeps mirtazapine and magnesium);
    - one that names new concepts keeps the parent's and adds its own ("what about with
      sertraline?" after a magnesium + mirtazapine question asks about all three);
    - one that says it replaces something ("instead", "rather than", "switch to", "replace")
      drops the parent's concepts of the kinds it names ("sertraline instead?" replaces the
      drug mirtazapine and keeps the supplement magnesium).

    Inherited mentions carry ``inherited=True``; their offsets refer to the parent's question.
    The intent comes from the follow-up's own wording and falls back to the parent's. Terms and
    red flags are the follow-up's own.
    """
    child = analyse(question, vocabulary, settings=settings, frequency=frequency)
    inherited = [m.model_copy(update={"inherited": True}) for m in parent.mentions]
    own = child.mentions
    replaced: set[str] = set()
    if own and _REPLACE.search(question):
        replaced = {m.concept.kind for m in own}
        inherited = [m for m in inherited if m.concept.kind not in replaced]
    own_ids = {m.concept.id for m in own}
    mentions = [m for m in inherited if m.concept.id not in own_ids] + own
    intent = _intent(question, mentions)
    if intent is Intent.GENERAL:
        intent = parent.intent
    return child.model_copy(update={
        "mentions": mentions,
        "intent": intent,
        "expansions": _expansions(mentions),
        "medical": child.medical or parent.medical,
        "parent_question": parent.question,
        "frame": inherit(parent.frame, child.frame, replaced),
    })


def lexical_query(analysis: QueryAnalysis) -> list[tuple[str, float]]:
    """Weighted search terms: the user's own words at 1.0, expansions at 0.5.

    An expansion may be a phrase ("sertraline hydrochloride"); the retrieval layer decides how
    to quote it. The preferred name of a concept inherited from a parent question counts as the
    user's own (the thread is about it). Each term appears once, at its highest weight.
    """
    weights: dict[str, float] = {}

    def add(term: str, weight: float) -> None:
        key = term.lower()
        if weights.get(key, 0.0) < weight:
            weights[key] = weight

    for term in analysis.terms:
        add(term, USER_WEIGHT)
    for mention in analysis.mentions:
        if mention.inherited:
            add(mention.concept.name, USER_WEIGHT)
    for names in analysis.expansions.values():
        for name in names:
            add(name, EXPANSION_WEIGHT)
    return list(weights.items())


# Forms the index's stemmer does not join: irregular plurals, and an imaging test's two nouns.
_IRREGULAR = {"woman": "women", "man": "men", "child": "children", "person": "people", "foot": "feet",
              "tooth": "teeth", "mouse": "mice"}
_IRREGULAR.update({plural: singular for singular, plural in list(_IRREGULAR.items())})


def word_variants(term: str) -> list[str]:
    """Other forms of one of the user's words that the full-text index treats as different."""
    word = term.lower()
    found = [_IRREGULAR[word]] if word in _IRREGULAR else []
    for one, other in (("ogram", "ography"), ("ography", "ogram")):
        if word.endswith(one) or word.endswith(one + "s"):
            found.append(word[:word.rfind(one)] + other)
    return found


def red_flags(question: str) -> list[str]:
    """Labels of the urgent red flags the question shows ("overdose", "chest pain" ...)."""
    text = question.replace("’", "'")
    return [label for label, pattern in _red_flags() if pattern.search(text)]


def _check(question: str, limit: int) -> None:
    if not isinstance(question, str) or not question.strip():
        raise QueryError("question is empty", hint="ask a clinical question in words")
    if not any(ch.isalnum() for ch in question):  # "???", or only zero-width spaces
        raise QueryError("question has no words", hint="ask a clinical question in words")
    if len(question) > limit:
        raise QueryError(f"question is {len(question)} characters; the limit is {limit}",
                         hint="shorten the question")


def _intent(question: str, mentions: list[Mention]) -> Intent:
    agents = {m.concept.id for m in mentions if m.concept.kind in AGENT_KINDS}
    if agents and _INTERACT.search(question):
        return Intent.INTERACTION
    if len(agents) >= 2 and _TOGETHER.search(question):
        return Intent.INTERACTION
    if len(agents) >= 2 and _COMPARE.search(question):
        return Intent.COMPARISON
    if agents and _CAUSE.search(question):
        return Intent.ADVERSE_EFFECTS
    for pattern, intent in ((_COMPARE, Intent.COMPARISON), (_DOSING, Intent.DOSING),
                            (_ADVERSE, Intent.ADVERSE_EFFECTS), (_MECHANISM, Intent.MECHANISM),
                            (_INDICATION, Intent.INDICATION), (_EFFICACY, Intent.EFFICACY)):
        if pattern.search(question):
            return intent
    # Two agents and nothing else asked ("sertraline and ibuprofen?"): about taking both.
    return Intent.INTERACTION if len(agents) >= 2 else Intent.GENERAL


def _terms(question: str) -> list[str]:
    stop = _words("query_stopwords.txt")
    found: list[str] = []
    for word, _, _ in tokens(question):
        if len(word) < 2 or word in stop or is_dose(word) or word in found:
            continue
        found.append(word)
    return found


def _expansions(mentions: list[Mention]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for mention in mentions:
        concept = mention.concept
        if concept.id in out:
            continue
        special = set(concept.brands) | set(concept.forms)
        others = [s for s in concept.synonyms if s != concept.name and s not in special]
        # Supplements' trade names in the FDA list are obscure; only drugs get brands.
        brands = concept.brands[:MAX_BRANDS] if concept.kind == "drug" else []
        names = [concept.name, *others[:MAX_OTHER_NAMES], *brands, *concept.forms[:MAX_FORMS]]
        out[concept.id] = list(dict.fromkeys(names))
    return out


def _has_non_medical_cue(question: str) -> bool:
    cues = _words("non_medical_cues.txt")
    return any(word in cues for word, _, _ in tokens(question))


def _has_medical_word(question: str) -> bool:
    medical = _words("medical_words.txt")
    for word, _, _ in tokens(question):
        if word in medical or (word.endswith("s") and word[:-1] in medical):
            return True
    return False


def stopwords() -> frozenset[str]:
    """The words a query drops (also the plain-BM25 baseline's stopword list)."""
    return _words("query_stopwords.txt")
