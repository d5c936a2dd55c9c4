"""One HIT's whole life through boto3, with GetHIT's counters checked after every step:
Max = Available + Pending + Completed + submitted-unreviewed (psiTurk derives the last term from the others)."""

from __future__ import annotations

import datetime as dt

import pytest

from kempelen.core import clock
from kempelen.jobs.runner import settle_due_hits
from kempelen.marketplace.models import AssignmentStatus
from tests.conftest import make_worker

from .kit import accept, api_create, api_funds, api_view, earnings, give_back, status_of, submit

MINUTE, HOUR, DAY = 60, 3600, 86_400


@pytest.mark.django_db(transaction=True)
def test_a_long_life(api, move_clock):
    client = api().client()
    hit_id = api_create(client, reward="0.40", max_assignments=4, lifetime=HOUR, duration=10 * MINUTE,
                        AutoApprovalDelayInSeconds=DAY)["HITId"]
    steps: list[tuple[str, dict]] = []

    def step(name: str, status: str, available: int, pending: int, completed: int, unreviewed: int) -> None:
        got = api_view(client, hit_id)
        steps.append((name, got))
        assert got == {"status": status, "max": got["max"], "available": available, "pending": pending,
                       "completed": completed, "unreviewed": unreviewed}, name

    step("created", "Assignable", 4, 0, 0, 0)
    assert api_funds(client) == ("998.08", "1.92")
    w = [make_worker() for _ in range(7)]
    a1, a2, a3 = accept(w[1], hit_id), accept(w[2], hit_id), accept(w[3], hit_id)
    step("three accepted", "Assignable", 1, 3, 0, 0)
    give_back(w[2], a2)
    step("one returned", "Assignable", 2, 2, 0, 0)
    submit(w[1], a1)
    step("one submitted", "Assignable", 2, 1, 0, 1)
    move_clock(10 * MINUTE + 1)
    step("one abandoned", "Assignable", 3, 0, 0, 1)
    assert status_of(a3) == AssignmentStatus.ABANDONED
    a4, a5, a6 = accept(w[4], hit_id), accept(w[5], hit_id), accept(w[6], hit_id)
    step("full", "Unassignable", 0, 3, 0, 1)
    submit(w[4], a4)
    step("two submitted", "Unassignable", 0, 2, 0, 2)
    client.approve_assignment(AssignmentId=a1.pk)
    client.reject_assignment(AssignmentId=a4.pk, RequesterFeedback="Off topic")
    step("reviewed two", "Unassignable", 0, 2, 2, 0)
    give_back(w[6], a6)
    step("returned before expiry", "Assignable", 1, 1, 2, 0)
    client.update_expiration_for_hit(HITId=hit_id, ExpireAt=dt.datetime(2015, 1, 1))
    step("expired with work pending", "Unassignable", 1, 1, 2, 0)
    assert api_funds(client) == ("999.04", "0.48")  # paid 0.48, released 2 x 0.48, one slot at work
    submit(w[5], a5)
    step("last one in", "Reviewable", 1, 0, 2, 1)
    client.create_additional_assignments_for_hit(HITId=hit_id, NumberOfAdditionalAssignments=2)
    step("more slots on an expired HIT", "Reviewable", 3, 0, 2, 1)
    assert api_funds(client) == ("999.04", "0.48")
    client.update_expiration_for_hit(HITId=hit_id, ExpireAt=clock.now() + dt.timedelta(hours=1))
    step("extended", "Assignable", 3, 0, 2, 1)
    assert api_funds(client) == ("997.60", "1.92")
    a7 = accept(w[2], hit_id)  # w2 returned earlier and may come back
    step("returning worker", "Assignable", 2, 1, 2, 1)
    submit(w[2], a7)
    step("submitted again", "Assignable", 2, 0, 2, 2)
    move_clock(HOUR + 1)
    step("expired again", "Reviewable", 2, 0, 2, 2)
    move_clock(DAY)
    step("auto-approved", "Reviewable", 2, 0, 4, 0)
    assert settle_due_hits() == 0
    client.approve_assignment(AssignmentId=a4.pk, OverrideRejection=True)
    step("override", "Reviewable", 2, 0, 4, 0)
    assert [earnings(x) for x in w[1:]] == [40, 40, 0, 40, 40, 0]
    assert api_funds(client) == (f"{1000 - 4 * 0.48:.2f}", "0.00")
    client.delete_hit(HITId=hit_id)
    assert client.get_hit(HITId=hit_id)["HIT"]["HITStatus"] == "Disposed"
    assert api_funds(client) == ("998.08", "0.00")
    assert len(steps) == 18
