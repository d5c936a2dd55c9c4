"""Timers (§5.5): assignment deadlines, HIT expiry and extension, additional assignments, auto-approval.

Readers settle elapsed timers (GetHIT shows what has already happened, before the job runner ran), and the
runner afterwards has nothing left to do; effects (payments included) happen exactly once.
"""

from __future__ import annotations

import datetime as dt

import pytest
from botocore.exceptions import ClientError

from kempelen.core import clock
from kempelen.core.errors import InvalidAssignmentState, InvalidParameter
from kempelen.jobs.runner import settle_due_hits
from kempelen.ledger.models import LedgerTransaction
from kempelen.marketplace import actions
from kempelen.marketplace.models import HIT, AssignmentStatus
from tests.conftest import make_requester, make_worker

from .kit import (
    accept,
    api_create,
    api_funds,
    api_view,
    earnings,
    funds,
    give_back,
    new_hit,
    requester_actor,
    status_of,
    submit,
    turk_error,
    view,
)

DB = pytest.mark.django_db


def expire(requester, hit, at=None):
    actions.update_expiration(actor=requester_actor(requester), requester=requester, environment="live",
                              hit_id=hit.pk, expire_at=at or clock.now() - dt.timedelta(days=1))


def extend(requester, hit, seconds):
    actions.update_expiration(actor=requester_actor(requester), requester=requester, environment="live",
                              hit_id=hit.pk, expire_at=clock.now() + dt.timedelta(seconds=seconds))


def add_assignments(requester, hit, n, token=None):
    actions.create_additional_assignments(actor=requester_actor(requester), requester=requester,
                                          environment="live", hit_id=hit.pk, count=n, unique_request_token=token)


# --- abandonment ------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_abandonment_at_the_deadline_is_visible_before_the_runner_runs(api, move_clock):
    handle = api()
    client = handle.client()
    hit_id = api_create(client, max_assignments=2, duration=120)["HITId"]
    w = make_worker()
    a = accept(w, hit_id)
    assert api_view(client, hit_id)["pending"] == 1
    move_clock(121)
    # GetHIT settles the elapsed deadline: the slot is back although the runner has not run
    assert api_view(client, hit_id) == {"status": "Assignable", "max": 2, "available": 2, "pending": 0,
                                        "completed": 0, "unreviewed": 0}
    assert status_of(a) == AssignmentStatus.ABANDONED
    booked = LedgerTransaction.objects.count()
    assert settle_due_hits() == 0  # the runner finds nothing more to do
    assert LedgerTransaction.objects.count() == booked
    with pytest.raises(InvalidAssignmentState, match="ran out"):
        submit(w, a)
    # an abandoned worker may accept the HIT again
    accept(w, hit_id)
    assert api_view(client, hit_id)["pending"] == 1


@DB
def test_abandonment_by_the_runner(move_clock):
    r = make_requester().requester
    hit = new_hit(r, duration=60, lifetime=3600)
    a = accept(make_worker(), hit)
    move_clock(60)  # the deadline itself counts as passed
    assert settle_due_hits() == 1
    assert status_of(a) == AssignmentStatus.ABANDONED
    assert HIT.objects.get(pk=hit.pk).available == 1
    assert settle_due_hits() == 0


@DB
def test_submit_just_before_the_deadline_counts(move_clock):
    r = make_requester().requester
    hit = new_hit(r, duration=60)
    w = make_worker()
    a = accept(w, hit)
    move_clock(59)
    submit(w, a)
    move_clock(10)
    assert status_of(a) == AssignmentStatus.SUBMITTED
    assert view(hit)["unreviewed"] == 1


@DB
def test_return_after_expiry_does_not_reopen_the_slot_and_releases_its_escrow(move_clock):
    r = make_requester().requester
    hit = new_hit(r, max_assignments=3, lifetime=100, reward_cents=100)  # 1.20 a slot
    available_before, held = funds(r)
    assert held == 360
    w1, w2 = make_worker(), make_worker()
    a1, a2 = accept(w1, hit), accept(w2, hit)
    move_clock(101)  # expired with one unfilled slot and two at work
    assert view(hit) == {"status": "Unassignable", "max": 3, "available": 1, "pending": 2, "completed": 0,
                         "unreviewed": 0}
    assert funds(r) == (available_before + 120, 240)  # the unfilled slot's escrow is back
    give_back(w1, a1)
    assert view(hit) == {"status": "Unassignable", "max": 3, "available": 2, "pending": 1, "completed": 0,
                         "unreviewed": 0}
    assert funds(r) == (available_before + 240, 120)
    with pytest.raises(Exception, match="expired"):
        accept(make_worker(), hit)
    move_clock(600)  # w2's deadline passes: abandoned after expiry
    assert view(hit) == {"status": "Reviewable", "max": 3, "available": 3, "pending": 0, "completed": 0,
                         "unreviewed": 0}
    assert status_of(a2) == AssignmentStatus.ABANDONED
    assert funds(r) == (available_before + 360, 0)


@DB
def test_deadline_before_expiry_and_expiry_settled_together(move_clock):
    """Both timers elapsed before anyone looked: the abandonment and the expiry are applied once, in order."""
    r = make_requester().requester
    hit = new_hit(r, max_assignments=2, lifetime=300, duration=60, reward_cents=10)
    available_before, _ = funds(r)
    accept(make_worker(), hit)
    move_clock(1000)
    assert view(hit) == {"status": "Reviewable", "max": 2, "available": 2, "pending": 0, "completed": 0,
                         "unreviewed": 0}
    assert funds(r) == (available_before + 2 * 12, 0)
    assert settle_due_hits() == 0


# --- expiry with work pending -----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_expiry_with_pending_work_is_unassignable_until_submitted(api):
    handle = api()
    client = handle.client()
    hit_id = api_create(client, max_assignments=3, reward="1.00")["HITId"]
    w = make_worker()
    a = accept(w, hit_id)
    client.update_expiration_for_hit(HITId=hit_id, ExpireAt=dt.datetime(2015, 1, 1))
    assert api_view(client, hit_id) == {"status": "Unassignable", "max": 3, "available": 2, "pending": 1,
                                        "completed": 0, "unreviewed": 0}
    assert api_funds(client) == ("998.80", "1.20")
    submit(w, a)  # a worker who accepted before expiry may still submit
    assert api_view(client, hit_id) == {"status": "Reviewable", "max": 3, "available": 2, "pending": 0,
                                        "completed": 0, "unreviewed": 1}
    reviewable = client.list_reviewable_hits()["HITs"]
    assert [h["HITId"] for h in reviewable] == [hit_id]
    client.approve_assignment(AssignmentId=a.pk)
    assert api_funds(client) == ("998.80", "0.00")


@pytest.mark.django_db(transaction=True)
def test_update_expiration_with_zero_expires_at_once(api):
    client = api().client()
    hit_id = api_create(client)["HITId"]
    client.update_expiration_for_hit(HITId=hit_id, ExpireAt=0)
    assert api_view(client, hit_id)["status"] == "Reviewable"
    assert api_funds(client) == ("1000.00", "0.00")
    # expiring an expired HIT again changes nothing
    client.update_expiration_for_hit(HITId=hit_id, ExpireAt=dt.datetime(2015, 1, 1))
    assert api_funds(client) == ("1000.00", "0.00")


# --- extension ----------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_extension_reopens_and_reserves_escrow_again(api):
    client = api().client()
    hit_id = api_create(client, max_assignments=2, reward="0.50")["HITId"]
    w = make_worker()
    submit(w, accept(w, hit_id))
    client.update_expiration_for_hit(HITId=hit_id, ExpireAt=0)
    assert api_view(client, hit_id)["status"] == "Reviewable"
    assert api_funds(client) == ("999.40", "0.60")
    future = clock.now() + dt.timedelta(hours=2)
    client.update_expiration_for_hit(HITId=hit_id, ExpireAt=future)
    got = client.get_hit(HITId=hit_id)["HIT"]
    assert got["HITStatus"] == "Assignable"
    assert abs((got["Expiration"] - future).total_seconds()) < 1
    assert api_funds(client) == ("998.80", "1.20")
    # expire, extend, expire, extend: every movement is booked, escrow follows
    client.update_expiration_for_hit(HITId=hit_id, ExpireAt=0)
    client.update_expiration_for_hit(HITId=hit_id, ExpireAt=future)
    client.update_expiration_for_hit(HITId=hit_id, ExpireAt=0)
    assert api_funds(client) == ("999.40", "0.60")
    client.update_expiration_for_hit(HITId=hit_id, ExpireAt=future)
    assert api_funds(client) == ("998.80", "1.20")
    assert api_view(client, hit_id)["status"] == "Assignable"


@pytest.mark.django_db(transaction=True)
def test_extension_refuses_shortening(api):
    client = api().client()
    hit_id = api_create(client, lifetime=3600)["HITId"]
    with pytest.raises(ClientError) as excinfo:
        client.update_expiration_for_hit(HITId=hit_id, ExpireAt=clock.now() + dt.timedelta(minutes=10))
    assert "shortened" in turk_error(excinfo)[1]
    client.update_expiration_for_hit(HITId=hit_id, ExpireAt=clock.now() + dt.timedelta(hours=5))
    assert api_view(client, hit_id)["status"] == "Assignable"


@DB
def test_extension_without_unfilled_slots_stays_reviewable():
    r = make_requester().requester
    hit = new_hit(r)
    w = make_worker()
    submit(w, accept(w, hit))
    expire(r, hit)
    extend(r, hit, 3600)
    assert view(hit)["status"] == "Reviewable"


@DB
def test_extension_refused_when_funds_are_short(move_clock):
    handle = make_requester(funds_cents=120)
    r = handle.requester
    hit = new_hit(r, reward_cents=100)
    expire(r, hit)
    new_hit(r, reward_cents=100)  # the released 1.20 is spent on another HIT
    from kempelen.core.errors import InsufficientFunds

    with pytest.raises(InsufficientFunds):
        extend(r, hit, 3600)
    assert view(hit)["status"] == "Reviewable"
    assert funds(r) == (0, 120)


@DB
def test_extension_of_a_disposed_hit_is_refused():
    r = make_requester().requester
    hit = new_hit(r)
    expire(r, hit)
    actions.delete_hit(actor=requester_actor(r), requester=r, environment="live", hit_id=hit.pk)
    from kempelen.core.errors import InvalidHITState

    with pytest.raises(InvalidHITState, match="Disposed"):
        extend(r, hit, 3600)


# --- additional assignments ----------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_additional_assignments_reserve_escrow_and_reopen(api):
    handle = api()
    client = handle.client()
    hit_id = api_create(client, max_assignments=1, reward="1.00")["HITId"]
    w = make_worker()
    submit(w, accept(w, hit_id))
    assert api_view(client, hit_id)["status"] == "Reviewable"
    client.create_additional_assignments_for_hit(HITId=hit_id, NumberOfAdditionalAssignments=3,
                                                 UniqueRequestToken="more-1")
    assert api_view(client, hit_id) == {"status": "Assignable", "max": 4, "available": 3, "pending": 0,
                                        "completed": 0, "unreviewed": 1}
    assert api_funds(client) == ("995.20", "4.80")
    with pytest.raises(ClientError) as excinfo:
        client.create_additional_assignments_for_hit(HITId=hit_id, NumberOfAdditionalAssignments=1,
                                                     UniqueRequestToken="more-1")
    assert "already been processed" in turk_error(excinfo)[1]
    assert api_view(client, hit_id)["max"] == 4


@pytest.mark.django_db(transaction=True)
def test_additional_assignments_may_not_cross_ten(api):
    client = api().client()
    hit_id = api_create(client, max_assignments=9)["HITId"]
    with pytest.raises(ClientError) as excinfo:
        client.create_additional_assignments_for_hit(HITId=hit_id, NumberOfAdditionalAssignments=1)
    assert turk_error(excinfo)[0] == "AWS.MechanicalTurk.InvalidMaximumAssignmentsIncrease"
    assert api_view(client, hit_id)["max"] == 9
    big = api_create(client, max_assignments=10)["HITId"]
    client.create_additional_assignments_for_hit(HITId=big, NumberOfAdditionalAssignments=5)
    assert api_view(client, big)["max"] == 15


@DB
def test_additional_assignments_on_an_expired_hit_wait_for_an_extension():
    """Slots added to an expired HIT cannot be taken, so they hold no escrow until the HIT is extended."""
    r = make_requester().requester
    hit = new_hit(r, reward_cents=100)
    expire(r, hit)
    before = funds(r)
    add_assignments(r, hit, 2)
    assert view(hit) == {"status": "Reviewable", "max": 3, "available": 3, "pending": 0, "completed": 0,
                         "unreviewed": 0}
    assert funds(r) == before
    extend(r, hit, 3600)
    assert view(hit)["status"] == "Assignable"
    assert funds(r) == (before[0] - 360, 360)


@DB
def test_additional_assignments_refused_when_funds_are_short():
    r = make_requester(funds_cents=240).requester
    hit = new_hit(r, reward_cents=100)
    from kempelen.core.errors import InsufficientFunds

    with pytest.raises(InsufficientFunds):
        add_assignments(r, hit, 2)
    assert view(hit)["max"] == 1
    add_assignments(r, hit, 1)
    assert funds(r) == (0, 240)


@DB
def test_additional_assignments_count_must_be_positive():
    r = make_requester().requester
    hit = new_hit(r)
    with pytest.raises(InvalidParameter, match="NumberOfAdditionalAssignments"):
        add_assignments(r, hit, 0)


# --- auto-approval --------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_auto_approval_by_a_reader_pays_exactly_once(api, move_clock):
    handle = api()
    client = handle.client()
    hit_id = api_create(client, reward="1.00", AutoApprovalDelayInSeconds=3600)["HITId"]
    w = make_worker()
    a = submit(w, accept(w, hit_id))
    assert a.auto_approval_time == a.submit_time + dt.timedelta(hours=1)
    move_clock(3601)
    got = client.get_assignment(AssignmentId=a.pk)["Assignment"]
    assert got["AssignmentStatus"] == "Approved"
    assert got["ApprovalTime"] == got["AutoApprovalTime"]
    assert api_view(client, hit_id) == {"status": "Reviewable", "max": 1, "available": 0, "pending": 0,
                                        "completed": 1, "unreviewed": 0}
    assert earnings(w) == 100
    assert api_funds(client) == ("998.80", "0.00")
    assert settle_due_hits() == 0
    with pytest.raises(ClientError) as excinfo:
        client.approve_assignment(AssignmentId=a.pk)
    assert turk_error(excinfo)[0] == "AWS.MechanicalTurk.InvalidAssignmentState"
    assert earnings(w) == 100
    assert LedgerTransaction.objects.filter(kind="assignment_payment").count() == 1


@DB
def test_auto_approval_by_the_runner_pays_exactly_once(move_clock):
    r = make_requester().requester
    hit = new_hit(r, reward_cents=100, auto_approval_delay=60, max_assignments=2)
    w1, w2 = make_worker(), make_worker()
    a1 = submit(w1, accept(w1, hit))
    move_clock(30)
    a2 = submit(w2, accept(w2, hit))
    move_clock(31)
    assert settle_due_hits() == 1
    assert status_of(a1) == AssignmentStatus.APPROVED
    assert status_of(a2) == AssignmentStatus.SUBMITTED
    assert settle_due_hits() == 0
    move_clock(30)
    assert settle_due_hits() == 1
    assert settle_due_hits() == 0
    assert (earnings(w1), earnings(w2)) == (100, 100)
    from kempelen.marketplace.models import Assignment

    a1 = Assignment.objects.get(pk=a1.pk)
    assert a1.approval_time == a1.auto_approval_time
    assert view(hit)["completed"] == 2


@DB
def test_zero_auto_approval_delay_approves_on_submit():
    r = make_requester().requester
    hit = new_hit(r, reward_cents=100, auto_approval_delay=0)
    w = make_worker()
    a = submit(w, accept(w, hit))
    assert status_of(a) == AssignmentStatus.APPROVED
    assert earnings(w) == 100
    assert view(hit) == {"status": "Reviewable", "max": 1, "available": 0, "pending": 0, "completed": 1,
                         "unreviewed": 0}
    from kempelen.marketplace.models import Assignment

    a = Assignment.objects.get(pk=a.pk)
    assert a.approval_time == a.submit_time == a.auto_approval_time
    assert settle_due_hits() == 0


@DB
def test_a_refused_action_keeps_the_timers_it_settled(move_clock):
    """A late submit is refused, but the abandonment it found (and the expiry) stay applied."""
    r = make_requester().requester
    hit = new_hit(r, duration=60, lifetime=120, reward_cents=100)
    w = make_worker()
    a = accept(w, hit)
    move_clock(121)
    with pytest.raises(InvalidAssignmentState):
        submit(w, a)
    stored = HIT.objects.get(pk=hit.pk)  # as stored, without a reader settling it
    assert (stored.available, stored.pending, stored.expiry_settled, stored.escrow_cents) == (1, 0, True, 0)
    assert status_of(a) == AssignmentStatus.ABANDONED


@DB
def test_reviewing_survives_an_extension_that_opens_nothing():
    r = make_requester().requester
    actor = requester_actor(r)
    hit = new_hit(r, max_assignments=1)
    w = make_worker()
    submit(w, accept(w, hit))
    actions.update_review_status(actor=actor, requester=r, environment="live", hit_id=hit.pk, revert=False)
    extend(r, hit, 7200)  # no unfilled slot: nothing to reopen
    assert view(hit)["status"] == "Reviewing"
    add_assignments(r, hit, 1)  # a new slot: Assignable, and Reviewable once the new work is in
    assert view(hit)["status"] == "Assignable"
    w2 = make_worker()
    submit(w2, accept(w2, hit))
    assert view(hit)["status"] == "Reviewable"


@DB
def test_a_review_policy_extension_may_not_cross_ten_and_changes_nothing_when_refused():
    from django.db import transaction

    from kempelen.core.actors import Actor
    from kempelen.core.errors import InvalidMaximumAssignmentsIncrease
    from kempelen.marketplace.actions._lifecycle import lock_hit
    from kempelen.marketplace.actions.review import _extend_by_one

    r = make_requester().requester
    hit = new_hit(r, max_assignments=9, lifetime=60)
    expire(r, hit)
    before = funds(r)
    with transaction.atomic():
        locked = lock_hit(hit.pk)
        with pytest.raises(InvalidMaximumAssignmentsIncrease):
            _extend_by_one(locked, actor=Actor.system("policy"), min_seconds=3600)
        assert (locked.max_assignments, locked.expiry_settled, locked.escrow_cents) == (9, True, 0)
    assert funds(r) == before
    small = new_hit(r, max_assignments=2, lifetime=60)
    expire(r, small)
    with transaction.atomic():
        _extend_by_one(lock_hit(small.pk), actor=Actor.system("policy"), min_seconds=3600)
    assert view(small) == {"status": "Assignable", "max": 3, "available": 3, "pending": 0, "completed": 0,
                           "unreviewed": 0}
