"""Several runners at once (threads, each with its own database connection, as `kempelen worker` processes on
several nodes would be): each step takes effect once. On PostgreSQL the runners claim different items with SKIP
LOCKED; on SQLite they take turns at the database's write lock."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
from django.db import connection, connections, transaction

from kempelen.core.models import AuditEvent, IdempotencyToken
from kempelen.jobs import runner
from kempelen.jobs.models import Job
from kempelen.ledger.models import LedgerTransaction
from kempelen.marketplace.models import HIT, Assignment, AssignmentStatus
from kempelen.notifications.models import OutboxEmail
from kempelen.qualifications.models import QualificationRequest, RequestState
from tests.concurrency.kit import race
from tests.lifecycle.kit import earnings, funds, new_hit, view

from .kit import emails, hits_falling_due, taking_qualification_tests

pytestmark = pytest.mark.django_db(transaction=True)

DAY = 24 * 3600


def drain() -> runner.Tally:
    """Run passes until one finds nothing to do, as a runner does; return what this runner did in all."""
    done = runner.Tally()
    for _ in range(50):
        tally = runner.run_once()
        assert not tally.failed, tally
        if not tally.total():
            return done
        done.hits_settled += tally.hits_settled
        done.emails_sent += tally.emails_sent
        for name, n in tally.extra.items():
            done.extra[name] = done.extra.get(name, 0) + n
    raise AssertionError("the runner never ran out of work")


def test_two_runners_take_every_effect_once(move_clock, mailoutbox):
    work = hits_falling_due(20, lifetime=DAY)
    new_hit(work.requester, token="yesterday", lifetime=DAY)
    taking = taking_qualification_tests(4, duration=600)
    emails(30)
    move_clock(DAY + 1)  # every timer, test deadline and the token fall due together

    outcomes = race(2, lambda i: drain())
    tallies = [o.value for o in outcomes]

    # timers: each HIT settled once, each assignment paid once, each slot released once
    assert sum(t.hits_settled for t in tallies) == 21
    assert LedgerTransaction.objects.filter(kind="assignment_payment").count() == 40
    assert [earnings(w) for w in work.workers] == [2000, 2000, 0]
    assert Assignment.objects.filter(status=AssignmentStatus.ABANDONED).count() == 20
    assert AuditEvent.objects.filter(action="abandon_assignment").count() == 20
    assert AuditEvent.objects.filter(action="expire_hit").count() == 21
    for hit in work.hits:
        assert view(hit) == {"status": "Reviewable", "max": 4, "available": 2, "pending": 0, "completed": 2,
                             "unreviewed": 0}
    assert funds(work.requester)[1] == 0
    assert not HIT.objects.filter(next_due_at__isnull=False).exists()
    # email: each sent once
    assert sum(t.emails_sent for t in tallies) == 30
    assert Counter(m.subject for m in mailoutbox) == {f"Message {n}": 1 for n in range(30)}
    assert not OutboxEmail.objects.filter(delivered_at__isnull=True).exists()
    # qualification tests lapsed once each, tokens purged once
    assert sum(t.extra["tests_lapsed"] for t in tallies) == 4
    assert QualificationRequest.objects.filter(pk__in=[t.pk for t in taking], state=RequestState.LAPSED).count() == 4
    assert AuditEvent.objects.filter(action="lapse_qualification_test").count() == 4
    assert sum(t.extra["tokens_purged"] for t in tallies) == 1
    purges = AuditEvent.objects.filter(action="purge_idempotency_tokens")
    assert [p.data["count"] for p in purges] == [1]
    assert not IdempotencyToken.objects.exists()
    assert not Job.objects.exists()


def test_runners_never_send_one_email_twice(monkeypatch, mailoutbox):
    emails(40)
    real = runner.send_mail
    senders: Counter[str] = Counter()

    def slow_send(*args, **kwargs):  # type: ignore[no-untyped-def]
        time.sleep(0.01)  # a mail server's round trip: runners overlap while sending
        senders[threading.current_thread().name] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(runner, "send_mail", slow_send)
    outcomes = race(3, lambda i: sum(runner.send_emails() for _ in range(5)))
    assert sum(o.value for o in outcomes) == 40
    assert Counter(m.subject for m in mailoutbox) == {f"Message {n}": 1 for n in range(40)}
    assert len(senders) > 1  # the runners shared the work rather than queueing behind one another
    assert not Job.objects.exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks")
def test_a_runner_killed_while_settling_a_hit_leaves_it_to_another(move_clock):
    """A runner holds a HIT's lock (its claim) and dies: the database ends its transaction, nothing of it stays,
    and the next runner settles the HIT once."""
    work = hits_falling_due(2, lifetime=300)
    move_clock(301)
    held, free = work.hits
    locked, die = threading.Event(), threading.Event()

    def dying_runner() -> None:
        try:
            with transaction.atomic():
                hit = HIT.objects.select_for_update().get(pk=held.pk)
                Assignment.objects.filter(hit=hit).update(status=AssignmentStatus.APPROVED)  # part-way through
                locked.set()
                die.wait(10)
                connection.connection.close()  # the process is gone: its connection drops mid-transaction
        except Exception:  # what the dead process would never see
            pass
        finally:
            connections.close_all()

    thread = threading.Thread(target=dying_runner)
    thread.start()
    try:
        assert locked.wait(10)
        assert runner.settle_due_hits() == 1  # the free HIT; the claimed one is skipped, not waited for
    finally:
        die.set()
        thread.join(10)
    assert runner.settle_due_hits() == 1
    assert LedgerTransaction.objects.filter(kind="assignment_payment").count() == 4
    assert [earnings(w) for w in work.workers] == [200, 200, 0]
    assert view(held) == view(free) == {"status": "Reviewable", "max": 4, "available": 2, "pending": 0,
                                        "completed": 2, "unreviewed": 0}
