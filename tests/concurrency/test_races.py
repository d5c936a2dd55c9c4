"""Races on PostgreSQL, where row locks decide them: many workers, requesters and runners at once.

Every thread is a separate client with its own database connection. Whatever the interleaving, slots are
never over-filled, money moves exactly once, and nothing deadlocks or fails with an integrity error.
"""

from __future__ import annotations

import datetime as dt

import pytest
from botocore.exceptions import ClientError

from kempelen.core import clock
from kempelen.core.errors import DuplicateRequest, InvalidAssignmentState, NoAssignmentAvailable
from kempelen.jobs.runner import settle_due_hits
from kempelen.ledger.models import LedgerTransaction
from kempelen.marketplace import actions
from kempelen.marketplace.models import HIT, Assignment, BonusPayment
from tests.conftest import make_requester, make_worker
from tests.lifecycle.kit import (
    accept,
    accept_from_group,
    api_create,
    api_view,
    earnings,
    funds,
    give_back,
    new_hit,
    new_hit_type,
    requester_actor,
    submit,
    view,
)

from .kit import postgres_only, race, refusals

pytestmark = [*postgres_only, pytest.mark.django_db(transaction=True)]


def test_racing_for_the_last_slots_of_a_group():
    r = make_requester().requester
    hit_type = new_hit_type(r)
    # eight HITs in the group, most of them full already: three open slots are left
    hits = [new_hit(r, hit_type=hit_type, max_assignments=2) for _ in range(8)]
    for h in hits[:6]:
        accept(make_worker(), h)
        accept(make_worker(), h)
    accept(make_worker(), hits[6])
    workers = [make_worker() for _ in range(20)]
    outcomes = race(20, lambda i: accept_from_group(workers[i], hit_type.group_id))
    assert sum(o.ok for o in outcomes) == 3
    assert all(isinstance(e, NoAssignmentAvailable) for e in refusals(outcomes))
    for h in hits:
        got = view(h)
        assert (got["available"], got["pending"]) == (0, 2)


def test_the_same_worker_accepting_twice_at_once():
    r = make_requester().requester
    hit = new_hit(r, max_assignments=5)
    w = make_worker()
    outcomes = race(6, lambda i: accept(w, hit.pk, environment="live"))
    assert sum(o.ok for o in outcomes) == 1
    assert view(hit)["pending"] == 1


def test_concurrent_duplicate_approvals_pay_once(api):
    handle = api()
    hit_id = api_create(handle.client(), reward="1.00")["HITId"]
    w = make_worker()
    a = submit(w, accept(w, hit_id))
    clients = [handle.client() for _ in range(8)]
    outcomes = race(8, lambda i: clients[i].approve_assignment(AssignmentId=a.pk), expected=(ClientError,))
    assert sum(o.ok for o in outcomes) == 1
    for error in refusals(outcomes):
        assert error.response["TurkErrorCode"] == "AWS.MechanicalTurk.InvalidAssignmentState"
    assert earnings(w) == 100
    assert LedgerTransaction.objects.filter(kind="assignment_payment", assignment_id=a.pk).count() == 1
    assert funds(handle.requester) == (100_000 - 120, 0)


def test_concurrent_approve_and_reject():
    r = make_requester().requester
    hit = new_hit(r, reward_cents=100)
    w = make_worker()
    a = submit(w, accept(w, hit))

    def review(i: int) -> str:
        if i % 2:
            actions.approve_assignment(actor=requester_actor(r), requester=r, environment="live", assignment_id=a.pk)
            return "Approved"
        actions.reject_assignment(actor=requester_actor(r), requester=r, environment="live", assignment_id=a.pk,
                                  feedback="")
        return "Rejected"

    outcomes = race(8, review)
    winners = [o.value for o in outcomes if o.ok]
    assert len(winners) == 1
    assert all(isinstance(e, InvalidAssignmentState) for e in refusals(outcomes))
    assert Assignment.objects.get(pk=a.pk).status == winners[0]
    assert earnings(w) == (100 if winners[0] == "Approved" else 0)
    assert view(hit)["completed"] == 1


def test_concurrent_bonuses_with_one_token_pay_once(api):
    handle = api()
    hit_id = api_create(handle.client(), reward="1.00")["HITId"]
    w = make_worker()
    a = submit(w, accept(w, hit_id))
    clients = [handle.client() for _ in range(8)]
    outcomes = race(8, lambda i: clients[i].send_bonus(
        WorkerId=w.worker_id, AssignmentId=a.pk, BonusAmount="5.00", Reason="Thanks", UniqueRequestToken="once",
    ), expected=(ClientError,))
    assert sum(o.ok for o in outcomes) == 1
    for error in refusals(outcomes):
        assert "already been processed" in error.response["Error"]["Message"]
    assert earnings(w) == 500
    assert BonusPayment.objects.count() == 1
    assert funds(handle.requester) == (100_000 - 120 - 600, 120)


def test_concurrent_bonuses_without_tokens_all_pay():
    r = make_requester(funds_cents=1_000).requester
    hit = new_hit(r, reward_cents=100)  # 1.20 held, 8.80 left: seven 1.20 bonuses fit, not eight
    w = make_worker()
    a = submit(w, accept(w, hit))
    outcomes = race(8, lambda i: actions.send_bonus(
        actor=requester_actor(r), requester=r, environment="live", worker_id=w.worker_id, assignment_id=a.pk,
        amount_cents=100, reason="Thanks",
    ))
    assert sum(o.ok for o in outcomes) == 7
    assert earnings(w) == 700
    assert funds(r) == (40, 120)


def test_concurrent_additional_assignments_with_one_token():
    r = make_requester().requester
    hit = new_hit(r, max_assignments=2)
    outcomes = race(6, lambda i: actions.create_additional_assignments(
        actor=requester_actor(r), requester=r, environment="live", hit_id=hit.pk, count=1, unique_request_token="t",
    ))
    assert sum(o.ok for o in outcomes) == 1
    assert all(isinstance(e, DuplicateRequest) for e in refusals(outcomes))
    assert view(hit)["max"] == 3


def test_concurrent_create_hit_with_one_token():
    handle = make_requester()
    r = handle.requester
    hit_type = new_hit_type(r)
    outcomes = race(6, lambda i: new_hit(r, hit_type=hit_type, token="same"))
    assert sum(o.ok for o in outcomes) == 1
    winner = next(o.value for o in outcomes if o.ok)
    for error in refusals(outcomes):
        assert winner.pk in error.message
    assert HIT.objects.count() == 1


def test_accepts_racing_an_expiry():
    r = make_requester().requester
    hit = new_hit(r, max_assignments=10, reward_cents=100)
    workers = [make_worker() for _ in range(16)]

    def work(i: int):  # type: ignore[no-untyped-def]
        if i == 0:
            return actions.update_expiration(actor=requester_actor(r), requester=r, environment="live",
                                              hit_id=hit.pk, expire_at=dt.datetime(2015, 1, 1, tzinfo=dt.UTC))
        return accept(workers[i], hit.pk, environment="live")

    outcomes = race(16, work)
    assert outcomes[0].ok
    taken = [o.value for o in outcomes[1:] if o.ok]
    assert all(isinstance(e, NoAssignmentAvailable) for e in refusals(outcomes))
    expired_at = HIT.objects.get(pk=hit.pk).expiration
    assert all(a.accept_time <= expired_at for a in taken)
    got = view(hit)
    assert got["pending"] == len(taken)
    assert got["available"] == 10 - len(taken)
    assert got["status"] == ("Unassignable" if taken else "Reviewable")
    assert funds(r)[1] == hit.unit_cost_cents * len(taken)  # escrow only for the slots at work
    with pytest.raises(NoAssignmentAvailable):
        accept(make_worker(), hit)


def test_runners_and_readers_settle_each_timer_once(move_clock):
    """Auto-approvals, abandonments and expiries falling due at once, settled by four runners and readers
    together: each assignment is paid once and each slot released once."""
    r = make_requester().requester
    workers = [make_worker() for _ in range(4)]
    hits = []
    for _ in range(6):
        h = new_hit(r, max_assignments=4, reward_cents=100, auto_approval_delay=60, duration=120, lifetime=300)
        for w in workers[:2]:
            submit(w, accept(w, h))
        accept(workers[2], h)  # to be abandoned
        hits.append(h)
    move_clock(301)

    def work(i: int) -> int:
        if i < 4:
            return settle_due_hits()
        return sum(1 for h in hits if actions.settle_if_due(HIT.objects.select_related("hit_type").get(pk=h.pk)))

    race(8, work)
    assert settle_due_hits() == 0
    assert LedgerTransaction.objects.filter(kind="assignment_payment").count() == 12
    assert [earnings(w) for w in workers] == [600, 600, 0, 0]
    for h in hits:
        assert view(h) == {"status": "Reviewable", "max": 4, "available": 2, "pending": 0, "completed": 2,
                           "unreviewed": 0}
    assert funds(r) == (100_000 - 12 * 120, 0)


def test_payments_to_the_same_workers_in_opposite_orders_do_not_deadlock(move_clock):
    """Two runners each settle a HIT whose auto-approvals pay the same workers, in opposite orders."""
    workers = [make_worker() for _ in range(4)]
    hits = []
    for n in range(8):
        r = make_requester().requester
        h = new_hit(r, max_assignments=4, reward_cents=100, auto_approval_delay=60)
        order = workers if n % 2 else list(reversed(workers))
        for w in order:
            submit(w, accept(w, h))
            move_clock(1)  # auto-approved in this order
        hits.append(h)
    move_clock(61)

    def work(i: int) -> None:
        actions.settle_if_due(HIT.objects.select_related("hit_type").get(pk=hits[i].pk))

    race(8, work)
    assert [earnings(w) for w in workers] == [800] * 4


def test_runner_settling_while_the_requester_spends(move_clock):
    """A runner pays and releases a requester's escrow while the same requester creates HITs and sends
    bonuses: both sides lock the requester's funds, in the same order."""
    handle = make_requester()
    r = handle.requester
    w = make_worker()
    hits = []
    for _ in range(6):
        h = new_hit(r, max_assignments=3, reward_cents=100, auto_approval_delay=60, lifetime=120)
        submit(w, accept(w, h))
        hits.append(h)
    a = Assignment.objects.filter(hit=hits[0]).first()
    move_clock(121)
    hit_type = new_hit_type(r, reward_cents=10)

    def work(i: int) -> object:
        if i < 6:
            return actions.settle_if_due(HIT.objects.select_related("hit_type").get(pk=hits[i].pk))
        if i < 10:
            return new_hit(r, hit_type=hit_type)
        return actions.send_bonus(actor=requester_actor(r), requester=r, environment="live", worker_id=w.worker_id,
                                  assignment_id=a.pk, amount_cents=10, reason="x")

    race(12, work)
    assert earnings(w) == 6 * 100 + 2 * 10
    for h in hits:
        assert view(h)["completed"] == 1


def test_api_counters_stay_consistent_under_concurrent_work(api):
    """Requester reads (GetHIT settles) while workers accept, return and submit."""
    handle = api()
    client = handle.client()
    hit_id = api_create(client, max_assignments=6, duration=60)["HITId"]
    workers = [make_worker() for _ in range(12)]

    def work(i: int) -> object:
        if i % 4 == 0:
            return handle.client().get_hit(HITId=hit_id)
        a = accept(workers[i], hit_id)
        if i % 3 == 0:
            return give_back(workers[i], a)
        return submit(workers[i], a)

    race(12, work, expected=(NoAssignmentAvailable, ClientError))
    clock.advance(61)
    got = api_view(client, hit_id)
    assert got["pending"] == 0
    assert got["available"] + got["unreviewed"] == 6


def test_a_runner_skips_a_hit_another_runner_holds(move_clock):
    import threading
    import time

    from django.db import connections, transaction

    r = make_requester().requester
    held = new_hit(r, lifetime=60)
    free = new_hit(r, lifetime=60)
    move_clock(61)
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with transaction.atomic():
                HIT.objects.select_for_update().get(pk=held.pk)
                locked.set()
                release.wait(10)
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert locked.wait(10)
        started = time.monotonic()
        assert settle_due_hits() == 1  # the free one; the held one is skipped, not waited for
        assert time.monotonic() - started < 2
        assert HIT.objects.get(pk=free.pk).expiry_settled
        assert not HIT.objects.get(pk=held.pk).expiry_settled
    finally:
        release.set()
        holder.join(10)
    assert settle_due_hits() == 1
