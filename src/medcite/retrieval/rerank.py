"""A learned re-ranker over the fused candidates, in the manner of PubMed's Best Match.

The head of the fused list (``RERANK_DEPTH`` passages, ``SEARCH_DEPTH`` on hybrid search;
ranked by reciprocal-rank fusion of the BM25 lists and dense vectors, before any evidence-type
prior) is scored by a LambdaMART model (LightGBM) from features of the question and each
passage: the retrieval lists' ranks and scores, per-field BM25 (title, section, body) of the
user's terms and of the concepts' names, dense cosine, term, bigram and concept coverage, the question frame's asked-for-item cues in the
text and the section name, section kind (a label section, a guideline recommendation), source
type, study design and its prior, year, length and position. The evidence-type prior is one of
those features, learned, not a fixed boost applied before relevance.

The model is a LightGBM text model shipped in the package (``data/reranker-hybrid.txt`` for a
store with dense vectors, ``data/reranker-lexical.txt`` without), trained by
``python -m medcite.retrieval.train_reranker`` (its provenance in ``data/reranker.json``). It
is evaluated here with NumPy (``TreeModel``), so LightGBM is needed only to train.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path
from threading import Lock

import numpy as np

from medcite.errors import ConfigurationError
from medcite.models import AskedFor, DocumentRecord, Passage, SourceType, StudyDesign
from medcite.retrieval.analysis import QueryAnalysis
from medcite.retrieval.evidence import DEFAULT_PRIORS, RANK
from medcite.store.base import Store
from medcite.store.records import PassageText

# How many fused candidates the model is trained on: the head that can reach a page of results.
RERANK_DEPTH = 100
# How many a hybrid search re-scores: on the held-out sets the head of 60 ranks as the head of
# 100 (MedicationQA MRR@10 0.577 vs 0.578, R@10 0.786 both; PubMedQA identical; 40 loses R@10)
# for about 40% less feature work. Lexical search keeps 100: its answers sit deeper in the fused
# list (MedicationQA R@10 0.670 at 60 against 0.690 at 100).
SEARCH_DEPTH = 60
MODEL_FILES = {"hybrid": "reranker-hybrid.txt", "lexical": "reranker-lexical.txt"}
PROVENANCE_FILE = "reranker.json"

FEATURES: tuple[str, ...] = (
    # the retrieval lists
    "fused", "fused_rrank", "user_rrank", "expanded_rrank", "dense_rrank",
    "dense_cos", "dense_cos_gap",
    # BM25: the lists' own FTS5 scores, and per field (body, title, section name) over the
    # user's terms and over the concepts' names, idf from the store
    "user_bm25", "expanded_bm25", "bm25_body", "bm25_body_rel", "bm25_title", "bm25_section",
    "bm25_concepts",
    # term and concept coverage
    "cov_terms", "cov_terms_idf", "cov_title", "cov_section", "first_pos", "density", "bigrams",
    "concepts_cov", "agents_cov", "conditions_cov", "classes_cov", "concept_in_title",
    "concept_early",
    # the asked-for item
    "asked_cue_text", "asked_cue_section", "asked_general",
    # the document: source type, study design and its prior, section kind, year, length
    "src_guideline", "src_research", "src_label", "src_consumer",
    "prior", "design_rank", "preclinical", "guideline_recommendation",
    "year", "log_chars", "ordinal", "has_title",
    # the question
    "n_terms", "n_concepts",
)
INDEX = {name: i for i, name in enumerate(FEATURES)}
# The features that carry the evidence-type prior (left out for the "no prior" ablation).
PRIOR_FEATURES = ("src_guideline", "src_research", "src_label", "src_consumer", "prior",
                  "design_rank", "preclinical", "guideline_recommendation")

def stem(word: str) -> str:
    """A crude suffix strip (FTS5's porter stemmer does the matching; this only compares)."""
    for suffix in ("ations", "ation", "ings", "ing", "ies", "es", "s", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def _cue(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.I)


_NUMBER_UNIT = r"\b\d+(\.\d+)?\s?(mg|mcg|µg|g|ml|units?|iu|mg/kg)\b"
# What a passage answering each asked-for item tends to say, and the section it tends to be in.
_ASKED_TEXT: dict[AskedFor, re.Pattern[str]] = {
    AskedFor.DOSE: _cue(_NUMBER_UNIT + r"|\bdos(e|es|age|ing)\b|\b(once|twice|three times) (a|per|daily)\b"),
    AskedFor.MAXIMUM_DOSE: _cue(_NUMBER_UNIT + r"|\bmaxim(um|al)\b|\bnot (to )?exceed\b|\bup to\b"),
    AskedFor.TIMING: _cue(r"\b(morning|evening|bedtime|night|with food|with meals?|empty stomach|"
                          r"before|after|once (a )?daily|twice daily|every \d+ hours)\b"),
    AskedFor.DURATION: _cue(r"\b\d+\s?(to \d+ )?(days?|weeks?|months?|years?)\b|\bduration\b|\blong-term\b"),
    AskedFor.THRESHOLD: _cue(r"\b(below|above|less than|greater than|at least|target|threshold|level)\b"
                             + r"|\b\d+(\.\d+)?\s?(%|mg/dl|mmol/l|mmhg|ml/min)"),
    AskedFor.CONTRAINDICATION: _cue(r"\bcontraindicat\w*|\bshould not\b|\bdo not (use|take)\b|\bavoid\w*"
                                    r"|\bpregnan\w*|\bbreast-?feed\w*|\bwarnings?\b|\bnot recommended\b"),
    AskedFor.INDICATION: _cue(r"\brecommend\w*|\bindicated\b|\bscreen\w*|\beligib\w*|\bshould (receive|be)\b"),
    AskedFor.INTERACTION: _cue(r"\binteract\w*|\bconcomitant\w*|\bco-?administ\w*|\btogether\b"
                               r"|\bcombin\w*|\bcyp\w*|\b(increase|decrease)s? the (level|risk|effect)"),
    AskedFor.ADVERSE_EFFECTS: _cue(r"\bside effects?\b|\badverse\b|\breactions?\b|\brisks?\b|\btoxic\w*"
                                   r"|\bnausea\b|\bheadache\b|\bdizziness\b|\brash\b|\bbleeding\b"),
    AskedFor.EFFICACY: _cue(r"\beffective\w*|\befficacy\b|\bimprov\w*|\breduc\w*|\bsignificant\w*"
                            r"|\bbenefit\w*|\boutcomes?\b"),
    AskedFor.FIRST_LINE: _cue(r"\bfirst-?line\b|\brecommend\w*|\bpreferred\b|\binitial\b|\btreat\w*"
                              r"|\btherap\w*|\bof choice\b"),
    AskedFor.TREATMENT: _cue(r"\btreat\w*|\btherap\w*|\brecommend\w*|\brelie\w*|\bhelps?\b|\bmedic\w*"),
    AskedFor.COMPARISON: _cue(r"\bcompared?\b|\bversus\b|\bvs\b|\bthan\b|\bdifferen\w*|\bsuperior\b|\binferior\b"),
    AskedFor.DEFINITION: _cue(r"\b(is|are) (a|an|the)\b|\brefers? to\b|\bcalled\b|\bknown as\b|\bmeans?\b"),
    AskedFor.SYMPTOMS: _cue(r"\bsymptoms?\b|\bsigns?\b|\bpain\b|\bfever\b|\bswelling\b|\bfatigue\b"),
    AskedFor.MECHANISM: _cue(r"\bworks? by\b|\bmechanism\w*|\binhibit\w*|\bblock\w*|\breceptors?\b|\benzymes?\b"),
}
_ASKED_SECTION: dict[AskedFor, re.Pattern[str]] = {
    AskedFor.DOSE: _cue(r"dosage|dosing|administration|how (should|to) .*(take|use)"),
    AskedFor.MAXIMUM_DOSE: _cue(r"dosage|dosing|administration|overdos"),
    AskedFor.TIMING: _cue(r"administration|how (should|to) .*(take|use)|directions"),
    AskedFor.DURATION: _cue(r"dosage|administration|duration|treatment"),
    AskedFor.CONTRAINDICATION: _cue(r"contraindication|warning|precaution|pregnan|lactation|special populations"),
    AskedFor.INDICATION: _cue(r"indication|recommendation|usage|who should"),
    AskedFor.INTERACTION: _cue(r"interaction|precaution"),
    AskedFor.ADVERSE_EFFECTS: _cue(r"adverse|side effect|warning|reaction|safety"),
    AskedFor.EFFICACY: _cue(r"clinical stud|efficacy|results|benefit"),
    AskedFor.FIRST_LINE: _cue(r"treatment|therapy|recommendation|management"),
    AskedFor.TREATMENT: _cue(r"treatment|therapy|recommendation|management|what to do|self-care"),
    AskedFor.DEFINITION: _cue(r"what is|description|overview|summary|definition"),
    AskedFor.SYMPTOMS: _cue(r"symptom|sign|clinical (features|presentation)"),
    AskedFor.MECHANISM: _cue(r"mechanism|pharmacolog|how .* work"),
}
_RECOMMENDATION = _cue(r"\brecommend\w*|\bsuggests?\b|\bshould be\b")
# A match needs one of these in the (lowercased) text; the pattern runs only then.
_RECOMMENDATION_WORDS = ("recommend", "suggest", "should be")


@dataclass
class Candidate:
    """One fused candidate passage, as the re-ranker sees it."""

    passage_id: int
    document: DocumentRecord
    design: StudyDesign
    fused: float  # the reciprocal-rank fusion score, before any prior
    fused_rank: int
    user_rank: int | None = None
    expanded_rank: int | None = None
    dense_rank: int | None = None
    dense_cosine: float | None = None
    user_score: float | None = None  # the BM25 lists' own scores (FTS5, higher is better)
    expanded_score: float | None = None


def passage_texts(store: Store, ids: list[int]) -> dict[int, PassageText]:
    """The candidates' text, section and position, without building full passages."""
    return store.passage_texts(ids)


def _rrank(rank: int | None) -> float:
    return 0.0 if rank is None else 1.0 / (1 + rank)


class FeatureExtractor:
    """Feature rows for one question's candidates. Deterministic: the same store, question and
    candidates give the same matrix. Term passage counts are cached per corpus generation."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = Lock()
        self._counts: dict[str, int] = {}
        self._generation: int | None = None
        self._total = 0
        self._rows: tuple[int, dict[int, int]] | None = None  # id(dense index) -> row of a passage id

    # -- statistics --------------------------------------------------------------------
    def _idf(self, terms: list[str]) -> dict[str, float]:
        generation = self.store.corpus_generation()
        with self._lock:
            if generation != self._generation or len(self._counts) > 100_000:
                self._counts.clear()
                self._generation = generation
                self._total = self.store.stats().passages
            missing = [t for t in terms if t not in self._counts]
        found = {t: self.store.passage_frequency(t) for t in missing}
        with self._lock:
            self._counts.update(found)
            total = self._total
            return {t: math.log((total + 1) / (self._counts.get(t, 0) + 0.5)) for t in terms}

    def _cosines(self, dense_index, vector: np.ndarray, ids: list[int]) -> dict[int, float]:
        if dense_index is None or vector is None:
            return {}
        if not hasattr(dense_index, "vectors"):  # an index the store keeps (pgvector)
            return dense_index.similarities(vector, ids)
        key = id(dense_index)
        if self._rows is None or self._rows[0] != key or len(self._rows[1]) != len(dense_index.ids):
            self._rows = (key, {int(p): i for i, p in enumerate(dense_index.ids)})
        rows = self._rows[1]
        present = [(p, rows[p]) for p in ids if p in rows]
        if not present:
            return {}
        sims = dense_index.vectors[[r for _, r in present]] @ vector.astype(np.float32)
        return {p: float(s) for (p, _), s in zip(present, sims)}

    # -- the matrix ----------------------------------------------------------------------
    def matrix(self, analysis: QueryAnalysis, candidates: list[Candidate], passages: dict[int, Passage | PassageText],
               *, vector: np.ndarray | None = None, dense_index=None) -> np.ndarray:
        """One row of ``FEATURES`` per candidate (candidates without a passage get zeros)."""
        x = np.zeros((len(candidates), len(FEATURES)), dtype=np.float64)
        if not candidates:
            return x
        ids = [c.passage_id for c in candidates]
        query = _Query(analysis, self._idf)
        cosines = self._cosines(dense_index, vector, ids) if vector is not None else {}
        for c in candidates:  # the dense list's own cosines, where the matrix has no row
            if c.dense_cosine is not None:
                cosines.setdefault(c.passage_id, c.dense_cosine)
        max_cos = max(cosines.values(), default=0.0)
        frame = analysis.frame
        matches = [query.match(passages.get(c.passage_id), c.document) for c in candidates]
        body_bm25 = _bm25s([m.body for m in matches], query)
        title_bm25 = _bm25s([m.title for m in matches], query)
        section_bm25 = _bm25s([m.section for m in matches], query)
        max_body = max(body_bm25, default=0.0)
        for i, (c, m) in enumerate(zip(candidates, matches)):
            row = x[i]
            row[INDEX["fused"]] = 100.0 * c.fused
            row[INDEX["fused_rrank"]] = _rrank(c.fused_rank)
            row[INDEX["user_rrank"]] = _rrank(c.user_rank)
            row[INDEX["expanded_rrank"]] = _rrank(c.expanded_rank)
            row[INDEX["dense_rrank"]] = _rrank(c.dense_rank)
            row[INDEX["user_bm25"]] = c.user_score or 0.0
            row[INDEX["expanded_bm25"]] = c.expanded_score or 0.0
            if c.passage_id in cosines:
                row[INDEX["dense_cos"]] = cosines[c.passage_id]
                row[INDEX["dense_cos_gap"]] = cosines[c.passage_id] - max_cos
            document = c.document
            row[INDEX["src_guideline"]] = document.source_type is SourceType.GUIDELINE
            row[INDEX["src_research"]] = document.source_type is SourceType.RESEARCH
            row[INDEX["src_label"]] = document.source_type is SourceType.DRUG_LABEL
            row[INDEX["src_consumer"]] = document.source_type is SourceType.CONSUMER_HEALTH
            row[INDEX["prior"]] = DEFAULT_PRIORS.get(c.design, 1.0)
            row[INDEX["design_rank"]] = RANK.get(c.design, len(RANK))
            row[INDEX["preclinical"]] = c.design is StudyDesign.PRECLINICAL
            row[INDEX["year"]] = document.year or -1
            row[INDEX["has_title"]] = bool(document.title)
            row[INDEX["asked_general"]] = frame.asked_for is AskedFor.GENERAL
            row[INDEX["n_terms"]] = len(query.stems)
            row[INDEX["n_concepts"]] = len(query.concepts)
            if m.empty:
                continue
            row[INDEX["bm25_body"]] = body_bm25[i]
            row[INDEX["bm25_body_rel"]] = body_bm25[i] / max_body if max_body > 0 else 0.0
            row[INDEX["bm25_title"]] = title_bm25[i]
            row[INDEX["bm25_section"]] = section_bm25[i]
            row[INDEX["bm25_concepts"]] = m.concept_score
            row[INDEX["cov_terms"]] = len(m.body.counts) / (len(query.stems) or 1)
            row[INDEX["cov_terms_idf"]] = sum(query.idf[s] for s in m.body.counts) / query.idf_total
            row[INDEX["cov_title"]] = sum(query.idf[s] for s in m.title.counts) / query.idf_total
            row[INDEX["cov_section"]] = sum(query.idf[s] for s in m.section.counts) / query.idf_total
            row[INDEX["first_pos"]] = m.first_pos
            row[INDEX["density"]] = sum(m.body.counts.values()) / (m.body.length or 1)
            row[INDEX["bigrams"]] = m.bigrams
            row[INDEX["concepts_cov"]] = m.concepts
            row[INDEX["agents_cov"]] = m.agents
            row[INDEX["conditions_cov"]] = m.conditions
            row[INDEX["classes_cov"]] = m.classes
            row[INDEX["concept_in_title"]] = m.concept_in_title
            row[INDEX["concept_early"]] = m.concept_early
            row[INDEX["asked_cue_text"]] = m.asked_text
            row[INDEX["asked_cue_section"]] = m.asked_section
            row[INDEX["guideline_recommendation"]] = (
                document.source_type is SourceType.GUIDELINE and m.recommendation)
            row[INDEX["log_chars"]] = math.log1p(m.chars)
            row[INDEX["ordinal"]] = min(m.ordinal, 50)
        return x


_K1, _B = 1.2, 0.75
_EDGE = r"(?<![a-z0-9])"


@dataclass
class _Field:
    counts: dict[str, int]  # query stem -> occurrences (words starting with it)
    length: int  # words
    first: int = -1  # where the first query word starts (-1: none)


@dataclass
class _Match:
    body: _Field
    title: _Field
    section: _Field
    empty: bool = False
    first_pos: float = 1.0
    bigrams: float = 0.0
    concepts: float = 0.0
    agents: float = 0.0
    conditions: float = 0.0
    classes: float = 0.0
    concept_in_title: float = 0.0
    concept_early: float = 0.0
    concept_score: float = 0.0
    asked_text: float = 0.0
    asked_section: float = 0.0
    recommendation: bool = False
    chars: int = 0
    ordinal: int = 0


class _Names:
    """Whole-word matches of any of some names. A match needs one name as a substring, so the
    pattern (slow to scan: it starts with a look-behind) runs only on text holding one; most
    candidates name few of a question's concepts, and skip it."""

    def __init__(self, names: list[str]) -> None:
        self.names = names
        self._pattern: re.Pattern[str] | None = None

    @property
    def pattern(self) -> re.Pattern[str]:
        # Compiled when first needed (a long alternation takes a millisecond or more to
        # compile, and many questions' patterns are never needed), and kept across questions.
        if self._pattern is None:
            self._pattern = _compiled_names(tuple(self.names))
        return self._pattern

    def search(self, text: str) -> re.Match[str] | None:
        return self.pattern.search(text) if any(n in text for n in self.names) else None

    def spans(self, text: str) -> list[tuple[int, int]]:
        if not any(n in text for n in self.names):
            return []
        return [m.span() for m in self.pattern.finditer(text)]


@lru_cache(maxsize=4096)
def _compiled_names(names: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile(_EDGE + "(?:" + "|".join(re.escape(n) for n in names) + ")(?![a-z0-9])")


def _names_pattern(names: list[str]) -> _Names | None:
    names = sorted({n.lower().strip() for n in names if n and n.strip()}, key=len, reverse=True)
    return _Names(names) if names else None


class _Query:
    """A question's terms, stems, idf and concept patterns, prepared once per search."""

    def __init__(self, analysis: QueryAnalysis, idf) -> None:
        terms = list(dict.fromkeys(t.lower() for t in analysis.terms))
        weights = idf(terms)
        self.idf: dict[str, float] = {}
        stems = []
        for term in terms:
            s = stem(term)
            stems.append(s)
            self.idf[s] = max(self.idf.get(s, 0.0), weights[term])
        self.stems = list(self.idf)
        self.idf_total = sum(self.idf.values()) or 1.0
        ordered = sorted(self.stems, key=len, reverse=True)
        self.pattern = (re.compile(_EDGE + "(" + "|".join(re.escape(s) for s in ordered) + ")[a-z0-9]*")
                        if ordered else None)
        # (both stems, the pattern): the pattern runs only where both stems occur
        self.pairs = [((a, b), re.compile(_EDGE + re.escape(a) + r"[a-z0-9]*[^a-z0-9]+" + re.escape(b)))
                      for a, b in dict.fromkeys(zip(stems, stems[1:])) if a != b]
        frame = analysis.frame
        mentions = list({m.concept.id: m for m in analysis.mentions}.values())
        self.concepts = [p for p in (_names_pattern([m.surface, m.concept.name,
                                                     *analysis.expansions.get(m.concept.id, [])])
                                     for m in mentions) if p]
        concept_idf = idf([m.concept.name.lower() for m in mentions])
        self.concept_idf = [concept_idf[m.concept.name.lower()] for m in mentions
                            if _names_pattern([m.surface, m.concept.name])]
        self.agents = [p for p in (_names_pattern(a.names or [a.name]) for a in frame.agents) if p]
        self.conditions = [p for p in (_names_pattern(c.names or [c.name]) for c in frame.conditions) if p]
        self.classes = [p for p in (_names_pattern([n for ns in a.classes.values() for n in ns])
                                    for a in frame.agents) if p]
        self.asked_text = _ASKED_TEXT.get(frame.asked_for)
        self.asked_section = _ASKED_SECTION.get(frame.asked_for)

    def field(self, text: str) -> _Field:
        counts: dict[str, int] = {}
        first = -1
        if self.pattern is not None and text:
            for m in self.pattern.finditer(text):
                if first < 0:
                    first = m.start()
                counts[m.group(1)] = counts.get(m.group(1), 0) + 1
        return _Field(counts, text.count(" ") + 1 if text else 0, first)

    def match(self, passage: Passage | PassageText | None, document: DocumentRecord) -> _Match:
        title = document.title.lower()
        if passage is None:
            return _Match(_Field({}, 0), self.field(title), _Field({}, 0), empty=True)
        text = passage.text.lower()
        section = passage.section.lower()
        m = _Match(self.field(text), self.field(title), self.field(section),
                   chars=len(text), ordinal=passage.ordinal)
        if m.body.first >= 0:
            m.first_pos = m.body.first / (len(text) or 1)
        if self.pairs:
            m.bigrams = sum(a in text and b in text and bool(p.search(text))
                            for (a, b), p in self.pairs) / len(self.pairs)
        haystack = f"{title} \n {text}"
        if self.concepts:
            offset = len(title) + 3  # where the passage text starts in the haystack
            found = [p.spans(haystack) for p in self.concepts]
            m.concepts = sum(bool(f) for f in found) / len(self.concepts)
            m.concept_in_title = sum(bool(f) and f[0][0] < len(title) for f in found) / len(self.concepts)
            # named within the passage's first 200 characters
            m.concept_early = sum(any(offset <= a and b <= offset + 200 for a, b in f)
                                  for f in found) / len(self.concepts)
            m.concept_score = sum(w * len(f) * (_K1 + 1) / (len(f) + _K1)
                                  for w, f in zip(self.concept_idf, found))
        m.agents = _found(self.agents, haystack)
        m.conditions = _found(self.conditions, haystack)
        m.classes = _found(self.classes, haystack)
        if self.asked_text is not None:
            hits = sum(1 for _ in self.asked_text.finditer(text))
            m.asked_text = min(5.0, 100.0 * hits / m.body.length) if m.body.length else 0.0
        if self.asked_section is not None:
            m.asked_section = float(bool(self.asked_section.search(f"{section} {title}")))
        m.recommendation = (any(w in text for w in _RECOMMENDATION_WORDS)
                            and bool(_RECOMMENDATION.search(text)))
        return m


def _found(patterns: list[_Names], haystack: str) -> float:
    if not patterns:
        return 0.0
    return sum(bool(p.search(haystack)) for p in patterns) / len(patterns)


def _bm25s(fields: list[_Field], query: _Query) -> list[float]:
    """BM25 of each field over the query's stems; lengths normalised by the candidates' mean."""
    lengths = [f.length for f in fields if f.length]
    mean = sum(lengths) / len(lengths) if lengths else 1.0
    out = []
    for f in fields:
        norm = _K1 * (1 - _B + _B * f.length / mean) if f.length else _K1
        out.append(sum(query.idf[s] * n * (_K1 + 1) / (n + norm) for s, n in f.counts.items()))
    return out


# --- the model: a LightGBM text model evaluated with NumPy ------------------------------------

class TreeModel:
    """A LightGBM model (its text format) scored with NumPy: every tree walked at once.

    Numerical splits only (the re-ranker has no categorical feature); missing values follow
    LightGBM's rules (NaN -> 0 unless the split handles NaN; a 'zero' split sends zeros its
    default way). The score is the sum of the trees' leaf values, as LightGBM's raw score.
    """

    def __init__(self, text: str) -> None:
        header, _, body = text.partition("\nTree=")
        meta = dict(line.split("=", 1) for line in header.splitlines() if "=" in line)
        self.feature_names = meta.get("feature_names", "").split()
        if int(meta.get("num_class", "1")) != 1:
            raise ConfigurationError("re-ranker model: one output expected")
        trees = ("Tree=" + body).split("end of trees")[0].split("\nTree=")
        feat, thr, left, right, default_left, missing, leaves, start = [], [], [], [], [], [], [], []
        for block in trees:
            fields = dict(line.split("=", 1) for line in block.strip().splitlines()[1:] if "=" in line)
            if not fields:
                continue
            if int(fields.get("num_cat", "0")):
                raise ConfigurationError("re-ranker model: categorical splits are not supported")
            leaf_value = [float(v) for v in fields["leaf_value"].split()]
            internal_base, leaf_base = len(feat), len(leaves)
            leaves.extend(leaf_value)
            if int(fields["num_leaves"]) == 1:
                start.append(-leaf_base - 1)
                continue
            start.append(internal_base)

            def child(c: int, ib: int = internal_base, lb: int = leaf_base) -> int:
                return ib + c if c >= 0 else -(lb + ~c) - 1

            decision = [int(v) for v in fields["decision_type"].split()]
            if any(d & 1 for d in decision):
                raise ConfigurationError("re-ranker model: categorical splits are not supported")
            feat.extend(int(v) for v in fields["split_feature"].split())
            thr.extend(float(v) for v in fields["threshold"].split())
            left.extend(child(int(v)) for v in fields["left_child"].split())
            right.extend(child(int(v)) for v in fields["right_child"].split())
            default_left.extend(bool(d & 2) for d in decision)
            missing.extend((d >> 2) & 3 for d in decision)
        self.n_trees = len(start)
        self._feat = np.asarray(feat or [0], dtype=np.int64)
        self._thr = np.asarray(thr or [0.0], dtype=np.float64)
        self._left = np.asarray(left or [-1], dtype=np.int64)
        self._right = np.asarray(right or [-1], dtype=np.int64)
        self._default_left = np.asarray(default_left or [True], dtype=bool)
        self._missing = np.asarray(missing or [0], dtype=np.int64)
        self._leaves = np.asarray(leaves or [0.0], dtype=np.float64)
        self._start = np.asarray(start, dtype=np.int64)

    @classmethod
    def load(cls, path: Path) -> TreeModel:
        return cls(Path(path).read_text(encoding="utf-8"))

    def predict(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        n = len(x)
        if n == 0 or self.n_trees == 0:
            return np.zeros(n)
        cur = np.broadcast_to(self._start, (n, self.n_trees)).copy()
        rows = np.arange(n)[:, None]
        while True:
            active = cur >= 0
            if not active.any():
                break
            node = np.where(active, cur, 0)
            value = x[rows, self._feat[node]]
            missing = self._missing[node]
            nan = np.isnan(value)
            value = np.where(nan & (missing != 2), 0.0, value)
            nan = np.isnan(value)
            default = ((missing == 1) & (np.abs(value) <= 1e-35)) | ((missing == 2) & nan)
            go_left = np.where(default, self._default_left[node], value <= self._thr[node])
            cur = np.where(active, np.where(go_left, self._left[node], self._right[node]), cur)
        return self._leaves[-cur - 1].sum(axis=1)


class Reranker:
    """Features plus a model: ``score`` gives one relevance score per candidate."""

    def __init__(self, store: Store, model: TreeModel, *, depth: int = RERANK_DEPTH,
                 name: str = "") -> None:
        if model.feature_names and list(model.feature_names) != list(FEATURES):
            raise ConfigurationError(
                f"re-ranker model {name or ''} was trained on other features",
                hint="retrain it: python -m medcite.retrieval.train_reranker")
        self.model = model
        self.depth = depth
        self.name = name
        self.features = FeatureExtractor(store)

    def score(self, analysis: QueryAnalysis, candidates: list[Candidate],
              passages: dict[int, Passage | PassageText],
              *, vector: np.ndarray | None = None, dense_index=None) -> np.ndarray:
        x = self.features.matrix(analysis, candidates, passages, vector=vector, dense_index=dense_index)
        return self.model.predict(x)


def model_path(kind: str) -> Path:
    """The shipped model file for 'hybrid' (dense vectors) or 'lexical' retrieval."""
    return Path(str(resources.files("medcite.retrieval") / "data" / MODEL_FILES[kind]))


@cache
def shipped_model(kind: str) -> TreeModel:
    path = model_path(kind)
    if not path.is_file():
        raise ConfigurationError(f"re-ranker model {path} is missing",
                                 hint="train it: python -m medcite.retrieval.train_reranker")
    return TreeModel.load(path)


_ON, _OFF = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def rerank_wanted(setting: object, dense: bool) -> bool:
    """Whether the ``rerank`` setting asks for re-ranking a search (``dense``: with vectors).
    'auto' re-ranks hybrid search only: the lexical model is not better on every set."""
    word = str(setting).strip().lower()
    if word == "auto":
        return dense
    if word in _ON or word in _OFF:
        return word in _ON
    raise ConfigurationError(f"setting MEDCITE_RERANK={setting!r}: use auto, on or off")


def reranker_for(store: Store, *, dense: bool, depth: int | None = None) -> Reranker:
    kind = "hybrid" if dense else "lexical"
    if depth is None:
        depth = SEARCH_DEPTH if dense else RERANK_DEPTH
    return Reranker(store, shipped_model(kind), depth=depth, name=kind)
