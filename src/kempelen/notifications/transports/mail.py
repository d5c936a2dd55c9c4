"""MTurk's Email transport: the event document as a plain-text email, through Django's email backend."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMessage, get_connection

from . import DeliveryError, OutgoingMessage


def subject_for(message: OutgoingMessage) -> str:
    return f"Kempelen notification: {', '.join(dict.fromkeys(message.event_types))}"[:200]


def send_email(message: OutgoingMessage) -> None:
    # Django's SMTP backend waits forever unless told otherwise; EMAIL_TIMEOUT, when set, wins.
    timeout = getattr(settings, "EMAIL_TIMEOUT", None) or float(settings.NOTIFICATIONS_TIMEOUT_SECONDS)
    email = EmailMessage(
        subject=subject_for(message),
        body=message.body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[message.destination],
        headers={"X-Kempelen-Event-Doc-Id": message.doc_id},
        connection=get_connection(timeout=timeout),
    )
    try:
        email.send()
    except Exception as error:  # SMTP and socket errors, and whatever another backend raises
        raise DeliveryError(f"Email to {message.destination} failed: {error}") from None
