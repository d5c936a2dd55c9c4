"""Marketplace rows in the wire shapes of the MTurk service model (every field clients index is present)."""

from __future__ import annotations

import datetime as dt

from kempelen.core.money import format_cents
from kempelen.marketplace.models import HIT, Assignment, BonusPayment, HITType


def hit(h: HIT, now: dt.datetime) -> dict:
    t: HITType = h.hit_type
    out = {
        "HITId": h.pk,
        "HITTypeId": t.pk,
        "HITGroupId": t.group_id,
        "CreationTime": h.created_at,
        "Title": t.title,
        "Description": t.description,
        "Question": h.question,
        "Keywords": t.keywords or "",
        "HITStatus": h.status(now),
        "MaxAssignments": h.max_assignments,
        "Reward": format_cents(t.reward_cents),
        "AutoApprovalDelayInSeconds": t.auto_approval_delay,
        "Expiration": h.expiration,
        "AssignmentDurationInSeconds": t.assignment_duration,
        "QualificationRequirements": t.qualification_requirements or [],
        "HITReviewStatus": h.review_status,
        "NumberOfAssignmentsPending": h.pending,
        "NumberOfAssignmentsAvailable": h.available,
        "NumberOfAssignmentsCompleted": h.completed,
    }
    if h.requester_annotation:
        out["RequesterAnnotation"] = h.requester_annotation
    if h.layout_id:
        out["HITLayoutId"] = h.layout_id
    return out


def assignment(a: Assignment) -> dict:
    out = {
        "AssignmentId": a.pk,
        "WorkerId": a.worker.worker_id,
        "HITId": a.hit_id,
        "AssignmentStatus": a.status,
        "AutoApprovalTime": a.auto_approval_time,
        "AcceptTime": a.accept_time,
        "SubmitTime": a.submit_time,
        "Deadline": a.deadline,
        "Answer": a.answer or "",
    }
    if a.approval_time:
        out["ApprovalTime"] = a.approval_time
    if a.rejection_time:
        out["RejectionTime"] = a.rejection_time
    if a.requester_feedback:
        out["RequesterFeedback"] = a.requester_feedback
    return out


def bonus(b: BonusPayment) -> dict:
    return {
        "WorkerId": b.worker.worker_id,
        "BonusAmount": format_cents(b.amount_cents),
        "AssignmentId": b.assignment_id,
        "Reason": b.reason,
        "GrantTime": b.grant_time,
    }
