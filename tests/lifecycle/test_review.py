"""Reviewing work (§5.3): approve, reject, override a rejection within 30 days, DeleteHIT."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from kempelen.core.errors import AssignmentDoesNotExist, InvalidAssignmentState, InvalidHITState
from kempelen.marketplace import actions
from kempelen.marketplace.models import HIT, Assignment
from tests.conftest import make_requester, make_worker

from .kit import (
    accept,
    api_create,
    api_funds,
    api_view,
    approve,
    earnings,
    funds,
    new_hit,
    reject,
    requester_actor,
    submit,
    turk_error,
    view,
)

DAY = 86_400


@pytest.mark.django_db(transaction=True)
def test_approve_pays_and_reject_releases(api):
    handle = api()
    client = handle.client()
    hit_id = api_create(client, max_assignments=2, reward="1.00")["HITId"]
    assert api_funds(client) == ("997.60", "2.40")
    w1, w2 = make_worker(), make_worker()
    a1 = submit(w1, accept(w1, hit_id))
    a2 = submit(w2, accept(w2, hit_id))
    assert api_view(client, hit_id)["unreviewed"] == 2
    client.approve_assignment(AssignmentId=a1.pk, RequesterFeedback="Thanks!")
    assert api_view(client, hit_id) == {"status": "Reviewable", "max": 2, "available": 0, "pending": 0,
                                        "completed": 1, "unreviewed": 1}
    assert api_funds(client) == ("997.60", "1.20")
    assert earnings(w1) == 100
    client.reject_assignment(AssignmentId=a2.pk, RequesterFeedback="")
    assert api_view(client, hit_id)["completed"] == 2
    assert api_funds(client) == ("998.80", "0.00")  # a rejection pays nothing and charges no fee
    assert earnings(w2) == 0
    got = client.get_assignment(AssignmentId=a1.pk)["Assignment"]
    assert got["AssignmentStatus"] == "Approved"
    assert got["RequesterFeedback"] == "Thanks!"
    assert "ApprovalTime" in got
    got = client.get_assignment(AssignmentId=a2.pk)["Assignment"]
    assert got["AssignmentStatus"] == "Rejected"
    assert "RejectionTime" in got


@pytest.mark.django_db(transaction=True)
def test_approving_twice_and_rejecting_reviewed_work_are_refused(api):
    client = api().client()
    hit_id = api_create(client, max_assignments=2, reward="1.00")["HITId"]
    w1, w2 = make_worker(), make_worker()
    a1 = submit(w1, accept(w1, hit_id))
    a2 = submit(w2, accept(w2, hit_id))
    client.approve_assignment(AssignmentId=a1.pk)
    client.reject_assignment(AssignmentId=a2.pk, RequesterFeedback="no")
    for call in (
        lambda: client.approve_assignment(AssignmentId=a1.pk),
        lambda: client.reject_assignment(AssignmentId=a1.pk, RequesterFeedback="no"),
        lambda: client.reject_assignment(AssignmentId=a2.pk, RequesterFeedback="no"),
        lambda: client.approve_assignment(AssignmentId=a2.pk),  # without OverrideRejection
    ):
        with pytest.raises(ClientError) as excinfo:
            call()
        code, message = turk_error(excinfo)
        assert code == "AWS.MechanicalTurk.InvalidAssignmentState"
        assert "This operation can be called with a status of: Submitted" in message
    assert earnings(w1) == 100
    assert earnings(w2) == 0


@pytest.mark.django_db(transaction=True)
def test_unsubmitted_work_does_not_exist_for_the_requester(api):
    handle = api()
    client = handle.client()
    hit_id = api_create(client)["HITId"]
    a = accept(make_worker(), hit_id)
    for call in (
        lambda: client.approve_assignment(AssignmentId=a.pk),
        lambda: client.reject_assignment(AssignmentId=a.pk, RequesterFeedback=""),
        lambda: client.get_assignment(AssignmentId=a.pk),
    ):
        with pytest.raises(ClientError) as excinfo:
            call()
        assert "does not exist" in turk_error(excinfo)[1]
    # another requester's assignments do not exist for this one
    w = make_worker()
    other = new_hit(make_requester().requester)
    b = submit(w, accept(w, other))
    with pytest.raises(ClientError):
        client.approve_assignment(AssignmentId=b.pk)


@pytest.mark.django_db(transaction=True)
def test_override_a_rejection_within_30_days(api, move_clock):
    client = api().client()
    hit_id = api_create(client, reward="1.00")["HITId"]
    w = make_worker()
    a = submit(w, accept(w, hit_id))
    client.reject_assignment(AssignmentId=a.pk, RequesterFeedback="Looks wrong")
    assert api_funds(client) == ("1000.00", "0.00")
    move_clock(29 * DAY)
    client.approve_assignment(AssignmentId=a.pk, OverrideRejection=True, RequesterFeedback="Sorry, it was right")
    got = client.get_assignment(AssignmentId=a.pk)["Assignment"]
    assert got["AssignmentStatus"] == "Approved"
    assert got["RequesterFeedback"] == "Sorry, it was right"
    assert earnings(w) == 100
    assert api_funds(client) == ("998.80", "0.00")
    assert api_view(client, hit_id)["completed"] == 1
    # approved now: another override is refused
    with pytest.raises(ClientError) as excinfo:
        client.approve_assignment(AssignmentId=a.pk, OverrideRejection=True)
    assert turk_error(excinfo)[0] == "AWS.MechanicalTurk.InvalidAssignmentState"
    assert earnings(w) == 100


@pytest.mark.django_db
def test_override_refused_after_30_days(move_clock):
    r = make_requester().requester
    hit = new_hit(r, reward_cents=100)
    w = make_worker()
    a = submit(w, accept(w, hit))
    reject(r, a)
    move_clock(30 * DAY + 1)
    with pytest.raises(InvalidAssignmentState, match="within 30 days"):
        approve(r, a, override=True)
    assert earnings(w) == 0


@pytest.mark.django_db
def test_override_refused_after_delete_hit():
    r = make_requester().requester
    hit = new_hit(r, reward_cents=100)
    w = make_worker()
    a = submit(w, accept(w, hit))
    reject(r, a)
    actions.delete_hit(actor=requester_actor(r), requester=r, environment="live", hit_id=hit.pk)
    with pytest.raises(InvalidAssignmentState, match="deleted"):
        approve(r, a, override=True)
    assert earnings(w) == 0


@pytest.mark.django_db
def test_override_refused_when_funds_are_short():
    from kempelen.core.errors import InsufficientFunds

    r = make_requester(funds_cents=120).requester
    hit = new_hit(r, reward_cents=100)
    w = make_worker()
    a = submit(w, accept(w, hit))
    reject(r, a)
    new_hit(r, reward_cents=100)  # spends the released 1.20
    with pytest.raises(InsufficientFunds):
        approve(r, a, override=True)
    assert Assignment.objects.get(pk=a.pk).status == "Rejected"
    assert earnings(w) == 0


@pytest.mark.django_db
def test_reject_needs_a_submitted_assignment():
    r = make_requester().requester
    hit = new_hit(r)
    w = make_worker()
    a = accept(w, hit)
    with pytest.raises(AssignmentDoesNotExist):
        reject(r, a)
    submit(w, a)
    reject(r, a, feedback="Not what was asked")
    with pytest.raises(InvalidAssignmentState):
        reject(r, a)


@pytest.mark.django_db
def test_approve_refuses_another_environment():
    r = make_requester().requester
    hit = new_hit(r)
    w = make_worker()
    a = submit(w, accept(w, hit))
    with pytest.raises(AssignmentDoesNotExist):
        approve(r, a, environment="sandbox")


@pytest.mark.django_db
def test_approval_after_the_auto_approval_time_finds_it_approved(move_clock):
    r = make_requester().requester
    hit = new_hit(r, auto_approval_delay=60, reward_cents=100)
    w = make_worker()
    a = submit(w, accept(w, hit))
    move_clock(61)
    with pytest.raises(InvalidAssignmentState, match="'Approved'"):
        approve(r, a, feedback="late")
    with pytest.raises(InvalidAssignmentState):
        reject(r, a, feedback="late")
    assert earnings(w) == 100


# --- DeleteHIT -------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_delete_hit_only_when_reviewable_and_all_reviewed(api):
    client = api().client()
    hit_id = api_create(client, max_assignments=2, reward="1.00")["HITId"]
    with pytest.raises(ClientError) as excinfo:
        client.delete_hit(HITId=hit_id)
    code, message = turk_error(excinfo)
    assert code == "AWS.MechanicalTurk.InvalidHITState"
    assert "currently in the state 'Assignable'" in message
    assert "Reviewing, Reviewable" in message
    w = make_worker()
    a = submit(w, accept(w, hit_id))
    client.update_expiration_for_hit(HITId=hit_id, ExpireAt=0)
    with pytest.raises(ClientError) as excinfo:
        client.delete_hit(HITId=hit_id)  # one submitted assignment still to review
    assert "currently in the state 'Reviewable'" in turk_error(excinfo)[1]
    client.approve_assignment(AssignmentId=a.pk)
    client.delete_hit(HITId=hit_id)
    assert client.get_hit(HITId=hit_id)["HIT"]["HITStatus"] == "Disposed"
    assert hit_id not in [h["HITId"] for h in client.list_hits()["HITs"]]
    assert api_funds(client) == ("998.80", "0.00")
    with pytest.raises(ClientError) as excinfo:
        client.delete_hit(HITId=hit_id)
    assert "currently in the state 'Disposed'" in turk_error(excinfo)[1]


@pytest.mark.django_db
def test_delete_a_reviewing_hit_and_an_unexpired_full_one():
    r = make_requester().requester
    actor = requester_actor(r)
    hit = new_hit(r, reward_cents=100)
    w = make_worker()
    a = submit(w, accept(w, hit))
    approve(r, a)
    actions.update_review_status(actor=actor, requester=r, environment="live", hit_id=hit.pk, revert=False)
    assert view(hit)["status"] == "Reviewing"
    actions.delete_hit(actor=actor, requester=r, environment="live", hit_id=hit.pk)
    assert view(hit)["status"] == "Disposed"
    assert funds(r)[1] == 0


@pytest.mark.django_db
def test_delete_hit_with_work_in_progress_is_refused():
    r = make_requester().requester
    hit = new_hit(r, max_assignments=1)
    accept(make_worker(), hit)
    actions.update_expiration(actor=requester_actor(r), requester=r, environment="live", hit_id=hit.pk,
                              expire_at=hit.created_at)
    with pytest.raises(InvalidHITState, match="Unassignable"):
        actions.delete_hit(actor=requester_actor(r), requester=r, environment="live", hit_id=hit.pk)
    assert HIT.objects.get(pk=hit.pk).disposed_at is None


@pytest.mark.django_db
def test_review_status_toggle():
    r = make_requester().requester
    actor = requester_actor(r)
    hit = new_hit(r)
    with pytest.raises(InvalidHITState, match="Assignable"):
        actions.update_review_status(actor=actor, requester=r, environment="live", hit_id=hit.pk, revert=False)
    actions.update_expiration(actor=actor, requester=r, environment="live", hit_id=hit.pk, expire_at=hit.created_at)
    with pytest.raises(InvalidHITState, match="Reviewable"):
        actions.update_review_status(actor=actor, requester=r, environment="live", hit_id=hit.pk, revert=True)
    actions.update_review_status(actor=actor, requester=r, environment="live", hit_id=hit.pk, revert=False)
    assert view(hit)["status"] == "Reviewing"
    actions.update_review_status(actor=actor, requester=r, environment="live", hit_id=hit.pk, revert=True)
    assert view(hit)["status"] == "Reviewable"
