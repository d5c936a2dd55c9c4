"""Smaller races that run on both databases. On SQLite, where ``select_for_update`` does nothing, write
transactions start with BEGIN IMMEDIATE, so writers queue on the database lock: slots must never be
over-filled and money never moved twice there either."""

from __future__ import annotations

import pytest

from kempelen.core.errors import InvalidAssignmentState, NoAssignmentAvailable
from kempelen.ledger.models import LedgerTransaction
from kempelen.marketplace.models import Assignment, AssignmentStatus
from tests.conftest import make_requester, make_worker
from tests.lifecycle.kit import accept, approve, earnings, new_hit, submit, view

from .kit import race, refusals

pytestmark = pytest.mark.django_db(transaction=True)


def test_eight_workers_race_for_three_slots():
    r = make_requester().requester
    hit = new_hit(r, max_assignments=3)
    workers = [make_worker() for _ in range(8)]
    outcomes = race(8, lambda i: accept(workers[i], hit.pk, environment="live"))
    assert sum(o.ok for o in outcomes) == 3
    assert all(isinstance(e, NoAssignmentAvailable) for e in refusals(outcomes))
    assert view(hit) == {"status": "Unassignable", "max": 3, "available": 0, "pending": 3, "completed": 0,
                         "unreviewed": 0}
    assert Assignment.objects.filter(hit=hit, status=AssignmentStatus.ACCEPTED).count() == 3


def test_duplicate_approvals_pay_once():
    r = make_requester().requester
    hit = new_hit(r, reward_cents=100)
    w = make_worker()
    a = submit(w, accept(w, hit))
    outcomes = race(4, lambda i: approve(r, a))
    assert sum(o.ok for o in outcomes) == 1
    assert all(isinstance(e, InvalidAssignmentState) for e in refusals(outcomes))
    assert earnings(w) == 100
    assert LedgerTransaction.objects.filter(kind="assignment_payment").count() == 1
