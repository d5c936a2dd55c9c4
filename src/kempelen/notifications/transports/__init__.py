"""Sending one notification message over its transport: SQS, SNS, Email or Kempelen's own Webhook."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class OutgoingMessage:
    """One event document, ready to send. ``body`` is the JSON text every transport carries unchanged."""

    doc_id: str
    body: str
    transport: str
    destination: str
    requester_id: int
    customer_id: str
    event_types: tuple[str, ...]


class DeliveryError(Exception):
    """A send that failed; the text says why, and is kept on the events as ``last_error``."""


def send(message: OutgoingMessage) -> None:
    """Send ``message`` or raise DeliveryError."""
    sender = _senders().get(message.transport)
    if sender is None:
        raise DeliveryError(f"Kempelen cannot deliver over the transport {message.transport!r}.")
    sender(message)


def _senders() -> dict[str, Callable[[OutgoingMessage], None]]:
    from . import aws, mail, webhook

    return {"SQS": aws.send_sqs, "SNS": aws.send_sns, "Email": mail.send_email, "Webhook": webhook.send_webhook}
