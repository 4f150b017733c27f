"""Routes of administration, for telling that a sentence is about another way of giving a drug
than the one asked about: a question on a steroid cream is not answered by steroid injections
into the heel, nor one on oral prednisone by an epidural.

Each route is known by the dosage-form and route words a question or a sentence uses for it.
"""

from __future__ import annotations

import re
from functools import cache

ROUTES: dict[str, frozenset[str]] = {
    "topical": frozenset({"topical", "topically", "cream", "creams", "ointment", "ointments", "lotion",
                          "lotions", "gel", "gels", "foam", "dermal", "cutaneous", "transdermal", "patch",
                          "patches"}),
    "injection": frozenset({"injection", "injections", "injected", "injectable", "intra-articular",
                            "intraarticular", "epidural", "intramuscular", "intravenous", "intravenously",
                            "iv", "subcutaneous", "intralesional", "infusion", "infusions"}),
    "oral": frozenset({"oral", "orally", "tablet", "tablets", "capsule", "capsules", "pill", "pills",
                       "syrup", "elixir", "chewable"}),
    "inhaled": frozenset({"inhaled", "inhaler", "inhalers", "inhalation", "nebulized", "nebulised"}),
    "nasal": frozenset({"nasal", "intranasal"}),
    "ophthalmic": frozenset({"ophthalmic"}),
    "rectal": frozenset({"rectal", "suppository", "suppositories", "enema"}),
    "vaginal": frozenset({"vaginal", "vaginally", "pessary"}),
}
# The words a question may put before a drug's name for its route ("topical steroid", "oral
# prednisone"); after the name any dosage-form word counts ("steroid cream").
LEADING_ROUTE_WORDS = frozenset({"topical", "oral", "inhaled", "intravenous", "iv", "nasal", "intranasal",
                                 "transdermal", "ophthalmic", "rectal", "vaginal", "intramuscular",
                                 "subcutaneous", "injectable", "epidural"})
_WORD = re.compile(r"[a-z]+(?:-[a-z]+)?")


@cache
def _route_of_word() -> dict[str, str]:
    return {word: route for route, words in ROUTES.items() for word in words}


def routes_named(text: str) -> frozenset[str]:
    """The routes whose words ``text`` uses."""
    table = _route_of_word()
    return frozenset(table[w] for w in _WORD.findall(text.lower()) if w in table)


def another_route(sentence: str, asked_words: frozenset[str]) -> bool:
    """The sentence gives the drug by another route than the asked form's, and never by the
    asked one ("corticosteroid injections" for "steroid cream")."""
    asked = routes_named(" ".join(asked_words))
    if not asked:
        return False
    named = routes_named(sentence)
    return bool(named) and not named & asked
