"""Subscribing HIT types to destinations, making events the way requesters and workers do, and reading what
receivers got."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from kempelen.accounts.models import Requester
from kempelen.core.actors import Actor
from kempelen.marketplace.models import HIT, HITType
from kempelen.notifications import settings_actions
from kempelen.notifications.models import OutboxEvent
from tests.lifecycle.kit import new_hit, new_hit_type, requester_actor

OPERATOR = Actor.operator("tests")


def subscribe(requester: Requester, destination: str, transport: str, *, events: tuple[str, ...] = ("HITCreated",),
              version: str = "2014-08-15", environment: str = "live", title: str = "Label a picture") -> HITType:
    """A HIT type of ``requester`` (one per title) whose notifications go to ``destination``."""
    hit_type = new_hit_type(requester, environment=environment, title=title)
    return settings_actions.set_notification(
        actor=requester_actor(requester), requester=requester, environment=environment, hit_type_id=hit_type.pk,
        notification={"Destination": destination, "Transport": transport, "Version": version,
                      "EventTypes": list(events)},
        active=True,
    )


def publish(requester: Requester, hit_type: HITType, count: int = 1) -> list[HIT]:
    """``count`` HITs of ``hit_type``: one HITCreated event each."""
    return [new_hit(requester, hit_type=hit_type, environment=hit_type.environment) for _ in range(count)]


def iso(value: Any) -> str:
    return str(value.strftime("%Y-%m-%dT%H:%M:%SZ"))


def created_event(hit: HIT) -> dict[str, str]:
    """What MTurk reported for a HIT's HITCreated event, members in its order."""
    event = OutboxEvent.objects.get(hit_id=hit.pk, event_type="HITCreated")
    return {"EventType": "HITCreated", "EventTimestamp": iso(event.event_timestamp), "HITId": hit.pk,
            "HITTypeId": hit.hit_type_id}


def document(raw: str | bytes) -> dict[str, Any]:
    parsed = json.loads(raw)
    assert isinstance(parsed, dict)
    return parsed


def hit_ids(raw: str | bytes) -> list[str]:
    return [event["HITId"] for event in document(raw)["Events"]]


def signature_is_valid(headers: dict[str, str], body: bytes, secret_access_key: str) -> bool:
    """The check docs/notifications.md tells receivers to make."""
    key = hmac.new(secret_access_key.encode(), b"kempelen-webhook", hashlib.sha256).digest()
    timestamp = headers["X-Kempelen-Timestamp"]
    expected = "v1=" + hmac.new(key, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, headers["X-Kempelen-Signature"])
