"""The explicit table of MTurk operations and the handler that serves each."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from functools import cache

from .context import Call

Handler = Callable[[Call, dict], dict]

#: Operation name → "module:function" under kempelen.mturk_api.handlers.
OPERATIONS: dict[str, str] = {
    # HITs and HIT types
    "CreateHIT": "hits:create_hit",
    "CreateHITType": "hits:create_hit_type",
    "CreateHITWithHITType": "hits:create_hit_with_hit_type",
    "GetHIT": "hits:get_hit",
    "ListHITs": "hits:list_hits",
    "ListReviewableHITs": "hits:list_reviewable_hits",
    "ListHITsForQualificationType": "hits:list_hits_for_qualification_type",
    "UpdateExpirationForHIT": "hits:update_expiration_for_hit",
    "CreateAdditionalAssignmentsForHIT": "hits:create_additional_assignments_for_hit",
    "UpdateHITReviewStatus": "hits:update_hit_review_status",
    "UpdateHITTypeOfHIT": "hits:update_hit_type_of_hit",
    "DeleteHIT": "hits:delete_hit",
    # Assignments
    "GetAssignment": "assignments:get_assignment",
    "ListAssignmentsForHIT": "assignments:list_assignments_for_hit",
    "ApproveAssignment": "assignments:approve_assignment",
    "RejectAssignment": "assignments:reject_assignment",
    # Bonuses and balance
    "SendBonus": "money:send_bonus",
    "ListBonusPayments": "money:list_bonus_payments",
    "GetAccountBalance": "money:get_account_balance",
    # Qualifications
    "CreateQualificationType": "qualifications:create_qualification_type",
    "GetQualificationType": "qualifications:get_qualification_type",
    "UpdateQualificationType": "qualifications:update_qualification_type",
    "ListQualificationTypes": "qualifications:list_qualification_types",
    "DeleteQualificationType": "qualifications:delete_qualification_type",
    "AssociateQualificationWithWorker": "qualifications:associate_qualification_with_worker",
    "DisassociateQualificationFromWorker": "qualifications:disassociate_qualification_from_worker",
    "GetQualificationScore": "qualifications:get_qualification_score",
    "ListWorkersWithQualificationType": "qualifications:list_workers_with_qualification_type",
    "ListQualificationRequests": "qualifications:list_qualification_requests",
    "AcceptQualificationRequest": "qualifications:accept_qualification_request",
    "RejectQualificationRequest": "qualifications:reject_qualification_request",
    # Workers
    "CreateWorkerBlock": "workers:create_worker_block",
    "DeleteWorkerBlock": "workers:delete_worker_block",
    "ListWorkerBlocks": "workers:list_worker_blocks",
    "NotifyWorkers": "workers:notify_workers",
    # Notifications
    "UpdateNotificationSettings": "notifications:update_notification_settings",
    "SendTestEventNotification": "notifications:send_test_event_notification",
    # Review results and files
    "ListReviewPolicyResultsForHIT": "review:list_review_policy_results_for_hit",
    "GetFileUploadURL": "review:get_file_upload_url",
}

#: Checks that run before the model's validation, for inputs MTurk refused with a RequestError in its own
#: words rather than a ValidationException: clients match on those words ("WorkerId is invalid.").
PRECHECKS: dict[str, str] = {
    "CreateWorkerBlock": "workers:check_worker_id",
    "DeleteWorkerBlock": "workers:check_worker_id",
}


def _resolve(reference: str) -> Callable:  # type: ignore[type-arg]
    module_name, function = reference.split(":")
    module = importlib.import_module(f"kempelen.mturk_api.handlers.{module_name}")
    return getattr(module, function)  # type: ignore[no-any-return]


@cache
def handler_for(operation: str) -> Handler:
    return _resolve(OPERATIONS[operation])  # type: ignore[no-any-return]


@cache
def precheck_for(operation: str) -> Callable[[dict], None] | None:
    reference = PRECHECKS.get(operation)
    return _resolve(reference) if reference else None
