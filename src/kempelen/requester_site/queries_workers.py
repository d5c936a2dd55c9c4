"""Reads for the workers pages: which workers a requester may see, their figures on its work, what they hold.

A requester sees a worker (list, page, worker file) when, in the environment it works in, the worker submitted
work for it, holds or held one of its (non-deleted) qualification types, or is blocked by it. The last two
mirror the API, which lets a requester grant a qualification to, or block, any worker by id.

Figures are computed in SQL for all the workers at once: one aggregate over the requester's own assignments
(grouped by worker), and one window query for a page's median times; never worker by worker. An assignment
whose auto-approval time has passed counts as approved, even before the job runner has approved it.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import (
    Case,
    Count,
    DateTimeField,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    FloatField,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.functions import Cast, RowNumber

from kempelen.accounts.models import Requester, Worker
from kempelen.marketplace.models import (
    VISIBLE_STATUSES,
    Assignment,
    AssignmentStatus,
    BonusPayment,
    WorkerBlock,
)
from kempelen.qualifications.models import Qualification, QualificationType

#: The list's sort keys (``?sort=``; a leading ``-`` reverses) and the columns they order by.
SORTS: dict[str, str] = {
    "worker": "code",
    "submitted": "submitted",
    "approved": "approved",
    "rejected": "rejected",
    "pending": "pending",
    "rate": "approval_rate",
    "last": "last_submitted",
}
DEFAULT_SORT = "-last"


def own_types(requester: Requester, environment: str) -> QuerySet[QualificationType]:
    """The requester's non-deleted qualification types in ``environment`` (Active and Inactive)."""
    return QualificationType.objects.filter(requester=requester, environment=environment, deleted_at__isnull=True)


def _own_grants(requester: Requester, environment: str) -> QuerySet[Qualification]:
    return Qualification.objects.filter(
        environment=environment, qualification_type__requester=requester,
        qualification_type__environment=environment, qualification_type__deleted_at__isnull=True,
    )


def known_workers(requester: Requester, environment: str) -> QuerySet[Worker]:
    """Workers the requester may see in ``environment`` (see the module docstring)."""
    worked = Assignment.objects.filter(
        requester=requester, environment=environment, status__in=VISIBLE_STATUSES
    ).values("worker_id")
    granted = _own_grants(requester, environment).values("worker_id")
    blocked = WorkerBlock.objects.filter(requester=requester, environment=environment).values("worker_id")
    return Worker.objects.filter(Q(pk__in=worked) | Q(pk__in=granted) | Q(worker_id__in=blocked))


def known_worker(requester: Requester, environment: str, worker_id: str) -> QuerySet[Worker]:
    """The one worker with this id, if the requester may see it (the same rule as :func:`known_workers`,
    checked for this worker alone)."""
    worked = Assignment.objects.filter(
        worker=OuterRef("pk"), requester=requester, environment=environment, status__in=VISIBLE_STATUSES
    )
    granted = _own_grants(requester, environment).filter(worker=OuterRef("pk"))
    blocked = WorkerBlock.objects.filter(requester=requester, environment=environment, worker_id=OuterRef("worker_id"))
    return Worker.objects.filter(worker_id=worker_id).filter(Exists(worked) | Exists(granted) | Exists(blocked))


def _approved(now: dt.datetime) -> Q:
    return Q(status=AssignmentStatus.APPROVED) | Q(status=AssignmentStatus.SUBMITTED, auto_approval_time__lte=now)


@dataclass(frozen=True)
class Figures:
    """A worker's figures on the requester's work (see :func:`figure_rows`)."""

    worker_pk: int
    worker_id: str
    submitted: int
    approved: int
    rejected: int
    reviewed: int
    pending: int
    approval_rate: float | None  # approved out of reviewed, in percent; None when nothing was reviewed
    last_submitted: dt.datetime | None
    #: Days → (approved, reviewed) over the assignments submitted in the last that many days.
    windows: dict[int, tuple[int, int]]

    @classmethod
    def from_row(cls, row: dict[str, Any], windows: Iterable[int] = ()) -> Figures:
        return cls(
            row["worker_id"], row["code"], row["submitted"], row["approved"], row["rejected"], row["reviewed"],
            row["pending"], row["approval_rate"], row["last_submitted"],
            {days: (row[f"approved_{days}"], row[f"reviewed_{days}"]) for days in windows},
        )

    @classmethod
    def nothing(cls, worker: Worker) -> Figures:
        return cls(worker.pk, worker.worker_id, 0, 0, 0, 0, 0, None, None, {})


def _columns(windows: Iterable[int]) -> list[str]:
    return ["worker_id", "code", "submitted", "approved", "rejected", "reviewed", "pending", "approval_rate",
            "last_submitted", *(f"{kind}_{days}" for days in windows for kind in ("approved", "reviewed"))]


def _aggregated(assignments: QuerySet[Assignment], now: dt.datetime, windows: Iterable[int]) -> QuerySet[Any]:
    """One row per worker of these (visible) assignments, with the figures' columns."""
    windows = list(windows)
    rejected = Q(status=AssignmentStatus.REJECTED)
    per_window: dict[str, Any] = {}
    for days in windows:
        recent = Q(submit_time__gte=now - dt.timedelta(days=days))
        per_window[f"approved_{days}"] = Count("id", filter=recent & _approved(now))
        per_window[f"reviewed_{days}"] = Count("id", filter=recent & (_approved(now) | rejected))
    return (
        assignments.values("worker_id")
        .annotate(code=Max("worker__worker_id"), submitted=Count("id"), approved=Count("id", filter=_approved(now)),
                  rejected=Count("id", filter=rejected), last_submitted=Max("submit_time"), **per_window)
        .annotate(reviewed=F("approved") + F("rejected"), pending=F("submitted") - F("approved") - F("rejected"))
        .annotate(approval_rate=Case(
            When(reviewed__gt=0, then=Cast(F("approved"), FloatField()) * 100 / Cast(F("reviewed"), FloatField())),
            default=None, output_field=FloatField(),
        ))
        .values(*_columns(windows))
    )


def _worked(requester: Requester, environment: str) -> QuerySet[Assignment]:
    return Assignment.objects.filter(requester=requester, environment=environment, status__in=VISIBLE_STATUSES)


def figure_rows(requester: Requester, environment: str, now: dt.datetime, *, search: str = "",
                windows: Iterable[int] = ()) -> QuerySet[Any]:
    """Every worker the requester may see, as rows of figures (dicts; :meth:`Figures.from_row` reads them).

    Workers who submitted work are aggregated from the requester's assignments alone (its index, no per-worker
    lookups); workers known only by a grant or a block follow with empty figures. ``search``: part of the
    Worker ID (upper case)."""
    windows = list(windows)
    worked = _worked(requester, environment)
    others = Worker.objects.filter(
        Q(pk__in=_own_grants(requester, environment).values("worker_id"))
        | Q(worker_id__in=WorkerBlock.objects.filter(requester=requester, environment=environment).values("worker_id"))
    ).exclude(pk__in=worked.values("worker_id"))
    if search:
        worked = worked.filter(worker__worker_id__contains=search)
        others = others.filter(worker_id__contains=search)
    zero = Value(0, output_field=IntegerField())
    empty = others.values(
        w_pk=F("pk"), w_code=F("worker_id"), w_submitted=zero, w_approved=zero, w_rejected=zero, w_reviewed=zero,
        w_pending=zero, w_rate=Value(None, output_field=FloatField()),
        w_last=Value(None, output_field=DateTimeField()),
        **{f"w_{n}": zero for n in range(2 * len(windows))},
    )
    return _aggregated(worked, now, windows).union(empty, all=True)


def worker_figures(requester: Requester, environment: str, worker: Worker, now: dt.datetime) -> Figures:
    """One worker's figures on the requester's work."""
    rows = list(_aggregated(_worked(requester, environment).filter(worker=worker), now, ()))
    return Figures.from_row(rows[0]) if rows else Figures.nothing(worker)


def ordered(rows: QuerySet[Any], sort: str) -> tuple[QuerySet[Any], str]:
    """Order figure rows by a key of :data:`SORTS`; an unknown key falls back to the default. Returns the
    queryset and the key used. Empty values (nothing reviewed or submitted yet) always come last; ties go by
    Worker ID."""
    key = sort if sort.lstrip("-") in SORTS else DEFAULT_SORT
    column = SORTS[key.lstrip("-")]
    descending = key.startswith("-")
    if column == "code":
        return rows.order_by("-code" if descending else "code"), key
    expression = F(column).desc(nulls_last=True) if descending else F(column).asc(nulls_last=True)
    return rows.order_by(expression, "code"), key


def median_seconds(requester: Requester, environment: str, worker_pks: Iterable[int]) -> dict[int, float]:
    """Each worker's median time per assignment (accept to submit) on the requester's work, in seconds.

    One query for all the workers: the assignments' durations are numbered within each worker, and only the
    one or two middle ones are read back."""
    pks = list(worker_pks)
    if not pks:
        return {}
    duration = ExpressionWrapper(F("submit_time") - F("accept_time"), output_field=DurationField())
    rows = (
        Assignment.objects.filter(requester=requester, environment=environment, status__in=VISIBLE_STATUSES,
                                  worker_id__in=pks, submit_time__isnull=False)
        .annotate(took=duration)
        .annotate(
            position=Window(RowNumber(), partition_by=[F("worker_id")], order_by=[F("took").asc(), F("id").asc()]),
            count=Window(Count("id"), partition_by=[F("worker_id")]),
        )
        .filter(Q(position=(F("count") + 1) / 2) | Q(position=(F("count") + 2) / 2))
        .values_list("worker_id", "took")
    )
    middles: dict[int, list[dt.timedelta]] = defaultdict(list)
    for worker_pk, took in rows:
        middles[worker_pk].append(took)
    return {pk: sum(t.total_seconds() for t in ts) / len(ts) for pk, ts in middles.items()}


@dataclass(frozen=True)
class Held:
    """A worker's grant of one of the requester's types."""

    type_id: str
    name: str
    value: int | None
    status: str
    granted_at: dt.datetime


def held_qualifications(requester: Requester, environment: str, worker_pks: Iterable[int],
                        *, granted_only: bool = True) -> dict[int, list[Held]]:
    """The grants of the requester's own types to each of these workers, by type name."""
    grants = _own_grants(requester, environment).filter(worker_id__in=list(worker_pks))
    if granted_only:
        grants = grants.filter(status="Granted")
    out: dict[int, list[Held]] = defaultdict(list)
    for worker_pk, type_id, name, value, status, at in grants.order_by("qualification_type__name").values_list(
        "worker_id", "qualification_type_id", "qualification_type__name", "integer_value", "status", "grant_time"
    ):
        out[worker_pk].append(Held(type_id, name, value, status, at))
    return out


def blocks(requester: Requester, environment: str, worker_ids: Iterable[str]) -> dict[str, str]:
    """Which of these workers the requester blocked, with the reason it gave."""
    return dict(
        WorkerBlock.objects.filter(requester=requester, environment=environment, worker_id__in=list(worker_ids))
        .values_list("worker_id", "reason")
    )


def worker_assignments(requester: Requester, environment: str, worker: Worker) -> QuerySet[Assignment]:
    """The worker's submitted, approved and rejected assignments for the requester, newest first."""
    return (
        Assignment.objects.filter(requester=requester, environment=environment, worker=worker,
                                  status__in=VISIBLE_STATUSES)
        .select_related("hit__hit_type", "hit__batch")
        .order_by(F("submit_time").desc(nulls_last=True), "-id")
    )


def bonus_totals(assignment_ids: Iterable[str]) -> dict[str, int]:
    """Bonus cents paid for each of these assignments."""
    return dict(
        BonusPayment.objects.filter(assignment_id__in=list(assignment_ids))
        .values("assignment_id").annotate(total=Sum("amount_cents")).values_list("assignment_id", "total")
    )


def bonuses_paid(requester: Requester, environment: str, worker: Worker) -> int:
    """All the bonus cents the requester paid the worker in ``environment``."""
    total = BonusPayment.objects.filter(requester=requester, environment=environment, worker=worker).aggregate(
        total=Sum("amount_cents")
    )["total"]
    return int(total or 0)
