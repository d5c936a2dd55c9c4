"""What the job runner has to do and what it gave up on: read by ``kempelen jobs`` and the admin."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import CharField, Count, Min
from django.db.models.functions import Cast

from kempelen.core import clock

from . import records
from .models import Job, JobKind, JobStatus


@dataclass(frozen=True)
class Queue:
    """Work of one kind that is due now: how many items, and since when the oldest has been due."""

    what: str
    due: int
    oldest: dt.datetime | None


@dataclass
class DeadKind:
    kind: str
    count: int
    last_error: str
    jobs: list[Job] = field(default_factory=list)


@dataclass
class Overview:
    at: dt.datetime
    queues: list[Queue]
    retrying: int
    next_retry: dt.datetime | None
    claimed: list[Job]
    dead: list[DeadKind]
    dead_events: int
    dead_events_error: str

    @property
    def due(self) -> int:
        return sum(q.due for q in self.queues)

    @property
    def oldest_due(self) -> Queue | None:
        waiting = [q for q in self.queues if q.oldest is not None]
        return min(waiting, key=lambda q: q.oldest) if waiting else None  # type: ignore[arg-type, return-value]

    @property
    def dead_count(self) -> int:
        return sum(d.count for d in self.dead)


def queues(now: dt.datetime) -> list[Queue]:
    from kempelen.marketplace.models import HIT, Batch, BatchStatus
    from kempelen.notifications.models import OutboxEmail, OutboxEvent
    from kempelen.qualifications.models import QualificationRequest, RequestState

    hits = (
        HIT.objects.filter(next_due_at__lte=now).exclude(pk__in=records.blocked_keys(JobKind.HIT, now))
        .aggregate(n=Count("pk"), oldest=Min("next_due_at"))
    )
    emails = (
        OutboxEmail.objects.filter(delivered_at__isnull=True)
        .annotate(job_key=Cast("pk", output_field=CharField()))
        .exclude(job_key__in=records.blocked_keys(JobKind.EMAIL, now))
        .aggregate(n=Count("pk"), oldest=Min("created_at"))
    )
    events = OutboxEvent.objects.filter(delivered_at__isnull=True, dead_at__isnull=True, next_attempt_at__lte=now).aggregate(
        n=Count("pk"), oldest=Min("next_attempt_at")
    )
    tests = QualificationRequest.objects.filter(state=RequestState.TEST_IN_PROGRESS, test_deadline__lte=now).aggregate(
        n=Count("pk"), oldest=Min("test_deadline")
    )
    batches = Batch.objects.filter(status=BatchStatus.PUBLISHING).aggregate(n=Count("pk"), oldest=Min("created_at"))
    retries = Job.objects.filter(kind=JobKind.STEP, status=JobStatus.PENDING, run_at__lte=now).aggregate(
        n=Count("pk"), oldest=Min("run_at")
    )
    return [
        Queue("HITs with elapsed timers", hits["n"], hits["oldest"]),
        Queue("emails to send", emails["n"], emails["oldest"]),
        Queue("notification events to deliver", events["n"], events["oldest"]),
        Queue("qualification tests to lapse", tests["n"], tests["oldest"]),
        Queue("batches being published", batches["n"], batches["oldest"]),
        Queue("steps to retry", retries["n"], retries["oldest"]),
    ]


def dead_jobs(limit: int = 20) -> list[DeadKind]:
    """Dead jobs by kind, each with the last error of the most recently parked one and up to ``limit`` of them."""
    found = []
    counts = dict(
        Job.objects.filter(status=JobStatus.DEAD).values("kind").annotate(n=Count("pk")).values_list("kind", "n")
    )
    for kind in sorted(counts):
        latest = list(Job.objects.filter(status=JobStatus.DEAD, kind=kind).order_by("-finished_at", "-pk")[:limit])
        found.append(DeadKind(kind, counts[kind], latest[0].last_error if latest else "", latest))
    return found


def overview() -> Overview:
    from kempelen.notifications.models import OutboxEvent

    now = clock.now()
    waiting = Job.objects.filter(status=JobStatus.PENDING, run_at__gt=now).aggregate(n=Count("pk"), next=Min("run_at"))
    claimed = list(Job.objects.filter(status=JobStatus.RUNNING, locked_until__gt=now).order_by("locked_until")[:20])
    dead_events = OutboxEvent.objects.filter(delivered_at__isnull=True, dead_at__isnull=False)
    last_dead_event = dead_events.order_by("-dead_at").values_list("last_error", flat=True).first()
    return Overview(
        at=now, queues=queues(now), retrying=waiting["n"], next_retry=waiting["next"], claimed=claimed,
        dead=dead_jobs(), dead_events=dead_events.count(), dead_events_error=last_dead_event or "",
    )
