"""Jobs: work the runner does later (deliveries, housekeeping), claimed under a lock so each runs once."""

from __future__ import annotations

from django.db import models


class Job(models.Model):
    kind = models.CharField(max_length=64)
    payload = models.JSONField(default=dict, blank=True)
    run_at = models.DateTimeField()
    status = models.CharField(max_length=8, default="pending")  # pending | running | done | dead
    attempts = models.IntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "run_at"])]
