"""The job runner: settles elapsed timers, sends queued email, and keeps house (see docs/jobs.md).

It runs once per node as its own process (``kempelen worker``, or spawned by ``kempelen serve``), and any number
of runners may run at once: each item is claimed before it is worked on (a HIT under its row lock, an email under
a Job row with a lease; on PostgreSQL with ``SELECT … FOR UPDATE SKIP LOCKED``, so runners take different items;
on SQLite the database's write lock lets one claim at a time), and every effect goes through an action that
checks, under a lock, that it has not happened yet. An item or a step that fails is retried with backoff and, after
``JOBS_MAX_ATTEMPTS`` attempts, parked as dead for an operator (``kempelen jobs``) without holding up the rest.
A pass with nothing to do only reads: on SQLite every write transaction takes the database's write lock.
"""

from __future__ import annotations

import datetime as dt
import logging
import signal
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field

from django.conf import settings
from django.core.mail import get_connection, send_mail
from django.db import close_old_connections, transaction
from django.db.models import CharField
from django.db.models.functions import Cast

from kempelen.core import clock, idempotency
from kempelen.core.actors import Actor
from kempelen.marketplace.actions._lifecycle import settle
from kempelen.marketplace.models import HIT
from kempelen.notifications.models import OutboxEmail

from . import records
from .models import Job, JobKind, JobStatus

log = logging.getLogger("kempelen.jobs")
RUNNER = Actor.system("job-runner")
BATCH = 200
#: Emails claimed at a time; each is sent, then marked, before the next.
EMAIL_CHUNK = 10
#: The email step stops taking new claims after this many seconds (what is left goes on the next pass), and after
#: this many failures in a row (the mail server is down: the rest wait instead of each using up an attempt).
EMAIL_PASS_SECONDS = 5.0
EMAIL_FAILURES_IN_A_ROW = 3
#: Django's SMTP backend waits forever unless told otherwise; a send must end well inside its claim.
SEND_TIMEOUT = 30.0


@dataclass
class Tally:
    hits_settled: int = 0
    emails_sent: int = 0
    extra: dict[str, int] = field(default_factory=dict)
    #: Steps that failed in this pass, and steps skipped because they wait for a retry or are dead.
    failed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def total(self) -> int:
        return self.hits_settled + self.emails_sent + sum(self.extra.values())


# --- Timers ------------------------------------------------------------------------------------------------------


def settle_due_hits(limit: int = BATCH) -> int:
    """Apply every elapsed timer: abandonments, auto-approvals (with payment), expiries. Returns how many HITs
    this pass settled.

    Each HIT is claimed under its row lock. On PostgreSQL a HIT locked by someone else (another runner, or an
    action, which settles it itself) is skipped rather than waited for. A HIT whose settling fails is rolled back,
    recorded (a Job of kind ``hit``) and retried with backoff, and parked as dead after the last attempt, so one
    broken HIT never holds up the other timers.
    """
    now = clock.now()
    due = list(
        HIT.objects.filter(next_due_at__lte=now)
        .exclude(pk__in=records.blocked_keys(JobKind.HIT, now))
        .order_by("next_due_at")
        .values_list("pk", flat=True)[:limit]
    )
    _forget_settled_hits(now)
    if not due:
        return 0
    retrying = set(Job.objects.filter(kind=JobKind.HIT, key__in=due).values_list("key", flat=True))
    settled = 0
    for hit_id in due:
        try:
            with transaction.atomic():
                hit = (
                    HIT.objects.select_for_update(skip_locked=True, of=("self",))
                    .select_related("hit_type", "requester")
                    .filter(pk=hit_id, next_due_at__lte=clock.now())
                    .first()
                )
                if hit is None:  # settled meanwhile, or locked by whoever is settling it
                    continue
                settle(hit, actor=RUNNER)
                if hit_id in retrying:
                    records.forget(JobKind.HIT, [hit_id])
                settled += 1
        except Exception as error:
            log.exception("job runner: settling HIT %s failed", hit_id)
            _record_failure(JobKind.HIT, hit_id, error)
    return settled


def _forget_settled_hits(now: dt.datetime) -> None:
    """Drop the records of HITs that are no longer due: an action on the HIT settled it (or it was deleted) after
    the runner failed on it."""
    if not Job.objects.filter(kind=JobKind.HIT).exists():
        return
    stale = Job.objects.filter(kind=JobKind.HIT).exclude(key__in=HIT.objects.filter(next_due_at__lte=now).values("pk"))
    keys = list(stale.values_list("key", flat=True)[:BATCH])
    if keys:
        with transaction.atomic():
            Job.objects.filter(kind=JobKind.HIT, key__in=keys).exclude(
                key__in=HIT.objects.filter(next_due_at__lte=now).values("pk")
            ).delete()


# --- Email ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EmailClaim:
    job_id: int
    attempt: int
    email_id: int
    address: str
    subject: str
    body: str


def send_emails(limit: int = BATCH) -> int:
    """Send queued emails; returns how many were sent.

    Claim, send after the claim has committed, then mark: a runner claims a few emails in a short transaction (a
    Job row each, ``running`` until its lease ends), sends them outside any transaction, and marks each delivered
    as it goes. Two runners never send one email at once; a runner that dies after sending and before marking
    leaves its claim to lapse, and the email goes again (at least once). A failed send is retried with backoff and
    parked as dead after the last attempt; the other emails go on.
    """
    _forget_sent_emails()
    sent = failures_in_a_row = 0
    tried: set[int] = set()  # an email that failed is retried on a later pass, not in this one
    started = time.monotonic()
    while len(tried) < limit and time.monotonic() - started < EMAIL_PASS_SECONDS:
        claims = claim_emails(min(EMAIL_CHUNK, limit - len(tried)), skip=tried)
        if not claims:
            break
        claimed_at = time.monotonic()
        for n, claim in enumerate(claims):
            out_of_time = time.monotonic() - claimed_at > records.claim_seconds() / 2
            if out_of_time or failures_in_a_row >= EMAIL_FAILURES_IN_A_ROW:
                rest = claims[n:]
                records.release_claims([c.job_id for c in rest], {c.job_id: c.attempt for c in rest})
                return sent
            tried.add(claim.email_id)
            if deliver_email(claim):
                sent += 1
                failures_in_a_row = 0
            else:
                failures_in_a_row += 1
        if failures_in_a_row >= EMAIL_FAILURES_IN_A_ROW:
            break
    return sent


def _forget_sent_emails() -> None:
    """Drop the records of emails that need nothing more: delivered (by a runner whose claim had lapsed), or gone
    with their worker."""
    records_kept = Job.objects.filter(kind=JobKind.EMAIL).exclude(status=JobStatus.RUNNING)
    if not records_kept.exists():
        return
    undelivered = OutboxEmail.objects.filter(delivered_at__isnull=True).annotate(
        job_key=Cast("pk", output_field=CharField())
    ).values("job_key")
    keys = list(records_kept.exclude(key__in=undelivered).values_list("key", flat=True)[:BATCH])
    if keys:
        with transaction.atomic():
            records_kept.filter(key__in=keys).exclude(key__in=undelivered).delete()


def claim_emails(limit: int, *, skip: Collection[int] = ()) -> list[EmailClaim]:
    """Claim up to ``limit`` queued emails nobody else holds (oldest first), other than those in ``skip``."""
    waiting = (
        OutboxEmail.objects.filter(delivered_at__isnull=True)
        .exclude(pk__in=list(skip))
        .annotate(job_key=Cast("pk", output_field=CharField()))
        .exclude(job_key__in=records.blocked_keys(JobKind.EMAIL, clock.now()))
    )
    if not waiting.exists():  # the common case, answered without a write transaction
        return []
    with transaction.atomic():
        emails = list(
            waiting.select_for_update(skip_locked=True, of=("self",)).select_related("worker__user").order_by("pk")[:limit]
        )
        # Read the emails' Job rows afresh now that the emails are locked: a runner that claimed one of them and
        # committed after this transaction's first read must be seen.
        jobs = {
            job.key: job
            for job in Job.objects.select_for_update().filter(kind=JobKind.EMAIL, key__in=[str(e.pk) for e in emails])
        }
        now = clock.now()
        taken: list[tuple[Job, OutboxEmail]] = []
        new: list[Job] = []
        for email in emails:
            job = jobs.get(str(email.pk))
            if job is None:
                job = Job(kind=JobKind.EMAIL, key=str(email.pk), created_at=now)
                new.append(job)
            elif records.blocks(job, now) or not records.take_over(job, now):
                continue
            records.claim(job, now)
            taken.append((job, email))
        Job.objects.bulk_create(new)
        for job, _ in taken:
            if all(job is not made for made in new):
                job.save(update_fields=["attempts", "status", "locked_until", "locked_by", "run_at", "last_error"])
    return [
        EmailClaim(job_id=job.pk, attempt=job.attempts, email_id=email.pk, address=email.worker.user.email,
                   subject=email.subject, body=email.body)
        for job, email in taken
    ]


def deliver_email(claim: EmailClaim) -> bool:
    """Send one claimed email and record the outcome; False when it failed."""
    try:
        if claim.address:  # a worker without an address has nowhere to get it: it counts as delivered
            send_mail(claim.subject, claim.body, settings.DEFAULT_FROM_EMAIL, [claim.address],
                      connection=get_connection(timeout=getattr(settings, "EMAIL_TIMEOUT", None) or SEND_TIMEOUT))
    except Exception as error:  # delivery failures are retried with backoff
        try:
            with transaction.atomic():
                OutboxEmail.objects.filter(pk=claim.email_id).update(attempts=claim.attempt, last_error=str(error)[:2000])
                job = records.fail_claim(claim.job_id, claim.attempt, records.describe(error))
        except Exception:
            log.exception("job runner: recording the failure of email %s failed", claim.email_id)
            return False
        dead = job is not None and job.status == JobStatus.DEAD
        log.warning("job runner: email %s failed on attempt %d%s: %s", claim.email_id, claim.attempt,
                    "; parked as dead" if dead else "", error)
        return False
    with transaction.atomic():
        OutboxEmail.objects.filter(pk=claim.email_id, delivered_at__isnull=True).update(
            delivered_at=clock.now(), attempts=claim.attempt
        )
        Job.objects.filter(pk=claim.job_id, attempts=claim.attempt).delete()
    return True


# --- The pass -----------------------------------------------------------------------------------------------------


def purge_tokens() -> int:
    return idempotency.purge_expired(actor=RUNNER)


def _steps() -> list[tuple[str, str, Callable[[], int]]]:
    """(name, tally entry, step) in the order a pass runs them."""
    from kempelen.notifications.delivery import deliver_due as deliver_notifications
    from kempelen.qualifications.actions import lapse_expired_tests
    from kempelen.requester_site.batch_publishing import run_pending as publish_pending_batches
    from kempelen.requester_site.uploads import discard_stale

    return [
        ("settle_hits", "hits_settled", settle_due_hits),
        ("send_emails", "emails_sent", send_emails),
        ("lapse_tests", "tests_lapsed", lapse_expired_tests),
        ("discard_uploads", "uploads_discarded", lambda: discard_stale(actor=Actor.system("jobs"))),
        ("publish_batches", "batches_worked_on", publish_pending_batches),
        ("deliver_notifications", "notifications_delivered", deliver_notifications),
        ("purge_tokens", "tokens_purged", purge_tokens),
    ]


def run_once() -> Tally:
    """One pass over everything that is due. A step that raises is recorded (a Job of kind ``step``), retried with
    backoff, and parked as dead after the last attempt; the other steps run regardless."""
    tally = Tally()
    now = clock.now()
    held = {job.key: job for job in Job.objects.filter(kind=JobKind.STEP)}
    for name, entry, step in _steps():
        record = held.get(name)
        if record is not None and records.blocks(record, now):
            tally.skipped.append(name)
            continue
        try:
            done = step()
        except Exception as error:
            log.exception("job runner: step %s failed", name)
            tally.failed.append(name)
            _record_failure(JobKind.STEP, name, error)
            continue
        if record is not None:
            with transaction.atomic():
                records.forget(JobKind.STEP, [name])
        if entry in ("hits_settled", "emails_sent"):
            setattr(tally, entry, done)
        else:
            tally.extra[entry] = done
    return tally


def _record_failure(kind: str, key: str, error: BaseException) -> None:
    try:
        job = records.record_failure(kind, key, records.describe(error))
    except Exception:  # the database itself is failing: the pass's own error handling takes over
        log.exception("job runner: recording the failure of %s %s failed", kind, key)
        return
    if job.status == JobStatus.DEAD:
        log.error("job runner: %s %s failed %d times and is parked as dead (job %s); retry it with "
                  "`kempelen jobs retry %s`", kind, key, job.attempts, job.pk, job.pk)
    else:
        log.warning("job runner: %s %s failed (attempt %d); retrying from %s", kind, key, job.attempts,
                    job.run_at.isoformat())


def run_forever(stop: threading.Event | None = None) -> None:
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
    poll = float(str(settings.KEMPELEN["JOB_POLL_SECONDS"]))
    log.info("job runner %s started (poll every %.1fs)", records.RUNNER_ID, poll)
    while not stop.is_set():
        try:
            close_old_connections()
            tally = run_once()
            if tally.total():
                log.info("job runner: %s", tally)
                continue  # more may be waiting
        except Exception:
            log.exception("job runner pass failed; retrying")
        stop.wait(poll)
    log.info("job runner stopped")
