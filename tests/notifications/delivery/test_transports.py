"""Each transport carries MTurk's event document, exactly, to a real local service: SQS and SNS (moto's
server), Email (an SMTP server) and Kempelen's signed Webhook (an HTTP receiver)."""

from __future__ import annotations

import json
import re
import time

import pytest

from kempelen.accounts import actions as accounts
from kempelen.jobs import runner
from kempelen.notifications.delivery import deliver_due
from kempelen.notifications.models import OutboxEvent
from tests.conftest import make_requester, make_worker
from tests.lifecycle.kit import accept, submit

from .kit import OPERATOR, created_event, document, publish, signature_is_valid, subscribe

pytestmark = pytest.mark.django_db


def test_sqs_message_is_mturks_event_document_exactly(aws):
    handle = make_requester()
    requester = handle.requester
    queue = aws.queue("kempelen-exact")
    hit_type = subscribe(requester, queue, "SQS", events=("HITCreated",), version="2014-08-15")
    hit = publish(requester, hit_type)[0]

    assert deliver_due() == 1
    [message] = aws.received(queue)
    event = OutboxEvent.objects.get()
    doc_id = event.message_id
    assert re.fullmatch(r"[0-9a-f]{40}", doc_id)
    body = message["Body"]
    account = document(body)["SourceAccount"]
    assert re.fullmatch(r"[0-9]{12}", account)
    # Members in MTurk's order, without spaces, timestamps in ISO 8601 with Z.
    at, customer = created_event(hit)["EventTimestamp"], requester.customer_id
    assert body == (
        f'{{"Events":[{{"EventType":"HITCreated","EventTimestamp":"{at}","HITId":"{hit.pk}","HITTypeId":"{hit_type.pk}"}}],'
        f'"EventDocId":"{doc_id}","SourceAccount":"{account}","CustomerId":"{customer}","EventDocVersion":"2014-08-15"}}'
    )
    assert event.delivered_at is not None and event.attempts == 1 and event.last_error == ""
    assert deliver_due() == 0 and aws.received(queue, expect=0) == []


def test_assignment_events_carry_the_assignment_and_the_requested_version(aws):
    requester = make_requester().requester
    queue = aws.queue("kempelen-assignments")
    hit_type = subscribe(requester, queue, "SQS", events=("AssignmentAccepted", "AssignmentSubmitted"),
                         version="2006-05-05")
    hit = publish(requester, hit_type)[0]
    worker = make_worker()
    assignment = accept(worker, hit)
    submit(worker, assignment)

    assert deliver_due() == 2
    [message] = aws.received(queue)
    body = document(message["Body"])
    assert body["EventDocVersion"] == "2006-05-05"
    assert [(e["EventType"], e["HITId"], e["AssignmentId"], e["HITTypeId"]) for e in body["Events"]] == [
        ("AssignmentAccepted", hit.pk, assignment.pk, hit_type.pk),
        ("AssignmentSubmitted", hit.pk, assignment.pk, hit_type.pk),
    ]
    assert list(body["Events"][0]) == ["EventType", "EventTimestamp", "HITId", "AssignmentId", "HITTypeId"]


def test_fifo_queues_get_a_group_and_a_deduplication_id(aws):
    requester = make_requester().requester
    queue = aws.queue("kempelen-ordered.fifo", FifoQueue="true")
    publish(requester, subscribe(requester, queue, "SQS"))
    assert deliver_due() == 1
    [message] = aws.received(queue)
    assert message["Attributes"]["MessageGroupId"] == requester.customer_id
    assert message["Attributes"]["MessageDeduplicationId"] == document(message["Body"])["EventDocId"]


def test_sns_publishes_the_document_to_the_topics_subscribers(aws):
    requester = make_requester().requester
    topic, subscriber = aws.topic_with_queue("kempelen-topic")
    hit_type = subscribe(requester, topic, "SNS")
    hits = publish(requester, hit_type, 2)

    assert deliver_due() == 2
    [message] = aws.received(subscriber)
    envelope = json.loads(message["Body"])
    assert envelope["Type"] == "Notification" and envelope["TopicArn"] == topic
    assert re.fullmatch(r"[0-9]{13}", envelope["Subject"])  # the sending time in epoch ms, as MTurk's
    body = document(envelope["Message"])
    assert body["Events"] == [created_event(h) for h in hits]
    assert body["CustomerId"] == requester.customer_id


def test_email_sends_the_document_through_smtp(smtp):
    requester = make_requester().requester
    hit_type = subscribe(requester, "events@lab.example.org", "Email")
    hit = publish(requester, hit_type)[0]

    assert deliver_due() == 1
    [mail] = smtp.messages
    assert mail["To"] == "events@lab.example.org"
    assert mail["From"] == "notifications@kempelen.test"
    assert mail["Subject"] == "Kempelen notification: HITCreated"
    body = document(mail.get_payload(decode=True))
    assert body["Events"] == [created_event(hit)]
    assert mail["X-Kempelen-Event-Doc-Id"] == body["EventDocId"] == OutboxEvent.objects.get().message_id


def test_webhook_posts_the_document_signed_with_the_requesters_key(receiver):
    handle = make_requester()
    requester = handle.requester
    receiver.start()
    hit = publish(requester, subscribe(requester, receiver.url, "Webhook"))[0]

    assert deliver_due() == 1
    [delivery] = receiver.deliveries
    assert delivery.path == "/kempelen/events"
    assert delivery.headers["Content-Type"] == "application/json"
    assert delivery.headers["X-Kempelen-Access-Key-Id"] == handle.access_key_id
    assert abs(int(delivery.headers["X-Kempelen-Timestamp"]) - time.time()) < 60
    assert signature_is_valid(delivery.headers, delivery.body, handle.secret)
    assert not signature_is_valid(delivery.headers, delivery.body + b" ", handle.secret)
    body = document(delivery.body)
    assert body["Events"] == [created_event(hit)]
    assert delivery.headers["X-Kempelen-Event-Doc-Id"] == body["EventDocId"]


def test_webhooks_are_signed_by_the_oldest_active_key_and_a_rotation_moves_on(receiver):
    handle = make_requester()
    requester = handle.requester
    newer = accounts.issue_credential(actor=OPERATOR, requester=requester)
    receiver.start()
    hit_type = subscribe(requester, receiver.url, "Webhook")
    publish(requester, hit_type)
    deliver_due()
    accounts.revoke_credential(actor=OPERATOR, requester=requester, access_key_id=handle.access_key_id)
    publish(requester, hit_type)
    deliver_due()
    first, second = receiver.deliveries
    assert first.headers["X-Kempelen-Access-Key-Id"] == handle.access_key_id
    assert signature_is_valid(first.headers, first.body, handle.secret)
    assert second.headers["X-Kempelen-Access-Key-Id"] == newer.access_key_id
    assert signature_is_valid(second.headers, second.body, newer.secret_access_key)


def test_sqs_without_configured_credentials_sends_nothing_and_says_why():
    requester = make_requester().requester
    publish(requester, subscribe(requester, "https://sqs.us-east-1.amazonaws.com/123456789012/q", "SQS"))
    assert deliver_due() == 0
    event = OutboxEvent.objects.get()
    assert event.delivered_at is None and event.attempts == 1
    assert "KEMPELEN_AWS_ACCESS_KEY_ID" in event.last_error


def test_the_job_runner_delivers_on_each_pass(receiver):
    requester = make_requester().requester
    receiver.start()
    publish(requester, subscribe(requester, receiver.url, "Webhook"), 3)
    assert runner.run_once().extra["notifications_delivered"] == 3
    assert len(receiver.deliveries) == 1
    assert runner.run_once().extra["notifications_delivered"] == 0


def test_https_webhooks_verify_the_receivers_certificate(receiver, certificate, monkeypatch, move_clock):
    handle = make_requester()
    requester = handle.requester
    receiver.certificate = certificate
    receiver.start()
    publish(requester, subscribe(requester, receiver.url, "Webhook"))
    assert receiver.url.startswith("https://")

    assert deliver_due() == 0  # a self-signed certificate nobody trusts
    assert "CERTIFICATE_VERIFY_FAILED" in OutboxEvent.objects.get().last_error
    assert receiver.deliveries == []

    monkeypatch.setenv("SSL_CERT_FILE", certificate[0])  # now trusted, as a private CA would be
    move_clock(30)
    assert deliver_due() == 1
    [delivery] = receiver.deliveries
    assert signature_is_valid(delivery.headers, delivery.body, handle.secret)
