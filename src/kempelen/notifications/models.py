"""The outbox: notification events and emails, written in the transaction of the change they report."""

from __future__ import annotations

from django.db import models

from kempelen.core import clock
from kempelen.core.models import Environment


class OutboxEvent(models.Model):
    """One MTurk notification event for one destination (a HIT type's notification specification)."""

    environment = models.CharField(max_length=8, choices=Environment.choices)
    requester = models.ForeignKey("accounts.Requester", on_delete=models.CASCADE, related_name="outbox_events")
    event_type = models.CharField(max_length=32)
    event_timestamp = models.DateTimeField()
    hit_type_id = models.CharField(max_length=64, blank=True)
    hit_id = models.CharField(max_length=64, blank=True)
    assignment_id = models.CharField(max_length=64, blank=True)
    transport = models.CharField(max_length=8)
    destination = models.CharField(max_length=1024)
    version = models.CharField(max_length=16)
    test = models.BooleanField(default=False, help_text="Sent by SendTestEventNotification.")
    created_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)
    attempts = models.IntegerField(default=0)
    last_error = models.TextField(blank=True)
    # Delivery (notifications/delivery.py). A runner that claims an event moves next_attempt_at past the time
    # its send may take, so no other runner sends it meanwhile; a failure moves it to the next retry.
    next_attempt_at = models.DateTimeField(default=clock.now)
    message_id = models.CharField(
        max_length=64, blank=True, help_text="EventDocId of the message that carries this event, once batched."
    )
    dead_at = models.DateTimeField(
        null=True, blank=True, help_text="Set when delivery gave up after the last attempt; retry by hand."
    )

    class Meta:
        indexes = [
            models.Index(fields=["delivered_at", "created_at"]),
            models.Index(
                fields=["next_attempt_at", "id"],
                condition=models.Q(delivered_at__isnull=True, dead_at__isnull=True),
                name="outbox_event_due",
            ),
            models.Index(fields=["message_id"], condition=models.Q(delivered_at__isnull=True),
                         name="outbox_event_undelivered_msg"),
            models.Index(fields=["dead_at"], condition=models.Q(dead_at__isnull=False), name="outbox_event_dead"),
        ]


class OutboxEmail(models.Model):
    """An email to a worker (NotifyWorkers, a qualification granted or revoked)."""

    environment = models.CharField(max_length=8, choices=Environment.choices)
    worker = models.ForeignKey("accounts.Worker", on_delete=models.CASCADE, related_name="emails")
    requester = models.ForeignKey("accounts.Requester", null=True, blank=True, on_delete=models.SET_NULL)
    kind = models.CharField(max_length=32)
    subject = models.CharField(max_length=300)
    body = models.TextField()
    created_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)
    attempts = models.IntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        indexes = [models.Index(fields=["delivered_at", "created_at"]), models.Index(fields=["worker", "created_at"])]
