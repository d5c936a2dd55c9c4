"""Requesters, workers and requesters' API credentials."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from kempelen.core.ids import WORKER_ID


class Requester(models.Model):
    """A requester account. ``customer_id`` is what notifications report as CustomerId."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="requester")
    customer_id = models.CharField(max_length=32, unique=True)
    display_name = models.CharField(max_length=200)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.display_name} ({self.customer_id})"


class Worker(models.Model):
    """A worker. Country, subdivision and the adult flag feed the Locale and Adult system qualifications."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="worker")
    worker_id = models.CharField(max_length=64, unique=True)
    display_name = models.CharField(max_length=200, blank=True)
    country = models.CharField(max_length=2, blank=True)
    subdivision = models.CharField(max_length=2, blank=True)
    is_adult = models.BooleanField(default=False)
    # Masters is awarded by the operator, separately for each environment, as MTurk's ids differ per environment.
    is_master_live = models.BooleanField(default=False)
    is_master_sandbox = models.BooleanField(default=False)
    synthetic = models.BooleanField(default=False, help_text="Created by `kempelen simulate`.")
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(worker_id__regex=WORKER_ID.pattern), name="worker_id_shape")
        ]

    def __str__(self) -> str:
        return self.worker_id

    def is_master(self, environment: str) -> bool:
        return self.is_master_sandbox if environment == "sandbox" else self.is_master_live


class ApiCredential(models.Model):
    """An access key of a requester. The secret is stored encrypted (SigV4 needs it in the clear to verify)."""

    requester = models.ForeignKey(Requester, on_delete=models.CASCADE, related_name="credentials")
    access_key_id = models.CharField(max_length=32, unique=True)
    secret_encrypted = models.TextField()
    label = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.access_key_id

    @property
    def active(self) -> bool:
        return self.revoked_at is None
