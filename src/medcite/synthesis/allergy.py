"""Questions that name an allergy ("I'm allergic to penicillin, can I take amoxicillin?").

For the reader, an agent of the allergen's class is the allergen: amoxicillin is a penicillin.
Class membership comes from medcite's curated drug-class table; only classes whose members are
known to cross-react count when the allergen is itself a drug (ampicillin for amoxicillin, not
azithromycin because both are antibiotics). The evidence is what the indexed sources say about
the class or the agent with an allergy.
"""

from __future__ import annotations

import re

from medcite.models import AgentFrame
from medcite.synthesis.selection import FrameFit
from medcite.synthesis.sentences import Candidate

CROSS_REACTIVE = ("penicillins", "cephalosporins", "sulfonamide antibiotics",
                  "nonsteroidal anti-inflammatory drugs")
_ALLERGY = re.compile(r"\ballerg\w*|\bhypersensitiv\w*|\banaphyla\w*|\bcross-?reactiv\w*", re.I)


def allergen_class(agent: AgentFrame, allergy: AgentFrame) -> str | None:
    """How ``agent`` is what the reader is allergic to: the allergen itself, a member of the
    class the allergy names, or of a cross-reactive class the allergen belongs to too."""
    if agent.concept_id == allergy.concept_id:
        return agent.name
    if allergy.name.lower() in agent.classes:
        return allergy.name.lower()
    return next((c for c in agent.classes if c in allergy.classes and c in CROSS_REACTIVE), None)


def on_the_allergy(fit: FrameFit, agent: AgentFrame) -> list[Candidate]:
    """Admissible sentences about ``agent`` (by name or class) that speak of an allergy, best
    first."""
    return [c for c in fit.about_subject(agent, item_required=False) if _ALLERGY.search(c.quote)]
