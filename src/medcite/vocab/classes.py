"""Drug classes: which classes a drug belongs to, and the names a source may use for each.

Evidence is often stated about a class ("St John's wort interacts with drugs for depression",
"statins: myopathy risk with strong CYP3A4 inhibitors"); a question names one member. The
membership lists are curated data (``data/drug_classes.txt``); a class's names come from its
curated entry in ``data/drugs.txt`` plus the phrases listed with its members.
"""

from __future__ import annotations

from functools import cache

from medcite.vocab.text import curated_lines, data_lines


@cache
def _table() -> tuple[dict[str, list[str]], dict[str, tuple[str, ...]]]:
    """(class name -> its lower-case names, member name -> the classes it belongs to)."""
    curated = {names[0].lower(): [n.lower() for n in names] for names in curated_lines("drugs.txt")}
    names_of: dict[str, list[str]] = {}
    members: dict[str, list[str]] = {}
    for line in data_lines("drug_classes.txt"):
        parts = [p.strip() for p in line.split("|")]
        name = parts[0].lower()
        extra = [p.strip().lower() for p in (parts[2] if len(parts) > 2 else "").split(",") if p.strip()]
        names_of[name] = list(dict.fromkeys([*curated.get(name, [name]), *extra]))
        for member in (m.strip().lower() for m in parts[1].split(",")):
            if member:
                members.setdefault(member, []).append(name)
    return names_of, {m: tuple(c) for m, c in members.items()}


def classes_of(*names: str) -> dict[str, list[str]]:
    """The classes any of ``names`` (a drug's generic name, synonyms) belongs to, each with the
    names a sentence may use for it, most specific class first (as listed)."""
    names_of, members = _table()
    found: dict[str, list[str]] = {}
    for name in names:
        for cls in members.get(name.lower(), ()):
            found.setdefault(cls, names_of[cls])
    return found


@cache
def _members() -> dict[str, tuple[str, ...]]:
    found: dict[str, list[str]] = {}
    for member, classes in _table()[1].items():
        for cls in classes:
            found.setdefault(cls, []).append(member)
    return {cls: tuple(m) for cls, m in found.items()}


def class_members(class_name: str) -> tuple[str, ...]:
    """The drugs of one class ("amoxicillin", ... for "antibiotics"); empty for a non-class."""
    return _members().get(class_name.lower(), ())


def class_names(class_name: str) -> list[str]:
    """The names of one class ("ssri", "ssris", ...); empty for an unknown class."""
    return _table()[0].get(class_name.lower(), [])


def all_classes() -> dict[str, list[str]]:
    """Every class with its names."""
    return _table()[0]


@cache
def known_agents() -> tuple[str, ...]:
    """Every member and class name the table knows, for telling that a sentence names some other
    drug than the one asked about."""
    names_of, members = _table()
    return tuple(sorted({*members, *(n for names in names_of.values() for n in names)}))
