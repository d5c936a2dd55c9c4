"""Files a requester uploaded and has not applied yet (a batch CSV before publishing, a results or worker
CSV between its dry run and applying it). Kept in the database so that any node can serve the next step."""

from __future__ import annotations

from django.db import models

from kempelen.core.models import Environment


class UploadKind(models.TextChoices):
    BATCH_INPUT = "batch-input"
    RESULTS_REVIEW = "results-review"
    WORKERS = "workers"


class PendingUpload(models.Model):
    id = models.CharField(primary_key=True, max_length=64)
    requester = models.ForeignKey("accounts.Requester", on_delete=models.CASCADE, related_name="pending_uploads")
    environment = models.CharField(max_length=8, choices=Environment.choices)
    kind = models.CharField(max_length=16, choices=UploadKind.choices)
    filename = models.CharField(max_length=255)
    content = models.BinaryField()
    # What the upload is for (a project id, a batch id…), so a step cannot be replayed against another object.
    subject_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["created_at"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.filename} ({self.id})"
