"""Queueing notification events and emails into the outbox, inside the caller's transaction."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from kempelen.core import clock

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


def emit(
    hit_type: object,
    event_type: str,
    *,
    hit_id: str,
    assignment_id: str = "",
    at: dt.datetime | None = None,
) -> OutboxEvent | None:
    """Queue ``event_type`` if the HIT type's active notification specification asks for it."""
    spec = getattr(hit_type, "notification", None)
    if not spec or not getattr(hit_type, "notification_active", False):
        return None
    if event_type not in spec.get("EventTypes", ()):
        return None
    now = clock.now()
    return OutboxEvent.objects.create(
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


def emit_test(*, requester: Requester, environment: str, spec: dict, event_type: str) -> OutboxEvent:
    """SendTestEventNotification: queue one event for ``spec`` whatever event types the spec lists."""
    now = clock.now()
    return OutboxEvent.objects.create(
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
