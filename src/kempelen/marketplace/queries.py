"""Reads of marketplace state shared by the API, the pages and the job runner."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Count, Min, Q, Sum

from kempelen.accounts.queries import requester_by_id
from kempelen.core import clock, lookups
from kempelen.core.errors import NoAssignmentAvailable
from kempelen.qualifications import system
from kempelen.qualifications.models import QualificationType
from kempelen.qualifications.queries import unmet_requirements

from .models import HIT, HITType, WorkerBlock

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


# --- What a worker may discover and preview -------------------------------------------------------------





SORTS = {
    "newest": ("-newest", "hit_type_id"),
    "reward": ("-hit_type__reward_cents", "-newest", "hit_type_id"),
    "available": ("-available_total", "-newest", "hit_type_id"),
}


@dataclass(frozen=True)
class HITGroup:
    hit_type: HITType
    hits_available: int
    assignments_available: int

    @property
    def group_id(self) -> str:
        return self.hit_type.group_id


_aggregates: dict[tuple, tuple[float, list[dict]]] = {}
_aggregates_lock = threading.Lock()
_AGGREGATES_MAX = 16  # each copy holds one row per open group


def _recent_aggregate(key: tuple, grouped: Any) -> list[dict]:
    """The group aggregate for ``key``, from this process's copy if it is younger than
    ``KEMPELEN_GROUP_LIST_MAX_AGE`` seconds (0: always fresh).

    The list of groups is a discovery page: it may be a second or two old (MTurk's was too), while the group page,
    accepting and the task pages always read the HITs themselves. Many workers loading the list at once then
    cost one aggregate over the open HITs per process and interval instead of one each.
    """
    max_age = float(str(settings.KEMPELEN["GROUP_LIST_MAX_AGE"]))
    now = clock.now().timestamp()
    if max_age > 0:
        cached = _aggregates.get(key)
        if cached is not None and 0 <= now - cached[0] < max_age:
            return cached[1]
    rows = list(grouped)
    if max_age > 0:
        with _aggregates_lock:
            if len(_aggregates) >= _AGGREGATES_MAX:
                _aggregates.clear()
            _aggregates[key] = (now, rows)
    return rows


def forget_group_aggregates() -> None:
    with _aggregates_lock:
        _aggregates.clear()


def open_hits(environment: str):  # type: ignore[no-untyped-def]
    """HITs a worker could accept now (before qualifications and blocks)."""
    return HIT.objects.filter(
        environment=environment, expiration__gt=clock.now(), available__gt=0, disposed_at__isnull=True, published=True
    )


def discoverable_groups(
    worker: object,
    environment: str,
    *,
    search: str = "",
    min_reward_cents: int = 0,
    qualified_only: bool = False,
    sort: str = "newest",
    offset: int = 0,
    limit: int = 20,
) -> list[HITGroup]:
    """HIT groups (one requester's HIT type) with open HITs that the worker may discover.

    Groups guarded from discovery by a requirement the worker fails, and groups of requesters who blocked
    the worker, never appear. ``qualified_only`` also hides groups whose Accept requirements they fail.
    """
    rows = open_hits(environment)
    if search:
        rows = rows.filter(
            Q(hit_type__title__icontains=search) | Q(hit_type__description__icontains=search)
            | Q(hit_type__keywords__icontains=search)
        )
    if min_reward_cents:
        rows = rows.filter(hit_type__reward_cents__gte=min_reward_cents)
    # Read first: nearly every worker is blocked by nobody, and then the aggregate needs no condition on it.
    blocked = list(WorkerBlock.objects.filter(environment=environment, worker_id=getattr(worker, "worker_id", ""))
                   .values_list("requester_id", flat=True))
    if blocked:
        rows = rows.exclude(requester_id__in=blocked)
    grouped = (
        rows.values("hit_type_id")
        # COUNT(*), not COUNT(id): with it the aggregate reads the hit_group_summary index alone.
        .annotate(hits=Count("*"), available_total=Sum("available"), newest=Min("created_at"))
        .order_by(*SORTS.get(sort, SORTS["newest"]))
    )
    key = (environment, search, min_reward_cents, sort, tuple(sorted(blocked)))
    found: list[HITGroup] = []
    skipped = 0
    action = "Accept" if qualified_only else "Discover"
    # The aggregate runs once (or comes from the process's recent copy); its rows are checked in chunks (one
    # HIT-type read per chunk) until the page is full, since groups the worker may not discover are skipped.
    chunk: list[dict] = []
    rows_iter = iter(_recent_aggregate(key, grouped))
    exhausted = False
    while len(found) < limit and not exhausted:
        chunk.clear()
        for row in rows_iter:
            chunk.append(row)
            if len(chunk) >= max(limit * 2, 50):
                break
        else:
            exhausted = True
        if not chunk:
            break
        types = HITType.objects.in_bulk([r["hit_type_id"] for r in chunk])
        for row in chunk:
            hit_type = types[row["hit_type_id"]]
            if unmet_requirements(hit_type.qualification_requirements, worker, environment, action):  # type: ignore[arg-type]
                continue
            if skipped < offset:
                skipped += 1
                continue
            found.append(HITGroup(hit_type, row["hits"], row["available_total"]))
            if len(found) >= limit:
                break
    return found


def hit_for_preview(worker: object, environment: str, group_id: str) -> HIT:
    """A HIT of the group (HITGroupId or HITTypeId) for the worker to preview, if the worker may preview it."""
    from .actions import check_may
    from .actions.work import group_hit_type

    hit_type = group_hit_type(group_id, environment)
    if hit_type is None:
        raise NoAssignmentAvailable("There are no HITs in this group.")
    check_may(worker, hit_type, "Preview")  # type: ignore[arg-type]
    # The group's oldest open HIT, by the hit_group_oldest index (conditions written out for the planner).
    published = "published" if connection.vendor == "postgresql" else "published = 1"
    hit = lookups.one(HIT, "hit_type_id = %s AND expiration > %s AND available > 0 AND disposed_at IS NULL AND "
                      f"{published} ORDER BY created_at, id LIMIT 1", [hit_type.pk, lookups.db_datetime(clock.now())])
    if hit is None:
        raise NoAssignmentAvailable("There are no more HITs available in this group.")
    hit.hit_type = hit_type
    hit.requester = requester_by_id(hit.requester_id)
    return hit


_described: dict[str, HITType] = {}
_DESCRIBED_MAX = 20_000


def described_hit_type(hit_type_id: str) -> HITType:
    """A HIT type for *describing* HITs (GetHIT, listings), kept per process.

    Everything a HIT type describes (title, reward, durations, requirements…) is fixed when it is created, so
    a process may keep it. Its notification settings do change: nothing that emits events may use this.
    """
    hit_type = _described.get(hit_type_id)
    if hit_type is None:
        hit_type = lookups.one(HITType, "id = %s", [hit_type_id])
        if hit_type is None:
            raise LookupError(f"HIT type {hit_type_id} does not exist")
        if len(_described) >= _DESCRIBED_MAX:
            _described.clear()
        _described[hit_type_id] = hit_type
    return hit_type
