"""Reads for the batch pages: a requester's batches with their progress, and one batch's figures."""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass

from django.db import connection
from django.db.models import Count, Max, Q, Sum

from kempelen.accounts.models import Requester
from kempelen.core import clock
from kempelen.marketplace.models import HIT, Assignment, AssignmentStatus, Batch, BatchStatus

from .models import PendingUpload, UploadKind
from .uploads import MAX_AGE

#: Submissions needed before the page estimates the median time and the completion time.
MIN_SUBMISSIONS = 5
#: The median time per assignment is taken over this many of the latest submissions.
MEDIAN_SAMPLE = 10_000
_DONE = (AssignmentStatus.SUBMITTED, AssignmentStatus.APPROVED, AssignmentStatus.REJECTED)


def own_batches(requester: Requester, environment: str):  # type: ignore[no-untyped-def]
    return Batch.objects.filter(requester=requester, environment=environment)


def own_batch(requester: Requester, environment: str, batch_id: str) -> Batch | None:
    return own_batches(requester, environment).select_related("layout", "hit_type").filter(pk=batch_id).first()


def own_batch_upload(requester: Requester, environment: str, project_id: str, upload_id: str) -> PendingUpload | None:
    """The requester's batch file for this project (as ``uploads.find_upload`` finds it), without its content."""
    return (
        PendingUpload.objects.defer("content")
        .filter(pk=upload_id, requester=requester, environment=environment, kind=UploadKind.BATCH_INPUT,
                subject_id=project_id, created_at__gt=clock.now() - MAX_AGE)
        .first()
    )


def upload_head(upload: PendingUpload, limit: int) -> tuple[bytes, bool]:
    """The first ``limit`` bytes of an upload's file, and whether that is the whole file (a preview needs only
    the first rows of what may be a file of hundreds of megabytes)."""
    table = connection.ops.quote_name(PendingUpload._meta.db_table)
    part = "substr(content, 1, %s)" if connection.vendor == "sqlite" else "substring(content from 1 for %s)"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {part}, length(content) FROM {table} WHERE id = %s", [limit, upload.pk])
        found = cursor.fetchone()
    if found is None:
        return b"", True
    return bytes(found[0]), found[1] <= limit


@dataclass(frozen=True)
class Progress:
    """A batch's assignments: how many there are, how many were submitted (reviewed or not)."""

    assignments: int
    submitted: int

    @property
    def percent(self) -> int:
        return int(100 * self.submitted / self.assignments) if self.assignments else 0


def progress_of(batch_ids: list[str]) -> dict[str, Progress]:
    """Assignments and submissions of each batch (one query for them all)."""
    rows = (
        HIT.objects.filter(batch_id__in=batch_ids).values("batch_id")
        .annotate(total=Sum("max_assignments"), submitted=Sum("submitted"), completed=Sum("completed"))
    )
    return {r["batch_id"]: Progress(r["total"] or 0, (r["submitted"] or 0) + (r["completed"] or 0)) for r in rows}


@dataclass(frozen=True)
class BatchFigures:
    """What the batch page reports about a published (or cancelled) batch."""

    tasks: int
    assignments: int
    approved: int
    rejected: int
    submitted: int  # awaiting review
    in_progress: int  # accepted, not yet submitted
    waiting: int  # open slots that workers can still take
    unfilled: int  # slots that ended unused (expired, cancelled, deleted tasks)
    expires_at: dt.datetime | None
    median_seconds: float | None
    reward_cents: int
    rate_per_hour: float | None  # submissions per hour so far
    expected_done_at: dt.datetime | None

    @property
    def completed(self) -> int:
        return self.approved + self.rejected + self.submitted

    @property
    def remaining(self) -> int:
        return self.waiting + self.in_progress

    @property
    def percent(self) -> int:
        return int(100 * self.completed / self.assignments) if self.assignments else 0

    @property
    def median_text(self) -> str:
        return seconds_text(self.median_seconds) if self.median_seconds is not None else ""

    @property
    def hourly_cents(self) -> int | None:
        """The effective hourly pay the median time implies: the reward earned per hour of work."""
        if not self.median_seconds:
            return None
        return round(self.reward_cents * 3600 / self.median_seconds)

    @property
    def enough_data(self) -> bool:
        return self.rate_per_hour is not None

    @property
    def expires_before_done(self) -> bool:
        return bool(self.expected_done_at and self.expires_at and self.expected_done_at > self.expires_at)


def seconds_text(seconds: float) -> str:
    """A duration as people read it: "45 seconds", "3 min 12 s", "1 h 5 min"."""
    if seconds < 1:
        return "less than a second"
    total = round(seconds)
    if total < 60:
        return f"{total} second{'s' if total != 1 else ''}"
    minutes, rest = divmod(total, 60)
    if minutes < 60:
        return f"{minutes} min {rest} s" if rest else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def batch_figures(batch: Batch) -> BatchFigures:
    now = clock.now()
    hits = HIT.objects.filter(batch=batch)
    open_slots = Q(disposed_at__isnull=True, expiration__gt=now)
    agg = hits.aggregate(
        tasks=Count("id"), assignments=Sum("max_assignments"), pending=Sum("pending"), submitted=Sum("submitted"),
        completed=Sum("completed"), waiting=Sum("available", filter=open_slots),
        unfilled=Sum("available", filter=~open_slots), expires_at=Max("expiration", filter=Q(disposed_at__isnull=True)),
    )
    reviewed = dict(
        Assignment.objects.filter(hit__batch=batch, status__in=(AssignmentStatus.APPROVED, AssignmentStatus.REJECTED))
        .values_list("status").annotate(n=Count("id")).values_list("status", "n")
    )
    latest = list(
        Assignment.objects.filter(hit__batch=batch, status__in=_DONE, submit_time__isnull=False)
        .order_by("-submit_time").values_list("accept_time", "submit_time")[:MEDIAN_SAMPLE]
    )
    median = (statistics.median((submit - accept).total_seconds() for accept, submit in latest if submit)
              if len(latest) >= MIN_SUBMISSIONS else None)
    waiting, in_progress = agg["waiting"] or 0, agg["pending"] or 0
    rate, done_at = _rate_and_eta(batch, now, submissions=(agg["submitted"] or 0) + (agg["completed"] or 0),
                                  remaining=waiting + in_progress)
    return BatchFigures(
        tasks=agg["tasks"] or 0, assignments=agg["assignments"] or 0,
        approved=reviewed.get(AssignmentStatus.APPROVED, 0), rejected=reviewed.get(AssignmentStatus.REJECTED, 0),
        submitted=agg["submitted"] or 0, in_progress=in_progress, waiting=waiting, unfilled=agg["unfilled"] or 0,
        expires_at=agg["expires_at"], median_seconds=median, reward_cents=batch.hit_type.reward_cents,
        rate_per_hour=rate, expected_done_at=done_at,
    )


def _rate_and_eta(batch: Batch, now: dt.datetime, *, submissions: int, remaining: int
                  ) -> tuple[float | None, dt.datetime | None]:
    """Submissions per hour since the batch was published, and when the remaining slots would be done at that
    rate (None when there are too few submissions, or too little time, to tell)."""
    started = batch.published_at
    if started is None or submissions < MIN_SUBMISSIONS:
        return None, None
    elapsed = (now - started).total_seconds()
    if elapsed < 60:
        return None, None
    per_second = submissions / elapsed
    if batch.status == BatchStatus.CANCELLED or remaining == 0:
        return per_second * 3600, None
    return per_second * 3600, now + dt.timedelta(seconds=remaining / per_second)
