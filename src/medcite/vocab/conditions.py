"""The condition lexicon: a curated list kept as data, plus names learned from the store.

``data/conditions.txt`` holds the curated conditions, one per line, preferred name first then
synonyms (``depression | major depressive disorder | MDD ...``). Ingest adds more through
:func:`learn_conditions`: the caller passes (focus, synonyms) pairs such as MedQuAD focus
annotations and the MeSH headings seen in the corpus. Learned names are kept in the store
(``store.condition_names``), so every process and replica reading it recognises them: a
searcher applies them to its vocabulary (:func:`apply_learned`). They never take a name that
already denotes a drug, a supplement or a curated condition. Homes made before the store kept
them have ``<home>/conditions-learned.json``, still read when the vocabulary loads.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from pathlib import Path

from medcite.settings import Settings
from medcite.store.base import Store
from medcite.vocab.text import curated_lines, is_dose, norm, phrase_list, word_list

LEARNED_FILE = "conditions-learned.json"
MAX_TOKENS = 8
_lock = threading.Lock()


def curated() -> list[list[str]]:
    """The curated conditions: each a list of names, the preferred one first."""
    return curated_lines("conditions.txt")


def name_variants(term: str) -> list[str]:
    """A term as written and, for an inverted MeSH heading ("Diabetes Mellitus, Type 2"), in
    natural order ("Type 2 Diabetes Mellitus")."""
    term = " ".join(term.split())
    variants = [term]
    head, sep, tail = term.partition(", ")
    if sep and "," not in tail and tail:
        variants.append(f"{tail} {head}")
    return variants


def acceptable(key: str) -> bool:
    """Whether a learned, normalised name is specific enough to recognise as a condition."""
    toks = key.split()
    if not toks or len(toks) > MAX_TOKENS or any(is_dose(t) for t in toks):
        return False
    common = word_list("common_words.txt")
    if key in phrase_list("not_conditions.txt"):
        return False
    if toks[-1] in word_list("not_condition_heads.txt"):
        return False
    if len(toks) == 1:
        return len(key) >= 4 and key not in common
    return len(key) >= 5 and not all(t in common or len(t) <= 2 for t in toks)


def learned_path(settings: Settings | None = None) -> Path:
    """Where learned names are kept: in the medcite home, beside the store they come from
    (the cache folder may be shared by several homes)."""
    return (settings or Settings.load()).home_path / LEARNED_FILE


def load_learned(path: Path) -> list[tuple[str, list[str]]]:
    """Learned (name, synonyms) pairs; an unreadable file counts as empty (it is a cache)."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return [(str(item["name"]), [str(s) for s in item["synonyms"]])
                for item in raw["conditions"]]
    except (OSError, ValueError, KeyError, TypeError):
        return []


def learn_conditions(pairs: Iterable[tuple[str, list[str]]], store: Store,
                     settings: Settings | None = None) -> int:
    """Add condition names learned from the corpus to ``store``; return how many new names were
    kept.

    Each pair is (focus, synonyms), e.g. ("Glaucoma", ["Open-angle glaucoma"]) or a MeSH heading
    with its entry terms. A focus that is already a known condition name adds its synonyms to
    that condition. The names apply at once to this process's loaded vocabulary.
    """
    from medcite.vocab.vocabulary import Vocabulary  # the vocabulary module imports this one

    settings = settings or Settings.load()
    with _lock:
        existing = load_learned(learned_path(settings)) + store.condition_names.all()
        seen = {norm(x) for n, s in existing for x in [n, *s]}
        fresh: list[tuple[str, list[str]]] = []
        for focus, synonyms in pairs:
            names = [v for term in [focus, *synonyms] for v in name_variants(term)]
            names = [n for n in names if acceptable(norm(n))]
            new = [n for n in dict.fromkeys(names) if norm(n) not in seen]
            if new:
                seen.update(norm(n) for n in new)
                fresh.append((focus, new))
        store.condition_names.add(fresh)
    loaded = Vocabulary.loaded(settings)
    if loaded is not None and fresh:
        apply_learned(loaded, store)
    return sum(len(n) for _, n in fresh)


def apply_learned(vocabulary, store: Store) -> None:
    """Give ``vocabulary`` the condition names ``store`` learned since it was last asked (by
    this process or another, on any machine)."""
    pairs = store.condition_names.all()
    vocabulary.add_learned(store.location, pairs)
