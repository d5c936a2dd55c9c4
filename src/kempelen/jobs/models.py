"""Jobs: the runner's record of work in hand (a claim), work to try again later (a retry) and work it gave up on
(dead), one row per item. Work that goes well leaves no row behind (see docs/jobs.md)."""

from __future__ import annotations

from django.db import models


class JobStatus(models.TextChoices):
    PENDING = "pending", "waiting to be tried again"
    RUNNING = "running", "claimed by a runner"
    DONE = "done", "done"
    DEAD = "dead", "given up: waits for a retry by hand"


class JobKind(models.TextChoices):
    HIT = "hit", "settling a HIT's elapsed timers"
    EMAIL = "email", "sending a queued email"
    STEP = "step", "a step of the runner's pass"


class Job(models.Model):
    kind = models.CharField(max_length=64)
    key = models.CharField(max_length=64, blank=True, default="",
                           help_text="What the job is about: a HIT's id, an email's id, a step's name.")
    payload = models.JSONField(default=dict, blank=True)
    run_at = models.DateTimeField(help_text="When it may be tried (again).")
    status = models.CharField(max_length=8, default=JobStatus.PENDING, choices=JobStatus.choices)
    attempts = models.IntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True, help_text="When a running job's claim lapses.")
    locked_by = models.CharField(max_length=128, blank=True, help_text="The runner (host:process) that claimed it.")
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True, help_text="When it was parked as dead.")

    class Meta:
        indexes = [models.Index(fields=["status", "run_at"]), models.Index(fields=["kind", "key"])]
        constraints = [
            models.UniqueConstraint(fields=["kind", "key"], condition=~models.Q(key=""), name="jobs_one_row_per_item"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.key}".strip()
