"""The only code that changes marketplace state. Each action is atomic, locks what it checks, is audited,
and queues its side effects to the outbox in the same transaction."""

from ._lifecycle import settle, settle_due_for_requester, settle_if_due
from .batch_changes import add_batch_assignments as add_batch_assignments
from .batch_changes import cancel_batch as cancel_batch
from .batch_changes import extend_batch as extend_batch
from .batches import BatchDoesNotExist as BatchDoesNotExist
from .batches import create_batch as create_batch
from .batches import fail_batch as fail_batch
from .batches import fail_stalled_batches as fail_stalled_batches
from .batches import finish_batch as finish_batch
from .batches import publish_batch_rows as publish_batch_rows
from .hits import (
    create_additional_assignments,
    create_hit,
    create_hit_type,
    delete_hit,
    get_hit_type,
    update_expiration,
    update_hit_type_of_hit,
    update_review_status,
)
from .layouts import archive_project as archive_project
from .layouts import copy_project as copy_project
from .layouts import create_project as create_project
from .layouts import get_project as get_project
from .layouts import unarchive_project as unarchive_project
from .layouts import update_project as update_project
from .review import approve_assignment, reject_assignment
from .review_upload import Decision, ReviewRefused, ReviewResult, review_batch
from .work import accept_assignment, check_may, return_assignment, submit_assignment
from .workers import create_worker_block, delete_worker_block, notify_workers, send_bonus

__all__ = [
    "Decision",
    "ReviewRefused",
    "ReviewResult",
    "accept_assignment",
    "approve_assignment",
    "check_may",
    "create_additional_assignments",
    "create_hit",
    "create_hit_type",
    "create_worker_block",
    "delete_hit",
    "delete_worker_block",
    "get_hit_type",
    "notify_workers",
    "reject_assignment",
    "return_assignment",
    "review_batch",
    "send_bonus",
    "settle",
    "settle_due_for_requester",
    "settle_if_due",
    "submit_assignment",
    "update_expiration",
    "update_hit_type_of_hit",
    "update_review_status",
]
