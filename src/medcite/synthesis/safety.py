"""Safety notices: emergencies first, polite refusals, and the professional disclaimer."""

from __future__ import annotations

from collections.abc import Sequence

from medcite.models import Audience

# The notice for a question whose red flags have no specific advice below.
EMERGENCY_NOTICE = (
    "If this is happening now, it may be an emergency: call your local emergency number "
    "(911 in the US, 112 in the EU, 999 in the UK) or go to the nearest emergency department. "
    "For thoughts of suicide, call or text 988 in the US or contact a local crisis line. "
    "Do not wait for an answer from this service."
)

_EMERGENCY_NUMBERS = ("If this is happening now, call your local emergency number (911 in the US, "
                      "112 in the EU, 999 in the UK) or go to the nearest emergency department.")
_DO_NOT_WAIT = "Do not wait for an answer from this service."
_POISON_CONTROL = "Poison Control at 1-800-222-1222 (US)"

# What to do first, per red-flag label of ``retrieval/data/red_flags.txt``: one or two sentences a
# frightened reader can act on, with the number to call.
_FLAG_NOTICES = {
    "suicidal thoughts": (
        "If you are thinking about suicide or about harming yourself, you are not alone: call or "
        "text 988 (US) or your local emergency number now, or contact a local crisis line."),
    "overdose": (
        f"After an overdose, call your local emergency number or {_POISON_CONTROL} now, even if "
        "there are no symptoms yet; keep the medicine packaging to hand. If the medicine was taken "
        "on purpose, also call or text 988 (US) or a local crisis line."),
    "poisoning": (
        f"For a poisoning or a swallowed medicine or chemical, above all in a child, call "
        f"{_POISON_CONTROL} or your local emergency number now, even if there are no symptoms "
        "yet. Do not make the person vomit; keep the container to hand."),
    "swallowed battery or magnet": (
        "A swallowed button battery or more than one magnet can burn or tear the gut within "
        "hours: go to an emergency department now, even if the child seems well, and call "
        f"{_POISON_CONTROL} on the way."),
    "chest pain": (
        "Chest pain or pressure, above all with breathlessness, sweating or pain spreading to the "
        "arm or jaw, can be a heart attack: call your local emergency number now rather than "
        "driving yourself."),
    "stroke signs": (
        "Face drooping, arm weakness or speech difficulty can be a stroke (FAST: time to call): "
        "call your local emergency number now and note the time the symptoms started."),
    "thunderclap headache": (
        "A sudden, severe headache (the worst ever, peaking within a minute) can be bleeding in "
        "the brain: call your local emergency number or go to an emergency department now."),
    "anaphylaxis": (
        "Swelling of the throat, tongue or lips or trouble breathing can be anaphylaxis: use an "
        "adrenaline (epinephrine) auto-injector if one has been prescribed and call your local "
        "emergency number now."),
    "severe bleeding": (
        "Bleeding that will not stop, vomiting or coughing up blood, or a head injury while on a "
        "blood thinner needs emergency care: press firmly on a bleeding wound and call your local "
        "emergency number now."),
    "seizure": (
        "A seizure lasting more than 5 minutes, repeated seizures or a first seizure needs "
        "emergency care: call your local emergency number, move hard objects away and put "
        "nothing in the person's mouth."),
    "unconscious": (
        "If someone is unresponsive or not breathing normally, call your local emergency number "
        "now and start CPR if you know how; the call handler can guide you."),
    "infant fever": (
        "A fever (38 °C / 100.4 °F or higher) in a baby under 3 months old needs to be seen by a "
        "doctor urgently: call your doctor now or go to an emergency department."),
    "meningitis signs": (
        "Fever with a stiff neck, or a rash that does not fade under pressure, can be meningitis: "
        "call your local emergency number or go to an emergency department now."),
}


def emergency_notice(labels: Sequence[str]) -> str:
    """The notice that opens an article whose question shows these red flags.

    Specific advice comes first, in the order of the labels, then the emergency numbers.
    """
    chosen = list(dict.fromkeys(labels))
    if "poisoning" in chosen and "overdose" in chosen:
        # Too many pills swallowed by a child: the poisoning advice covers the overdose's, and
        # the crisis line belongs to the suicide label, which reports intent when it is stated.
        chosen.remove("overdose")
    specific = [_FLAG_NOTICES[label] for label in chosen if label in _FLAG_NOTICES]
    if not specific:
        return EMERGENCY_NOTICE
    return " ".join([*specific, _EMERGENCY_NUMBERS, _DO_NOT_WAIT])

URGENT_BOTTOM_LINE = (
    "The question describes what may be an emergency: get urgent help now (see the notice above) "
    "rather than acting on indexed evidence; the sources below are background only."
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


# When nothing indexed addresses the question: what to do about it, for whoever can act on it.
NOTHING_FOUND = ("No indexed passage addresses this question; ingest guidelines, drug labels or "
                 "research on the topic (medcite ingest PATH) and ask again.")
NOTHING_FOUND_FOR_READERS = ("No source in this library addresses this question; ask your doctor "
                             "or pharmacist.")
