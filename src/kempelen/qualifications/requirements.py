"""Checking QualificationRequirements sent with CreateHIT / CreateHITType, beyond the model's constraints."""

from __future__ import annotations

from collections.abc import Sequence

from kempelen.core.errors import InvalidParameter

from . import system
from .models import QualificationType

MAX_REQUIREMENTS = 10
_VALUE_COMPARATORS = {"LessThan", "LessThanOrEqualTo", "GreaterThan", "GreaterThanOrEqualTo", "EqualTo", "NotEqualTo"}
_LOCALE_COMPARATORS = {"EqualTo", "NotEqualTo", "In", "NotIn"}


def validate_requirements(requirements: Sequence[dict] | None, environment: str) -> list[dict]:
    """Refuse requirement sets MTurk refused; return them as they will be stored and echoed back."""
    reqs = list(requirements or [])
    if len(reqs) > MAX_REQUIREMENTS:
        raise InvalidParameter(f"A HIT may have at most {MAX_REQUIREMENTS} QualificationRequirements; got {len(reqs)}.")
    custom_ids = {r["QualificationTypeId"] for r in reqs if not system.is_system(r["QualificationTypeId"])}
    active = dict(
        QualificationType.objects.filter(pk__in=custom_ids, environment=environment, deleted_at__isnull=True)
        .values_list("pk", "status")
    )
    for i, req in enumerate(reqs, start=1):
        _check_one(req, i, environment, active)
    return [dict(r) for r in reqs]


def _check_one(req: dict, i: int, environment: str, active: dict[str, str]) -> None:
    type_id = req["QualificationTypeId"]
    comparator = req["Comparator"]
    ints = req.get("IntegerValues")
    locales = req.get("LocaleValues")
    where = f"QualificationRequirement {i} ({type_id})"
    if system.is_system(type_id):
        if system.get(type_id, environment) is None and type_id not in system.RETIRED_MASTERS:
            raise InvalidParameter(f"{where}: this system qualification type does not exist in the {environment} environment.")
    elif type_id not in active:
        raise InvalidParameter(f"{where}: QualificationType {type_id} does not exist.")
    elif active[type_id] != "Active":
        raise InvalidParameter(f"{where}: the QualificationType must be in the 'Active' state to be used in a HIT.")
    if "ActionsGuarded" in req and req.get("RequiredToPreview") is not None:
        raise InvalidParameter(f"{where}: use either ActionsGuarded or the deprecated RequiredToPreview, not both.")
    if ints and locales:
        raise InvalidParameter(f"{where}: give IntegerValues or LocaleValues, not both.")
    if comparator in ("Exists", "DoesNotExist"):
        if ints or locales:
            raise InvalidParameter(f"{where}: the {comparator} comparator takes no values.")
        return
    if locales:
        if type_id != system.LOCALE:
            raise InvalidParameter(f"{where}: LocaleValues can only be used with the Worker_Locale qualification type.")
        if comparator not in _LOCALE_COMPARATORS:
            raise InvalidParameter(f"{where}: LocaleValues can only be used with EqualTo, NotEqualTo, In or NotIn.")
        if comparator in ("In", "NotIn") and len(locales) > 30:
            raise InvalidParameter(f"{where}: {comparator} takes at most 30 LocaleValues.")
        if comparator == "NotEqualTo" and len(locales) != 1:
            raise InvalidParameter(f"{where}: NotEqualTo takes exactly one LocaleValue.")
        return
    if type_id == system.LOCALE:
        raise InvalidParameter(f"{where}: the Worker_Locale qualification type is compared with LocaleValues.")
    if not ints:
        raise InvalidParameter(f"{where}: the {comparator} comparator needs IntegerValues.")
    if comparator in ("In", "NotIn"):
        if len(ints) > 15:
            raise InvalidParameter(f"{where}: {comparator} takes at most 15 IntegerValues.")
    elif comparator in _VALUE_COMPARATORS and len(ints) != 1:
        raise InvalidParameter(f"{where}: {comparator} takes exactly one IntegerValue.")


def uses_masters(requirements: Sequence[dict]) -> bool:
    return any(r["QualificationTypeId"] in (system.MASTERS_LIVE, system.MASTERS_SANDBOX) for r in requirements)
