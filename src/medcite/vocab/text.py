"""Text normalisation shared by the lexicon builder and the recogniser.

Names and questions go through the same steps so that a name matches however it is typed:
lower case, accents folded, apostrophes dropped ("St. John's" -> "st johns"), every other
non-alphanumeric character a token boundary ("omega-3" -> "omega 3").
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from importlib import resources

_TOKEN = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
_APOSTROPHES = str.maketrans("", "", "'’")

# Dose units and amounts: never part of a name ("REMERON 15 mg" names REMERON).
UNITS = frozenset(
    "mg mgs mcg µg ug g gm gram grams kg ml mls l iu ius units unit mmol meq % tab tabs "
    "tablet tablets cap caps capsule capsules dose doses daily bid tid qid qd prn".split()
)


def fold(text: str) -> str:
    """Lower-case ``text`` and strip accents, keeping one character per input character."""
    if text.isascii():
        return text.lower()
    out = []
    for char in text:
        decomposed = unicodedata.normalize("NFKD", char)
        base = "".join(c for c in decomposed if not unicodedata.combining(c)) or char
        out.append(base[0].lower() if len(base) >= 1 else char)
    return "".join(out)


def tokens(text: str) -> list[tuple[str, int, int]]:
    """Word tokens of ``text`` as (normalised token, start, end) with offsets into ``text``."""
    folded = fold(text)
    return [
        (m.group().translate(_APOSTROPHES), m.start(), m.end()) for m in _TOKEN.finditer(folded)
    ]


def norm(text: str) -> str:
    """The lookup key of a name or phrase: normalised tokens joined by single spaces."""
    return " ".join(_TOKEN.findall(fold(text))).translate(_APOSTROPHES)


def is_number(token: str) -> bool:
    return token.replace(".", "").isdigit()


_DOSE = re.compile(r"\d+(?:\.\d+)?(?:" + "|".join(sorted(UNITS, key=len, reverse=True)) + ")?")


def is_dose(token: str) -> bool:
    """A number, a unit, or both run together ("15", "mg", "15mg", "1000iu")."""
    return token in UNITS or _DOSE.fullmatch(token) is not None


def keys(name: str) -> set[str]:
    """Lookup keys of a source name: as written, and with hyphens closed up where that makes
    a short word people type ("omega-3" also as "omega3", "Co-Q10" as "coq10")."""
    found = {norm(name)}
    if "-" in name:
        joined = norm(name.replace("-", ""))
        if all(len(t) <= 8 for t in joined.split()):
            found.add(joined)
    found.discard("")
    return found


def slug(key: str) -> str:
    """The id part of a concept key: "st johns wort" -> "st-johns-wort"."""
    return key.replace(" ", "-")


@cache
def word_list(name: str, package: str = "medcite.vocab") -> frozenset[str]:
    """Normalised words of a data file: whitespace-separated, ``#`` starts a comment."""
    return frozenset(
        word for line in data_lines(name, package) for word in norm(line.split("#", 1)[0]).split()
    )


@cache
def phrase_list(name: str, package: str = "medcite.vocab") -> frozenset[str]:
    """Normalised lines of a data file, each one phrase."""
    return frozenset(key for key in map(norm, data_lines(name, package)) if key)


def data_lines(name: str, package: str = "medcite.vocab") -> list[str]:
    """Non-blank, non-comment lines of a data file shipped in ``<package>/data``."""
    text = resources.files(package).joinpath("data").joinpath(name).read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def data_text(name: str, package: str = "medcite.vocab") -> str:
    return resources.files(package).joinpath("data").joinpath(name).read_text(encoding="utf-8")


def curated_lines(name: str, package: str = "medcite.vocab") -> list[list[str]]:
    """Entries of a ``name | synonym | ...`` data file: each a list of names, preferred first."""
    return [
        [part.strip() for part in line.split("|") if part.strip()]
        for line in data_lines(name, package)
    ]
