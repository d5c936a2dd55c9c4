"""Delivering queued notification events: claim them, batch them into MTurk event documents, send, record.

The job runner calls ``deliver_due`` on every pass (see docs/notifications.md for the whole story):

- **Claim.** A runner takes one group of due events in a short transaction, stamps them with the message's
  EventDocId and pushes their next attempt past the time a send may take (the lease), then commits and sends
  outside any transaction, so a slow destination never holds a database lock. On PostgreSQL the claim uses
  ``SELECT … FOR UPDATE SKIP LOCKED``, so runners on several nodes take different groups at the same moment;
  on SQLite the database's write lock serialises claims.
- **Batch.** A message carries up to ``NOTIFICATIONS_BATCH_SIZE`` (10) events of one requester in one
  environment for one destination, transport and version, in the order they were queued. Once formed, a
  message keeps its events and its EventDocId through every retry, so a receiver that got it once but whose
  answer was lost can drop the repeat by EventDocId.
- **At least once.** A failed send leaves the events undelivered with ``attempts``, ``last_error`` and the
  next attempt ``NOTIFICATIONS_RETRY_SECONDS * 2^(attempts-1)`` later (capped at
  ``NOTIFICATIONS_RETRY_MAX_SECONDS``); after ``NOTIFICATIONS_MAX_ATTEMPTS`` attempts they are parked as dead
  (``dead_at``) until an operator retries them (``actions.retry_dead_events``). A runner that dies mid-send
  leaves its claim to lapse, and the message goes again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from kempelen.accounts.models import Requester
from kempelen.core import clock
from kempelen.core.errors import KempelenError

from . import transports
from .models import OutboxEvent
from .transports import DeliveryError, OutgoingMessage

log = logging.getLogger("kempelen.notifications")

#: A pass stops taking new messages after this many seconds, so that a slow destination cannot keep the job
#: runner from its other work (timers, emails); what is left goes on the next pass.
PASS_SECONDS = 5.0
#: How many due events one claim looks through for a group it can take.
_SCAN = 100


class NotificationDeliveryFailed(KempelenError):
    """SendTestEventNotification could not deliver its message; nothing was recorded."""

    code = "NotificationDeliveryFailed"


@dataclass(frozen=True)
class _Claim:
    message: OutgoingMessage
    event_ids: list[int]
    attempt: int


def deliver_due(limit: int = 200) -> int:
    """Send the messages that are due, up to about ``limit`` events. Returns how many events were delivered."""
    started = time.monotonic()
    claimed = delivered = 0
    failed: set[tuple[str, str]] = set()  # destinations that failed this pass are not tried again in it
    while claimed < limit and time.monotonic() - started < PASS_SECONDS:
        claim = _claim(skip=failed)
        if claim is None:
            break
        claimed += len(claim.event_ids)
        error = _send(claim.message)
        if error is None:
            delivered += _record_delivered(claim)
        else:
            _record_failure(claim, error)
            failed.add((claim.message.transport, claim.message.destination))
    return delivered


def send_now(event: OutboxEvent, *, customer_id: str) -> None:
    """Send one unsaved event as a message of its own, at once (SendTestEventNotification), and mark it
    delivered; raise NotificationDeliveryFailed, saying why, when the destination does not take it."""
    now = clock.now()
    event.message_id = new_doc_id()
    message = _message([event], doc_id=event.message_id, customer_id=customer_id)
    error = _send(message)
    if error is not None:
        raise NotificationDeliveryFailed(f"The test notification could not be delivered: {error}")
    event.attempts = 1
    event.delivered_at = event.next_attempt_at = now


# --- The event document ------------------------------------------------------------------------------------


def new_doc_id() -> str:
    """An EventDocId: 40 hex digits, as MTurk's."""
    return secrets.token_hex(20)


def source_account(customer_id: str) -> str:
    """The 12-digit SourceAccount reported for a requester: stable, and derived from its CustomerId (Kempelen
    requesters have no AWS account; MTurk reported the requester's)."""
    digest = hashlib.sha256(b"kempelen-source-account:" + customer_id.encode()).digest()
    return str(int.from_bytes(digest[:8], "big") % 10**12).zfill(12)


def event_timestamp(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def event_document(events: Sequence[OutboxEvent], *, doc_id: str, customer_id: str) -> str:
    """The JSON MTurk sent (members in its order, no spaces); a member an event lacks is left out."""
    items = []
    for event in events:
        item = {"EventType": event.event_type, "EventTimestamp": event_timestamp(event.event_timestamp)}
        if event.hit_id:
            item["HITId"] = event.hit_id
        if event.assignment_id:
            item["AssignmentId"] = event.assignment_id
        if event.hit_type_id:
            item["HITTypeId"] = event.hit_type_id
        items.append(item)
    document = {
        "Events": items,
        "EventDocId": doc_id,
        "SourceAccount": source_account(customer_id),
        "CustomerId": customer_id,
        "EventDocVersion": events[0].version,
    }
    return json.dumps(document, separators=(",", ":"))


def _message(events: Sequence[OutboxEvent], *, doc_id: str, customer_id: str) -> OutgoingMessage:
    first = events[0]
    return OutgoingMessage(
        doc_id=doc_id,
        body=event_document(events, doc_id=doc_id, customer_id=customer_id),
        transport=first.transport,
        destination=first.destination,
        requester_id=first.requester_id,
        customer_id=customer_id,
        event_types=tuple(e.event_type for e in events),
    )


# --- Claiming ------------------------------------------------------------------------------------------------


def _pending() -> Q:
    return Q(delivered_at__isnull=True, dead_at__isnull=True)


def _lease_seconds() -> float:
    # Longer than any send can take (boto3 tries twice, each with a connect and a read timeout), so a claim
    # lapses only when its runner is gone.
    return max(300.0, 10 * float(settings.NOTIFICATIONS_TIMEOUT_SECONDS))


def _claim(*, skip: set[tuple[str, str]]) -> _Claim | None:
    """Take the first group of due events nobody else holds, or None when there is none."""
    due = OutboxEvent.objects.filter(_pending(), next_attempt_at__lte=clock.now())
    for transport, destination in skip:
        due = due.exclude(transport=transport, destination=destination)
    if not due.exists():  # the common case, answered without taking SQLite's write lock
        return None
    with transaction.atomic():
        now = clock.now()
        candidates = due.order_by("next_attempt_at", "id").values_list(
            "message_id", "environment", "requester_id", "transport", "destination", "version"
        )[:_SCAN]
        tried: set[object] = set()
        for message_id, *key in candidates:
            group = message_id or tuple(key)
            if group in tried:
                continue
            tried.add(group)
            rows = _lock_message(message_id, now) if message_id else _lock_new(key, now)
            if rows:
                return _stamp(rows, now)
    return None


def _lock_message(message_id: str, now: dt.datetime) -> list[OutboxEvent]:
    """A message that was sent before and failed: all of its events, or nothing if another runner holds any."""
    pending = OutboxEvent.objects.filter(_pending(), message_id=message_id)
    rows = list(pending.select_for_update(skip_locked=True).filter(next_attempt_at__lte=now).order_by("id"))
    return rows if rows and len(rows) == pending.count() else []


def _lock_new(key: list, now: dt.datetime) -> list[OutboxEvent]:  # type: ignore[type-arg]
    """Events never sent, for one requester, environment, destination, transport and version: the oldest
    ones nobody else holds, up to a message's worth."""
    environment, requester_id, transport, destination, version = key
    return list(
        OutboxEvent.objects.select_for_update(skip_locked=True)
        .filter(_pending(), message_id="", next_attempt_at__lte=now, environment=environment,
                requester_id=requester_id, transport=transport, destination=destination, version=version)
        .order_by("id")[: max(1, int(settings.NOTIFICATIONS_BATCH_SIZE))]
    )


def _stamp(rows: list[OutboxEvent], now: dt.datetime) -> _Claim:
    doc_id = rows[0].message_id or new_doc_id()
    attempt = max(r.attempts for r in rows) + 1
    ids = [r.pk for r in rows]
    OutboxEvent.objects.filter(pk__in=ids).update(
        message_id=doc_id, attempts=attempt, next_attempt_at=now + dt.timedelta(seconds=_lease_seconds())
    )
    customer_id = Requester.objects.values_list("customer_id", flat=True).get(pk=rows[0].requester_id)
    return _Claim(message=_message(rows, doc_id=doc_id, customer_id=customer_id), event_ids=ids, attempt=attempt)


# --- Sending and recording ------------------------------------------------------------------------------------


def _send(message: OutgoingMessage) -> str | None:
    """None when sent, else what went wrong."""
    try:
        transports.send(message)
    except DeliveryError as error:
        return str(error) or "delivery failed"
    except Exception as error:  # a bug or an unforeseen library error: keep the event, retry, and say so
        log.exception("notification %s to %s failed unexpectedly", message.doc_id, message.destination)
        return f"{type(error).__name__}: {error}"
    return None


def _claimed(claim: _Claim) -> Q:
    # ``attempts`` still at the claim's value: nobody re-claimed the events after this runner's lease lapsed.
    return Q(pk__in=claim.event_ids, attempts=claim.attempt, delivered_at__isnull=True)


def _record_delivered(claim: _Claim) -> int:
    with transaction.atomic():
        return OutboxEvent.objects.filter(_claimed(claim)).update(delivered_at=clock.now(), last_error="")


def retry_delay(attempts: int) -> float:
    """Seconds from a failed attempt (the ``attempts``-th) to the next."""
    base = float(settings.NOTIFICATIONS_RETRY_SECONDS)
    cap = float(settings.NOTIFICATIONS_RETRY_MAX_SECONDS)
    return float(min(cap, base * 2 ** min(attempts - 1, 32)))


def _record_failure(claim: _Claim, error: str) -> None:
    now = clock.now()
    error = error[:2000]
    dead = claim.attempt >= int(settings.NOTIFICATIONS_MAX_ATTEMPTS)
    with transaction.atomic():
        if dead:
            OutboxEvent.objects.filter(_claimed(claim)).update(dead_at=now, next_attempt_at=now, last_error=error)
        else:
            OutboxEvent.objects.filter(_claimed(claim)).update(
                next_attempt_at=now + dt.timedelta(seconds=retry_delay(claim.attempt)), last_error=error
            )
    message = claim.message
    log.warning(
        "notification %s (%d events) to %s %s failed on attempt %d%s: %s", message.doc_id, len(claim.event_ids),
        message.transport, message.destination, claim.attempt, "; parked as dead" if dead else "", error,
    )
