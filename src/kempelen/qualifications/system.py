"""MTurk's system qualification types, whose values every worker has and Kempelen computes from history."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

MASTERS_LIVE = "2F1QJWKUDD8XADTFD2Q0G6UTO95ALH"
MASTERS_SANDBOX = "2ARFPLSP75KLA8M8DH1HTEQVJT3SY6"
NUMBER_HITS_APPROVED = "00000000000000000040"
LOCALE = "00000000000000000071"
ADULT = "00000000000000000060"
PERCENT_APPROVED = "000000000000000000L0"
PERCENT_SUBMITTED = "00000000000000000000"
PERCENT_ABANDONED = "00000000000000000070"
PERCENT_RETURNED = "000000000000000000E0"
PERCENT_REJECTED = "000000000000000000S0"

#: Below this many submitted assignments, the approval-rate qualification reads 100 (as MTurk's did).
PERCENT_APPROVED_MIN_SUBMITTED = 100

_EPOCH = dt.datetime(2005, 11, 2, tzinfo=dt.UTC)


@dataclass(frozen=True)
class SystemType:
    id: str
    name: str
    description: str
    environments: tuple[str, ...] = ("live", "sandbox")
    locale: bool = False

    def as_wire(self) -> dict:
        return {
            "QualificationTypeId": self.id,
            "CreationTime": _EPOCH,
            "Name": self.name,
            "Description": self.description,
            "Keywords": "system",
            "QualificationTypeStatus": "Active",
            "IsRequestable": False,
            "AutoGranted": False,
        }


SYSTEM_TYPES: tuple[SystemType, ...] = (
    SystemType(MASTERS_LIVE, "Masters", "Workers who have shown high accuracy across many HITs.", ("live",)),
    SystemType(MASTERS_SANDBOX, "Masters", "Workers who have shown high accuracy across many HITs.", ("sandbox",)),
    SystemType(NUMBER_HITS_APPROVED, "Worker_NumberHITsApproved", "The number of the worker's approved assignments."),
    SystemType(LOCALE, "Worker_Locale", "The country (and subdivision) of the worker's address.", locale=True),
    SystemType(ADULT, "Worker_Adult", "1 if the worker agreed to see potentially offensive content, else 0."),
    SystemType(PERCENT_APPROVED, "Worker_PercentAssignmentsApproved", "Approved / submitted assignments, percent."),
    SystemType(PERCENT_SUBMITTED, "Worker_PercentAssignmentsSubmitted", "Submitted / accepted assignments, percent."),
    SystemType(PERCENT_ABANDONED, "Worker_PercentAssignmentsAbandoned", "Abandoned / accepted assignments, percent."),
    SystemType(PERCENT_RETURNED, "Worker_PercentAssignmentsReturned", "Returned / accepted assignments, percent."),
    SystemType(PERCENT_REJECTED, "Worker_PercentAssignmentsRejected", "Rejected / submitted assignments, percent."),
)
_BY_ID = {t.id: t for t in SYSTEM_TYPES}
# The retired category Masters types still resolve, so old requirement sets are understood (nobody holds them).
RETIRED_MASTERS = {
    "2NDP2L92HECWY8NS8H3CK0CP5L9GHO", "21VZU98JHSTLZ5BPP4A9NOBJEK3DPG",
    "2F1KVCNHMVHV8E9PBUB2A4J79LU20F", "2TGBB6BFMFFOM08IBMAFGGESC1UWJX",
}


def get(type_id: str, environment: str) -> SystemType | None:
    t = _BY_ID.get(type_id)
    if t is not None and environment in t.environments:
        return t
    return None


def is_system(type_id: str) -> bool:
    return type_id in _BY_ID or type_id in RETIRED_MASTERS


def masters_id(environment: str) -> str:
    return MASTERS_SANDBOX if environment == "sandbox" else MASTERS_LIVE


def for_environment(environment: str) -> list[SystemType]:
    return [t for t in SYSTEM_TYPES if environment in t.environments]
