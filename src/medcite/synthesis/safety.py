"""Safety notices: emergencies first, polite refusals, and the professional disclaimer."""

from __future__ import annotations

from medcite.models import Audience

EMERGENCY_NOTICE = (
    "If this is happening now, it may be an emergency: call your local emergency number "
    "(911 in the US, 112 in the EU, 999 in the UK) or go to the nearest emergency department. "
    "For thoughts of suicide, call or text 988 in the US or contact a local crisis line. "
    "Do not wait for an answer from this service."
)

REFUSAL = (
    "medcite answers clinical and health questions from indexed medical sources. This question "
    "does not appear to be about health or medicine, so no article was written."
)

_DISCLAIMERS = {
    Audience.CLINICIAN: (
        "For healthcare professionals. This article quotes indexed sources and is generated "
        "automatically; it does not replace clinical judgement or the primary literature. "
        "Verify every statement against its cited source before acting on it."
    ),
    Audience.STUDENT: (
        "For education. This article quotes indexed sources and is generated automatically; "
        "check the cited sources and current guidance before relying on it."
    ),
    Audience.PATIENT: (
        "This is general information, not medical advice. It quotes medical sources and is made "
        "automatically. Talk to your doctor or pharmacist before starting, stopping or combining "
        "any medicine or supplement."
    ),
}


def disclaimer(audience: Audience) -> str:
    return _DISCLAIMERS[audience]
