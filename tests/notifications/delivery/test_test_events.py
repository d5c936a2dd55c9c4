"""SendTestEventNotification delivers at once, during the call, and reports a failed delivery to the caller;
the Webhook transport's destinations are checked when they are set."""

from __future__ import annotations

import re

import pytest

from kempelen.core.errors import InvalidParameter
from kempelen.core.models import AuditEvent
from kempelen.notifications import settings_actions
from kempelen.notifications.delivery import NotificationDeliveryFailed, deliver_due
from kempelen.notifications.models import OutboxEvent
from tests.conftest import make_requester
from tests.lifecycle.kit import requester_actor

from ..helpers import spec
from .kit import document, publish, signature_is_valid, subscribe


@pytest.mark.django_db(transaction=True)
def test_a_test_event_is_in_the_queue_when_the_call_returns(api, aws):
    handle = api()
    queue = aws.queue("kempelen-test-events")
    response = handle.client().send_test_event_notification(
        Notification=spec(["AssignmentSubmitted"], destination=queue, transport="SQS", version="2014-08-15"),
        TestEventType="Ping",
    )
    assert set(response) == {"ResponseMetadata"}
    [message] = aws.received(queue)  # no job runner involved
    event = OutboxEvent.objects.get()
    assert (event.test, event.event_type, event.attempts) == (True, "Ping", 1)
    assert event.delivered_at is not None
    at = event.event_timestamp.strftime("%Y-%m-%dT%H:%M:%SZ")
    account, customer = document(message["Body"])["SourceAccount"], handle.requester.customer_id
    assert message["Body"] == (
        f'{{"Events":[{{"EventType":"Ping","EventTimestamp":"{at}"}}],"EventDocId":"{event.message_id}",'
        f'"SourceAccount":"{account}","CustomerId":"{customer}","EventDocVersion":"2014-08-15"}}'
    )
    assert AuditEvent.objects.get(action="send_test_event_notification").data["event_doc_id"] == event.message_id
    assert deliver_due() == 0  # already delivered: the runner does not send it again


@pytest.mark.django_db(transaction=True)
def test_a_test_event_that_cannot_be_delivered_is_an_error_for_the_caller(api, aws):
    client = api().client()
    missing = f"{aws.url}/123456789012/no-such-queue"
    with pytest.raises(client.exceptions.RequestError) as refused:
        client.send_test_event_notification(
            Notification=spec(destination=missing, transport="SQS"), TestEventType="HITExpired",
        )
    error = refused.value.response
    assert error["TurkErrorCode"] == "AWS.MechanicalTurk.NotificationDeliveryFailed"
    assert "could not be delivered" in error["Message"] and "does not exist" in error["Message"]
    assert not OutboxEvent.objects.exists()
    assert not AuditEvent.objects.filter(action="send_test_event_notification").exists()


@pytest.mark.django_db(transaction=True)
def test_sqs_test_events_without_credentials_say_what_to_configure(api):
    client = api().client()
    with pytest.raises(client.exceptions.RequestError) as refused:
        client.send_test_event_notification(Notification=spec(), TestEventType="Ping")
    assert "KEMPELEN_AWS_ACCESS_KEY_ID" in refused.value.response["Message"]
    assert not OutboxEvent.objects.exists()


@pytest.mark.django_db
def test_a_webhook_test_event_is_posted_and_signed(receiver):
    handle = make_requester()
    receiver.start()
    event = settings_actions.send_test_event(
        actor=requester_actor(handle.requester), requester=handle.requester, environment="sandbox",
        notification=spec(["HITCreated"], destination=receiver.url, transport="Webhook"),
        test_event_type="AssignmentApproved",
    )
    [delivery] = receiver.deliveries
    assert signature_is_valid(delivery.headers, delivery.body, handle.secret)
    body = document(delivery.body)
    assert [e["EventType"] for e in body["Events"]] == ["AssignmentApproved"]
    assert body["EventDocId"] == event.message_id and event.environment == "sandbox"


@pytest.mark.django_db
def test_a_webhook_that_answers_an_error_fails_the_test_event(receiver):
    handle = make_requester()
    receiver.statuses = [500]
    receiver.start()
    with pytest.raises(NotificationDeliveryFailed, match="answered HTTP 500"):
        settings_actions.send_test_event(
            actor=requester_actor(handle.requester), requester=handle.requester, environment="live",
            notification=spec(destination=receiver.url, transport="Webhook"), test_event_type="Ping",
        )
    assert not OutboxEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_boto3_can_subscribe_a_hit_type_to_a_webhook(api, receiver):
    client = api().client()
    receiver.start()
    hit_type = client.create_hit_type(Title="Birds", Description="Count them", Reward="0.10",
                                      AssignmentDurationInSeconds=60)["HITTypeId"]
    client.update_notification_settings(
        HITTypeId=hit_type, Notification=spec(["HITCreated"], destination=receiver.url, transport="Webhook"),
    )
    client.send_test_event_notification(Notification=spec(destination=receiver.url, transport="Webhook"),
                                        TestEventType="Ping")
    assert len(receiver.deliveries) == 1


# --- webhook destinations -----------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [
    "https://hooks.example.org/kempelen",
    "https://hooks.example.org:8443/kempelen?lab=vision",
    "https://93.184.215.14/events",
])
def test_webhook_destinations_accepted_by_default(url):
    checked = settings_actions.check_specification(spec(destination=url, transport="Webhook"))
    assert checked["Transport"] == "Webhook" and checked["Destination"] == url


@pytest.mark.parametrize(("url", "says"), [
    ("http://hooks.example.org/kempelen", "must be an https URL"),
    ("https://user:secret@hooks.example.org/", "without credentials"),
    ("https://hooks.example.org/#fragment", "must be an https URL"),
    ("ftp://hooks.example.org/", "must be an https URL"),
    ("https:///no-host", "must be an https URL"),
    ("https://localhost/events", "loopback or private"),
    ("https://127.0.0.1:8443/events", "loopback or private"),
    ("https://10.1.2.3/events", "loopback or private"),
    ("https://169.254.169.254/latest", "loopback or private"),
    ("https://[::1]/events", "loopback or private"),
])
def test_webhook_destinations_refused_by_default(url, says):
    with pytest.raises(InvalidParameter, match=re.escape(says)):
        settings_actions.check_specification(spec(destination=url, transport="Webhook"))


def test_http_and_private_webhooks_need_the_operators_permission(settings):
    local = "http://127.0.0.1:8080/events"
    settings.NOTIFICATIONS_WEBHOOK_ALLOW_HTTP = True
    with pytest.raises(InvalidParameter, match="loopback or private"):
        settings_actions.check_specification(spec(destination=local, transport="Webhook"))
    settings.NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE = True
    assert settings_actions.check_specification(spec(destination=local, transport="Webhook"))["Destination"] == local


@pytest.mark.django_db
def test_a_webhook_to_a_private_address_is_not_sent_once_the_operator_forbids_it(receiver, settings):
    requester = make_requester().requester
    receiver.start()
    publish(requester, subscribe(requester, receiver.url, "Webhook"))
    settings.NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE = False
    assert deliver_due() == 0
    assert "loopback or private" in OutboxEvent.objects.get().last_error
    assert receiver.deliveries == []
