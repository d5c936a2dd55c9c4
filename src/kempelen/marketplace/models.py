"""HIT types, HITs, assignments, bonuses, blocks, layouts and review-policy reports."""

from __future__ import annotations

import datetime as dt

from django.db import models

from kempelen.core.models import Environment


class HITStatus(models.TextChoices):
    ASSIGNABLE = "Assignable"
    UNASSIGNABLE = "Unassignable"
    REVIEWABLE = "Reviewable"
    REVIEWING = "Reviewing"
    DISPOSED = "Disposed"


class AssignmentStatus(models.TextChoices):
    # Accepted, Returned and Abandoned never appear through the requester API.
    ACCEPTED = "Accepted"
    SUBMITTED = "Submitted"
    APPROVED = "Approved"
    REJECTED = "Rejected"
    RETURNED = "Returned"
    ABANDONED = "Abandoned"


#: Statuses that hold one of the HIT's slots and stop the same worker taking another assignment on it.
HOLDING_STATUSES = (
    AssignmentStatus.ACCEPTED,
    AssignmentStatus.SUBMITTED,
    AssignmentStatus.APPROVED,
    AssignmentStatus.REJECTED,
)
#: Statuses the requester API shows.
VISIBLE_STATUSES = (AssignmentStatus.SUBMITTED, AssignmentStatus.APPROVED, AssignmentStatus.REJECTED)


class HITLayout(models.Model):
    """A requester-site *project*: HIT properties plus an HTML template with ``${name}`` placeholders.

    Its id works as ``HITLayoutId`` through the API (with ``HITLayoutParameters``). The properties are the
    defaults every batch published from the project uses; API calls that name the layout bring their own.
    """

    id = models.CharField(primary_key=True, max_length=64)
    requester = models.ForeignKey("accounts.Requester", on_delete=models.CASCADE, related_name="layouts")
    environment = models.CharField(max_length=8, choices=Environment.choices)
    name = models.CharField(max_length=200)
    html = models.TextField()
    frame_height = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()
    # HIT properties (CreateHITType + CreateHIT fields) for batches published from the project.
    title = models.CharField(max_length=128, blank=True)
    description = models.TextField(blank=True)
    keywords = models.TextField(blank=True)
    reward_cents = models.BigIntegerField(default=0)
    max_assignments = models.IntegerField(default=1)
    assignment_duration = models.BigIntegerField(default=3600, help_text="seconds")
    lifetime = models.BigIntegerField(default=3 * 24 * 3600, help_text="seconds")
    auto_approval_delay = models.BigIntegerField(default=3 * 24 * 3600, help_text="seconds")
    qualification_requirements = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(null=True, blank=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    # Example values for the placeholders ({name: value}): the layout editor's and project page's preview.
    sample_row = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"


class HITType(models.Model):
    id = models.CharField(primary_key=True, max_length=64)
    group_id = models.CharField(max_length=64, unique=True)
    requester = models.ForeignKey("accounts.Requester", on_delete=models.CASCADE, related_name="hit_types")
    environment = models.CharField(max_length=8, choices=Environment.choices)
    title = models.CharField(max_length=128)
    description = models.TextField()
    keywords = models.TextField(blank=True)
    reward_cents = models.BigIntegerField()
    assignment_duration = models.BigIntegerField(help_text="seconds")
    auto_approval_delay = models.BigIntegerField(help_text="seconds")
    qualification_requirements = models.JSONField(default=list, blank=True)
    # A hash of all the attributes: CreateHITType with identical attributes returns the existing type.
    fingerprint = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    notification = models.JSONField(null=True, blank=True)
    notification_active = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["requester", "environment", "fingerprint"], name="one_hit_type_per_shape")
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.id})"


class BatchStatus(models.TextChoices):
    PUBLISHING = "Publishing"  # HITs being written; none of them visible to workers yet
    PUBLISHED = "Published"
    CANCELLED = "Cancelled"  # the requester expired what was left
    FAILED = "Failed"  # publishing stopped part-way; what it wrote has been undone


class Batch(models.Model):
    """HITs published together from a project and a CSV file (one HIT per row, all of one HIT type)."""

    id = models.CharField(primary_key=True, max_length=64)
    requester = models.ForeignKey("accounts.Requester", on_delete=models.CASCADE, related_name="batches")
    environment = models.CharField(max_length=8, choices=Environment.choices)
    layout = models.ForeignKey(HITLayout, null=True, on_delete=models.SET_NULL, related_name="batches")
    hit_type = models.ForeignKey("HITType", on_delete=models.PROTECT, related_name="batches")
    name = models.CharField(max_length=200)
    # The input CSV's header, in file order (the results CSV's Input.* columns), and the number of rows.
    input_columns = models.JSONField(default=list)
    row_count = models.IntegerField(default=0)
    assignments_per_row = models.IntegerField(default=1)
    lifetime = models.BigIntegerField(help_text="seconds")
    status = models.CharField(max_length=12, choices=BatchStatus.choices, default=BatchStatus.PUBLISHING)
    rows_published = models.IntegerField(default=0, help_text="progress while publishing")
    error = models.TextField(blank=True)
    created_at = models.DateTimeField()
    published_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["requester", "environment", "created_at"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"


class HIT(models.Model):
    """A HIT and its slot counters.

    The counters always satisfy ``max_assignments == available + pending + submitted + completed``.
    ``available`` counts unfilled slots, also after expiry (a HIT that expired with unfilled slots reports
    them, as Mephisto expects); whether they can be taken is decided with ``expiration``.
    """

    id = models.CharField(primary_key=True, max_length=64)
    hit_type = models.ForeignKey(HITType, on_delete=models.PROTECT, related_name="hits")
    requester = models.ForeignKey("accounts.Requester", on_delete=models.CASCADE, related_name="hits")
    environment = models.CharField(max_length=8, choices=Environment.choices)
    layout = models.ForeignKey(HITLayout, null=True, blank=True, on_delete=models.SET_NULL)
    layout_parameters = models.JSONField(null=True, blank=True)
    question = models.TextField()
    requester_annotation = models.CharField(max_length=255, blank=True)
    max_assignments = models.IntegerField()
    available = models.IntegerField()
    pending = models.IntegerField(default=0)
    submitted = models.IntegerField(default=0)
    completed = models.IntegerField(default=0)
    created_at = models.DateTimeField()
    expiration = models.DateTimeField()
    # The HITExpired effects (escrow release for unfilled slots, the event) have been applied for this expiry.
    expiry_settled = models.BooleanField(default=False)
    reviewing = models.BooleanField(default=False)
    review_status = models.CharField(max_length=24, default="NotReviewed")
    disposed_at = models.DateTimeField(null=True, blank=True)
    # Reward plus fee for one slot, and what this HIT holds in escrow now.
    unit_cost_cents = models.BigIntegerField()
    escrow_cents = models.BigIntegerField(default=0)
    # The earliest moment a timer of this HIT (expiry, an assignment deadline, an auto-approval) may fall due.
    # It may be early, never late: settling re-computes it exactly.
    next_due_at = models.DateTimeField(null=True, blank=True)
    assignment_review_policy = models.JSONField(null=True, blank=True)
    hit_review_policy = models.JSONField(null=True, blank=True)
    # HITReviewable has been signalled (and the HIT review policy run) for the HIT's current reviewable spell;
    # cleared when new work makes the HIT assignable again.
    reviewable_signalled = models.BooleanField(default=False)
    last_activity_at = models.DateTimeField()
    # The batch (requester site) the HIT was published in, and its row there (0-based, in file order).
    batch = models.ForeignKey(Batch, null=True, blank=True, on_delete=models.SET_NULL, related_name="hits")
    batch_row = models.IntegerField(null=True, blank=True)
    # False while its batch is being published: workers neither see nor accept it until the whole batch is in.
    published = models.BooleanField(default=True)

    class Meta:
        indexes = [
            models.Index(fields=["batch", "batch_row"]),
            models.Index(fields=["requester", "environment", "created_at"]),
            models.Index(fields=["hit_type", "expiration"]),
            models.Index(fields=["next_due_at"]),
            models.Index(fields=["environment", "available", "expiration"]),
            # The HIT-group list aggregates open HITs per HIT type from this index alone (no table reads).
            models.Index(fields=["environment", "hit_type", "available", "expiration", "disposed_at", "published",
                                 "requester", "created_at"], name="hit_group_summary"),
            # Accepting from and previewing a group: its oldest open HITs in order, without sorting the group.
            models.Index(fields=["hit_type", "created_at", "id"], name="hit_group_oldest"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(available__gte=0, pending__gte=0, submitted__gte=0, completed__gte=0),
                name="hit_counters_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return self.id

    def is_expired(self, now: dt.datetime) -> bool:
        return self.expiration <= now

    def status(self, now: dt.datetime) -> str:
        if self.disposed_at is not None:
            return HITStatus.DISPOSED
        expired = self.is_expired(now)
        if not expired and self.available > 0:
            return HITStatus.ASSIGNABLE
        if self.pending > 0:
            return HITStatus.UNASSIGNABLE
        return HITStatus.REVIEWING if self.reviewing else HITStatus.REVIEWABLE


class Assignment(models.Model):
    id = models.CharField(primary_key=True, max_length=64)
    hit = models.ForeignKey(HIT, on_delete=models.CASCADE, related_name="assignments")
    worker = models.ForeignKey("accounts.Worker", on_delete=models.PROTECT, related_name="assignments")
    requester = models.ForeignKey("accounts.Requester", on_delete=models.CASCADE, related_name="assignments")
    environment = models.CharField(max_length=8, choices=Environment.choices)
    status = models.CharField(max_length=10, choices=AssignmentStatus.choices)
    accept_time = models.DateTimeField()
    deadline = models.DateTimeField()
    submit_time = models.DateTimeField(null=True, blank=True)
    auto_approval_time = models.DateTimeField(null=True, blank=True)
    approval_time = models.DateTimeField(null=True, blank=True)
    rejection_time = models.DateTimeField(null=True, blank=True)
    ended_time = models.DateTimeField(null=True, blank=True, help_text="When it was returned or abandoned.")
    answer = models.TextField(blank=True)
    requester_feedback = models.CharField(max_length=1024, blank=True)
    known_answer_score = models.IntegerField(null=True, blank=True)
    paid = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["hit", "worker"],
                condition=models.Q(status__in=["Accepted", "Submitted", "Approved", "Rejected"]),
                name="one_assignment_per_worker_per_hit",
            )
        ]
        indexes = [
            models.Index(fields=["hit", "status"]),
            models.Index(fields=["worker", "environment", "status"]),
            models.Index(fields=["status", "deadline"]),
        ]

    def __str__(self) -> str:
        return self.id


class BonusPayment(models.Model):
    requester = models.ForeignKey("accounts.Requester", on_delete=models.CASCADE, related_name="bonuses")
    environment = models.CharField(max_length=8, choices=Environment.choices)
    worker = models.ForeignKey("accounts.Worker", on_delete=models.PROTECT, related_name="bonuses")
    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="bonuses")
    amount_cents = models.BigIntegerField()
    fee_cents = models.BigIntegerField()
    reason = models.TextField()
    grant_time = models.DateTimeField()


class WorkerBlock(models.Model):
    requester = models.ForeignKey("accounts.Requester", on_delete=models.CASCADE, related_name="blocks")
    environment = models.CharField(max_length=8, choices=Environment.choices)
    worker_id = models.CharField(max_length=64)
    reason = models.TextField()
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["requester", "environment", "worker_id"], name="one_block_per_worker")
        ]


class ReviewResult(models.Model):
    """A ReviewResultDetail reported by ListReviewPolicyResultsForHIT."""

    hit = models.ForeignKey(HIT, on_delete=models.CASCADE, related_name="review_results")
    level = models.CharField(max_length=10)  # "Assignment" | "HIT"
    action_id = models.CharField(max_length=64, blank=True)
    subject_id = models.CharField(max_length=64)
    subject_type = models.CharField(max_length=16)
    question_id = models.CharField(max_length=256, blank=True)
    key = models.CharField(max_length=64)
    value = models.TextField(blank=True)


class ReviewAction(models.Model):
    """A ReviewActionDetail: what a review policy did (or meant to do)."""

    hit = models.ForeignKey(HIT, on_delete=models.CASCADE, related_name="review_actions")
    level = models.CharField(max_length=10)
    action_id = models.CharField(max_length=64, unique=True)
    action_name = models.CharField(max_length=32)
    target_id = models.CharField(max_length=64)
    target_type = models.CharField(max_length=16)
    status = models.CharField(max_length=12)
    complete_time = models.DateTimeField(null=True, blank=True)
    result = models.TextField(blank=True)
    error_code = models.CharField(max_length=100, blank=True)


class UploadedFile(models.Model):
    """A file a worker uploaded for a QuestionForm FileUploadAnswer (read back with GetFileUploadURL)."""

    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="files")
    question_identifier = models.CharField(max_length=256)
    key = models.CharField(max_length=64, unique=True)
    size = models.BigIntegerField()
    content_type = models.CharField(max_length=100, blank=True)
    path = models.CharField(max_length=500)
