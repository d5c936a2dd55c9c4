"""UpdateNotificationSettings and SendTestEventNotification: what they accept, refuse and record."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from kempelen.core.errors import InvalidParameter
from kempelen.core.models import AuditEvent
from kempelen.marketplace.models import HITType
from kempelen.notifications.models import OutboxEvent
from kempelen.notifications.settings_actions import check_specification

from .helpers import ALL_EVENTS, SNS_TOPIC, SQS_QUEUE, hit_type, spec

# --- the specification, without a database ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("transport", "destination"),
    [
        ("SQS", SQS_QUEUE),
        ("SQS", "https://sqs.eu-west-1.amazonaws.com/123456789012/orders.fifo"),
        ("SQS", "https://queue.amazonaws.com/123456789012/legacy_queue"),
        ("SQS", "https://sqs.cn-north-1.amazonaws.com.cn/123456789012/q"),
        ("SQS", "http://localhost:4566/000000000000/kempelen"),  # LocalStack
        ("SQS", "http://127.0.0.1:9324/queue/kempelen"),  # ElasticMQ
        ("SQS", "https://sqs.internal.example.org/events"),
        ("SNS", SNS_TOPIC),
        ("SNS", "arn:aws-us-gov:sns:us-gov-west-1:123456789012:topic_1"),
        ("SNS", "arn:aws:sns:us-east-1:000000000000:events.fifo"),
        ("Email", "requester@example.org"),
    ],
)
def test_valid_destinations(transport, destination):
    checked = check_specification(spec(destination=destination, transport=transport))
    assert (checked["Transport"], checked["Destination"]) == (transport, destination)


@pytest.mark.parametrize(
    ("transport", "destination", "says"),
    [
        ("SQS", "http://sqs.us-east-1.amazonaws.com/123456789012/q", "AWS queue URLs"),  # not https
        ("SQS", "https://sqs.us-east-1.amazonaws.com/1234/q", "AWS queue URLs"),  # not a 12-digit account
        ("SQS", "https://sqs.us-east-1.amazonaws.com/123456789012/bad name", "spaces"),
        ("SQS", "https://sns.us-east-1.amazonaws.com/123456789012/q", "AWS queue URLs"),
        ("SQS", "https://sqs.us-east-1.amazonaws.com/123456789012/q/extra", "AWS queue URLs"),
        ("SQS", "ftp://localhost/queue", "SQS queue URL"),
        ("SQS", "http://localhost:4566", "queue in its path"),
        ("SQS", "https://user:secret@localhost/q", "SQS queue URL"),
        ("SQS", SNS_TOPIC, "SQS queue URL"),
        ("SNS", SQS_QUEUE, "topic ARN"),
        ("SNS", "arn:aws:sqs:us-east-1:123456789012:topic", "topic ARN"),
        ("SNS", "arn:aws:sns:us-east-1:12345:topic", "topic ARN"),
        ("Email", "not-an-address", "email address"),
        ("Email", SQS_QUEUE, "email address"),
    ],
)
def test_invalid_destinations(transport, destination, says):
    with pytest.raises(InvalidParameter, match=says):
        check_specification(spec(destination=destination, transport=transport))


def test_versions_event_types_and_ping():
    assert check_specification(spec(version="2014-08-15"))["Version"] == "2014-08-15"
    with pytest.raises(InvalidParameter, match="2006-05-05 or 2014-08-15"):
        check_specification(spec(version="2017-01-17"))
    with pytest.raises(InvalidParameter, match="at least one"):
        check_specification(spec([]))
    with pytest.raises(InvalidParameter, match="not an event type"):
        check_specification(spec(["HITCreated", "HITDeleted"]))
    with pytest.raises(InvalidParameter, match="only valid in SendTestEventNotification"):
        check_specification(spec(["HITCreated", "Ping"]))
    assert check_specification(spec(["Ping"]), allow_ping=True)["EventTypes"] == ["Ping"]
    assert check_specification(spec(["HITCreated", "HITExpired", "HITCreated"]))["EventTypes"] == [
        "HITCreated", "HITExpired",
    ]
    with pytest.raises(InvalidParameter, match="Transport must be one of"):
        check_specification(spec(transport="REST"))
    with pytest.raises(InvalidParameter, match="missing Destination"):
        check_specification({**spec(), "Destination": ""})


# --- through boto3 -------------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_update_notification_settings_stores_the_spec_and_audits(api):
    client = api().client()
    type_id = hit_type(client)
    response = client.update_notification_settings(HITTypeId=type_id, Notification=spec())
    assert set(response) == {"ResponseMetadata"}  # exactly {} on the wire
    stored = HITType.objects.get(pk=type_id)
    assert stored.notification == spec() and stored.notification_active is True

    client.update_notification_settings(HITTypeId=type_id, Active=False)
    stored.refresh_from_db()
    assert stored.notification == spec() and stored.notification_active is False

    audits = AuditEvent.objects.filter(action="update_notification_settings", target_id=type_id).order_by("pk")
    assert [(a.data["replaced"], a.data["active"]) for a in audits] == [(True, True), (False, False)]
    assert audits[0].data["destination"] == SQS_QUEUE
    assert audits[0].actor.startswith("requester:")


def _refusal(client, call, **params):
    with pytest.raises(client.exceptions.RequestError) as refused:
        getattr(client, call)(**params)
    return refused.value.response["TurkErrorCode"], refused.value.response["Message"]


@pytest.mark.django_db(transaction=True)
def test_update_notification_settings_refusals(api):
    handle, other = api(), api()
    client = handle.client()
    type_id = hit_type(client)

    code, message = _refusal(client, "update_notification_settings", HITTypeId=type_id)
    assert "Provide Notification, Active, or both" in message
    code, message = _refusal(client, "update_notification_settings", HITTypeId=type_id, Active=True)
    assert "has no notification specification" in message
    code, message = _refusal(client, "update_notification_settings", HITTypeId=type_id,
                             Notification=spec(["HITCreated", "Ping"]))
    assert "Ping" in message
    code, message = _refusal(client, "update_notification_settings", HITTypeId=type_id,
                             Notification=spec(destination="https://example.org"))
    assert "queue" in message
    code, message = _refusal(client, "update_notification_settings", HITTypeId=type_id,
                             Notification=spec(transport="SNS"))
    assert "topic ARN" in message
    code, message = _refusal(client, "update_notification_settings", HITTypeId=type_id,
                             Notification=spec(version="1.0"))
    assert "Version" in message
    # Another requester's HIT type does not exist for this one.
    code, message = _refusal(other.client(), "update_notification_settings", HITTypeId=type_id,
                             Notification=spec())
    assert code == "AWS.MechanicalTurk.HITTypeDoesNotExist"
    assert f"HITType {type_id} does not exist" in message
    code, _ = _refusal(client, "update_notification_settings", HITTypeId="NOSUCHTYPE0000000000000000000",
                       Active=False)
    assert code == "AWS.MechanicalTurk.HITTypeDoesNotExist"

    stored = HITType.objects.get(pk=type_id)
    assert stored.notification is None and stored.notification_active is False
    assert not AuditEvent.objects.filter(action="update_notification_settings").exists()


@pytest.mark.django_db(transaction=True)
def test_send_test_event_notification_delivers_one_test_event(api, mailoutbox):
    email = "lab@example.org"
    handle = api()
    client = handle.client()
    response = client.send_test_event_notification(
        Notification=spec(["AssignmentAccepted"], destination=email, transport="Email"), TestEventType="Ping")
    assert set(response) == {"ResponseMetadata"}
    # Delivered even though the specification does not list the event type.
    client.send_test_event_notification(
        Notification=spec(["AssignmentAccepted"], destination=email, transport="Email", version="2014-08-15"),
        TestEventType="HITExpired")
    handle.client("sandbox").send_test_event_notification(
        Notification=spec(["Ping"], destination=email, transport="Email"), TestEventType="Ping")
    rows = list(OutboxEvent.objects.order_by("pk"))
    assert [(e.environment, e.event_type, e.transport, e.destination, e.version, e.test, e.hit_id, e.hit_type_id)
            for e in rows] == [
        ("live", "Ping", "Email", email, "2006-05-05", True, "", ""),
        ("live", "HITExpired", "Email", email, "2014-08-15", True, "", ""),
        ("sandbox", "Ping", "Email", email, "2006-05-05", True, "", ""),
    ]
    assert {e.requester_id for e in rows} == {handle.requester.pk}
    assert all(e.delivered_at is not None for e in rows)  # sent during the call, as MTurk did
    assert [m.to for m in mailoutbox] == [[email]] * 3
    assert AuditEvent.objects.filter(action="send_test_event_notification").count() == 3


@pytest.mark.django_db(transaction=True)
def test_send_test_event_notification_refusals(api):
    client = api().client()
    _, message = _refusal(client, "send_test_event_notification",
                          Notification=spec(destination="not-a-queue"), TestEventType="Ping")
    assert "SQS queue URL" in message
    # An unknown event type breaks the model's enum: AWS's generic ValidationException, before any handler runs.
    with pytest.raises(ClientError) as refused:
        client.send_test_event_notification(Notification=spec(ALL_EVENTS), TestEventType="Pong")
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    _, message = _refusal(client, "send_test_event_notification", Notification=spec([]), TestEventType="Ping")
    assert "at least one" in message
    assert not OutboxEvent.objects.exists()
