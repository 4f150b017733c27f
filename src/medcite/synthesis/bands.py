"""Bands a sentence states — a body weight ("15 kg to <30 kg"), kidney function ("eGFR ≥ 30"),
a clinical score ("CURB-65 0–1") — and whether they hold the value a question gives.

A statement for another band does not apply to the patient asked about (the 30 kg dose for a
20 kg child); one for the asked band is preferred.
"""

from __future__ import annotations

import re
from functools import lru_cache

from medcite.models import Population


def _cue(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.I)


_KG = r"(\d+(?:\.\d+)?)\s?kg\b(?:\s?\([^)]{0,12}\))?"
_BAND_RANGE = _cue(_KG + r"\s*(?:to|-|–)\s*(?:<|less than|under)?\s*" + _KG)
_BAND_FROM = _cue(r"(?:≥|>=|at least|more than|greater than|over|above)\s*" + _KG
                  + r"|" + _KG + r"\s*(?:or (?:more|greater|above|heavier)|and (?:above|over))")
_BAND_BELOW = _cue(r"(?:<|less than|below|under)\s*" + _KG)


@lru_cache(maxsize=65_536)
def weight_bands(text: str) -> tuple[tuple[float, float], ...]:
    """The body-weight bands a sentence states, as [low, high) in kg: "15 kg to <30 kg",
    "≥30 kg", "weight below 15 kg"."""
    bands = []
    for match in _BAND_RANGE.finditer(text):
        bands.append((float(match.group(1)), float(match.group(2))))
    rest = _BAND_RANGE.sub(" ", text)
    for match in _BAND_FROM.finditer(rest):
        bands.append((float(match.group(1) or match.group(2)), float("inf")))
    rest = _BAND_FROM.sub(" ", rest)
    for match in _BAND_BELOW.finditer(rest):
        bands.append((0.0, float(match.group(1))))
    return tuple(bands)


_KIDNEY = r"\b(?:eGFR|GFR|CrCl|creatinine clearance)\b[^.;\d]{0,30}?"
_KIDNEY_RANGE = _cue(_KIDNEY + r"(\d+)\s*(?:-|–|to)\s*(?:<\s*)?(\d+)")
_KIDNEY_FROM = _cue(_KIDNEY + r"(?:≥|>=|>|at least|above|over|greater than|more than) ?(\d+)\b(?! ?(?:-|–|to) ?\d)"
                    r"(?: (?:mL/min\S*|or (?:more|greater|higher|above)))?")
_KIDNEY_BELOW = _cue(_KIDNEY + r"(?:<|≤|=<|less than|below|under|falls below|drops below|decreases below) ?(\d+)")


@lru_cache(maxsize=65_536)
def kidney_bands(text: str) -> tuple[tuple[float, float], ...]:
    """The kidney-function bands (eGFR or CrCl, mL/min) a sentence states, as [low, high)."""
    bands = [(float(m.group(1)), float(m.group(2))) for m in _KIDNEY_RANGE.finditer(text)]
    rest = _KIDNEY_RANGE.sub(" ", text)
    bands += [(0.0, float(m.group(1))) for m in _KIDNEY_BELOW.finditer(rest)]
    rest = _KIDNEY_BELOW.sub(" ", rest)
    bands += [(float(m.group(1)), float("inf")) for m in _KIDNEY_FROM.finditer(rest)]
    return tuple(bands)


def kidney_fits(text: str, population: Population) -> bool | None:
    """Whether a kidney-function band the sentence states holds the asked eGFR or CrCl; None
    when either is missing."""
    value = population.egfr if population.egfr is not None else population.crcl
    if value is None and population.dialysis:
        value = 10.0  # on dialysis the eGFR is below 15
    bands = kidney_bands(text) if value is not None else ()
    if not bands:
        return None
    return any(low <= value < high for low, high in bands)


def score_fits(text: str, asked: dict[str, float]) -> bool | None:
    """Whether the bands of the asked scores the text states ("CURB-65 0–1", "NIHSS ≥ 6") hold
    the asked values; None when the text states no band of them."""
    verdicts = []
    for name, value in asked.items():
        for band in _score_bands(text, name):
            verdicts.append(band[0] <= value <= band[1])
    return any(verdicts) if verdicts else None


@lru_cache(maxsize=65_536)
def _score_bands(text: str, name: str) -> tuple[tuple[float, float], ...]:
    spelled = r"[-\s]?".join(re.escape(part) for part in re.split(r"[-\s]", name))
    bands = []
    for m in re.finditer(spelled + r"\b[^\d\n]{0,12}?(≥|>=|>|≤|<=|<)?\s?(\d+(?:\.\d+)?)(?:\s?(?:–|-|to)\s?(\d+(?:\.\d+)?))?",
                         text, re.I):
        op, low = m.group(1), float(m.group(2))
        high = float(m.group(3)) if m.group(3) else low
        if op in ("≥", ">=", ">"):
            high = float("inf")
        elif op in ("≤", "<=", "<"):
            low, high = float("-inf"), (low if op != "<" else low - 1e-9)
        bands.append((low, high))
    return tuple(bands)


def weight_fits(text: str, population: Population) -> bool | None:
    """Whether a weight band the sentence states holds the asked weight; None when either is
    missing."""
    bands = weight_bands(text) if population.weight_kg is not None else ()
    if not bands:
        return None
    return any(low <= population.weight_kg < high for low, high in bands)
