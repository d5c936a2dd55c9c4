"""Queueing notification events and emails into the outbox, inside the caller's transaction; reviving dead events."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import Q

from kempelen.core import audit, clock
from kempelen.core.actors import Actor

from .models import OutboxEmail, OutboxEvent

if TYPE_CHECKING:
    from kempelen.accounts.models import Requester, Worker

EVENT_TYPES = (
    "AssignmentAccepted",
    "AssignmentAbandoned",
    "AssignmentReturned",
    "AssignmentSubmitted",
    "AssignmentRejected",
    "AssignmentApproved",
    "HITCreated",
    "HITExpired",
    "HITReviewable",
    "HITExtended",
    "HITDisposed",
)


def wants(hit_type: object, event_type: str) -> bool:
    """Whether the HIT type's active notification specification asks for ``event_type``."""
    spec = getattr(hit_type, "notification", None)
    return bool(spec and getattr(hit_type, "notification_active", False) and event_type in spec.get("EventTypes", ()))


def _event(hit_type: object, event_type: str, *, hit_id: str, assignment_id: str, at: dt.datetime | None,
           now: dt.datetime) -> OutboxEvent:
    spec = getattr(hit_type, "notification")  # noqa: B009 (callers checked ``wants``)
    return OutboxEvent(
        environment=hit_type.environment,  # type: ignore[attr-defined]
        requester_id=hit_type.requester_id,  # type: ignore[attr-defined]
        event_type=event_type,
        event_timestamp=at or now,
        hit_type_id=hit_type.pk,  # type: ignore[attr-defined]
        hit_id=hit_id,
        assignment_id=assignment_id,
        transport=spec["Transport"],
        destination=spec["Destination"],
        version=spec["Version"],
        created_at=now,
    )


def emit(
    hit_type: object,
    event_type: str,
    *,
    hit_id: str,
    assignment_id: str = "",
    at: dt.datetime | None = None,
) -> OutboxEvent | None:
    """Queue ``event_type`` if the HIT type's active notification specification asks for it."""
    if not wants(hit_type, event_type):
        return None
    event = _event(hit_type, event_type, hit_id=hit_id, assignment_id=assignment_id, at=at, now=clock.now())
    event.save()
    return event


def emit_each(hit_type: object, event_type: str, hits: Sequence[tuple[str, dt.datetime | None]]) -> int:
    """``emit`` for each (HIT id, event time), with one insert for them all."""
    if not hits or not wants(hit_type, event_type):
        return 0
    now = clock.now()
    OutboxEvent.objects.bulk_create(
        [_event(hit_type, event_type, hit_id=hit_id, assignment_id="", at=at, now=now) for hit_id, at in hits],
        batch_size=2000,
    )
    return len(hits)


def build_test_event(*, requester: Requester, environment: str, spec: dict, event_type: str) -> OutboxEvent:
    """SendTestEventNotification's event for ``spec``, whatever event types the spec lists. It is not saved:
    the caller sends it at once and records it only once it is delivered (``settings_actions.send_test_event``)."""
    now = clock.now()
    return OutboxEvent(
        environment=environment,
        requester=requester,
        event_type=event_type,
        event_timestamp=now,
        transport=spec["Transport"],
        destination=spec["Destination"],
        version=spec["Version"],
        test=True,
        created_at=now,
    )


def retry_dead_events(
    *,
    actor: Actor,
    requester: Requester | None = None,
    environment: str | None = None,
    event_ids: Iterable[int] | None = None,
) -> int:
    """Send dead events again: those of ``requester`` / ``environment`` / ``event_ids`` (all when none is
    given). Each goes with the whole message it was part of, under the same EventDocId, as if new: attempts
    start again from zero. Returns how many events were revived."""
    with transaction.atomic():
        dead = OutboxEvent.objects.select_for_update().filter(dead_at__isnull=False, delivered_at__isnull=True)
        if requester is not None:
            dead = dead.filter(requester=requester)
        if environment is not None:
            dead = dead.filter(environment=environment)
        if event_ids is not None:
            chosen = dead.filter(pk__in=list(event_ids))
            messages = set(chosen.exclude(message_id="").values_list("message_id", flat=True))
            dead = dead.filter(Q(pk__in=chosen.values("pk")) | Q(message_id__in=messages))
        rows = list(dead.order_by("pk").values_list("pk", "message_id"))
        if not rows:
            return 0
        revived = OutboxEvent.objects.filter(pk__in=[pk for pk, _ in rows]).update(
            dead_at=None, attempts=0, next_attempt_at=clock.now()
        )
        audit.record(
            actor, "retry_dead_notification_events", environment=environment or "", target_type="OutboxEvent",
            target_id=str(rows[0][0]) if len(rows) == 1 else "", events=revived,
            messages=sorted({m for _, m in rows if m}),
            requester=getattr(requester, "customer_id", None),
        )
        return revived


def queue_email(
    *, worker: Worker, environment: str, kind: str, subject: str, body: str, requester: Requester | None = None
) -> OutboxEmail:
    return OutboxEmail.objects.create(
        environment=environment,
        worker=worker,
        requester=requester,
        kind=kind,
        subject=subject[:300],
        body=body,
        created_at=clock.now(),
    )
