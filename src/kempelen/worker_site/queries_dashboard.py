"""Reads behind the worker's dashboard: assignments by state, earnings, approval rate and messages.

Everything here reads; the one exception is :func:`settle_due_for_worker`, which asks the marketplace to
apply timers that have already elapsed (an abandoned deadline, an auto-approval and its payment) so that the
pages show what has already happened even before the job runner gets to it.

Money comes from the ledger: what the worker has been paid is the sum of the entries on the worker's
earnings account, split by the kind of transaction that booked them (``assignment_payment`` for approved
rewards, ``bonus`` for bonuses). Pending approval is not money yet: it is the rewards of the worker's
submitted assignments, still held in the requesters' escrow.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, Prefetch, Q, QuerySet, Sum
from django.db.models.functions import TruncDate

from kempelen.accounts.models import Worker
from kempelen.core import clock
from kempelen.ledger.models import AccountKind, LedgerEntry
from kempelen.marketplace import actions as marketplace
from kempelen.marketplace.models import HIT, Assignment, AssignmentStatus, BonusPayment
from kempelen.notifications.models import OutboxEmail
from kempelen.qualifications import system
from kempelen.qualifications.queries import system_value, worker_stats

#: The ledger transaction kinds that credit a worker's earnings account.
PAYMENT = "assignment_payment"
BONUS = "bonus"

#: How many of the worker's HITs one page view settles at most (the job runner does the rest).
SETTLE_LIMIT = 100


@dataclass(frozen=True)
class State:
    slug: str
    status: str
    label: str


#: The assignment states a worker can filter by, in the order a worker's work moves through them.
STATES: tuple[State, ...] = (
    State("in-progress", AssignmentStatus.ACCEPTED, "In progress"),
    State("submitted", AssignmentStatus.SUBMITTED, "Submitted, awaiting review"),
    State("approved", AssignmentStatus.APPROVED, "Approved"),
    State("rejected", AssignmentStatus.REJECTED, "Rejected"),
    State("returned", AssignmentStatus.RETURNED, "Returned"),
    State("abandoned", AssignmentStatus.ABANDONED, "Abandoned"),
)
STATE_BY_SLUG = {s.slug: s for s in STATES}
STATE_BY_STATUS = {s.status: s for s in STATES}

#: What the messages page calls each kind of email.
EMAIL_KINDS = {
    "message": "Message",
    "bonus": "Bonus",
    "qualification_granted": "Qualification granted",
    "qualification_revoked": "Qualification revoked",
}
#: The messages page's filters: slug → (label, kinds).
EMAIL_FILTERS: dict[str, tuple[str, tuple[str, ...] | None]] = {
    "all": ("All", None),
    "message": ("Messages from requesters", ("message",)),
    "bonus": ("Bonuses", ("bonus",)),
    "qualification": ("Qualifications", None),  # every kind starting with "qualification"
}


# --- Settling elapsed timers -----------------------------------------------------------------------------


def settle_due_for_worker(worker: Worker, environment: str, *, limit: int = SETTLE_LIMIT) -> int:
    """Apply elapsed timers on the HITs of the worker's open assignments (deadlines passed, auto-approvals
    due), so that counts and money read afterwards already include them. Returns how many HITs were settled."""
    now = clock.now()
    due = Q(status=AssignmentStatus.ACCEPTED, deadline__lte=now) | Q(
        status=AssignmentStatus.SUBMITTED, auto_approval_time__lte=now
    )
    hit_ids = set(
        Assignment.objects.filter(due, worker=worker, environment=environment)
        .order_by()
        .values_list("hit_id", flat=True)[:limit]
    )
    if not hit_ids:
        return 0
    hits = HIT.objects.filter(pk__in=hit_ids, next_due_at__lte=now).order_by("next_due_at")
    settled = 0
    for hit in hits:
        marketplace.settle_if_due(hit)
        settled += 1
    return settled


# --- Assignments ---------------------------------------------------------------------------------------------


def state_counts(worker: Worker, environment: str) -> dict[str, int]:
    """How many of the worker's assignments are in each state, by state slug."""
    rows = (
        Assignment.objects.filter(worker=worker, environment=environment)
        .order_by()
        .values("status")
        .annotate(n=Count("id"))
    )
    by_status = {r["status"]: r["n"] for r in rows}
    return {s.slug: by_status.get(s.status, 0) for s in STATES}


def _with_details(qs: QuerySet[Assignment], environment: str) -> QuerySet[Assignment]:
    return qs.select_related("hit__hit_type", "requester").prefetch_related(
        Prefetch(
            "bonuses",
            queryset=BonusPayment.objects.filter(environment=environment).order_by("grant_time", "pk"),
            to_attr="bonus_list",
        )
    )


def in_progress(worker: Worker, environment: str, *, limit: int = 50) -> list[Assignment]:
    """The worker's accepted, not yet submitted assignments, the nearest deadline first."""
    qs = Assignment.objects.filter(worker=worker, environment=environment, status=AssignmentStatus.ACCEPTED)
    return list(qs.select_related("hit__hit_type", "requester").order_by("deadline", "pk")[:limit])


def assignments(worker: Worker, environment: str, state: State | None) -> QuerySet[Assignment]:
    """The worker's assignments (in one state, or all), newest first, with their HIT, requester and bonuses."""
    qs = Assignment.objects.filter(worker=worker, environment=environment)
    if state is not None:
        qs = qs.filter(status=state.status)
    return _with_details(qs, environment).order_by("-accept_time", "-pk")


def was_auto_approved(assignment: Assignment) -> bool:
    """Auto-approval approves at the assignment's auto-approval time exactly; a requester approves before it
    (an action on a HIT settles its elapsed timers first, so nobody can approve by hand after that moment)."""
    return (
        assignment.status == AssignmentStatus.APPROVED
        and assignment.approval_time is not None
        and assignment.approval_time == assignment.auto_approval_time
    )


# --- Money -----------------------------------------------------------------------------------------------------


@dataclass
class Earnings:
    pending_cents: int = 0
    approved_cents: int = 0
    bonus_cents: int = 0
    other_cents: int = 0

    @property
    def paid_cents(self) -> int:
        """Everything credited to the worker's earnings account."""
        return self.approved_cents + self.bonus_cents + self.other_cents


@dataclass
class Day:
    day: dt.date
    pending_cents: int = 0
    approved_cents: int = 0
    bonus_cents: int = 0
    other_cents: int = 0
    approved_count: int = 0
    bonus_count: int = 0

    @property
    def paid_cents(self) -> int:
        return self.approved_cents + self.bonus_cents + self.other_cents


def _earnings_entries(worker: Worker, environment: str) -> QuerySet[LedgerEntry]:
    return LedgerEntry.objects.filter(
        account__kind=AccountKind.WORKER_EARNINGS, account__environment=environment, account__worker=worker
    )


def _pending(worker: Worker, environment: str) -> QuerySet[Assignment]:
    return Assignment.objects.filter(worker=worker, environment=environment, status=AssignmentStatus.SUBMITTED)


def earnings(worker: Worker, environment: str) -> Earnings:
    """Pending approval (rewards of submitted assignments) and what the ledger has credited to the worker."""
    out = Earnings()
    rows = (
        _earnings_entries(worker, environment)
        .order_by()
        .values("transaction__kind")
        .annotate(total=Sum("amount_cents"))
    )
    for row in rows:
        _add(out, row["transaction__kind"], row["total"] or 0)
    pending = _pending(worker, environment).aggregate(total=Sum("hit__hit_type__reward_cents"))
    out.pending_cents = pending["total"] or 0
    return out


def _add(target: Earnings | Day, kind: str, cents: int) -> None:
    if kind == PAYMENT:
        target.approved_cents += cents
    elif kind == BONUS:
        target.bonus_cents += cents
    else:
        target.other_cents += cents


def earnings_by_day(worker: Worker, environment: str) -> list[Day]:
    """Per UTC day, newest first: what was credited that day (rewards of approvals, bonuses) and the rewards of
    the work submitted that day that is still awaiting review."""
    days: dict[dt.date, Day] = {}

    def day(d: dt.date) -> Day:
        return days.setdefault(d, Day(d))

    credited = (
        _earnings_entries(worker, environment)
        .annotate(day=TruncDate("transaction__created_at", tzinfo=dt.UTC))
        .order_by()
        .values("day", "transaction__kind")
        .annotate(total=Sum("amount_cents"), n=Count("id"))
    )
    for row in credited:
        d = day(row["day"])
        _add(d, row["transaction__kind"], row["total"] or 0)
        if row["transaction__kind"] == PAYMENT:
            d.approved_count += row["n"]
        elif row["transaction__kind"] == BONUS:
            d.bonus_count += row["n"]
    pending = (
        _pending(worker, environment)
        .annotate(day=TruncDate("submit_time", tzinfo=dt.UTC))
        .order_by()
        .values("day")
        .annotate(total=Sum("hit__hit_type__reward_cents"))
    )
    for waiting in pending:
        if waiting["day"] is not None:
            day(waiting["day"]).pending_cents += waiting["total"] or 0
    return sorted(days.values(), key=lambda d: d.day, reverse=True)


def bonuses(worker: Worker, environment: str) -> QuerySet[BonusPayment]:
    """The bonuses paid to the worker, newest first, with the requester and the HIT they were paid for."""
    return (
        BonusPayment.objects.filter(worker=worker, environment=environment)
        .select_related("requester", "assignment__hit__hit_type")
        .order_by("-grant_time", "-pk")
    )


# --- Approval rate ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApprovalRate:
    """The approval rate as requesters' qualification requirements see it, and the counts behind it."""

    value: int  # what Worker_PercentAssignmentsApproved reads
    actual_percent: int | None  # approved / submitted from the worker's real history (None: nothing submitted)
    approved: int
    rejected: int
    submitted: int  # submitted, approved or rejected: the assignments that count
    awaiting: int  # submitted, not yet reviewed (counted as approved once their auto-approval is due)
    minimum: int  # below this many submitted assignments the qualification reads 100

    @property
    def below_minimum(self) -> bool:
        return self.submitted < self.minimum


def approval_rate(worker: Worker, environment: str) -> ApprovalRate:
    stats = worker_stats(worker, environment)
    value = system_value(system.PERCENT_APPROVED, worker, environment, stats)
    assert value is not None and value.integer is not None
    return ApprovalRate(
        value=value.integer,
        actual_percent=stats.percent(stats.approved, stats.submitted) if stats.submitted else None,
        approved=stats.approved,
        rejected=stats.rejected,
        submitted=stats.submitted,
        awaiting=stats.submitted - stats.approved - stats.rejected,
        minimum=system.PERCENT_APPROVED_MIN_SUBMITTED,
    )


# --- Messages ------------------------------------------------------------------------------------------------


def emails(worker: Worker, environment: str, kind_filter: str = "all") -> QuerySet[OutboxEmail]:
    """Emails sent to the worker (requesters' messages, bonus and qualification notices), newest first."""
    qs = OutboxEmail.objects.filter(worker=worker, environment=environment).select_related("requester")
    if kind_filter == "qualification":
        qs = qs.filter(kind__startswith="qualification")
    else:
        kinds = EMAIL_FILTERS.get(kind_filter, ("", None))[1]
        if kinds is not None:
            qs = qs.filter(kind__in=kinds)
    return qs.order_by("-created_at", "-pk")


def email_kind_label(kind: str) -> str:
    return EMAIL_KINDS.get(kind, kind.replace("_", " ").capitalize())


# --- The dashboard -----------------------------------------------------------------------------------------------


@dataclass
class Summary:
    now: dt.datetime
    counts: dict[str, int]
    in_progress: list[Assignment]
    money: Earnings
    rate: ApprovalRate
    latest_emails: list[OutboxEmail] = field(default_factory=list)


def summary(worker: Worker, environment: str, *, latest: int = 5) -> Summary:
    settle_due_for_worker(worker, environment)
    return Summary(
        now=clock.now(),
        counts=state_counts(worker, environment),
        in_progress=in_progress(worker, environment),
        money=earnings(worker, environment),
        rate=approval_rate(worker, environment),
        latest_emails=list(emails(worker, environment)[:latest]),
    )
