"""The verdict on a change readers mean to make to their own treatment ("Should I double my
warfarin dose?", "Can I stop my blood pressure pills when I feel well?").

Such a question is not answered with a dose to take: the answer is whether an indexed source
supports making the change unsupervised, and what the sources say about how the dose is set or
the treatment ended (adjusted to the INR, not stopped abruptly). A source that does allow the
change is quoted as such.
"""

from __future__ import annotations

import re

from medcite.models import AskedFor, QuestionFrame
from medcite.retrieval.evidence import RANK
from medcite.synthesis.selection import FrameFit
from medcite.synthesis.sentences import Candidate


def _cue(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.I)


_STOPPING = _cue(r"\b(do not|don't|never|should not) (suddenly |abruptly )?stop\b|\bstop(ping)? (taking|treatment|therapy)\b|\btaper\w*"
                 r"|\bdiscontinu\w*|\babrupt\w*|\beven (if|when) (you|they) feel\b|\bas prescribed\b|\bkeep taking\b"
                 r"|\blong-term\b|\blifelong\b|\bwithdraw\w*|\bcomplete the (full )?course\b")
_DOSING = _cue(r"\badjust\w*|\bbased on\b|\bguided by\b|\bINR\b|\bmonitor\w*|\btitrat\w*|\bnot (to )?exceed\b"
               r"|\bmaximum\b|\bmissed dose\b|\bdouble (dose|the dose)\b|\bdose (changes?|increases?|reductions?)\b")
# Lowering a dose is done the way a treatment is set and the way it is tapered.
_LOWERING = _cue(f"{_DOSING.pattern}|{_STOPPING.pattern}|\\b(reduce|lower|decrease)\\w* (the )?dose\\b|\\btaper\\w*")
GUIDANCE = {"stop": _STOPPING, "skip": _STOPPING, "reduce": _LOWERING, "halve": _LOWERING, "double": _DOSING,
            "triple": _DOSING, "increase": _DOSING, "take extra": _DOSING}
_ALLOWS = _cue(r"\b(may|can) (safely )?be (stopped|discontinued|doubled|increased|reduced|skipped)\b"
               r"\s+(by the patient|without (medical )?(advice|supervision))")
CHANGES = {"double": "doubling the dose", "triple": "tripling the dose", "increase": "increasing the dose",
           "reduce": "reducing the dose", "halve": "halving the dose", "stop": "stopping it",
           "skip": "skipping doses", "take extra": "taking extra doses"}


def on_change(frame: QuestionFrame, candidate: Candidate) -> bool:
    """The sentence says how the change asked about is made (how the dose is set, how the
    treatment is ended)."""
    return bool(GUIDANCE.get(frame.self_change or "", _DOSING).search(candidate.quote))


def guidance(fit: FrameFit) -> list[Candidate]:
    """Admissible sentences on the subjects that say how the dose is set or the treatment is
    ended, the evidence hierarchy first (a label or guideline before a study)."""
    subjects = fit.frame.agents or fit.frame.conditions
    pool = [c for c in fit.candidates if fit.admissible(c) and on_change(fit.frame, c)
            and any(fit.of(c).is_about(s.concept_id) for s in subjects)]
    return sorted(fit.ranked(pool)[:15], key=lambda c: RANK[c.evidence.design])


def allowing(fit: FrameFit, pool: list[Candidate]) -> Candidate | None:
    return next((c for c in pool if _ALLOWS.search(c.quote)), None)


def change_phrase(frame: QuestionFrame) -> str:
    return CHANGES.get(frame.self_change or "", "changing it")


def item_for(frame: QuestionFrame) -> AskedFor:
    """The item a quoted clause should keep."""
    return AskedFor.CONTRAINDICATION if frame.self_change in ("stop", "skip") else AskedFor.DOSE
