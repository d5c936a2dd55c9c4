"""Operators' actions on the runner's work: retrying, by hand, what the runner gave up on."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from kempelen.core import audit, clock
from kempelen.core.actors import Actor
from kempelen.core.errors import DoesNotExist, KempelenError

from .models import Job, JobStatus


class JobNotRetryable(KempelenError):
    code = "InvalidJobState"


def retry_job(*, actor: Actor, job_id: int) -> Job:
    """Try a dead (or waiting) item again on the runner's next pass, with its attempts counted afresh.

    Refused for a job a runner holds right now (its claim will end by itself) and for one that no longer exists
    (it succeeded meanwhile: an item that succeeds leaves no job behind).
    """
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(pk=job_id).first()
        if job is None:
            raise DoesNotExist(f"There is no job {job_id}: it may have succeeded meanwhile (see `kempelen jobs`).")
        now = clock.now()
        if job.status == JobStatus.RUNNING and job.locked_until is not None and job.locked_until > now:
            raise JobNotRetryable(
                f"Job {job_id} ({job}) is being worked on by runner {job.locked_by} until "
                f"{job.locked_until:%Y-%m-%d %H:%M:%S} UTC; it is tried again by itself if that runner stops."
            )
        if job.status == JobStatus.DONE:
            raise JobNotRetryable(f"Job {job_id} ({job}) is done.")
        _revive(job, actor=actor, now=now)
        return job


def retry_dead_jobs(*, actor: Actor, kind: str | None = None) -> int:
    """Retry every dead job (of ``kind``, when given). Returns how many."""
    with transaction.atomic():
        dead = Job.objects.select_for_update().filter(status=JobStatus.DEAD).order_by("pk")
        if kind is not None:
            dead = dead.filter(kind=kind)
        now = clock.now()
        revived = 0
        for job in dead:
            _revive(job, actor=actor, now=now)
            revived += 1
        return revived


def _revive(job: Job, *, actor: Actor, now: dt.datetime) -> None:
    was = job.status
    job.status = JobStatus.PENDING
    job.run_at = now
    job.attempts = 0
    job.locked_until = None
    job.finished_at = None
    job.save(update_fields=["status", "run_at", "attempts", "locked_until", "finished_at"])
    audit.record(actor, "retry_job", target_type="Job", target_id=str(job.pk), kind=job.kind, key=job.key,
                 was=was, last_error=job.last_error[:500])
