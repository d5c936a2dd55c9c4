"""Events are batched into messages as MTurk did: one requester, environment, destination, transport and
version per message, up to NOTIFICATIONS_BATCH_SIZE (10) events, in the order they happened."""

from __future__ import annotations

import pytest

from kempelen.notifications.delivery import deliver_due
from kempelen.notifications.models import OutboxEvent
from tests.conftest import make_requester

from .conftest import free_port
from .kit import document, hit_ids, publish, subscribe

pytestmark = pytest.mark.django_db


def test_a_message_carries_at_most_ten_events_in_order(receiver):
    requester = make_requester().requester
    receiver.start()
    hits = publish(requester, subscribe(requester, receiver.url, "Webhook"), 12)
    assert deliver_due() == 12
    first, second = receiver.deliveries
    assert hit_ids(first.body) == [h.pk for h in hits[:10]]
    assert hit_ids(second.body) == [h.pk for h in hits[10:]]
    assert document(first.body)["EventDocId"] != document(second.body)["EventDocId"]
    for delivery in (first, second):
        doc_id = document(delivery.body)["EventDocId"]
        assert set(OutboxEvent.objects.filter(message_id=doc_id).values_list("hit_id", flat=True)) == set(
            hit_ids(delivery.body)
        )


def test_the_batch_size_is_a_setting(receiver, settings):
    settings.NOTIFICATIONS_BATCH_SIZE = 3
    requester = make_requester().requester
    receiver.start()
    publish(requester, subscribe(requester, receiver.url, "Webhook"), 7)
    assert deliver_due() == 7
    assert [len(hit_ids(d.body)) for d in receiver.deliveries] == [3, 3, 1]


def test_hit_types_sharing_a_destination_share_messages(receiver):
    requester = make_requester().requester
    receiver.start()
    first = publish(requester, subscribe(requester, receiver.url, "Webhook"))
    second = publish(requester, subscribe(requester, receiver.url, "Webhook", title="Count the birds"))
    assert deliver_due() == 2
    [delivery] = receiver.deliveries
    assert hit_ids(delivery.body) == [first[0].pk, second[0].pk]
    assert len({e["HITTypeId"] for e in document(delivery.body)["Events"]}) == 2


def test_requesters_environments_and_versions_are_never_mixed(receiver):
    alice, bob = make_requester().requester, make_requester().requester
    receiver.start()
    url = receiver.url
    publish(alice, subscribe(alice, url, "Webhook"))
    publish(alice, subscribe(alice, url, "Webhook", environment="sandbox"))
    publish(alice, subscribe(alice, url, "Webhook", version="2006-05-05", title="Count the birds"))
    publish(bob, subscribe(bob, url, "Webhook"))
    assert deliver_due() == 4
    documents = [document(d.body) for d in receiver.deliveries]
    assert sorted((d["CustomerId"], d["EventDocVersion"], len(d["Events"])) for d in documents) == sorted([
        (alice.customer_id, "2014-08-15", 1),  # live
        (alice.customer_id, "2014-08-15", 1),  # sandbox
        (alice.customer_id, "2006-05-05", 1),
        (bob.customer_id, "2014-08-15", 1),
    ])
    assert len({d["SourceAccount"] for d in documents}) == 2  # one per requester, stable


def test_a_failing_destination_does_not_hold_up_the_others(receiver, move_clock):
    requester = make_requester().requester
    receiver.start()
    dead_end = f"http://127.0.0.1:{free_port()}/nobody-listens"
    publish(requester, subscribe(requester, dead_end, "Webhook"), 25)
    working = publish(requester, subscribe(requester, receiver.url, "Webhook", title="Count the birds"))
    assert deliver_due() == 1
    assert [hit_ids(d.body) for d in receiver.deliveries] == [[working[0].pk]]
    # One message to the failing destination was tried; the rest wait for a later pass.
    assert OutboxEvent.objects.filter(attempts=1, delivered_at__isnull=True).count() == 10
    assert OutboxEvent.objects.filter(attempts=0).count() == 15
