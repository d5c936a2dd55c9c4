"""Notification settings of HIT types (UpdateNotificationSettings) and test events (SendTestEventNotification).

A notification specification is ``{Destination, Transport, Version, EventTypes}`` (all required, as in the
MTurk model). Kempelen checks it when it is set, so a mistake shows up as a RequestError on the call that made
it instead of as a delivery failure hours later:

- **Transport** ``SQS``, ``SNS`` or ``Email`` (MTurk's 2017 pages list only SQS and SNS; the model also has
  Email, which Kempelen accepts), or Kempelen's own ``Webhook``.
- **Destination**, by transport:

  - ``SQS``: a queue URL. On AWS hosts (``…amazonaws.com`` / ``…amazonaws.com.cn``) it must be AWS's shape,
    ``https://sqs.<region>.amazonaws.com/<12-digit account>/<queue name>`` (the legacy
    ``https://queue.amazonaws.com/…`` and ``https://<region>.queue.amazonaws.com/…`` hosts too), with a queue
    name of 1-80 letters, digits, ``-`` or ``_`` (plus ``.fifo``). Any other ``http(s)`` URL with a host and a
    path is accepted as is, so local emulators work (LocalStack ``http://localhost:4566/000000000000/q``,
    ElasticMQ ``http://localhost:9324/queue/q``, moto).
  - ``SNS``: a topic ARN, ``arn:aws:sns:<region>:<12-digit account>:<topic name>`` (the ``aws-cn`` and
    ``aws-us-gov`` partitions too); LocalStack and moto use the same shape.
  - ``Email``: one email address.
  - ``Webhook``: an https URL on a public address (plain http and loopback or private addresses only where the
    operator allows them: ``transports/webhook.py``).

- **Version** ``2006-05-05`` (what the model says) or ``2014-08-15`` (what the 2017 Notification page says,
  and what Dallinger sends); it is echoed to receivers as ``EventDocVersion``.
- **EventTypes** a non-empty list of MTurk's event types, each given once (repeats are dropped). ``Ping`` is
  only valid in SendTestEventNotification.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from kempelen.accounts.models import Requester
from kempelen.core import audit
from kempelen.core.actors import Actor
from kempelen.core.errors import HITTypeDoesNotExist, InvalidParameter
from kempelen.marketplace.models import HITType

from . import delivery
from .actions import EVENT_TYPES, build_test_event
from .models import OutboxEvent
from .transports import webhook

TRANSPORTS = ("SQS", "SNS", "Email", "Webhook")
VERSIONS = ("2006-05-05", "2014-08-15")
PING = "Ping"
#: OutboxEvent.destination's length.
MAX_DESTINATION_LENGTH = 1024
SPEC_MEMBERS = ("Destination", "Transport", "Version", "EventTypes")

_AWS_HOST = re.compile(r"(^|\.)amazonaws\.com(\.cn)?$")
_AWS_SQS_HOST = re.compile(
    r"^(sqs\.[a-z0-9-]+\.amazonaws\.com(\.cn)?|queue\.amazonaws\.com|[a-z0-9-]+\.queue\.amazonaws\.com(\.cn)?)$"
)
_AWS_QUEUE_PATH = re.compile(r"^/[0-9]{12}/[A-Za-z0-9_-]{1,80}(\.fifo)?/?$")
_SNS_ARN = re.compile(r"^arn:aws(-cn|-us-gov)?:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$")


def check_specification(spec: object, *, field: str = "Notification", allow_ping: bool = False) -> dict[str, Any]:
    """The specification in canonical form (EventTypes without repeats), or InvalidParameter saying what is wrong."""
    if not isinstance(spec, Mapping):
        raise InvalidParameter(f"{field} must be a structure with Destination, Transport, Version and EventTypes.")
    missing = [m for m in SPEC_MEMBERS if spec.get(m) in (None, "")]
    if missing:
        raise InvalidParameter(f"{field} is missing {', '.join(missing)}; a notification specification needs "
                               "Destination, Transport, Version and EventTypes.")
    transport = spec["Transport"]
    if transport not in TRANSPORTS:
        raise InvalidParameter(f"{field}.Transport must be one of {', '.join(TRANSPORTS)}; got {transport!r}.")
    destination = spec["Destination"]
    if not isinstance(destination, str):
        raise InvalidParameter(f"{field}.Destination must be a string.")
    _check_destination(transport, destination, field=f"{field}.Destination")
    version = spec["Version"]
    if version not in VERSIONS:
        raise InvalidParameter(
            f"{field}.Version must be {' or '.join(VERSIONS)}; got {version!r}."
        )
    event_types = spec["EventTypes"]
    if not isinstance(event_types, list | tuple) or not event_types:
        raise InvalidParameter(f"{field}.EventTypes must list at least one event type.")
    allowed = (*EVENT_TYPES, PING) if allow_ping else EVENT_TYPES
    for event_type in event_types:
        if event_type == PING and not allow_ping:
            raise InvalidParameter(
                f"{field}.EventTypes contains Ping, which is only valid in SendTestEventNotification; "
                "remove it from the HIT type's notification specification."
            )
        if event_type not in allowed:
            raise InvalidParameter(
                f"{field}.EventTypes contains {event_type!r}, which is not an event type; valid types are "
                f"{', '.join(allowed)}."
            )
    return {
        "Destination": destination,
        "Transport": transport,
        "Version": version,
        "EventTypes": list(dict.fromkeys(event_types)),
    }


def _check_destination(transport: str, destination: str, *, field: str) -> None:
    if len(destination) > MAX_DESTINATION_LENGTH:
        raise InvalidParameter(f"{field} must be at most {MAX_DESTINATION_LENGTH} characters.")
    if destination != destination.strip() or any(c.isspace() for c in destination):
        raise InvalidParameter(f"{field} must not contain spaces.")
    if transport == "SQS":
        _check_queue_url(destination, field=field)
    elif transport == "SNS":
        if not _SNS_ARN.match(destination):
            raise InvalidParameter(
                f"{field} must be an SNS topic ARN such as arn:aws:sns:us-east-1:123456789012:my-topic "
                f"when Transport is SNS; got {destination!r}."
            )
    elif transport == "Webhook":
        problem = webhook.url_problem(destination)
        if problem:
            raise InvalidParameter(f"{field} {problem}")
    else:
        try:
            validate_email(destination)
        except ValidationError:
            raise InvalidParameter(
                f"{field} must be an email address when Transport is Email; got {destination!r}."
            ) from None


def _check_queue_url(url: str, *, field: str) -> None:
    example = "https://sqs.us-east-1.amazonaws.com/123456789012/my-queue"
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        raise InvalidParameter(f"{field} must be an SQS queue URL such as {example}; got {url!r}.") from None
    if parts.scheme not in ("http", "https") or not host or parts.username or parts.password:
        raise InvalidParameter(
            f"{field} must be an SQS queue URL such as {example} (or an http(s) URL of a local SQS emulator) "
            f"when Transport is SQS; got {url!r}."
        )
    if _AWS_HOST.search(host):
        if parts.scheme != "https" or not _AWS_SQS_HOST.match(host) or not _AWS_QUEUE_PATH.match(parts.path) \
                or parts.query or parts.fragment:
            raise InvalidParameter(
                f"{field} is not an SQS queue URL: AWS queue URLs look like {example} (https, the region's sqs "
                f"host, a 12-digit account and the queue name); got {url!r}."
            )
    elif parts.path.strip("/") == "":
        raise InvalidParameter(
            f"{field} must be a queue URL, with the queue in its path (such as "
            f"http://localhost:4566/000000000000/my-queue for an emulator); got {url!r}."
        )


def set_notification(
    *,
    actor: Actor,
    requester: Requester,
    environment: str,
    hit_type_id: str,
    notification: dict | None,
    active: bool | None,
) -> HITType:
    """UpdateNotificationSettings: set, replace, enable or disable a HIT type's notification specification.

    A new specification replaces the old one and is active unless ``active`` is False; ``active`` alone turns
    delivery on or off and keeps the specification, which must then exist.
    """
    if notification is None and active is None:
        raise InvalidParameter("Provide Notification, Active, or both.")
    spec = check_specification(notification) if notification is not None else None
    with transaction.atomic():
        hit_type = (
            HITType.objects.select_for_update()
            .filter(pk=hit_type_id, requester=requester, environment=environment)
            .first()
        )
        if hit_type is None:
            raise HITTypeDoesNotExist(hit_type_id)
        if spec is None and not hit_type.notification:
            raise InvalidParameter(
                f"HIT type {hit_type_id} has no notification specification, so Active cannot be changed alone; "
                "provide Notification as well."
            )
        replaced = spec is not None
        if spec is not None:
            hit_type.notification = spec
        hit_type.notification_active = True if active is None else bool(active)
        hit_type.save(update_fields=["notification", "notification_active"])
        current = hit_type.notification or {}
        audit.record(
            actor, "update_notification_settings", environment=environment, target_type="HITType",
            target_id=hit_type.pk, replaced=replaced, active=hit_type.notification_active,
            transport=current.get("Transport"), destination=current.get("Destination"),
            version=current.get("Version"), event_types=current.get("EventTypes"),
        )
        return hit_type


def send_test_event(
    *,
    actor: Actor,
    requester: Requester,
    environment: str,
    notification: dict,
    test_event_type: str,
) -> OutboxEvent:
    """SendTestEventNotification: send one test event to ``notification``'s destination now, whatever event
    types it lists, and record it as delivered.

    As on MTurk the message is sent during the call, so a destination that refuses it (a missing queue, a
    policy that does not let Kempelen publish, a webhook that answers an error) is reported to the caller as
    NotificationDeliveryFailed, and nothing is recorded. The send happens before the transaction, so no
    database lock is held while the destination answers.
    """
    spec = check_specification(notification, allow_ping=True)
    if test_event_type not in (*EVENT_TYPES, PING):
        raise InvalidParameter(
            f"TestEventType {test_event_type!r} is not an event type; valid types are "
            f"{', '.join((*EVENT_TYPES, PING))}."
        )
    event = build_test_event(requester=requester, environment=environment, spec=spec, event_type=test_event_type)
    delivery.send_now(event, customer_id=requester.customer_id)
    with transaction.atomic():
        event.save()
        audit.record(
            actor, "send_test_event_notification", environment=environment, target_type="OutboxEvent",
            target_id=str(event.pk), event_type=test_event_type, transport=spec["Transport"],
            destination=spec["Destination"], version=spec["Version"], event_doc_id=event.message_id,
        )
        return event
