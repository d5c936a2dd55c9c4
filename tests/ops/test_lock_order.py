"""A requester's approval and a job runner's auto-approval of the same worker's work for the same requester, at
the same moment, on PostgreSQL: both must go through, whichever locks what first.

The fault scenario (benchmarks/fault_bench.py) meets this in most runs with two runners. When an approval locked
the worker's row along with the assignment, PostgreSQL reported a deadlock there, and the requester got a
ServiceFault or the runner failed its pass (docs/reliability.md). Here the interleaving is forced: the requester's
funds are held while the runner and then the approval queue for them, so that the approval already holds what it
locks before the funds when the runner, paying first, commits.
"""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, connections, transaction

from kempelen.jobs.runner import settle_due_hits
from kempelen.ledger import actions as ledger
from kempelen.ledger.models import LedgerTransaction
from kempelen.marketplace.models import AssignmentStatus
from tests.concurrency.kit import postgres_only
from tests.conftest import make_requester, make_worker
from tests.lifecycle.kit import accept, approve, new_hit, new_hit_type, status_of, submit

pytestmark = [*postgres_only, pytest.mark.django_db(transaction=True)]


def _waiting_for_locks() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                       "AND wait_event_type = 'Lock'")
        return int(cursor.fetchone()[0])


def _until(condition, timeout: float = 10) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the interleaving did not happen"
        time.sleep(0.05)


def test_an_approval_and_an_auto_approval_of_one_worker_both_go_through(move_clock):
    r = make_requester().requester
    w = make_worker()
    automatic = new_hit_type(r, auto_approval_delay=5)
    by_hand = submit(w, accept(w, new_hit(r, max_assignments=2)))
    by_runner = submit(w, accept(w, new_hit(r, hit_type=automatic)))
    move_clock(10)  # the runner's auto-approval is due
    errors: list[str] = []
    funds_held, release = threading.Event(), threading.Event()

    def hold_funds() -> None:
        try:
            with transaction.atomic():
                ledger.lock_requester_funds(r, "live")
                funds_held.set()
                release.wait(20)
        finally:
            connections.close_all()

    def run(work) -> None:  # type: ignore[no-untyped-def]
        try:
            work()
        except Exception as error:
            errors.append(f"{type(error).__name__}: {error}".splitlines()[0])
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold_funds)
    runner = threading.Thread(target=run, args=(settle_due_hits,))
    requester = threading.Thread(target=run, args=(lambda: approve(r, by_hand),))
    holder.start()
    funds_held.wait(10)
    runner.start()
    _until(lambda: _waiting_for_locks() == 1)  # the runner waits for the funds
    requester.start()
    _until(lambda: _waiting_for_locks() == 2)  # and so does the approval, behind it
    release.set()
    for t in (holder, runner, requester):
        t.join(30)
    assert errors == []
    assert status_of(by_hand) == status_of(by_runner) == AssignmentStatus.APPROVED
    assert LedgerTransaction.objects.filter(kind="assignment_payment").count() == 2
