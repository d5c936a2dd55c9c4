"""A worker's qualification values (granted and system) and the evaluation of qualification requirements."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet

from kempelen.accounts.models import Requester, Worker
from kempelen.core import clock
from kempelen.core.errors import (
    InvalidQualificationState,
    QualificationDoesNotExist,
    QualificationTypeDoesNotExist,
)

from . import system
from .models import Qualification, QualificationType

ACTIONS = ("Discover", "Preview", "Accept")
#: Which requirements guard which action: Discover < Preview < Accept.
_GUARDS = {
    "Discover": {"DiscoverPreviewAndAccept"},
    "Preview": {"DiscoverPreviewAndAccept", "PreviewAndAccept"},
    "Accept": {"DiscoverPreviewAndAccept", "PreviewAndAccept", "Accept"},
}


@dataclass(frozen=True)
class Value:
    integer: int | None = None
    country: str = ""
    subdivision: str = ""


@dataclass(frozen=True)
class WorkerStats:
    accepted: int
    submitted: int
    approved: int
    rejected: int
    returned: int
    abandoned: int

    def percent(self, part: int, whole: int) -> int:
        return 0 if whole == 0 else round(100 * part / whole)


def worker_stats(worker: Worker, environment: str) -> WorkerStats:
    """Counts from the worker's real history. An elapsed auto-approval counts as approved even before the
    job runner has applied it."""
    now = clock.now()
    due = Q(status="Submitted", auto_approval_time__lte=now)
    rows = (
        worker.assignments.filter(environment=environment)
        .values("status")
        .annotate(n=Count("id"), due=Count("id", filter=due))
    )
    by = {r["status"]: (r["n"], r["due"]) for r in rows}
    n = {status: by.get(status, (0, 0))[0] for status in ("Accepted", "Submitted", "Approved", "Rejected", "Returned", "Abandoned")}
    due_count = by.get("Submitted", (0, 0))[1]
    submitted = n["Submitted"] + n["Approved"] + n["Rejected"]
    return WorkerStats(
        accepted=sum(n.values()),
        submitted=submitted,
        approved=n["Approved"] + due_count,
        rejected=n["Rejected"],
        returned=n["Returned"],
        abandoned=n["Abandoned"],
    )


def system_value(type_id: str, worker: Worker, environment: str, stats: WorkerStats | None) -> Value | None:
    if type_id in (system.MASTERS_LIVE, system.MASTERS_SANDBOX):
        return Value(integer=1) if type_id == system.masters_id(environment) and worker.is_master(environment) else None
    if type_id in system.RETIRED_MASTERS:
        return None
    if type_id == system.LOCALE:
        return Value(country=worker.country, subdivision=worker.subdivision) if worker.country else None
    if type_id == system.ADULT:
        return Value(integer=1 if worker.is_adult else 0)
    s = stats or worker_stats(worker, environment)
    if type_id == system.NUMBER_HITS_APPROVED:
        return Value(integer=s.approved)
    if type_id == system.PERCENT_APPROVED:
        if s.submitted < system.PERCENT_APPROVED_MIN_SUBMITTED:
            return Value(integer=100)
        return Value(integer=s.percent(s.approved, s.submitted))
    if type_id == system.PERCENT_SUBMITTED:
        return Value(integer=s.percent(s.submitted, s.accepted))
    if type_id == system.PERCENT_ABANDONED:
        return Value(integer=s.percent(s.abandoned, s.accepted))
    if type_id == system.PERCENT_RETURNED:
        return Value(integer=s.percent(s.returned, s.accepted))
    if type_id == system.PERCENT_REJECTED:
        return Value(integer=s.percent(s.rejected, s.submitted))
    return None


def worker_values(worker: Worker, environment: str, type_ids: Iterable[str]) -> dict[str, Value]:
    """The worker's value for each type id it holds (revoked grants count as absent)."""
    ids = set(type_ids)
    out: dict[str, Value] = {}
    custom = [t for t in ids if not system.is_system(t)]
    if custom:
        for q in Qualification.objects.filter(
            worker=worker, environment=environment, status="Granted", qualification_type_id__in=custom
        ).only("qualification_type_id", "integer_value", "locale_country", "locale_subdivision"):
            out[q.qualification_type_id] = Value(q.integer_value, q.locale_country, q.locale_subdivision)
    stats: WorkerStats | None = None
    for t in ids:
        if not system.is_system(t):
            continue
        if stats is None and t not in (system.LOCALE, system.ADULT, system.MASTERS_LIVE, system.MASTERS_SANDBOX):
            stats = worker_stats(worker, environment)
        value = system_value(t, worker, environment, stats)
        if value is not None:
            out[t] = value
    return out


def _locale_matches(value: Value, wanted: dict) -> bool:
    if value.country != wanted.get("Country"):
        return False
    sub = wanted.get("Subdivision")
    return not sub or value.subdivision == sub


def requirement_met(req: dict, value: Value | None) -> bool:
    """Whether one requirement holds. A worker lacking the qualification fails every value comparison
    (NotEqualTo and NotIn included), passes only DoesNotExist."""
    comparator = req["Comparator"]
    if comparator == "Exists":
        return value is not None
    if comparator == "DoesNotExist":
        return value is None
    if value is None:
        return False
    locales = req.get("LocaleValues") or []
    if locales:
        hit = any(_locale_matches(value, loc) for loc in locales)
        # EqualTo with several locales (as Dallinger sends) is read as In.
        return hit if comparator in ("EqualTo", "In") else not hit
    ints = req.get("IntegerValues") or []
    if value.integer is None:
        return False
    v = value.integer
    if comparator == "In":
        return v in ints
    if comparator == "NotIn":
        return v not in ints
    if not ints:
        return False
    target = ints[0]
    return {
        "LessThan": v < target,
        "LessThanOrEqualTo": v <= target,
        "GreaterThan": v > target,
        "GreaterThanOrEqualTo": v >= target,
        "EqualTo": v == target,
        "NotEqualTo": v != target,
    }[comparator]


def guards(req: dict) -> str:
    if req.get("ActionsGuarded"):
        return str(req["ActionsGuarded"])
    return "PreviewAndAccept" if req.get("RequiredToPreview") else "Accept"


def unmet_requirements(
    requirements: Sequence[dict], worker: Worker, environment: str, action: str = "Accept"
) -> list[dict]:
    """The requirements guarding ``action`` that the worker does not meet."""
    relevant = [r for r in requirements if guards(r) in _GUARDS[action]]
    if not relevant:
        return []
    values = worker_values(worker, environment, {r["QualificationTypeId"] for r in relevant})
    return [r for r in relevant if not requirement_met(r, values.get(r["QualificationTypeId"]))]


# --- qualification types as requesters see them -------------------------------------------------------------


def owned_type(requester: Requester, environment: str, type_id: str, *, lock: bool = False) -> QualificationType:
    """The requester's own non-deleted type in ``environment``. Another requester's type, one of the other
    environment, a deleted one and an unknown id all give the same ``QualificationTypeDoesNotExist``."""
    qs = QualificationType.objects.filter(
        pk=type_id, requester=requester, environment=environment, deleted_at__isnull=True
    )
    if lock:
        qs = qs.select_for_update()
    found = qs.first()
    if found is None:
        raise QualificationTypeDoesNotExist(type_id)
    return found


def granted_qualification(requester: Requester, environment: str, type_id: str, worker_id: str) -> Qualification:
    """GetQualificationScore: the worker's grant of the requester's own type, which must be Granted.

    System types are refused as MTurk refused them (``QualificationDoesNotExist``); a revoked grant gives an
    error whose message says the operation needs the status Granted (clients match on that text).
    """
    if system.is_system(type_id):
        raise QualificationDoesNotExist()
    qt = owned_type(requester, environment, type_id)
    grant = Qualification.objects.select_related("worker").filter(qualification_type=qt, worker__worker_id=worker_id).first()
    if grant is None:
        raise QualificationDoesNotExist()
    if grant.status != "Granted":
        raise InvalidQualificationState(
            f"This Qualification is currently in the state '{grant.status}'. "
            "This operation can be called with a status of: Granted"
        )
    return grant


def visible_type(environment: str, type_id: str) -> QualificationType | None:
    """A non-deleted custom type of ``environment``, whoever owns it (MTurk let anyone read a type)."""
    return QualificationType.objects.filter(pk=type_id, environment=environment, deleted_at__isnull=True).first()


def _terms(query: str | None) -> list[str]:
    return (query or "").split()


def type_search(
    requester: Requester,
    environment: str,
    *,
    must_be_requestable: bool,
    must_be_owned: bool,
    query: str | None = None,
) -> tuple[list[system.SystemType], QuerySet[QualificationType]]:
    """What ListQualificationTypes finds: matching system types (only when requestability is not required and
    not only the caller's own are wanted), and the matching custom types: the caller's own non-deleted ones
    (Active or Inactive) plus, unless ``must_be_owned``, other requesters' Active ones. Deleted types never.

    ``query`` is split into words; a type matches when every word occurs, case-insensitively, in its name,
    description or keywords.
    """
    terms = _terms(query)
    mine = Q(requester=requester)
    qs = QualificationType.objects.filter(environment=environment, deleted_at__isnull=True)
    qs = qs.filter(mine) if must_be_owned else qs.filter(mine | Q(status="Active"))
    for term in terms:
        qs = qs.filter(Q(name__icontains=term) | Q(description__icontains=term) | Q(keywords__icontains=term))
    found_system: list[system.SystemType] = []
    if not must_be_requestable and not must_be_owned:
        for t in system.for_environment(environment):
            wire = t.as_wire()
            text = f"{wire['Name']}\n{wire['Description']}\n{wire['Keywords']}".casefold()
            if all(term.casefold() in text for term in terms):
                found_system.append(t)
    return found_system, qs
