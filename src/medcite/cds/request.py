"""Reading a CDS Hooks call for a medication order: the hook's shape, then its FHIR R4 resources.

The call's own fields (hook, hookInstance, context, prefetch) are checked by a pydantic model;
every FHIR resource in it (the ``draftOrders`` Bundle, the prefetched Patient and active
MedicationRequests) is validated by the FHIR R4 models of ``fhir.resources`` (its ``R4B``
package: FHIR 4.3, whose MedicationRequest, Medication, Patient and Bundle are R4's). A
resource of the wrong type, or one FHIR validation refuses, is a ``CdsRequestError`` naming
where it is ("context.draftOrders.entry[1].resource.intent: ..."). Text in the resources is
data: only the names and codes of the medications are read, never shown back.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from medcite.errors import CdsRequestError, MissingDependencyError, PrefetchMissingError

# What a draftOrders Bundle may hold for order-select and order-sign; only medication orders
# are checked by medcite, the others are left to other services.
ORDER_TYPES = ("MedicationRequest", "ServiceRequest", "DeviceRequest", "NutritionOrder",
               "VisionPrescription")
# A prefetched search Bundle: the matches, the Medications they reference, the server's notes.
SEARCH_TYPES = ("MedicationRequest", "Medication", "OperationOutcome")
# A medication that is no longer taken is no partner for an interaction.
ENDED_STATUSES = frozenset({"completed", "stopped", "cancelled", "entered-in-error"})
MAX_PROBLEMS = 3


class HookCall(BaseModel):
    """The fields of a CDS Hooks 2.0 request; an unknown one (a misspelt "prefech") is refused."""

    model_config = ConfigDict(extra="forbid")

    hook: str = Field(min_length=1, max_length=100)
    hookInstance: str = Field(min_length=1, max_length=200)
    fhirServer: str | None = Field(None, max_length=2000)
    fhirAuthorization: dict[str, Any] | None = None
    context: dict[str, Any]
    prefetch: dict[str, Any] | None = None
    extension: dict[str, Any] | None = None


class OrderContext(BaseModel):
    """The context of order-select and order-sign (other context fields are allowed)."""

    model_config = ConfigDict(extra="allow")

    userId: str | None = Field(None, max_length=200)
    patientId: str = Field(min_length=1, max_length=64)
    encounterId: str | None = Field(None, max_length=200)
    draftOrders: dict[str, Any]
    selections: list[str] | None = Field(None, max_length=200)


@dataclass(frozen=True)
class OrderedMedication:
    """What a MedicationRequest says its medication is: names (text, coding displays, a
    referenced Medication's) and codes, as (system, code)."""

    reference: str  # "MedicationRequest/<id>", or where it stands when it has no id
    names: tuple[str, ...]
    codes: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class MedicationOrders:
    """A medication-order hook as the cards need it."""

    hook: str
    patient_id: str
    drafts: list[OrderedMedication]  # every draft medication order
    checked: list[OrderedMedication]  # order-select: the selected ones; order-sign: all
    active: list[OrderedMedication]  # the patient's active medications (prefetch)


def _fhir():
    try:
        from fhir.resources import R4B
    except ImportError:
        raise MissingDependencyError("fhir.resources (the FHIR R4 models CDS Hooks requests "
                                     "are validated with)", "pip install 'medcite[cds]'") from None
    return R4B


def fhir_available() -> bool:
    try:
        _fhir()
    except MissingDependencyError:
        return False
    return True


def read_call(body: Any, hook: str) -> MedicationOrders:
    """The medication orders of a parsed JSON body sent to the service for ``hook``."""
    if not isinstance(body, dict):
        raise CdsRequestError(f"the request body is a JSON {_json_kind(body)}; a CDS Hooks "
                              "request is a JSON object")
    call = _validated(HookCall, body, "")
    if call.hook != hook:
        raise CdsRequestError(f"hook is {_shown(call.hook)}, but this service is for {hook!r}")
    context = _validated(OrderContext, call.context, "context.")
    if hook == "order-select" and context.selections is None:
        raise CdsRequestError("context.selections is missing: order-select names the selected "
                              "orders (e.g. \"MedicationRequest/123\")")
    drafts, by_reference = _draft_orders(context.draftOrders, context.patientId)
    if context.selections is not None:
        unknown = [s for s in context.selections if s not in by_reference
                   and not s.startswith(tuple(t + "/" for t in ORDER_TYPES if t != "MedicationRequest"))]
        if unknown:
            raise CdsRequestError(f"context.selections names {_shown(unknown[0])}, which is not "
                                  "a MedicationRequest in context.draftOrders")
        checked = [by_reference[s] for s in context.selections if s in by_reference]
    else:
        checked = drafts
    return MedicationOrders(hook=hook, patient_id=context.patientId, drafts=drafts,
                            checked=checked, active=_active(call.prefetch, context.patientId))


# -- FHIR resources ---------------------------------------------------------------------------


def _draft_orders(raw: dict[str, Any], patient_id: str
                  ) -> tuple[list[OrderedMedication], dict[str, OrderedMedication]]:
    # Medications the orders reference may come in the same Bundle.
    bundle = _bundle(raw, "context.draftOrders", (*ORDER_TYPES, "Medication"))
    medications = _medications_in(bundle)
    drafts: list[OrderedMedication] = []
    by_reference: dict[str, OrderedMedication] = {}
    for index, entry in enumerate(bundle.entry or []):
        resource = entry.resource
        if resource is None or resource.get_resource_type() != "MedicationRequest":
            continue
        where = f"context.draftOrders.entry[{index}].resource"
        _check_subject(resource, patient_id, where)
        ordered = _ordered(resource, where, medications)
        drafts.append(ordered)
        by_reference[ordered.reference] = ordered
    return drafts, by_reference


def _active(prefetch: dict[str, Any] | None, patient_id: str) -> list[OrderedMedication]:
    prefetch = prefetch or {}
    patient = prefetch.get("patient")
    if patient is not None:
        found = _resource(patient, "prefetch.patient", ("Patient",))
        if found.id is not None and found.id != patient_id:
            raise CdsRequestError(f"prefetch.patient is Patient/{found.id}, but "
                                  f"context.patientId is {_shown(patient_id)}")
    raw = prefetch.get("medications")
    if raw is None:
        raise PrefetchMissingError(
            "prefetch.medications is missing: send the patient's active MedicationRequests as "
            "the prefetch template MedicationRequest?patient={{context.patientId}}&status=active "
            "asks (medcite queries no FHIR server)")
    bundle = _bundle(raw, "prefetch.medications", SEARCH_TYPES)
    medications = _medications_in(bundle)
    active = []
    for index, entry in enumerate(bundle.entry or []):
        resource = entry.resource
        if resource is None or resource.get_resource_type() != "MedicationRequest":
            continue
        where = f"prefetch.medications.entry[{index}].resource"
        _check_subject(resource, patient_id, where)
        if resource.status not in ENDED_STATUSES:
            active.append(_ordered(resource, where, medications))
    return active


def _bundle(raw: Any, where: str, allowed: Sequence[str]):
    """A Bundle whose entries are all of ``allowed`` types, validated as FHIR R4."""
    if not isinstance(raw, dict):
        raise CdsRequestError(f"{where} is a JSON {_json_kind(raw)}; a FHIR Bundle is expected")
    kind = raw.get("resourceType")
    if kind != "Bundle":
        raise CdsRequestError(f"{where} is {_kind_phrase(kind)}; a FHIR Bundle is expected")
    entries = raw.get("entry")
    if isinstance(entries, list):
        # Checked before FHIR validation: its models fail on an unknown resourceType.
        for index, entry in enumerate(entries):
            resource = entry.get("resource") if isinstance(entry, dict) else None
            if isinstance(resource, dict) and resource.get("resourceType") not in allowed:
                raise CdsRequestError(
                    f"{where}.entry[{index}].resource is {_kind_phrase(resource.get('resourceType'))}; "
                    f"{_alternatives(allowed)} expected")
    return _resource(raw, where, ("Bundle",))


def _resource(raw: Any, where: str, allowed: Sequence[str]):
    if not isinstance(raw, dict):
        raise CdsRequestError(f"{where} is a JSON {_json_kind(raw)}; a FHIR "
                              f"{_alternatives(allowed)} resource is expected")
    kind = raw.get("resourceType")
    if kind not in allowed:
        raise CdsRequestError(f"{where} is {_kind_phrase(kind)}; {_alternatives(allowed)} expected")
    model = _fhir().get_fhir_model_class(kind)
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise CdsRequestError(f"{where} is not a valid FHIR R4 {kind}: "
                              + _problems(exc, where)) from None
    except (KeyError, TypeError, ValueError):  # the models' own failures on odd input
        raise CdsRequestError(f"{where} is not a valid FHIR R4 {kind}") from None


def _medications_in(bundle) -> dict[str, Any]:
    """The Medication resources of a Bundle, by "Medication/<id>"."""
    return {f"Medication/{e.resource.id}": e.resource for e in bundle.entry or []
            if e.resource is not None and e.resource.get_resource_type() == "Medication"
            and e.resource.id}


def _check_subject(request, patient_id: str, where: str) -> None:
    reference = (request.subject.reference or "") if request.subject else ""
    if reference.startswith("Patient/") or "/Patient/" in reference:
        subject = reference.rsplit("Patient/", 1)[1].split("/_history/")[0]
        if subject != patient_id:
            raise CdsRequestError(f"{where}.subject is {_shown('Patient/' + subject)}, but "
                                  f"context.patientId is {_shown(patient_id)}")


def _ordered(request, where: str, medications: dict[str, Any]) -> OrderedMedication:
    names: list[str] = []
    codes: list[tuple[str, str]] = []

    def add(concept) -> None:
        if concept is None:
            return
        if concept.text:
            names.append(concept.text)
        for coding in concept.coding or []:
            if coding.display:
                names.append(coding.display)
            if coding.code:
                codes.append((coding.system or "", coding.code))

    add(request.medicationCodeableConcept)
    reference = request.medicationReference
    if reference is not None:
        if reference.display:
            names.append(reference.display)
        target = reference.reference or ""
        contained = {f"#{r.id}": r for r in request.contained or []
                     if r.get_resource_type() == "Medication" and r.id}
        medication = contained.get(target) or medications.get(target)
        if medication is not None:
            add(medication.code)
    own = f"MedicationRequest/{request.id}" if request.id else where
    return OrderedMedication(reference=own, names=tuple(names), codes=tuple(codes))


# -- messages ---------------------------------------------------------------------------------


def _validated(model: type[BaseModel], raw: Any, prefix: str):
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise CdsRequestError("the request is not a valid CDS Hooks call: "
                              + _problems(exc, prefix.rstrip("."))) from None


def _problems(exc: ValidationError, where: str) -> str:
    problems = []
    for error in exc.errors()[:MAX_PROBLEMS]:
        path = where
        for part in error.get("loc", ()):
            if isinstance(part, int):
                path += f"[{part}]"
            else:
                name = "resourceType" if part == "resource_type" else _plain(part)
                path = f"{path}.{name}" if path else name
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        if error.get("type") == "missing" or "is required" in message:
            message = "required, but missing"
        problems.append(f"{path}: {message}" if path else message)
    more = len(exc.errors()) - MAX_PROBLEMS
    return "; ".join(problems) + (f" (and {more} more)" if more > 0 else "")


_PLAIN = re.compile(r"^[A-Za-z0-9._/:-]{1,64}$")


def _shown(value: Any) -> str:
    """A value from the request, quoted for an error message: short and printable."""
    return repr(_plain(value))


def _plain(value: Any) -> str:
    text = str(value)
    return text if _PLAIN.match(text) else text[:40].encode("ascii", "backslashreplace").decode() + (
        "…" if len(text) > 40 else "")


def _kind_phrase(kind: Any) -> str:
    if kind is None:
        return "a JSON object with no resourceType"
    return f"a {_plain(kind)}" if isinstance(kind, str) else "a resource with a non-text resourceType"


def _alternatives(types: Sequence[str]) -> str:
    return types[0] if len(types) == 1 else ", ".join(types[:-1]) + " or " + types[-1]


def _json_kind(value: Any) -> str:
    return {list: "array", str: "string", bool: "boolean", int: "number", float: "number",
            type(None): "null"}.get(type(value), "value")
