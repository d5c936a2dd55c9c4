"""At least once: a failed send is retried later with the same EventDocId, with exponential backoff up to a
cap; after the last attempt the events are parked as dead until someone retries them."""

from __future__ import annotations

import datetime as dt

import pytest

from kempelen.core import clock
from kempelen.core.models import AuditEvent
from kempelen.notifications.actions import retry_dead_events
from kempelen.notifications.delivery import deliver_due
from kempelen.notifications.models import OutboxEvent
from tests.conftest import make_requester

from .kit import OPERATOR, document, hit_ids, publish, subscribe

pytestmark = pytest.mark.django_db


@pytest.fixture
def retries(settings):
    settings.NOTIFICATIONS_RETRY_SECONDS = 30
    settings.NOTIFICATIONS_RETRY_MAX_SECONDS = 100
    settings.NOTIFICATIONS_MAX_ATTEMPTS = 5


def _due_in(event: OutboxEvent) -> float:
    event.refresh_from_db()
    return (event.next_attempt_at - clock.now()).total_seconds()


def test_a_receiver_that_is_down_gets_the_message_once_it_is_up(receiver, retries, move_clock):
    requester = make_requester().requester
    hits = publish(requester, subscribe(requester, receiver.url, "Webhook"), 2)

    assert deliver_due() == 0  # nothing listens yet
    events = list(OutboxEvent.objects.order_by("pk"))
    assert all(e.delivered_at is None and e.attempts == 1 for e in events)
    assert "could not be reached" in events[0].last_error
    doc_id = events[0].message_id
    assert {e.message_id for e in events} == {doc_id}

    receiver.start()
    assert deliver_due() == 0  # not before the retry is due
    move_clock(30)
    assert deliver_due() == 2
    [delivery] = receiver.deliveries
    assert document(delivery.body)["EventDocId"] == doc_id  # the same message, so receivers can deduplicate
    assert hit_ids(delivery.body) == [h.pk for h in hits]
    assert all(e.delivered_at is not None and e.attempts == 2 for e in OutboxEvent.objects.all())


def test_a_message_refused_by_the_receiver_is_sent_again_unchanged(receiver, retries, move_clock):
    requester = make_requester().requester
    receiver.statuses = [503]
    receiver.start()
    publish(requester, subscribe(requester, receiver.url, "Webhook"))
    assert deliver_due() == 0
    assert OutboxEvent.objects.get().last_error.endswith("answered HTTP 503 Service Unavailable")
    move_clock(30)
    assert deliver_due() == 1
    first, second = receiver.deliveries
    assert first.body == second.body


def test_retries_back_off_exponentially_up_to_the_cap(receiver, retries, move_clock):
    requester = make_requester().requester
    publish(requester, subscribe(requester, receiver.url, "Webhook"))
    event = OutboxEvent.objects.get()
    for attempt, delay in [(1, 30), (2, 60), (3, 100), (4, 100)]:  # 30 s, doubled, capped at 100 s
        assert deliver_due() == 0
        assert _due_in(event) == pytest.approx(delay, abs=2) and event.attempts == attempt
        move_clock(delay - 1)
        deliver_due()
        event.refresh_from_db()
        assert event.attempts == attempt  # not tried before it is due
        move_clock(1)
    deliver_due()
    event.refresh_from_db()
    assert event.attempts == 5 and event.dead_at is not None


def test_after_the_last_attempt_events_are_dead_until_retried_by_hand(receiver, retries, move_clock):
    requester = make_requester().requester
    other = make_requester().requester
    publish(requester, subscribe(requester, receiver.url, "Webhook"), 2)
    publish(other, subscribe(other, receiver.url, "Webhook"))
    # A pass tries one message per failing destination: the two messages take turns.
    for _ in range(10):
        deliver_due()
        move_clock(100)
    dead = OutboxEvent.objects.filter(dead_at__isnull=False)
    assert dead.count() == 3 and all(e.attempts == 5 and e.delivered_at is None for e in dead)
    assert "could not be reached" in dead[0].last_error
    move_clock(dt.timedelta(days=30))
    deliver_due()
    assert OutboxEvent.objects.filter(dead_at__isnull=False, attempts=5).count() == 3  # left alone

    receiver.start()
    assert retry_dead_events(actor=OPERATOR, requester=requester) == 2
    assert deliver_due() == 2
    [delivery] = receiver.deliveries
    mine = OutboxEvent.objects.filter(requester=requester)
    assert document(delivery.body)["EventDocId"] == mine[0].message_id
    assert all(e.delivered_at is not None and e.dead_at is None and e.attempts == 1 for e in mine)
    assert OutboxEvent.objects.get(requester=other).dead_at is not None  # only what was asked for
    audit = AuditEvent.objects.get(action="retry_dead_notification_events")
    assert audit.actor == "operator:tests" and audit.data["events"] == 2
    assert audit.data["messages"] == [mine[0].message_id]


def test_retrying_one_dead_event_sends_its_whole_message_again(receiver, retries, move_clock):
    requester = make_requester().requester
    hits = publish(requester, subscribe(requester, receiver.url, "Webhook"), 3)
    for _ in range(5):
        deliver_due()
        move_clock(100)
    receiver.start()
    one = OutboxEvent.objects.order_by("pk").first()
    assert one is not None
    assert retry_dead_events(actor=OPERATOR, event_ids=[one.pk]) == 3
    assert retry_dead_events(actor=OPERATOR, event_ids=[one.pk]) == 0  # no longer dead
    assert deliver_due() == 3
    [delivery] = receiver.deliveries
    assert hit_ids(delivery.body) == [h.pk for h in hits]
