"""The review_batch action itself: tenancy, idempotence, all or nothing, whatever page calls it."""

from __future__ import annotations

import pytest

from kempelen.core.errors import DoesNotExist
from kempelen.marketplace import actions
from kempelen.marketplace.actions import Decision, ReviewRefused
from kempelen.marketplace.models import Assignment
from tests.conftest import make_requester

from .kit import actor, make_batch, work

pytestmark = pytest.mark.django_db


def review(kit, decisions, *, requester=None, environment=None):  # type: ignore[no-untyped-def]
    requester = requester or kit.requester
    return actions.review_batch(actor=actor(requester), requester=requester,
                                environment=environment or kit.environment, batch_id=kit.batch.pk,
                                decisions=decisions)


def test_another_requester_cannot_review_a_batch_even_through_the_action():
    kit = make_batch()
    done = work(kit, kit.hits[0])
    with pytest.raises(DoesNotExist, match=f"Batch {kit.batch.pk} does not exist."):
        review(kit, [Decision(done.pk, approve=True)], requester=make_requester().requester)
    with pytest.raises(DoesNotExist):
        review(kit, [Decision(done.pk, approve=True)], environment="live")
    assert Assignment.objects.get(pk=done.pk).status == "Submitted"


def test_the_same_decisions_twice_change_nothing_the_second_time():
    kit = make_batch()
    a, b, _ = (work(kit, hit) for hit in kit.hits)
    decisions = [Decision(a.pk, approve=True), Decision(b.pk, approve=False, feedback="Wrong.")]
    first = review(kit, decisions)
    assert (first.approved, first.rejected, first.unchanged) == (1, 1, 0)
    second = review(kit, decisions)
    assert (second.changed, second.unchanged) == (0, 2)


def test_refusals_list_every_problem_and_change_nothing():
    kit = make_batch()
    a, b, c = (work(kit, hit) for hit in kit.hits)
    with pytest.raises(ReviewRefused) as refused:
        review(kit, [Decision(a.pk, approve=True, row=2), Decision(b.pk, approve=False, row=3),
                     Decision(a.pk, approve=False, feedback="x", row=4), Decision("NOPE", approve=True, row=5),
                     Decision(c.pk, approve=True, row=6)])
    problems = [str(p) for p in refused.value.problems]
    assert problems == [f"Row 4: assignment {a.pk}: this assignment appears twice (also row 2)."]
    with pytest.raises(ReviewRefused) as refused:
        review(kit, [Decision(a.pk, approve=True, row=2), Decision(b.pk, approve=False, row=3),
                     Decision("NOPE", approve=True, row=5), Decision(c.pk, approve=True, row=6)])
    assert [str(p) for p in refused.value.problems] == [
        f"Row 3: assignment {b.pk}: The reason for rejecting (RequesterFeedback) is required and must not be empty.",
        "Row 5: assignment NOPE: no such assignment among your submitted work in this environment.",
    ]
    assert "Nothing was changed: 2 rows cannot be applied." in refused.value.message
    assert {Assignment.objects.get(pk=x.pk).status for x in (a, b, c)} == {"Submitted"}
