"""What recognition returns: a ``Concept`` (a drug, supplement or condition) and a ``Mention``
of it in a text."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ConceptKind = Literal["drug", "supplement", "condition"]
MatchKind = Literal["exact", "brand", "salt", "fuzzy"]


class Concept(BaseModel):
    """A normalised drug, supplement or condition.

    ``id`` is ``<kind>:<slug of the preferred name>``, e.g. ``drug:mirtazapine``,
    ``supplement:magnesium``, ``condition:depression``. ``synonyms`` are lexical forms for query
    expansion, best first: the preferred name, other names, brands, salt forms.
    """

    model_config = ConfigDict(frozen=True)

    id: str
    kind: ConceptKind
    name: str
    # drugbank, mesh, unii, medlineplus
    identifiers: dict[str, str] = Field(default_factory=dict)
    synonyms: list[str] = Field(default_factory=list)
    brands: list[str] = Field(default_factory=list)  # most widely listed first
    # main salt forms, e.g. "sertraline hydrochloride"
    forms: list[str] = Field(default_factory=list)


class Mention(BaseModel):
    """One place a concept is named in a text.

    ``surface`` is the text exactly as typed (``text[start:end]``). ``form`` is the salt or form
    word(s) recognised with a substance ("glycinate" in "magnesium glycinate"), kept for display.
    ``inherited`` marks a mention carried over from the parent question of a follow-up; its
    offsets then refer to the parent's text.
    """

    model_config = ConfigDict(frozen=True)

    concept: Concept
    surface: str
    start: int
    end: int
    form: str | None = None
    match: MatchKind = "exact"
    inherited: bool = False
