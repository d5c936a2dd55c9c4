"""Reads of marketplace state shared by the API, the pages and the job runner."""

from __future__ import annotations

from kempelen.qualifications import system
from kempelen.qualifications.models import QualificationType

_COMPARATOR_WORDS = {
    "LessThan": "less than",
    "LessThanOrEqualTo": "at most",
    "GreaterThan": "greater than",
    "GreaterThanOrEqualTo": "at least",
    "EqualTo": "equal to",
    "NotEqualTo": "not equal to",
    "In": "one of",
    "NotIn": "not one of",
}


def qualification_name(type_id: str, environment: str) -> str:
    st = system.get(type_id, environment)
    if st is not None:
        return st.name
    name = QualificationType.objects.filter(pk=type_id).values_list("name", flat=True).first()
    return name or type_id


def describe_requirement(req: dict, environment: str) -> str:
    """A qualification requirement in words a worker understands: "Worker_Locale is one of US, CA"."""
    name = qualification_name(req["QualificationTypeId"], environment)
    comparator = req["Comparator"]
    if comparator == "Exists":
        return f"{name} (you must hold it)"
    if comparator == "DoesNotExist":
        return f"{name} (you must not hold it)"
    values = req.get("IntegerValues") or [
        f"{loc['Country']}-{loc['Subdivision']}" if loc.get("Subdivision") else loc["Country"]
        for loc in req.get("LocaleValues") or []
    ]
    return f"{name} {_COMPARATOR_WORDS.get(comparator, comparator)} {', '.join(str(v) for v in values)}"
