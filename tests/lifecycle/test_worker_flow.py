"""The worker side of §9: accept, return, submit, and every reason an accept is refused."""

from __future__ import annotations

import datetime as dt

import pytest

from kempelen.core import clock
from kempelen.core.actors import Actor
from kempelen.core.errors import (
    AssignmentDoesNotExist,
    Blocked,
    HITDoesNotExist,
    InvalidAssignmentState,
    NoAssignmentAvailable,
    NotQualified,
)
from kempelen.marketplace import actions
from kempelen.marketplace.models import HIT, Assignment, AssignmentStatus
from tests.conftest import make_requester, make_worker

from .kit import (
    LOCALE,
    MASTERS_LIVE,
    PERCENT_APPROVED,
    accept,
    accept_from_group,
    approve,
    give_back,
    new_hit,
    new_hit_type,
    reject,
    requester_actor,
    status_of,
    submit,
    view,
)

pytestmark = pytest.mark.django_db


def block(requester, worker, environment="live"):
    actions.create_worker_block(actor=requester_actor(requester), requester=requester, environment=environment,
                                worker_id=worker.worker_id, reason="Spam answers")


def test_accept_return_submit_move_the_counters():
    r = make_requester().requester
    hit = new_hit(r, max_assignments=2)
    w1, w2, w3 = make_worker(), make_worker(), make_worker()
    assert view(hit) == {"status": "Assignable", "max": 2, "available": 2, "pending": 0, "completed": 0,
                         "unreviewed": 0}

    a1 = accept(w1, hit)
    assert a1.status == AssignmentStatus.ACCEPTED
    assert a1.deadline - a1.accept_time == dt.timedelta(seconds=600)
    assert view(hit)["status"] == "Assignable"
    a2 = accept(w2, hit)
    assert view(hit) == {"status": "Unassignable", "max": 2, "available": 0, "pending": 2, "completed": 0,
                         "unreviewed": 0}

    give_back(w2, a2)  # the slot comes back
    assert status_of(a2) == AssignmentStatus.RETURNED
    assert view(hit) == {"status": "Assignable", "max": 2, "available": 1, "pending": 1, "completed": 0,
                         "unreviewed": 0}

    submit(w1, a1)
    assert view(hit) == {"status": "Assignable", "max": 2, "available": 1, "pending": 0, "completed": 0,
                         "unreviewed": 1}
    a3 = accept(w3, hit)
    submit(w3, a3)
    assert view(hit) == {"status": "Reviewable", "max": 2, "available": 0, "pending": 0, "completed": 0,
                         "unreviewed": 2}
    approve(r, a1)
    reject(r, a3, feedback="Wrong label")
    assert view(hit) == {"status": "Reviewable", "max": 2, "available": 0, "pending": 0, "completed": 2,
                         "unreviewed": 0}


def test_a_worker_who_returned_may_accept_the_same_hit_again():
    r = make_requester().requester
    hit = new_hit(r)
    w = make_worker()
    give_back(w, accept(w, hit))
    again = accept(w, hit)
    assert again.status == AssignmentStatus.ACCEPTED
    assert view(hit)["pending"] == 1


def test_accept_refuses_the_same_worker_twice():
    r = make_requester().requester
    hit = new_hit(r, max_assignments=3)
    w = make_worker()
    a = accept(w, hit)
    with pytest.raises(NoAssignmentAvailable, match="already worked on this HIT"):
        accept(w, hit)
    submit(w, a)
    with pytest.raises(NoAssignmentAvailable, match="already worked on this HIT"):
        accept(w, hit)
    assert view(hit)["available"] == 2


def test_accept_refuses_when_no_slot_is_left():
    r = make_requester().requester
    hit = new_hit(r)
    accept(make_worker(), hit)
    with pytest.raises(NoAssignmentAvailable, match="no assignment left"):
        accept(make_worker(), hit)
    assert view(hit)["pending"] == 1


def test_accept_refuses_an_expired_hit(move_clock):
    r = make_requester().requester
    hit = new_hit(r, lifetime=60)
    move_clock(61)
    with pytest.raises(NoAssignmentAvailable, match="expired"):
        accept(make_worker(), hit)
    assert view(hit) == {"status": "Reviewable", "max": 1, "available": 1, "pending": 0, "completed": 0,
                         "unreviewed": 0}


def test_accept_refuses_a_disposed_hit():
    r = make_requester().requester
    hit = new_hit(r)
    actions.update_expiration(actor=requester_actor(r), requester=r, environment="live", hit_id=hit.pk,
                              expire_at=hit.created_at)
    actions.delete_hit(actor=requester_actor(r), requester=r, environment="live", hit_id=hit.pk)
    with pytest.raises(NoAssignmentAvailable, match="deleted"):
        accept(make_worker(), hit)


def test_accept_refuses_unknown_hits_and_hits_of_the_other_environment():
    r = make_requester().requester
    hit = new_hit(r)
    with pytest.raises(HITDoesNotExist):
        accept(make_worker(), "3NOSUCHHITAAAAAAAAAAAAAAAAAAAA")
    with pytest.raises(HITDoesNotExist):
        accept(make_worker(), hit.pk, environment="sandbox")


def test_blocked_worker_cannot_accept_but_finishes_work_in_progress():
    r = make_requester().requester
    hit = new_hit(r, max_assignments=3)
    other = new_hit(r, max_assignments=3)
    w = make_worker()
    a = accept(w, hit)
    block(r, w)
    # a block placed mid-assignment still lets the worker submit...
    submit(w, a)
    assert status_of(a) == AssignmentStatus.SUBMITTED
    # ...but not take more work from this requester
    with pytest.raises(Blocked):
        accept(w, other)
    # the block is per requester and per environment
    accept(w, new_hit(make_requester().requester))
    accept(w, new_hit(r, environment="sandbox"))
    actions.delete_worker_block(actor=requester_actor(r), requester=r, environment="live", worker_id=w.worker_id)
    accept(w, other)
    assert view(other)["pending"] == 1


def test_blocked_worker_can_still_discover_and_preview():
    r = make_requester().requester
    hit_type = new_hit_type(r)
    w = make_worker()
    block(r, w)
    actions.check_may(w, hit_type, "Discover")
    actions.check_may(w, hit_type, "Preview")
    with pytest.raises(Blocked):
        actions.check_may(w, hit_type, "Accept")


def test_locale_requirement():
    r = make_requester().requester
    us_only = [{"QualificationTypeId": LOCALE, "Comparator": "EqualTo", "LocaleValues": [{"Country": "US"}]}]
    hit = new_hit(r, requirements=us_only)
    with pytest.raises(NotQualified, match="Worker_Locale"):
        accept(make_worker(country="IN"), hit)
    with pytest.raises(NotQualified):
        accept(make_worker(country=""), hit)  # no locale: fails every value comparison
    accept(make_worker(country="US", subdivision="PA"), hit)
    assert view(hit)["pending"] == 1


def test_locale_subdivision_requirement():
    r = make_requester().requester
    pa = [{"QualificationTypeId": LOCALE, "Comparator": "EqualTo",
           "LocaleValues": [{"Country": "US", "Subdivision": "PA"}]}]
    hit = new_hit(r, requirements=pa, max_assignments=2)
    with pytest.raises(NotQualified):
        accept(make_worker(country="US", subdivision="NY"), hit)
    accept(make_worker(country="US", subdivision="PA"), hit)


def test_percent_approved_requirement():
    """Worker_PercentAssignmentsApproved reads 100 below 100 submissions; from then on, approved / submitted."""
    r = make_requester().requester
    good = [{"QualificationTypeId": PERCENT_APPROVED, "Comparator": "GreaterThanOrEqualTo", "IntegerValues": [95]}]
    w = make_worker()
    # A history of 100 reviewed submissions, 90 approved: 90%. Written as rows (the statistics are read from
    # them); the filler HITs are complete and hold no escrow, so the invariants still hold.
    template = new_hit(r)
    now = clock.now()
    fillers = []
    for i in range(100):
        h = HIT.objects.get(pk=template.pk)
        h.pk = f"FILLER{i:024d}"
        h.available, h.completed, h.escrow_cents, h.expiry_settled, h.next_due_at = 0, 1, 0, True, None
        fillers.append(h)
    HIT.objects.bulk_create(fillers)
    Assignment.objects.bulk_create([
        Assignment(id=f"FA{i:028d}", hit=fillers[i], worker=w, requester=r, environment="live",
                   status="Approved" if i < 90 else "Rejected", accept_time=now, deadline=now, submit_time=now)
        for i in range(100)
    ])
    hit = new_hit(r, requirements=good)
    with pytest.raises(NotQualified, match="Worker_PercentAssignmentsApproved"):
        accept(w, hit)
    accept(make_worker(), hit)  # a new worker (fewer than 100 submissions) reads 100


def test_masters_requirement():
    r = make_requester().requester
    masters = [{"QualificationTypeId": MASTERS_LIVE, "Comparator": "Exists"}]
    hit = new_hit(r, requirements=masters, max_assignments=2)
    with pytest.raises(NotQualified, match="Masters"):
        accept(make_worker(), hit)
    master = make_worker()
    master.is_master_live = True
    master.save()
    accept(master, hit)
    sandbox_master = make_worker()
    sandbox_master.is_master_sandbox = True  # Masters is per environment
    sandbox_master.save()
    with pytest.raises(NotQualified):
        accept(sandbox_master, hit)


def test_actions_guarded():
    r = make_requester().requester
    req = {"QualificationTypeId": LOCALE, "Comparator": "EqualTo", "LocaleValues": [{"Country": "US"}]}
    outsider = make_worker(country="FR")
    for guarded, refused in (
        ("Accept", {"Accept"}),
        ("PreviewAndAccept", {"Preview", "Accept"}),
        ("DiscoverPreviewAndAccept", {"Discover", "Preview", "Accept"}),
    ):
        hit_type = new_hit_type(r, requirements=[dict(req, ActionsGuarded=guarded)], title=f"Guarded {guarded}")
        for action in ("Discover", "Preview", "Accept"):
            if action in refused:
                with pytest.raises(NotQualified):
                    actions.check_may(outsider, hit_type, action)
            else:
                actions.check_may(outsider, hit_type, action)
    # legacy RequiredToPreview reads as PreviewAndAccept
    legacy = new_hit_type(r, requirements=[dict(req, RequiredToPreview=True)], title="Legacy")
    actions.check_may(outsider, legacy, "Discover")
    with pytest.raises(NotQualified):
        actions.check_may(outsider, legacy, "Preview")


def test_return_and_submit_only_your_own_accepted_assignment():
    r = make_requester().requester
    hit = new_hit(r, max_assignments=2)
    w, intruder = make_worker(), make_worker()
    a = accept(w, hit)
    with pytest.raises(AssignmentDoesNotExist):
        submit(intruder, a)
    with pytest.raises(AssignmentDoesNotExist):
        give_back(intruder, a)
    submit(w, a)
    with pytest.raises(InvalidAssignmentState):
        submit(w, a)
    with pytest.raises(InvalidAssignmentState):
        give_back(w, a)
    assert view(hit) == {"status": "Assignable", "max": 2, "available": 1, "pending": 0, "completed": 0,
                         "unreviewed": 1}


def test_accepting_from_a_group_takes_the_next_open_hit_and_skips_hits_already_done():
    r = make_requester().requester
    hit_type = new_hit_type(r)
    first = new_hit(r, hit_type=hit_type, max_assignments=2)
    second = new_hit(r, hit_type=hit_type, max_assignments=1)
    w = make_worker()
    a = accept_from_group(w, hit_type.group_id)
    assert a.hit_id == first.pk
    b = accept_from_group(w, hit_type.pk)  # a HITTypeId works too
    assert b.hit_id == second.pk
    with pytest.raises(NoAssignmentAvailable):
        accept_from_group(w, hit_type.group_id)
    # the group's HITs the worker has not done are still open for others
    c = accept_from_group(make_worker(), hit_type.group_id)
    assert c.hit_id == first.pk


def test_worker_actions_are_audited():
    from kempelen.core.models import AuditEvent

    r = make_requester().requester
    hit = new_hit(r)
    w = make_worker()
    a = accept(w, hit)
    submit(w, a)
    verbs = list(AuditEvent.objects.filter(target_id=a.pk).values_list("action", flat=True))
    assert verbs == ["accept_assignment", "submit_assignment"]
    assert AuditEvent.objects.filter(target_id=a.pk).first().actor == str(Actor.for_worker(w))


@pytest.mark.django_db(transaction=True)
def test_create_worker_block_through_the_api(api):
    from .kit import api_create, api_view

    handle = api()
    client = handle.client()
    hit_id = api_create(client, max_assignments=3)["HITId"]
    w = make_worker()
    a = accept(w, hit_id)
    client.create_worker_block(WorkerId=w.worker_id, Reason="Copied answers")
    submit(w, a)  # work in progress may still be handed in
    with pytest.raises(Blocked):
        accept(w, api_create(client)["HITId"])
    assert api_view(client, hit_id) == {"status": "Assignable", "max": 3, "available": 2, "pending": 0,
                                        "completed": 0, "unreviewed": 1}
    client.delete_worker_block(WorkerId=w.worker_id, Reason="Appeal accepted")
    accept(w, api_create(client)["HITId"])
