"""Requesters' qualification types, the grants workers hold, and workers' requests for them.

System qualification types (Masters, NumberHITsApproved, Locale, …) are not stored: they are defined in
``system.py`` and their values computed from each worker's history.
"""

from __future__ import annotations

from django.db import models

from kempelen.core.models import Environment


class QualificationType(models.Model):
    id = models.CharField(primary_key=True, max_length=64)
    requester = models.ForeignKey("accounts.Requester", on_delete=models.CASCADE, related_name="qualification_types")
    environment = models.CharField(max_length=8, choices=Environment.choices)
    name = models.CharField(max_length=200)
    description = models.TextField()
    keywords = models.TextField(blank=True)
    status = models.CharField(max_length=8, default="Active")  # Active | Inactive
    test = models.TextField(blank=True)
    test_duration = models.BigIntegerField(null=True, blank=True)
    answer_key = models.TextField(blank=True)
    retry_delay = models.BigIntegerField(null=True, blank=True)
    auto_granted = models.BooleanField(default=False)
    auto_granted_value = models.IntegerField(null=True, blank=True)
    created_at = models.DateTimeField()
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["requester", "environment", "name"],
                condition=models.Q(deleted_at__isnull=True),
                name="qualification_type_name_unique_per_requester",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"


class Qualification(models.Model):
    """A grant of a qualification type to a worker (Granted or Revoked)."""

    qualification_type = models.ForeignKey(QualificationType, on_delete=models.CASCADE, related_name="grants")
    worker = models.ForeignKey("accounts.Worker", on_delete=models.CASCADE, related_name="qualifications")
    environment = models.CharField(max_length=8, choices=Environment.choices)
    integer_value = models.IntegerField(null=True, blank=True)
    locale_country = models.CharField(max_length=2, blank=True)
    locale_subdivision = models.CharField(max_length=2, blank=True)
    status = models.CharField(max_length=8, default="Granted")  # Granted | Revoked
    grant_time = models.DateTimeField()
    reason = models.TextField(blank=True, help_text="Why it was revoked (shown to the worker).")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["qualification_type", "worker"], name="one_grant_per_worker_and_type")
        ]
        indexes = [models.Index(fields=["worker", "status"])]


class RequestState(models.TextChoices):
    TEST_IN_PROGRESS = "test"
    PENDING = "pending"
    GRANTED = "granted"
    REJECTED = "rejected"
    LAPSED = "lapsed"


class QualificationRequest(models.Model):
    id = models.CharField(primary_key=True, max_length=64)
    qualification_type = models.ForeignKey(QualificationType, on_delete=models.CASCADE, related_name="requests")
    worker = models.ForeignKey("accounts.Worker", on_delete=models.CASCADE, related_name="qualification_requests")
    environment = models.CharField(max_length=8, choices=Environment.choices)
    state = models.CharField(max_length=8, choices=RequestState.choices)
    test = models.TextField(blank=True)
    answer = models.TextField(blank=True)
    created_at = models.DateTimeField()
    submit_time = models.DateTimeField(null=True, blank=True)
    test_deadline = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    score = models.IntegerField(null=True, blank=True)
    reason = models.TextField(blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["qualification_type", "state"]),
            models.Index(fields=["worker", "qualification_type"]),
            # The job runner looks for tests past their deadline on every pass.
            models.Index(fields=["test_deadline"], condition=models.Q(state="test"), name="open_tests_by_deadline"),
        ]
