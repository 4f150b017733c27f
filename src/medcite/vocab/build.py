"""Compile the lexicon from the packaged name lists and the curated data files.

Run once per installation (the result is cached, see ``medcite.vocab.vocabulary``). Steps:

1. every DrugBank/MeSH canonical drug of drug-named-entity-recognition is a concept, and each
   of its name variants a phrase (brand flag where the package has one);
2. each FDA UNII substance with an official or brand name joins the concept one of its names
   already denotes (directly, or through the salt rule); otherwise it is a new concept;
3. curated supplements and drug classes take over the concepts their names denote;
4. salt forms merge into their active moiety ("magnesium citrate" -> magnesium);
5. curated conditions are added;
6. phrases that are ordinary words, too short, dose-bearing or generic are dropped, synonyms
   are ranked for query expansion, and a misspelling index is built over common drugs.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from tqdm import tqdm

from medcite.vocab import conditions, fuzzy, sources
from medcite.vocab.salts import reduce, salt_words
from medcite.vocab.text import (
    curated_lines, data_lines, is_dose, is_number, keys, norm, slug, word_list,
)

FORMAT = 2
MATCH_CODES = ("exact", "brand", "salt")
MAX_PHRASE_TOKENS = 6
MAX_PHRASE_CHARS = 40
MAX_SYNONYMS = 30
MAX_BRANDS = 10
MAX_FORMS = 5

# Phrase ranks: a lower rank wins when two sources give one phrase to different concepts.
CURATED, DRUG_NER = 0, 1
UNII_RANK = {"of": 2, "bn": 3, "cn": 4, "sys": 5}

_MESSY = re.compile(r"[0-9,;()\[\]/+]")
_DIGIT = re.compile(r"[0-9]")


@dataclass
class _Name:
    display: str
    rank: int
    brand: int = 0  # 2: flagged in drug-named-entity-recognition, 1: a UNII brand name, 3: both
    in_drug_ner: bool = False
    generic: bool = False  # explicitly not a brand in drug-named-entity-recognition ("paracetamol")
    in_unii: bool = False


@dataclass
class _Draft:
    key: str
    kind: str
    name: str
    identifiers: dict[str, str] = field(default_factory=dict)
    curated: list[str] = field(default_factory=list)
    popular: bool = False  # has a consumer drug page: eligible for misspelling correction


@dataclass
class _Phrase:
    concept: int
    rank: int
    display: str


class _Builder:
    def __init__(self) -> None:
        self.drafts: list[_Draft] = []
        self.parent: list[int] = []
        self.by_key: dict[str, int] = {}
        self.phrases: dict[str, _Phrase] = {}
        self.names: dict[int, dict[str, _Name]] = defaultdict(dict)  # concept -> key -> name
        self.common = word_list("common_words.txt")

    # --- concepts -----------------------------------------------------------------------
    def find(self, idx: int) -> int:
        while self.parent[idx] != idx:
            self.parent[idx] = self.parent[self.parent[idx]]
            idx = self.parent[idx]
        return idx

    def concept(self, key: str, kind: str, name: str) -> int:
        idx = self.by_key.get(key)
        if idx is not None:
            return self.find(idx)
        idx = len(self.drafts)
        self.drafts.append(_Draft(key, kind, name))
        self.parent.append(idx)
        self.by_key[key] = idx
        return idx

    def merge(self, source: int, target: int) -> None:
        source, target = self.find(source), self.find(target)
        if source == target:
            return
        self.parent[source] = target
        into, old = self.drafts[target], self.drafts[source]
        for scheme, value in old.identifiers.items():
            into.identifiers.setdefault(scheme, value)
        into.popular = into.popular or old.popular
        into.curated.extend(n for n in old.curated if n not in into.curated)
        names = self.names[target]
        for key, name in self.names.pop(source, {}).items():
            _merge_name(names, key, name)

    def resolve(self, key: str) -> int | None:
        """The concept a normalised name denotes: a concept key first, then a phrase."""
        idx = self.by_key.get(key)
        if idx is None:
            phrase = self.phrases.get(key)
            idx = phrase.concept if phrase else None
        return None if idx is None else self.find(idx)

    def known(self, key: str) -> bool:
        """Whether ``key`` names a substance specific enough to be a salt's moiety."""
        return (key in self.by_key or key in self.phrases) and _keep(key, self.common)

    # --- phrases ------------------------------------------------------------------------
    def add(self, key: str, idx: int, rank: int, display: str, brand: int = 0,
            in_drug_ner: bool = False, generic: bool = False) -> None:
        if not key:
            return
        idx = self.find(idx)
        current = self.phrases.get(key)
        if current is None or rank < current.rank or (
            rank == current.rank and self.find(current.concept) == idx
        ):
            self.phrases[key] = _Phrase(idx, min(rank, current.rank) if current else rank, display)
        elif self.find(current.concept) != idx:
            return
        if key == self.drafts[idx].key:
            brand = 0
        _merge_name(self.names[idx], key, _Name(display, rank, brand, in_drug_ner, generic,
                                                in_unii=rank in UNII_RANK.values()))


def _merge_name(names: dict[str, _Name], key: str, name: _Name) -> None:
    old = names.get(key)
    if old is None:
        names[key] = name
    else:
        old.rank = min(old.rank, name.rank)
        old.brand |= name.brand
        old.in_drug_ner = old.in_drug_ner or name.in_drug_ner
        old.generic = old.generic or name.generic
        old.in_unii = old.in_unii or name.in_unii


# --- build steps -----------------------------------------------------------------------------
def _add_drug_ner(b: _Builder, data: sources.DrugNerData) -> None:
    for canonical, info in data.canonical.items():
        idx = b.concept(norm(canonical), "drug", canonical)
        ids = b.drafts[idx].identifiers
        for scheme, field_name in (("drugbank", "drugbank_id"), ("mesh", "mesh_id"),
                                   ("medlineplus", "medline_plus_id")):
            if info.get(field_name):
                ids.setdefault(scheme, str(info[field_name]))
        if info.get("medline_plus_id") or info.get("nhs_url"):
            b.drafts[idx].popular = True
        b.add(norm(canonical), idx, DRUG_NER, canonical, in_drug_ner=True)
    for variant, canonical in data.variant_to_canonical.items():
        flag = data.is_brand.get(variant)
        for key in keys(variant):
            b.add(key, b.by_key[norm(canonical)], DRUG_NER, variant, 2 if flag else 0, True,
                  generic=flag is False)


def _add_unii(b: _Builder, rows: Iterable[sources.UniiName]) -> None:
    groups: dict[str, list[sources.UniiName]] = defaultdict(list)
    for row in rows:
        groups[row.unii].append(row)
    for unii, names in groups.items():
        if not any(n.type in ("of", "bn") for n in names):
            continue
        display = names[0].display
        candidates = [norm(display)] + [norm(n.name) for n in names if n.type == "of"]
        idx = next((b.find(b.by_key[k]) for k in candidates if k in b.by_key), None)
        if idx is not None and b.drafts[idx].key == candidates[0]:
            b.drafts[idx].identifiers.setdefault("unii", unii)
        if idx is None:
            idx = next((i for i in map(b.resolve, candidates) if i is not None), None)
        if idx is None:
            for key in candidates:
                found = reduce(key, b.known)
                if found and (idx := b.resolve(found.moiety)) is not None:
                    break
        linked = idx is not None
        if idx is None:
            idx = b.concept(candidates[0], "drug", display.lower())
            b.drafts[idx].identifiers["unii"] = unii
        for n in names:
            if " component " in f" {n.name.lower()} ":
                continue
            if n.type == "bn" and not linked and " " not in n.name.strip():
                # One-word trade names of substances DrugBank does not know are mostly
                # pesticides and cosmetics named with ordinary words ("IMPACT", "VISION").
                continue
            for key in keys(n.name):
                b.add(key, idx, UNII_RANK[n.type], n.name.lower(), 1 if n.type == "bn" else 0)


def _add_curated(b: _Builder, lines: list[list[str]], kind: str, absorb: str) -> None:
    """Add curated concepts. ``absorb``: "phrases" takes over every concept one of the names
    denotes, "keys" only concepts whose own name is listed, "" none (a concept of its own)."""
    for names in lines:
        first = norm(names[0])
        written = [norm(n) for n in names]
        if absorb == "phrases":
            absorbed = [i for i in map(b.resolve, written) if i is not None]
        elif absorb == "keys":
            absorbed = [b.find(b.by_key[k]) for k in written if k in b.by_key]
        else:
            absorbed = []
        own = b.by_key.get(first)
        if own is not None and b.find(own) in absorbed:
            idx = b.find(own)
        else:
            idx = len(b.drafts)
            b.drafts.append(_Draft(first, kind, names[0]))
            b.parent.append(idx)
            b.by_key[first] = idx
        draft = b.drafts[idx]
        draft.kind, draft.name = kind, names[0]
        draft.popular = draft.popular or kind == "supplement"
        for other in absorbed:
            b.merge(other, idx)
        b.drafts[idx].curated = list(names)
        for name in names:
            for key in keys(name):
                if key != norm(name) and key in b.common:
                    continue  # "sam-e" must not make "same" a name
                b.phrases.pop(key, None)
                b.add(key, idx, CURATED, name.lower())


def _merge_salts(b: _Builder) -> None:
    """Merge salt-form concepts into their moiety ("magnesium citrate" into magnesium)."""
    for idx, draft in enumerate(b.drafts):
        if b.find(idx) != idx or draft.curated:
            continue
        found = reduce(draft.key, b.known)
        target = b.resolve(found.moiety) if found else None
        if target is not None and target != idx:
            b.merge(idx, target)


@dataclass
class Compiled:
    """The lexicon as it is cached: plain containers only, so that it unpickles fast."""

    format: int
    key: str
    ids: list[str]  # concept index -> id
    kinds: str  # concept index -> first letter of its kind
    records: list[str]  # concept index -> encode_record(...), decoded on demand
    aliases: dict[str, int]  # ids of concepts merged into others -> concept index
    phrases: dict[str, int]  # key -> concept index << 20 | form index << 2 | match code
    forms: list[str]
    max_tokens: int
    fuzzy_terms: list[str]
    fuzzy_concepts: list[int]
    fuzzy_index: dict[str, int | tuple[int, ...]]


KINDS = {"d": "drug", "s": "supplement", "c": "condition"}
_FIELD, _ITEM = "\x1f", "\x1e"


def encode_record(name: str, identifiers: dict[str, str], synonyms: Iterable[str],
                  brands: Iterable[str], forms: Iterable[str]) -> str:
    """One concept's details as a single string: tens of thousands of these unpickle far
    faster than the equivalent dicts and tuples."""
    ids = _ITEM.join(f"{k}={v}" for k, v in identifiers.items())
    return _FIELD.join([name, ids, _ITEM.join(synonyms), _ITEM.join(brands), _ITEM.join(forms)])


def decode_record(record: str) -> tuple[str, dict[str, str], list[str], list[str], list[str]]:
    name, ids, synonyms, brands, forms = record.split(_FIELD)
    identifiers = dict(item.split("=", 1) for item in ids.split(_ITEM)) if ids else {}

    def items(text: str) -> list[str]:
        return text.split(_ITEM) if text else []

    return name, identifiers, items(synonyms), items(brands), items(forms)


def pack(concept: int, form: int, match: int) -> int:
    return (concept << 20) | (form << 2) | match


def unpack(value: int) -> tuple[int, int, int]:
    return value >> 20, (value >> 2) & 0x3FFFF, value & 3


def _keep(key: str, common: frozenset[str]) -> bool:
    """Whether a non-curated phrase is specific enough to match in free text."""
    toks = key.split()
    if not toks or len(toks) > MAX_PHRASE_TOKENS or len(key) > MAX_PHRASE_CHARS:
        return False
    if any(is_dose(t) and not is_number(t) for t in toks):
        return False
    if _DIGIT.search(key) and (len(toks) > 2 or len(key) > 12):
        return False  # codes and systematic chemical names: nobody types them in a question
    if len(toks) == 1:
        tok = toks[0]
        return len(tok) >= 4 and tok not in common and tok not in salt_words() and any(
            c.isalpha() for c in tok
        )
    return len(key) >= 5 and not all(t in common or is_number(t) or len(t) <= 2 for t in toks)


def _compile(b: _Builder, cache_key: str) -> Compiled:
    common = word_list("common_words.txt")
    salts = salt_words()
    salt_order = {w: i for i, w in enumerate(norm(line) for line in data_lines("salt_forms.txt"))}

    # Final phrase table: curated phrases always, others only when specific enough.
    # concept -> phrase key -> (form, match code)
    kept: dict[int, dict[str, tuple[str, int]]] = defaultdict(dict)
    for key, phrase in b.phrases.items():
        idx = b.find(phrase.concept)
        if phrase.rank != CURATED and not _keep(key, common):
            continue
        name = b.names[idx].get(key)
        match, form = 0, ""
        if name and name.brand and phrase.rank != CURATED:
            match = 1
        elif b.drafts[idx].kind != "condition":
            found = reduce(key, b.known)
            if found and b.resolve(found.moiety) == idx:
                match, form = 2, found.form
        kept[idx][key] = (form, match)

    order = sorted(kept, key=lambda i: (b.drafts[i].kind, b.drafts[i].key))
    index_of = {idx: n for n, idx in enumerate(order)}
    forms: list[str] = [""]
    form_ids: dict[str, int] = {"": 0}
    phrases: dict[str, int] = {}
    ids, kinds, records = [], [], []
    for idx in order:
        draft = b.drafts[idx]
        for key, (form, match) in kept[idx].items():
            if form not in form_ids:
                form_ids[form] = len(forms)
                forms.append(form)
            phrases[key] = pack(index_of[idx], form_ids[form], match)
        ids.append(f"{draft.kind}:{slug(draft.key)}")
        kinds.append(draft.kind[0])
        records.append(_record(draft, b.names[idx], kept[idx], salts, salt_order))

    aliases = {}
    for idx, draft in enumerate(b.drafts):
        root = b.find(idx)
        if root != idx and root in index_of:
            alias = f"{draft.kind}:{slug(draft.key)}"
            if alias != ids[index_of[root]]:
                aliases[alias] = index_of[root]

    terms, term_concepts = _fuzzy_terms(b, order, index_of, kept, common)
    return Compiled(
        format=FORMAT, key=cache_key, ids=ids, kinds="".join(kinds), records=records,
        aliases=aliases, phrases=phrases,
        forms=forms, max_tokens=max(len(k.split()) for k in phrases), fuzzy_terms=terms,
        fuzzy_concepts=term_concepts, fuzzy_index=fuzzy.build_index(terms),
    )


def _record(draft: _Draft, names: dict[str, _Name], kept: dict[str, tuple[str, int]],
            salts: frozenset[str], salt_order: dict[str, int]) -> str:
    """The encoded record of a concept, synonyms ranked for query expansion."""
    stem = draft.key[:6]

    def clean(key: str, display: str) -> bool:
        return (
            len(key.split()) <= 3 and not _MESSY.search(display)
            and (key == draft.key or not key.startswith(stem))
            and draft.key not in key
        )

    brands, forms, others = [], [], []
    for key, (form, match) in kept.items():
        name = names.get(key)
        if name is None or key == draft.key:
            continue
        if match == 1 and clean(key, name.display):
            score = name.brand + (1 if name.brand == 1 and name.in_drug_ner else 0)
            brands.append((-score, len(key.split()), len(key), key))
        elif match == 2 and len(key.split()) <= 3 and f" {draft.key} " in f" {key} ":
            # Fewest salt words first, then the most common salt (salt_forms.txt is in order).
            order = [salt_order.get(w, 999) for w in form.split()]
            forms.append((len(order), name.rank > UNII_RANK["of"], max(order), len(key), key))
        elif (match == 0 and clean(key, name.display) and not any(w in salts for w in key.split())
              and (name.generic or (name.in_drug_ner and name.in_unii))):
            # Only names the sources agree on: foreign trade names listed once are noise.
            others.append((not name.generic, name.rank, len(key.split()), len(key), key))
    display = {key: names[key].display if key in names else key for key in kept}
    curated = [n.lower() for n in draft.curated]
    ranked_brands = [display[k] for *_, k in sorted(brands)][:MAX_BRANDS]
    ranked_forms = [display[k] for *_, k in sorted(forms)][:MAX_FORMS]
    ranked_others = [display[k] for *_, k in sorted(others)]
    synonyms: list[str] = []
    for text in [draft.name.lower(), *curated, *ranked_others[:10], *ranked_brands, *ranked_forms]:
        if text not in synonyms:
            synonyms.append(text)
    return encode_record(draft.name.lower(), draft.identifiers, synonyms[:MAX_SYNONYMS],
                         ranked_brands, ranked_forms)


def _fuzzy_terms(b: _Builder, order: list[int], index_of: dict[int, int],
                 kept: dict[int, dict[str, tuple[str, int]]],
                 common: frozenset[str]) -> tuple[list[str], list[int]]:
    """Words that misspellings may be corrected to: the one-word generic names of drugs with a
    consumer drug page (MedlinePlus, NHS) and the curated supplement names. Brand names are
    left out on purpose: many are near ordinary words ("Abilify"/ability, "Ambien"/ambient)."""
    terms: dict[str, int] = {}
    for idx in order:
        draft = b.drafts[idx]
        if not draft.popular or draft.kind == "condition":
            continue
        names = {draft.key}
        if draft.kind == "supplement":
            names.update(norm(n) for n in draft.curated)
        for key in names:
            if (key in kept[idx] and " " not in key and len(key) >= fuzzy.MIN_LENGTH - 1
                    and key.isalpha() and key not in common):
                terms.setdefault(key, index_of[idx])
    ordered = sorted(terms)
    return ordered, [terms[t] for t in ordered]


def build(cache_key: str, progress: bool | None = None) -> Compiled:
    """Build the lexicon from the installed packages and the data files (seconds)."""
    steps: list[tuple[str, Callable[[_Builder], None]]] = [
        ("drug dictionary", lambda b: _add_drug_ner(b, sources.read_drug_ner())),
        ("FDA substance names", lambda b: _add_unii(b, sources.read_unii())),
        ("supplements", lambda b: _add_curated(
            b, curated_lines("supplements.txt"), "supplement", "phrases")),
        ("curated drugs", lambda b: _add_curated(b, curated_lines("drugs.txt"), "drug", "keys")),
        ("salt forms", _merge_salts),
        ("conditions", lambda b: _add_curated(b, conditions.curated(), "condition", "")),
    ]
    builder = _Builder()
    # disable=None hides the bar when stderr is not a terminal (tests, logs).
    with tqdm(total=len(steps) + 1, desc="Building drug vocabulary", unit="step",
              disable=None if progress is None else not progress) as bar:
        for label, step in steps:
            bar.set_postfix_str(label)
            step(builder)
            bar.update()
        bar.set_postfix_str("compiling")
        compiled = _compile(builder, cache_key)
        bar.update()
    return compiled
