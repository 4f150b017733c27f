"""The salt -> active moiety rule.

A name made of a known substance plus salt, counter-ion or hydrate words names that substance:
"sertraline hydrochloride" -> sertraline, "atorvastatin calcium trihydrate" -> atorvastatin,
"sodium valproate" -> valproate. Minerals are the moiety of their own salts: "magnesium
glycinate" -> magnesium, "ferrous sulfate" -> iron. The rule only applies when what remains is
itself a known substance, so "nitrous oxide" and "sodium chloride" stay as they are.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from medcite.vocab.text import data_lines, norm, word_list

# Counter-ions that may also come first ("sodium valproate", "potassium clavulanate").
LEADING = frozenset({"sodium", "disodium", "potassium", "dipotassium"})


@cache
def counter_ions() -> frozenset[str]:
    """Salt, counter-ion and hydrate words ("hydrochloride", "glycinate", "trihydrate")."""
    return word_list("salt_forms.txt")


@cache
def salt_words() -> frozenset[str]:
    """Counter-ion words and dosage-form words ("patch", "extended release")."""
    return counter_ions() | word_list("dosage_forms.txt")


@cache
def minerals() -> dict[str, str]:
    """Mineral name or alias (symbol, "ferrous") -> mineral name."""
    table: dict[str, str] = {}
    for line in data_lines("minerals.txt"):
        names = [norm(part) for part in line.split("|")]
        for alias in names:
            table[alias] = names[0]
    return table


@cache
def mineral_names() -> frozenset[str]:
    return frozenset(minerals().values())


@dataclass(frozen=True)
class Reduction:
    moiety: str  # lookup key of the active moiety
    form: str  # the salt words, in the order written ("calcium trihydrate")


def reduce(key: str, known: Callable[[str], bool]) -> Reduction | None:
    """Reduce the normalised name ``key`` to its active moiety, or None when it is not a salt
    form of a known substance. ``known(k)`` says whether ``k`` names a known substance."""
    words = key.split()
    salts = salt_words()
    if len(words) < 2 or not any(w in salts for w in words):
        return None
    best = None
    for start in (0, 1) if words[0] in LEADING else (0,):
        # Strip salt words from the end one at a time; the shortest known core is the moiety
        # ("atorvastatin calcium trihydrate" -> atorvastatin, not "atorvastatin calcium").
        end = len(words)
        while end > start:
            if start or end < len(words):
                best = _core(words, start, end, known) or best
            if words[end - 1] not in salts:
                break
            end -= 1
        if best:
            return best
    return None

def _core(words: list[str], start: int, end: int, known: Callable[[str], bool]) -> Reduction | None:
    core = words[start:end]
    form = " ".join(words[:start] + words[end:])
    if not core or not form:
        return None
    salts = salt_words()
    mineral_alias = minerals()
    if len(core) == 1 and core[0] in mineral_alias:
        return Reduction(mineral_alias[core[0]], form)
    if any(w not in salts for w in core):
        key = " ".join(core)
        if known(key):
            return Reduction(key, form)
    return None
