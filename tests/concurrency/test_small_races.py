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


@pytest.mark.parametrize(("workers", "slots"), [(8, 3), (20, 5)])
def test_workers_racing_for_slots_never_over_fill_a_hit(workers, slots):
    r = make_requester().requester
    hit = new_hit(r, max_assignments=slots)
    crowd = [make_worker() for _ in range(workers)]
    outcomes = race(workers, lambda i: accept(crowd[i], hit.pk, environment="live"))
    assert sum(o.ok for o in outcomes) == slots
    assert all(isinstance(e, NoAssignmentAvailable) for e in refusals(outcomes))
    assert view(hit) == {"status": "Unassignable", "max": slots, "available": 0, "pending": slots, "completed": 0,
                         "unreviewed": 0}
    taken = Assignment.objects.filter(hit=hit, status=AssignmentStatus.ACCEPTED)
    assert taken.count() == slots
    assert {a.worker_id for a in taken} == {o.value.worker_id for o in outcomes if o.ok}


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
