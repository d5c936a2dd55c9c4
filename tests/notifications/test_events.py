"""The outbox is what delivery will send: after UpdateNotificationSettings, every lifecycle transition of a HIT
of that type queues exactly the events MTurk would have sent, to the HIT type's destination, and nothing else."""

from __future__ import annotations

import datetime as dt

import pytest

from kempelen.jobs.runner import settle_due_hits
from kempelen.ledger.models import AccountKind
from kempelen.ledger.queries import balance
from kempelen.marketplace.models import Assignment, HITType
from kempelen.notifications.models import OutboxEvent

from .helpers import (
    SNS_TOPIC,
    SQS_QUEUE,
    accept,
    create_hit,
    events,
    give_back,
    hit_type,
    spec,
    submit,
    work,
)

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_hits_whole_life_queues_every_event_in_order(api, worker_factory, move_clock):
    handle = api()
    client = handle.client()
    type_id = hit_type(client, duration=60)
    client.update_notification_settings(HITTypeId=type_id, Notification=spec(), Active=True)
    hit_id = create_hit(client, type_id, max_assignments=3)
    ann, bob, cat = worker_factory(), worker_factory(), worker_factory()

    a1 = accept(ann, hit_id)
    give_back(ann, a1)
    a2 = accept(ann, hit_id)  # a returned HIT can be taken again
    submit(ann, a2, q1="cat")
    client.approve_assignment(AssignmentId=a2, RequesterFeedback="Thanks")

    b1 = accept(bob, hit_id)
    submit(bob, b1, q1="dog")
    client.reject_assignment(AssignmentId=b1, RequesterFeedback="That is a cat.")

    c1 = accept(cat, hit_id)
    move_clock(61)  # past c1's 60-second deadline
    assert settle_due_hits() >= 1

    client.create_additional_assignments_for_hit(HITId=hit_id, NumberOfAdditionalAssignments=1)
    client.update_expiration_for_hit(HITId=hit_id, ExpireAt=dt.datetime(2015, 1, 1))
    assert client.get_hit(HITId=hit_id)["HIT"]["HITStatus"] == "Reviewable"
    client.delete_hit(HITId=hit_id)

    assert events() == [
        ("HITCreated", hit_id, ""),
        ("AssignmentAccepted", hit_id, a1),
        ("AssignmentReturned", hit_id, a1),
        ("AssignmentAccepted", hit_id, a2),
        ("AssignmentSubmitted", hit_id, a2),
        ("AssignmentApproved", hit_id, a2),
        ("AssignmentAccepted", hit_id, b1),
        ("AssignmentSubmitted", hit_id, b1),
        ("AssignmentRejected", hit_id, b1),
        ("AssignmentAccepted", hit_id, c1),
        ("AssignmentAbandoned", hit_id, c1),
        ("HITExtended", hit_id, ""),
        ("HITExpired", hit_id, ""),
        ("HITReviewable", hit_id, ""),
        ("HITDisposed", hit_id, ""),
    ]
    rows = list(OutboxEvent.objects.order_by("pk"))
    assert {(e.environment, e.requester_id, e.hit_type_id, e.transport, e.destination, e.version, e.test)
            for e in rows} == {("live", handle.requester.pk, type_id, "SQS", SQS_QUEUE, "2006-05-05", False)}
    assert all(e.delivered_at is None and e.attempts == 0 for e in rows)
    # The abandonment is reported at the moment it happened (the deadline), not when the runner noticed it.
    abandoned = OutboxEvent.objects.get(event_type="AssignmentAbandoned")
    assert abandoned.event_timestamp == Assignment.objects.get(pk=c1).deadline


def test_only_the_subscribed_event_types_are_queued(api, worker_factory):
    client = api().client()
    type_id = hit_type(client)
    client.update_notification_settings(
        HITTypeId=type_id, Notification=spec(["AssignmentSubmitted", "HITReviewable"])
    )
    hit_id = create_hit(client, type_id)
    assignment_id = work(worker_factory(), hit_id)  # the only slot: the HIT becomes Reviewable
    client.approve_assignment(AssignmentId=assignment_id)
    client.delete_hit(HITId=hit_id)

    assert events() == [("AssignmentSubmitted", hit_id, assignment_id), ("HITReviewable", hit_id, "")]


def test_a_hit_type_without_notifications_queues_nothing(api, worker_factory):
    client = api().client()
    hit_id = create_hit(client, hit_type(client))
    client.approve_assignment(AssignmentId=work(worker_factory(), hit_id))
    assert events() == []


def test_active_false_stops_events_and_active_true_resumes_them_with_the_same_spec(api, worker_factory):
    client = api().client()
    type_id = hit_type(client)
    client.update_notification_settings(HITTypeId=type_id, Notification=spec(version="2014-08-15"))
    client.update_notification_settings(HITTypeId=type_id, Active=False)
    hit_id = create_hit(client, type_id)
    assignment_id = work(worker_factory(), hit_id)
    assert events() == []

    client.update_notification_settings(HITTypeId=type_id, Active=True)
    client.approve_assignment(AssignmentId=assignment_id)
    assert events() == [("AssignmentApproved", hit_id, assignment_id)]
    event = OutboxEvent.objects.get()
    assert (event.destination, event.version) == (SQS_QUEUE, "2014-08-15")


def test_a_new_specification_replaces_the_old_one_and_is_active(api, worker_factory):
    client = api().client()
    type_id = hit_type(client)
    client.update_notification_settings(HITTypeId=type_id, Notification=spec(), Active=False)
    assert HITType.objects.get(pk=type_id).notification_active is False

    client.update_notification_settings(
        HITTypeId=type_id, Notification=spec(["HITCreated"], destination=SNS_TOPIC, transport="SNS",
                                             version="2014-08-15"),
    )
    stored = HITType.objects.get(pk=type_id)
    assert stored.notification_active is True
    assert stored.notification == {"Destination": SNS_TOPIC, "Transport": "SNS", "Version": "2014-08-15",
                                   "EventTypes": ["HITCreated"]}
    hit_id = create_hit(client, type_id)
    work(worker_factory(), hit_id)  # AssignmentAccepted/Submitted are no longer subscribed
    assert events() == [("HITCreated", hit_id, "")]
    event = OutboxEvent.objects.get()
    assert (event.transport, event.destination, event.version) == ("SNS", SNS_TOPIC, "2014-08-15")

    # A new spec given together with Active=false replaces the old one but stays off.
    client.update_notification_settings(HITTypeId=type_id, Notification=spec(), Active=False)
    create_hit(client, type_id)
    assert OutboxEvent.objects.count() == 1


def test_sandbox_and_live_events_do_not_mix(api, worker_factory):
    handle = api()
    live, sandbox = handle.client("live"), handle.client("sandbox")
    live_type = hit_type(live)
    sandbox_type = hit_type(sandbox)  # the same attributes in the other environment: another HIT type
    assert live_type != sandbox_type
    sandbox_queue = "https://sqs.us-east-1.amazonaws.com/123456789012/sandbox-events"
    live.update_notification_settings(HITTypeId=live_type, Notification=spec())
    sandbox.update_notification_settings(HITTypeId=sandbox_type, Notification=spec(destination=sandbox_queue))
    # Neither environment can reach the other's HIT type.
    with pytest.raises(sandbox.exceptions.RequestError) as refused:
        sandbox.update_notification_settings(HITTypeId=live_type, Active=False)
    assert refused.value.response["TurkErrorCode"] == "AWS.MechanicalTurk.HITTypeDoesNotExist"
    with pytest.raises(live.exceptions.RequestError):
        live.update_notification_settings(HITTypeId=sandbox_type, Notification=spec())

    worker = worker_factory()
    live_hit = create_hit(live, live_type)
    sandbox_hit = create_hit(sandbox, sandbox_type)
    live_assignment = work(worker, live_hit, "live")
    sandbox_assignment = work(worker, sandbox_hit, "sandbox")

    assert events(environment="live") == [
        ("HITCreated", live_hit, ""),
        ("AssignmentAccepted", live_hit, live_assignment),
        ("AssignmentSubmitted", live_hit, live_assignment),
        ("HITReviewable", live_hit, ""),
    ]
    assert events(environment="sandbox") == [
        ("HITCreated", sandbox_hit, ""),
        ("AssignmentAccepted", sandbox_hit, sandbox_assignment),
        ("AssignmentSubmitted", sandbox_hit, sandbox_assignment),
        ("HITReviewable", sandbox_hit, ""),
    ]
    assert set(OutboxEvent.objects.filter(environment="live").values_list("destination", flat=True)) == {SQS_QUEUE}
    assert set(OutboxEvent.objects.filter(environment="sandbox").values_list("destination", flat=True)) == {
        sandbox_queue
    }


def test_immediate_auto_approval_emits_assignment_approved(api, worker_factory):
    client = api().client()
    type_id = hit_type(client, auto_approval=0)
    client.update_notification_settings(HITTypeId=type_id, Notification=spec())
    hit_id = create_hit(client, type_id)
    worker = worker_factory()
    assignment_id = work(worker, hit_id)

    assert events() == [
        ("HITCreated", hit_id, ""),
        ("AssignmentAccepted", hit_id, assignment_id),
        ("AssignmentSubmitted", hit_id, assignment_id),
        ("AssignmentApproved", hit_id, assignment_id),
        ("HITReviewable", hit_id, ""),
    ]
    assert balance(AccountKind.WORKER_EARNINGS, "live", worker=worker) == 10


def test_delayed_auto_approval_emits_assignment_approved_when_the_runner_settles_it(api, worker_factory, move_clock):
    client = api().client()
    type_id = hit_type(client, auto_approval=120, duration=600)
    client.update_notification_settings(HITTypeId=type_id, Notification=spec(["AssignmentApproved"]))
    hit_id = create_hit(client, type_id)
    worker = worker_factory()
    assignment_id = work(worker, hit_id)
    assert events() == []

    move_clock(121)
    settle_due_hits()
    assert events() == [("AssignmentApproved", hit_id, assignment_id)]
    approved = OutboxEvent.objects.get()
    assert approved.event_timestamp == Assignment.objects.get(pk=assignment_id).auto_approval_time
    assert balance(AccountKind.WORKER_EARNINGS, "live", worker=worker) == 10
    settle_due_hits()  # settling again changes nothing
    assert OutboxEvent.objects.count() == 1


def test_expiry_by_the_runner_emits_hit_expired_then_reviewable(api, worker_factory, move_clock):
    client = api().client()
    type_id = hit_type(client)
    client.update_notification_settings(HITTypeId=type_id, Notification=spec(["HITExpired", "HITReviewable"]))
    hit_id = create_hit(client, type_id, lifetime=60, max_assignments=2)
    move_clock(61)
    settle_due_hits()
    assert events() == [("HITExpired", hit_id, ""), ("HITReviewable", hit_id, "")]


def test_extending_the_expiry_emits_hit_extended(api):
    client = api().client()
    type_id = hit_type(client)
    client.update_notification_settings(HITTypeId=type_id, Notification=spec(["HITExtended"]))
    hit_id = create_hit(client, type_id)
    expiration = client.get_hit(HITId=hit_id)["HIT"]["Expiration"]
    client.update_expiration_for_hit(HITId=hit_id, ExpireAt=expiration + dt.timedelta(hours=1))
    assert events() == [("HITExtended", hit_id, "")]


def test_timers_settled_together_are_queued_in_the_order_they_fell_due(api, worker_factory, move_clock):
    client = api().client()
    type_id = hit_type(client, duration=600, auto_approval=60)
    client.update_notification_settings(HITTypeId=type_id, Notification=spec())
    hit_id = create_hit(client, type_id, lifetime=30, max_assignments=3)
    early, late = worker_factory(), worker_factory()
    submitted = accept(early, hit_id)
    abandoned = accept(late, hit_id)
    submit(early, submitted)
    move_clock(700)  # expiry (+30 s), auto-approval (+60 s) and the deadline (+600 s) have all passed
    settle_due_hits()

    queued = list(OutboxEvent.objects.filter(event_type__in=["HITExpired", "AssignmentApproved",
                                                             "AssignmentAbandoned"]).order_by("pk"))
    assert [(e.event_type, e.assignment_id) for e in queued] == [
        ("HITExpired", ""), ("AssignmentApproved", submitted), ("AssignmentAbandoned", abandoned),
    ]
