"""The loaded vocabulary: recognise and normalise drugs, supplements and conditions.

The lexicon is compiled once (``medcite.vocab.build``, a few seconds) and cached as
``<cache>/vocab-<digest>.pkl``, where the digest covers the source package versions, the
curated data files and the format version, so a change to any of them rebuilds it.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path

from medcite.errors import NotFoundError
from medcite.settings import Settings
from medcite.vocab import build, conditions, fuzzy, salts, sources
from medcite.vocab import text as vocab_text
from medcite.vocab.concepts import Concept, Mention
from medcite.vocab.routes import LEADING_ROUTE_WORDS
from medcite.vocab.salts import counter_ions, minerals, reduce, salt_words
from medcite.vocab.text import data_text, is_dose, norm, slug, tokens, word_list

_DATA_FILES = (
    "common_words.txt", "salt_forms.txt", "dosage_forms.txt", "minerals.txt", "supplements.txt",
    "drugs.txt", "fuzzy_guard.txt", "conditions.txt",
)
_ISOMERS = frozenset({"l", "d", "dl"})  # "magnesium L-threonate"
_cores: dict[Path, build.Compiled] = {}
_loaded: dict[tuple[Path, Path], Vocabulary] = {}
_load_lock = threading.Lock()


def cache_key() -> str:
    """Digest of everything the compiled lexicon depends on."""
    digest = hashlib.sha256(f"format={build.FORMAT}".encode())
    for name, version in sorted(sources.versions().items()):
        digest.update(f"{name}={version}".encode())
    for name in _DATA_FILES:
        digest.update(name.encode() + data_text(name).encode())
    # The builder's own code: an upgraded medcite rebuilds its lexicon.
    for module in (build, fuzzy, salts, sources, vocab_text):
        digest.update(Path(module.__file__).read_bytes())
    return digest.hexdigest()[:16]


def _read(path: Path) -> build.Compiled | None:
    try:
        with open(path, "rb") as fh:
            raw = sources.DataOnlyUnpickler(fh).load()
        compiled = build.Compiled(**raw)
    except (OSError, pickle.UnpicklingError, EOFError, TypeError, ValueError, AttributeError):
        return None
    return compiled if compiled.format == build.FORMAT else None


def _write(path: Path, compiled: build.Compiled) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".vocab-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(vars(compiled), fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    for stale in path.parent.glob("vocab-*.pkl"):
        if stale != path:
            stale.unlink(missing_ok=True)


class Vocabulary:
    """Drug, supplement and condition names: recognition in text and normalisation.

    The compiled lexicon is shared by every instance in a process (it is never modified);
    conditions learned from a store are an overlay kept per medcite home.
    """

    def __init__(self, compiled: build.Compiled) -> None:
        self._ids_list = list(compiled.ids)
        self._kinds = compiled.kinds
        self._records = list(compiled.records)
        self._core_phrases = compiled.phrases
        self._learned: dict[str, int] = {}
        self._forms = compiled.forms
        self._max_tokens = compiled.max_tokens
        self._fuzzy_terms = compiled.fuzzy_terms
        self._fuzzy_concepts = compiled.fuzzy_concepts
        self._fuzzy_index = compiled.fuzzy_index
        self._ids = {cid: n for n, cid in enumerate(self._ids_list)}
        self._ids.update({a: n for a, n in compiled.aliases.items() if a not in self._ids})
        self._objects: dict[int, Concept] = {}
        self._common = word_list("common_words.txt") | word_list("fuzzy_guard.txt")
        self._salts = salt_words()
        self._lock = threading.Lock()
        # condition words and their misspelling index (with and without everyday words), on demand
        self._spelling: dict[bool, tuple[list[str], dict, int]] = {}
        # How many of each store's learned condition pairs were added (see add_learned).
        self._applied: dict[str, int] = {}

    # --- loading -------------------------------------------------------------------------
    @classmethod
    def load(cls, settings: Settings | None = None, *, progress: bool | None = None) -> Vocabulary:
        """The vocabulary for these settings, loaded once per process.

        The compiled lexicon is read from the cache folder, and compiled there first when it is
        missing or out of date; the conditions learned for this medcite home are added.
        """
        settings = settings or Settings.load()
        path = settings.cache_path / f"vocab-{cache_key()}.pkl"
        learned = conditions.learned_path(settings)
        with _load_lock:
            if (path, learned) in _loaded:
                return _loaded[(path, learned)]
            compiled = _cores.get(path)
            if compiled is None:
                compiled = _read(path) if path.exists() else None
                if compiled is None:
                    compiled = build.build(path.stem, progress=progress)
                    _write(path, compiled)
                _cores[path] = compiled
            vocabulary = cls(compiled)
            vocabulary.add_conditions(conditions.load_learned(learned))
            _loaded[(path, learned)] = vocabulary
            return vocabulary

    @classmethod
    def loaded(cls, settings: Settings | None = None) -> Vocabulary | None:
        """The vocabulary already loaded for these settings, if any."""
        settings = settings or Settings.load()
        key = (settings.cache_path / f"vocab-{cache_key()}.pkl", conditions.learned_path(settings))
        with _load_lock:
            return _loaded.get(key)

    def _phrase(self, key: str) -> int | None:
        value = self._core_phrases.get(key)
        return self._learned.get(key) if value is None else value

    # --- lookup --------------------------------------------------------------------------
    def concept(self, concept_id: str) -> Concept:
        """The concept with this id (ids of concepts merged into another resolve to it)."""
        idx = self._ids.get(concept_id)
        if idx is None:
            raise NotFoundError(f"unknown concept {concept_id!r}")
        return self._concept(idx)

    def concepts(self, kind: str | None = None) -> Iterable[Concept]:
        for idx, letter in enumerate(self._kinds):
            if kind is None or build.KINDS[letter] == kind:
                yield self._concept(idx)

    def counts(self) -> dict[str, int]:
        """Number of concepts of each kind, and of recognisable phrases."""
        found: dict[str, int] = {}
        for letter in self._kinds:
            found[build.KINDS[letter]] = found.get(build.KINDS[letter], 0) + 1
        found["phrases"] = len(self._core_phrases) + len(self._learned)
        found["fuzzy_terms"] = len(self._fuzzy_terms)
        return found

    def _concept(self, idx: int) -> Concept:
        found = self._objects.get(idx)
        if found is None:
            name, identifiers, synonyms, brands, forms = build.decode_record(self._records[idx])
            found = Concept(
                id=self._ids_list[idx], kind=build.KINDS[self._kinds[idx]], name=name,
                identifiers=identifiers, synonyms=synonyms, brands=brands, forms=forms,
            )
            self._objects[idx] = found
        return found

    def normalise(self, name: str) -> Concept | None:
        """The concept a name denotes ("Remeron", "magnesium glycinate", "sertaline"), or None.

        Dose words are ignored ("REMERON 15 mg"). A text naming several concepts gives None.
        """
        key = " ".join(t for t, _, _ in tokens(name) if not is_dose(t))
        value = self._phrase(key)
        if value is not None:
            return self._concept(build.unpack(value)[0])
        found = reduce(key, lambda k: self._phrase(k) is not None)
        if found and (value := self._phrase(found.moiety)) is not None:
            return self._concept(build.unpack(value)[0])
        ids = {m.concept.id: m.concept for m in self.recognise(name)}
        return next(iter(ids.values())) if len(ids) == 1 else None

    # --- recognition ---------------------------------------------------------------------
    def recognise(self, text: str) -> list[Mention]:
        """Mentions of drugs, supplements and conditions in ``text``, in reading order.

        Matching is longest-first and non-overlapping, ignores case, accents and punctuation,
        and skips dose words. Every occurrence is reported: "mirtazapine (Remeron)" gives two
        mentions of the same concept. Salt and form words after a substance stay with it
        ("atorvastatin calcium", "Mg bisglycinate"). Words of six or more letters that match
        nothing may be corrected to a common drug within a small edit distance.
        """
        toks = tokens(text)
        words = [t for t, _, _ in toks]
        mentions: list[Mention] = []
        i = 0
        while i < len(toks):
            found = self._mineral_salt(words, i)
            if found is None and is_dose(words[i]):
                i += 1
                continue
            found = found or self._longest(words, i)
            if found:
                end, idx, form, match = found
                if self._kinds[idx] != "c":
                    end, extra = self._salt_tail(text, toks, end)
                    if extra:
                        form = " ".join(filter(None, [form, extra]))
                        match = "salt" if match == "exact" else match
                    if not form and i and words[i - 1] in LEADING_ROUTE_WORDS:
                        form = words[i - 1]  # "topical steroid", "oral prednisone"
            else:
                idx = self._fuzzy(words[i])
                if idx is None:
                    i += 1
                    continue
                end, form, match = i + 1, "", "fuzzy"
            start_char, end_char = toks[i][1], toks[end - 1][2]
            mentions.append(Mention(
                concept=self._concept(idx), surface=text[start_char:end_char], start=start_char,
                end=end_char, form=form or None, match=match,
            ))
            i = end
        return mentions

    def _longest(self, words: list[str], i: int) -> tuple[int, int, str, str] | None:
        for length in range(min(self._max_tokens, len(words) - i), 0, -1):
            value = self._phrase(" ".join(words[i : i + length]))
            if value is not None:
                idx, form, code = build.unpack(value)
                return i + length, idx, self._forms[form], build.MATCH_CODES[code]
        return None

    def _mineral_salt(self, words: list[str], i: int) -> tuple[int, int, str, str] | None:
        """A mineral's symbol or alias followed by a salt word: "Mg bisglycinate", "Zn citrate"
        (not a dose: "500 mg citrate" is a unit after a number)."""
        mineral = minerals().get(words[i])
        if mineral is None or i + 1 >= len(words) or (i and is_dose(words[i - 1])):
            return None
        ions = counter_ions()
        if words[i + 1] not in ions or self._phrase(words[i + 1]) is not None:
            return None
        value = self._phrase(mineral)
        if value is None:
            return None
        end = i + 1
        while end < len(words) and words[end] in ions and self._phrase(words[end]) is None:
            end += 1
        return end, build.unpack(value)[0], " ".join(words[i + 1 : end]), "salt"

    def _salt_tail(self, text: str, toks: list[tuple[str, int, int]], end: int) -> tuple[int, str]:
        """Salt words written right after a substance ("atorvastatin calcium", "magnesium
        L-threonate"); words that are names themselves ("magnesium") or follow punctuation
        other than a hyphen are left for their own mention."""
        extra = []
        while end < len(toks) and not text[toks[end - 1][2] : toks[end][1]].strip(" -"):
            word = toks[end][0]
            step = 1
            if word in _ISOMERS and end + 1 < len(toks):
                step, word = 2, toks[end + 1][0]
            if word not in self._salts or self._phrase(word) is not None:
                break
            extra.extend(t for t, _, _ in toks[end : end + step])
            end += step
        return end, " ".join(extra)

    def _fuzzy(self, word: str) -> int | None:
        if (len(word) < fuzzy.MIN_LENGTH or not word.isalpha() or word in self._common
                or word in self._salts):
            return None
        found = fuzzy.lookup(word, self._fuzzy_terms, self._fuzzy_index)
        hits = {self._fuzzy_concepts[n] for n in found}
        return hits.pop() if len(hits) == 1 else None

    def correct(self, word: str, known=None) -> str | None:
        """The drug, supplement or condition word ``word`` is a misspelling of, or None.

        ``word`` (normalised) must be unknown itself; ``known`` (a predicate, e.g. "the corpus
        has this word") vetoes a correction nobody could find anyway. Conditions learned from
        the store count, so "menigitis" finds "meningitis" once MedQuAD is ingested.
        """
        if (len(word) < fuzzy.MIN_LENGTH or not word.isalpha() or word in self._common
                or self._phrase(word) is not None):
            return None
        idx = self._fuzzy(word)
        if idx is not None:
            found = norm(self._concept(idx).name)
        else:
            terms, index = self._condition_words()
            hits = [terms[n] for n in fuzzy.lookup(word, terms, index)]
            hits = [h for h in hits if known is None or known(h)]
            return hits[0] if len(hits) == 1 else None
        return found if known is None or known(found) else None

    def correct_phrase(self, words: list[str]) -> tuple[int, int, list[str]] | None:
        """The first run of ``words`` (start, end, corrected words) that is a condition's name
        with one of its words misspelt ("marfans syndrom" -> "marfans syndrome"), or None.

        A word alone is corrected only when the corpus lacks it; inside a name the name itself
        is the evidence, so no corpus count is asked: the corrected run must be a known
        condition name of two to four words, and the typed run must not be one.
        """
        terms, index = self._condition_words(common=True)
        nearest = {i: [terms[n] for n in fuzzy.lookup(w, terms, index)] for i, w in enumerate(words)
                   if len(w) >= fuzzy.MIN_LENGTH and w.isalpha()}
        for start in range(len(words)):
            for length in range(min(4, self._max_tokens, len(words) - start), 1, -1):
                run = words[start:start + length]
                if self._phrase(" ".join(run)) is not None:
                    break  # already a name: recognised as typed
                for at in range(length):
                    for term in nearest.get(start + at, ()):
                        fixed = [*run[:at], term, *run[at + 1:]]
                        value = self._phrase(" ".join(fixed))
                        if value is not None and self._kinds[build.unpack(value)[0]] == "c":
                            return start, start + length, fixed
        return None

    def _condition_words(self, common: bool = False) -> tuple[list[str], dict]:
        """The words of condition names and their misspelling index; with ``common``, also the
        everyday words inside names ("syndrome", "disease"), for correcting a whole name."""
        with self._lock:
            cached = self._spelling.get(common)
            if cached is None or cached[2] != len(self._learned):
                words = sorted({w for key in [*self._core_phrases, *self._learned]
                                for w in key.split() if len(w) >= fuzzy.MIN_LENGTH and w.isalpha()
                                and (common or w not in self._common)}
                               & {w for key, v in [*self._core_phrases.items(), *self._learned.items()]
                                  if self._kinds[build.unpack(v)[0]] == "c" for w in key.split()})
                cached = self._spelling[common] = (words, fuzzy.build_index(words), len(self._learned))
            return cached[0], cached[1]

    def add_learned(self, source: str, pairs: list[tuple[str, list[str]]]) -> None:
        """Add the names of ``pairs`` (all that ``source``, a store, ever learned, in order)
        that this vocabulary has not taken from it yet."""
        with self._lock:
            done = self._applied.get(source, 0)
            self._applied[source] = max(done, len(pairs))
        if len(pairs) > done:
            self.add_conditions(pairs[done:])

    def add_conditions(self, pairs: Iterable[tuple[str, list[str]]]) -> None:
        """Make learned condition names recognisable (see ``conditions.learn_conditions``).
        Names that already denote something are not taken over."""
        with self._lock:
            for focus, synonyms in pairs:
                names = [v for term in [focus, *synonyms] for v in conditions.name_variants(term)
                         if conditions.acceptable(norm(v))]
                keys = list(dict.fromkeys(map(norm, names)))
                if not keys:
                    continue
                idx = next((i for i in (self._phrase_concept(k) for k in keys)
                            if i is not None and self._kinds[i] == "c"), None)
                if idx is None:
                    natural = conditions.name_variants(focus)[-1]  # "type 2 diabetes mellitus"
                    first = norm(natural)
                    cid = f"condition:{slug(first)}"
                    if cid in self._ids or not conditions.acceptable(first):
                        continue
                    idx = len(self._ids_list)
                    self._ids_list.append(cid)
                    self._kinds += "c"
                    self._records.append(build.encode_record(
                        natural.lower(), {}, dict.fromkeys(n.lower() for n in names), (), ()))
                    self._ids[cid] = idx
                else:
                    name, ids, synonyms, brands, forms = build.decode_record(self._records[idx])
                    extra = [n.lower() for n in names if n.lower() not in synonyms]
                    self._records[idx] = build.encode_record(
                        name, ids, (synonyms + extra)[: build.MAX_SYNONYMS], brands, forms)
                    self._objects.pop(idx, None)
                for key in keys:
                    if self._phrase(key) is None:
                        self._learned[key] = build.pack(idx, 0, 0)
                        self._max_tokens = max(self._max_tokens, len(key.split()))

    def _phrase_concept(self, key: str) -> int | None:
        value = self._phrase(key)
        return None if value is None else build.unpack(value)[0]
