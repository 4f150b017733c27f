"""Misspelling correction by a deletion-neighbourhood index (the SymSpell idea).

Every whitelisted name is stored under each string obtained by deleting up to two of its
characters; a typed word is looked up under its own deletions, so candidates are found without
comparing the word to every name. Candidates are then checked with the true edit distance.
"""

from __future__ import annotations

from itertools import combinations

MIN_LENGTH = 6
MAX_DELETES = 2


def max_distance(length: int) -> int:
    """Edits allowed for a word of ``length`` characters: 1 up to 8 characters, 2 beyond."""
    if length < MIN_LENGTH:
        return 0
    return 1 if length <= 8 else 2


def deletions(word: str, depth: int) -> set[str]:
    """``word`` and every string obtained by deleting up to ``depth`` characters."""
    out = {word}
    for n in range(1, min(depth, len(word) - 1) + 1):
        for drop in combinations(range(len(word)), n):
            out.add("".join(c for i, c in enumerate(word) if i not in drop))
    return out


def build_index(terms: list[str]) -> dict[str, int | tuple[int, ...]]:
    """Deletion string -> index (or indices) into ``terms``."""
    index: dict[str, list[int]] = {}
    for n, term in enumerate(terms):
        # A term of up to MIN_LENGTH letters is only ever within one edit of a word.
        for variant in deletions(term, 1 if len(term) <= MIN_LENGTH else MAX_DELETES):
            index.setdefault(variant, []).append(n)
    return {k: v[0] if len(v) == 1 else tuple(v) for k, v in index.items()}


def distance(a: str, b: str) -> int:
    """Optimal string alignment distance (Levenshtein plus adjacent transpositions)."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[len(b)]


def lookup(word: str, terms: list[str], index: dict[str, int | tuple[int, ...]]) -> list[int]:
    """Indices of the terms nearest to ``word`` within its allowed distance (empty if none).

    Misspellings rarely change the first letter, so candidates must share it; this keeps
    ordinary words away from drug names.
    """
    limit = max_distance(len(word))
    if not limit:
        return []
    found: dict[int, int] = {}
    for variant in deletions(word, limit):
        hit = index.get(variant)
        if hit is None:
            continue
        for n in (hit,) if isinstance(hit, int) else hit:
            term = terms[n]
            if n in found or term[0] != word[0] or abs(len(term) - len(word)) > limit:
                continue
            found[n] = distance(word, term)
    best = min(found.values(), default=limit + 1)
    return sorted(n for n, d in found.items() if d == best and 0 < d <= limit)
