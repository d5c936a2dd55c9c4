"""Cancelling a batch, adding assignments to it and extending it: one action for the whole batch, with the same
effects on each HIT (and its escrow) as the one-HIT operations, refused with a clear message when impossible."""

import datetime as dt

import pytest

from kempelen.core import clock
from kempelen.core.errors import (
    InsufficientFunds,
    InvalidMaximumAssignmentsIncrease,
    InvalidParameter,
    NoAssignmentAvailable,
)
from kempelen.ledger.queries import requester_balances
from kempelen.marketplace import actions
from kempelen.marketplace.models import HIT, Assignment, BatchStatus
from kempelen.notifications.models import OutboxEvent
from tests.api.helpers import accept, submit
from tests.conftest import make_requester, make_worker

from .conftest import actor_for, csv_bytes, make_project, picture_rows, publish_file

pytestmark = pytest.mark.django_db


def _published(funds_cents: int = 100_000, rows: int = 3, environment: str = "live", **properties):
    requester = make_requester(funds_cents=funds_cents).requester
    project = make_project(requester, environment=environment, **properties)
    return requester, publish_file(requester, project, csv_bytes(picture_rows(rows)))


def _hits(batch) -> list[HIT]:
    return list(HIT.objects.filter(batch=batch).order_by("batch_row"))


def _change(action, requester, batch, **kwargs):
    return action(actor=actor_for(requester), requester=requester, environment=batch.environment,
                  batch_id=batch.pk, **kwargs)


def test_cancel_expires_every_task_and_releases_exactly_the_unfilled_slots_escrow():
    requester, batch = _published()  # 3 tasks x 2 slots x 12 cents = 72 cents held
    first, second = _hits(batch)[:2]
    busy, done = make_worker(), make_worker()
    in_progress = accept(busy, first.pk)
    submit(done, accept(done, second.pk))
    available, held = requester_balances(requester, "live")
    assert held == 72
    change = _change(actions.cancel_batch, requester, batch)
    assert change.hits == 3 and change.escrow_cents == -48  # 4 unfilled slots x 12 cents
    assert requester_balances(requester, "live") == (available + 48, 24)  # still held: one in progress, one submitted
    batch.refresh_from_db()
    assert batch.status == BatchStatus.CANCELLED and batch.cancelled_at <= clock.now()
    now = clock.now()
    for hit in _hits(batch):
        assert hit.expiration == batch.cancelled_at and hit.expiry_settled
        assert hit.status(now) in ("Unassignable", "Reviewable")
    with pytest.raises(NoAssignmentAvailable):
        accept(make_worker(), _hits(batch)[2].pk)
    # The worker who had accepted can still submit, and the requester pays for it from what is still held.
    submit(busy, in_progress)
    actions.approve_assignment(actor=actor_for(requester), requester=requester, environment="live",
                               assignment_id=in_progress)
    assert requester_balances(requester, "live")[1] == 12


def test_cancel_signals_expired_and_reviewable_hits_to_notification_destinations():
    requester, batch = _published()
    batch.hit_type.__class__.objects.filter(pk=batch.hit_type_id).update(notification_active=True, notification={
        "Destination": "https://sqs.us-east-1.amazonaws.com/1/q", "Transport": "SQS", "Version": "2006-05-05",
        "EventTypes": ["HITExpired", "HITReviewable"]})
    _change(actions.cancel_batch, requester, batch)
    counts = {t: OutboxEvent.objects.filter(event_type=t).count() for t in ("HITExpired", "HITReviewable")}
    assert counts == {"HITExpired": 3, "HITReviewable": 3}
    assert all(h.reviewable_signalled for h in _hits(batch))


@pytest.mark.parametrize("status", [BatchStatus.PUBLISHING, BatchStatus.CANCELLED, BatchStatus.FAILED])
def test_changes_are_refused_unless_the_batch_is_published(status):
    requester, batch = _published()
    type(batch).objects.filter(pk=batch.pk).update(status=status)
    held = requester_balances(requester, "live")
    for action, kwargs in ((actions.cancel_batch, {}), (actions.add_batch_assignments, {"count": 1}),
                           (actions.extend_batch, {"seconds": 3600})):
        with pytest.raises(InvalidParameter) as refused:
            _change(action, requester, batch, **kwargs)
        assert {"Publishing": "still being published", "Cancelled": "was cancelled",
                "Failed": "failed to publish"}[status] in refused.value.message
    assert requester_balances(requester, "live") == held
    assert all(h.max_assignments == 2 and not h.expiry_settled for h in _hits(batch))


def test_another_requesters_or_the_other_environments_batch_does_not_exist_for_an_action():
    owner, batch = _published()
    stranger = make_requester().requester
    with pytest.raises(actions.BatchDoesNotExist):
        _change(actions.cancel_batch, stranger, batch)
    with pytest.raises(actions.BatchDoesNotExist):
        actions.add_batch_assignments(actor=actor_for(owner), requester=owner, environment="sandbox",
                                      batch_id=batch.pk, count=1)
    assert type(batch).objects.get(pk=batch.pk).status == BatchStatus.PUBLISHED


def test_adding_assignments_raises_every_tasks_slots_and_holds_their_escrow():
    requester, batch = _published()
    available = requester_balances(requester, "live")[0]
    change = _change(actions.add_batch_assignments, requester, batch, count=3)
    assert change.hits == 3 and change.escrow_cents == 3 * 3 * 12
    assert requester_balances(requester, "live") == (available - 108, 72 + 108)
    for hit in _hits(batch):
        assert (hit.max_assignments, hit.available, hit.escrow_cents) == (5, 5, 60)
    batch.refresh_from_db()
    assert batch.assignments_per_row == 5


def test_tasks_below_ten_assignments_cannot_reach_ten():
    requester, batch = _published(max_assignments=7)
    with pytest.raises(InvalidMaximumAssignmentsIncrease, match="have 7 assignments, so you can add at most 2"):
        _change(actions.add_batch_assignments, requester, batch, count=3)
    assert all(h.max_assignments == 7 for h in _hits(batch))


def test_adding_assignments_is_refused_when_the_live_balance_is_short():
    requester, batch = _published(funds_cents=100)  # 72 cents held, 28 left
    with pytest.raises(InsufficientFunds, match=r"costs \$0.36, but your available balance is \$0.28"):
        _change(actions.add_batch_assignments, requester, batch, count=1)
    assert requester_balances(requester, "live") == (28, 72)
    assert all(h.max_assignments == 2 for h in _hits(batch))


def test_extending_moves_every_expiry_later_and_never_earlier():
    requester, batch = _published()
    latest = max(h.expiration for h in _hits(batch))
    change = _change(actions.extend_batch, requester, batch, seconds=86400)
    assert change.escrow_cents == 0 and change.expires_at == latest + dt.timedelta(days=1)
    assert {h.expiration for h in _hits(batch)} == {change.expires_at}


def test_an_expired_batch_comes_back_when_extended_with_its_escrow_held_again(move_clock):
    requester, batch = _published()
    move_clock(3 * 86400 + 10)  # every task has expired (the job runner has not run)
    available = requester_balances(requester, "live")[0]
    change = _change(actions.extend_batch, requester, batch, seconds=2 * 86400)
    # The expiry is settled first (72 cents back), then the 6 unfilled slots are held again.
    assert change.escrow_cents == 72
    assert requester_balances(requester, "live") == (available, 72)
    assert all(not h.expiry_settled and h.expiration > clock.now() for h in _hits(batch))
    accept(make_worker(), _hits(batch)[0].pk)


def test_assignments_added_to_expired_tasks_hold_no_escrow_until_extended(move_clock):
    requester, batch = _published()
    move_clock(3 * 86400 + 10)
    change = _change(actions.add_batch_assignments, requester, batch, count=1)
    assert change.escrow_cents == 0 and requester_balances(requester, "live")[1] == 0
    change = _change(actions.extend_batch, requester, batch, seconds=3600)
    assert change.escrow_cents == 3 * 3 * 12
    assert all(h.available == 3 and h.escrow_cents == 36 for h in _hits(batch))


def test_an_extension_past_365_days_is_refused():
    requester, batch = _published()
    with pytest.raises(InvalidParameter, match="at most 365 days from now"):
        _change(actions.extend_batch, requester, batch, seconds=364 * 86400)
    assert {h.expiration for h in _hits(batch)} == {_hits(batch)[0].expiration}


def test_changes_apply_elapsed_assignment_timers_first(move_clock):
    requester, batch = _published()
    hit = _hits(batch)[0]
    worker = make_worker()
    assignment_id = accept(worker, hit.pk)
    move_clock(700)  # past the 600-second deadline: the assignment is abandoned, its slot free again
    _change(actions.add_batch_assignments, requester, batch, count=1)
    assert Assignment.objects.get(pk=assignment_id).status == "Abandoned"
    hit.refresh_from_db()
    assert (hit.max_assignments, hit.available, hit.pending) == (3, 3, 0)


def test_the_sandbox_changes_need_no_deposit():
    requester, batch = _published(funds_cents=0, environment="sandbox")
    change = _change(actions.add_batch_assignments, requester, batch, count=2)
    assert change.escrow_cents == 72


def test_adding_and_extending_queue_hit_extended_for_each_task():
    requester, batch = _published()
    batch.hit_type.__class__.objects.filter(pk=batch.hit_type_id).update(notification_active=True, notification={
        "Destination": "https://sqs.us-east-1.amazonaws.com/1/q", "Transport": "SQS", "Version": "2006-05-05",
        "EventTypes": ["HITExtended"]})
    _change(actions.add_batch_assignments, requester, batch, count=1)
    _change(actions.extend_batch, requester, batch, seconds=3600)
    events = OutboxEvent.objects.filter(event_type="HITExtended")
    assert events.count() == 6 and set(events.values_list("hit_id", flat=True)) == {h.pk for h in _hits(batch)}
