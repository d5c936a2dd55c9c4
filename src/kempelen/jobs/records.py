"""The runner's bookkeeping in the Job table: claims with a lease, failures with backoff, dead items.

A Job row exists only while an item needs one: while a runner holds a claim on it (``running``, until
``locked_until``), while it waits to be tried again after a failure (``pending``, from ``run_at``), or once it was
given up after ``JOBS_MAX_ATTEMPTS`` attempts (``dead``, until an operator retries it). An item that succeeds has
its row deleted, so the table stays as small as the trouble it records.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet

from kempelen.core import clock

from .models import Job, JobStatus

#: Who holds a claim, for the operator reading ``kempelen jobs``: the host and process of the runner.
RUNNER_ID = f"{socket.gethostname()}:{os.getpid()}"


def max_attempts() -> int:
    return int(settings.JOBS_MAX_ATTEMPTS)


def claim_seconds() -> float:
    return float(settings.JOBS_CLAIM_SECONDS)


def retry_delay(attempts: int) -> float:
    """Seconds from the ``attempts``-th failed attempt to the next: the first retry comes on the next pass (most
    failures are passing: a lock timeout, a deadlock victim), then JOB_RETRY_SECONDS, doubled each time up to
    JOB_RETRY_MAX_SECONDS."""
    if attempts <= 1:
        return 0.0
    base = float(settings.JOBS_RETRY_SECONDS)
    cap = float(settings.JOBS_RETRY_MAX_SECONDS)
    return float(min(cap, base * 2 ** min(attempts - 2, 32)))


def blocking(now: dt.datetime) -> Q:
    """Rows that keep their item from being worked on now: a live claim, a retry not yet due, a dead item."""
    return (
        Q(status=JobStatus.DEAD)
        | Q(status=JobStatus.PENDING, run_at__gt=now)
        | Q(status=JobStatus.RUNNING, locked_until__gt=now)
    )


def blocks(job: Job, now: dt.datetime) -> bool:
    if job.status == JobStatus.DEAD:
        return True
    if job.status == JobStatus.PENDING:
        return job.run_at > now
    if job.status == JobStatus.RUNNING:
        return job.locked_until is not None and job.locked_until > now
    return False


def blocked_keys(kind: str, now: dt.datetime) -> QuerySet[Job, Any]:
    """A subquery of the keys of ``kind`` that may not be worked on now."""
    return Job.objects.filter(blocking(now), kind=kind).values("key")


def describe(error: BaseException) -> str:
    text = str(error).strip()
    return f"{type(error).__name__}: {text}"[:4000] if text else type(error).__name__


def _locked_row(kind: str, key: str) -> Job:
    """The item's row, locked, made (pending, no attempts yet) when there is none. Call inside a transaction."""
    job = Job.objects.select_for_update().filter(kind=kind, key=key).first()
    if job is not None:
        return job
    now = clock.now()
    try:
        with transaction.atomic():  # a savepoint: a concurrent insert of the same item must not spoil the caller
            return Job.objects.create(kind=kind, key=key, run_at=now, created_at=now)
    except IntegrityError:
        return Job.objects.select_for_update().get(kind=kind, key=key)


def claim(job: Job, now: dt.datetime) -> None:
    """Make ``job`` this runner's, for its next attempt, until its lease ends (the caller saves it)."""
    job.attempts += 1
    job.status = JobStatus.RUNNING
    job.locked_until = now + dt.timedelta(seconds=claim_seconds())
    job.locked_by = RUNNER_ID
    job.run_at = now


def take_over(job: Job, now: dt.datetime) -> bool:
    """Whether a free row may be claimed. A ``running`` row whose lease ran out was left by a runner that died
    while working on it: that counts as a failed attempt, and after the last one the item is parked as dead (the
    row is saved then) rather than tried again."""
    if job.status != JobStatus.RUNNING:
        return True
    job.last_error = (f"the claim of runner {job.locked_by or '?'} ran out before it finished "
                      f"(attempt {job.attempts})")
    if job.attempts < max_attempts():
        return True
    _failed(job, job.last_error, now)
    return False


def _failed(job: Job, error: str, now: dt.datetime) -> None:
    """Move a (locked) row whose attempt ``job.attempts`` failed to its retry, or park it as dead."""
    job.last_error = error
    job.locked_until = None
    if job.attempts >= max_attempts():
        job.status = JobStatus.DEAD
        job.finished_at = now
        job.run_at = now
    else:
        job.status = JobStatus.PENDING
        job.run_at = now + dt.timedelta(seconds=retry_delay(job.attempts))
    job.save(update_fields=["attempts", "last_error", "locked_until", "status", "finished_at", "run_at"])


def record_failure(kind: str, key: str, error: str) -> Job:
    """An item worked on without a claim (a HIT under its row lock, a step) failed: count the attempt, and
    schedule its retry or park it as dead. Returns the row as it is now."""
    with transaction.atomic():
        job = _locked_row(kind, key)
        job.attempts += 1
        _failed(job, error, clock.now())
        return job


def fail_claim(job_id: int, attempt: int, error: str) -> Job | None:
    """The claimed attempt ``attempt`` of a job failed. Nothing happens when the claim is no longer this runner's
    (it lapsed and another runner took the item)."""
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(pk=job_id, status=JobStatus.RUNNING, attempts=attempt).first()
        if job is None:
            return None
        _failed(job, error, clock.now())
        return job


def release_claims(job_ids: Iterable[int], attempts: dict[int, int]) -> None:
    """Give back claims that were not tried (the pass ran out of time): the items are due again at once and the
    attempts they were charged are returned."""
    with transaction.atomic():
        for job in Job.objects.select_for_update().filter(pk__in=list(job_ids), status=JobStatus.RUNNING):
            if job.attempts != attempts.get(job.pk):
                continue  # not this runner's claim any more
            job.attempts -= 1
            job.status = JobStatus.PENDING
            job.locked_until = None
            job.run_at = clock.now()
            job.save(update_fields=["attempts", "status", "locked_until", "run_at"])


def forget(kind: str, keys: Iterable[str]) -> int:
    """The items succeeded (or no longer need doing): their rows go. Call inside the transaction of the work."""
    keys = list(keys)
    if not keys:
        return 0
    deleted, _ = Job.objects.filter(kind=kind, key__in=keys).delete()
    return deleted
