"""Tables shared by every app: the audit log and UniqueRequestToken records."""

from __future__ import annotations

from django.db import models


class Environment(models.TextChoices):
    LIVE = "live", "Live"
    SANDBOX = "sandbox", "Sandbox"


class AuditEvent(models.Model):
    """One row per state change, written by the action that made it, in the same transaction."""

    at = models.DateTimeField()
    actor = models.CharField(max_length=100)
    action = models.CharField(max_length=64)
    environment = models.CharField(max_length=8, choices=Environment.choices, blank=True)
    target_type = models.CharField(max_length=32, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [models.Index(fields=["target_type", "target_id"]), models.Index(fields=["at"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor} {self.action} {self.target_type} {self.target_id}"


class IdempotencyToken(models.Model):
    """A UniqueRequestToken seen in the last 24 hours, with what it produced."""

    requester = models.ForeignKey("accounts.Requester", on_delete=models.CASCADE)
    environment = models.CharField(max_length=8, choices=Environment.choices)
    scope = models.CharField(max_length=32)
    token = models.CharField(max_length=64)
    result = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["requester", "environment", "scope", "token"], name="one_use_per_token")
        ]
        indexes = [models.Index(fields=["created_at"])]
