"""The condition lexicon: a curated list kept as data, plus names learned from the store.

``data/conditions.txt`` holds the curated conditions, one per line, preferred name first then
synonyms (``depression | major depressive disorder | MDD ...``). The store adds more through
:func:`learn_conditions`: the caller passes (focus, synonyms) pairs such as MedQuAD focus
annotations and the MeSH headings seen in the corpus. Learned names are kept in
``<home>/conditions-learned.json`` and applied every time the vocabulary loads; they never take
a name that already denotes a drug, a supplement or a curated condition.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path

from medcite.settings import Settings
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


def _save(path: Path, pairs: list[tuple[str, list[str]]]) -> None:
    payload = {"conditions": [{"name": n, "synonyms": s} for n, s in pairs]}
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".conditions-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(payload, fh, ensure_ascii=False, indent=0)
    os.replace(tmp, path)


def learn_conditions(pairs: Iterable[tuple[str, list[str]]],
                     settings: Settings | None = None) -> int:
    """Add condition names learned from the store; return how many new names were kept.

    Each pair is (focus, synonyms), e.g. ("Glaucoma", ["Open-angle glaucoma"]) or a MeSH heading
    with its entry terms. A focus that is already a known condition name adds its synonyms to
    that condition. The names persist in the cache and apply to the loaded vocabulary at once.
    """
    from medcite.vocab.vocabulary import Vocabulary  # the vocabulary module imports this one

    settings = settings or Settings.load()
    path = learned_path(settings)
    with _lock:
        existing = load_learned(path)
        merged: dict[str, tuple[str, list[str]]] = {norm(n): (n, list(s)) for n, s in existing}
        seen = {norm(x) for n, s in existing for x in [n, *s]}
        fresh: list[tuple[str, list[str]]] = []
        for focus, synonyms in pairs:
            names = [v for term in [focus, *synonyms] for v in name_variants(term)]
            names = [n for n in names if acceptable(norm(n))]
            if not names:
                continue
            new = [n for n in dict.fromkeys(names) if norm(n) not in seen]
            if not new:
                continue
            seen.update(norm(n) for n in new)
            key = norm(focus)
            if key in merged:
                merged[key][1].extend(new)
            else:
                merged[key] = (focus, [n for n in new if norm(n) != key])
            fresh.append((focus, new))
        if fresh:
            _save(path, list(merged.values()))
    loaded = Vocabulary.loaded(settings)
    if loaded is not None and fresh:
        loaded.add_conditions(fresh)
    return sum(len(n) for _, n in fresh)
