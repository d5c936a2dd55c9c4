"""Several job runners deliver at once without sending any event twice: claims skip what another holds."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import connections

from kempelen.notifications.delivery import deliver_due
from kempelen.notifications.models import OutboxEvent
from tests.conftest import make_requester

from .kit import document, hit_ids, publish, subscribe

pytestmark = pytest.mark.django_db(transaction=True)


def _runners(count: int) -> list[int]:
    """``count`` runners calling deliver_due together until nothing is left; each one's events delivered."""
    barrier = threading.Barrier(count)
    delivered = [0] * count
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait()
            while (n := deliver_due(limit=1000)) or OutboxEvent.objects.filter(delivered_at__isnull=True).exists():
                delivered[i] += n
        except BaseException as error:  # judged below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
        assert not thread.is_alive()
    assert not errors, errors
    return delivered


def test_two_runners_deliver_each_event_in_exactly_one_message(receiver):
    first, second = make_requester().requester, make_requester().requester
    receiver.delay = 0.02  # sends overlap
    receiver.start()
    hits = publish(first, subscribe(first, receiver.url, "Webhook"), 45)
    hits += publish(second, subscribe(second, receiver.url, "Webhook"), 15)

    delivered = _runners(2)

    assert sum(delivered) == 60
    sent = Counter(hit_id for d in receiver.deliveries for hit_id in hit_ids(d.body))
    assert sent == Counter(h.pk for h in hits)  # every event once, none twice
    doc_ids = [document(d.body)["EventDocId"] for d in receiver.deliveries]
    assert len(set(doc_ids)) == len(doc_ids)
    for delivery in receiver.deliveries:
        doc_id = document(delivery.body)["EventDocId"]
        assert sorted(OutboxEvent.objects.filter(message_id=doc_id).values_list("hit_id", flat=True)) == sorted(
            hit_ids(delivery.body)
        )
    assert set(OutboxEvent.objects.values_list("attempts", flat=True)) == {1}
