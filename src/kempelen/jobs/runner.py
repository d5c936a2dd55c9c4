"""The job runner: settles elapsed timers, delivers queued email, and keeps house.

It runs once per node as its own process (``kempelen worker``, or spawned by ``kempelen serve``). Every
effect it has goes through an action that locks what it changes, so several runners may run at once and
each effect still happens once.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.core.mail import send_mail
from django.db import close_old_connections, transaction

from kempelen.core import clock, idempotency
from kempelen.core.actors import Actor
from kempelen.marketplace.actions._lifecycle import settle
from kempelen.marketplace.models import HIT
from kempelen.notifications.models import OutboxEmail

log = logging.getLogger("kempelen.jobs")
RUNNER = Actor.system("job-runner")
BATCH = 200


@dataclass
class Tally:
    hits_settled: int = 0
    emails_sent: int = 0
    extra: dict[str, int] = field(default_factory=dict)

    def total(self) -> int:
        return self.hits_settled + self.emails_sent + sum(self.extra.values())


def settle_due_hits(limit: int = BATCH) -> int:
    """Apply every elapsed timer: abandonments, auto-approvals (with payment), expiries. Returns how many HITs
    this pass settled.

    Each HIT is claimed under its row lock. On PostgreSQL a HIT locked by someone else (another runner, or an
    action, which settles it itself) is skipped rather than waited for. A HIT whose settling fails is logged
    and skipped, so that one broken HIT cannot hold up every other timer (it is retried on the next pass).
    """
    now = clock.now()
    due = list(HIT.objects.filter(next_due_at__lte=now).order_by("next_due_at").values_list("pk", flat=True)[:limit])
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
                settled += 1
        except Exception:
            log.exception("job runner: settling HIT %s failed; retrying on the next pass", hit_id)
    return settled


def send_emails(limit: int = BATCH) -> int:
    """Send queued emails. Each is claimed under its row lock (skipped when another runner holds it) and marked
    delivered in the same transaction, so several runners never send one email twice; a crash between sending
    and committing sends it again on the next pass (at least once)."""
    sent = 0
    pending = list(OutboxEmail.objects.filter(delivered_at__isnull=True).order_by("pk").values_list("pk", flat=True)[:limit])
    for pk in pending:
        with transaction.atomic():
            email = (
                OutboxEmail.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("worker__user")
                .filter(pk=pk, delivered_at__isnull=True)
                .first()
            )
            if email is None:
                continue
            address = email.worker.user.email
            try:
                if address:
                    send_mail(email.subject, email.body, settings.DEFAULT_FROM_EMAIL, [address])
            except Exception as error:  # delivery failures are retried on the next pass
                OutboxEmail.objects.filter(pk=email.pk).update(
                    attempts=email.attempts + 1, last_error=str(error)[:2000]
                )
                continue
            sent += OutboxEmail.objects.filter(pk=email.pk).update(delivered_at=clock.now(), attempts=email.attempts + 1)
    return sent


def run_once() -> Tally:
    """One pass over everything that is due."""
    from kempelen.notifications.delivery import deliver_due as deliver_notifications
    from kempelen.qualifications.actions import lapse_expired_tests
    from kempelen.requester_site.batch_publishing import run_pending as publish_pending_batches
    from kempelen.requester_site.uploads import discard_stale

    tally = Tally()
    tally.hits_settled = settle_due_hits()
    tally.emails_sent = send_emails()
    tally.extra["tests_lapsed"] = lapse_expired_tests()
    tally.extra["uploads_discarded"] = discard_stale(actor=Actor.system("jobs"))
    tally.extra["batches_worked_on"] = publish_pending_batches()
    tally.extra["notifications_delivered"] = deliver_notifications()
    return tally


def run_forever(stop: threading.Event | None = None) -> None:
    stop = stop or threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    poll = float(str(settings.KEMPELEN["JOB_POLL_SECONDS"]))
    last_purge = 0.0
    log.info("job runner started (poll every %.1fs)", poll)
    while not stop.is_set():
        try:
            close_old_connections()
            tally = run_once()
            if time.monotonic() - last_purge > 3600:
                idempotency.purge_expired()
                last_purge = time.monotonic()
            if tally.total():
                log.info("job runner: %s", tally)
                continue  # more may be waiting
        except Exception:
            log.exception("job runner pass failed; retrying")
        stop.wait(poll)
    log.info("job runner stopped")
