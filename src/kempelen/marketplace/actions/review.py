"""Approving and rejecting assignments, by the requester, by auto-approval and by review policies."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from kempelen.accounts.models import Requester
from kempelen.core import audit, clock, ids
from kempelen.core.actors import Actor
from kempelen.core.errors import AssignmentDoesNotExist, InvalidAssignmentState
from kempelen.core.text import check_text
from kempelen.ledger import actions as ledger
from kempelen.notifications.actions import emit

from ..models import HIT, Assignment, AssignmentStatus, HITStatus, ReviewAction, ReviewResult
from ._lifecycle import (
    add_slots,
    bring_forward,
    check_slot_increase,
    lock_hit,
    reserve_cents,
    reserve_slots,
    settle_first,
    signal_status,
)

OVERRIDE_WINDOW = dt.timedelta(days=30)
_PAST = {"Approve": "Approved", "Reject": "Rejected"}


def _requester_assignment(requester: Requester, environment: str, assignment_id: str) -> Assignment:
    """The requester's own assignment, as the API sees it: in-progress work does not exist yet."""
    assignment = (
        Assignment.objects.filter(
            pk=assignment_id,
            requester=requester,
            environment=environment,
            status__in=(AssignmentStatus.SUBMITTED, AssignmentStatus.APPROVED, AssignmentStatus.REJECTED),
        )
        .only("id", "hit_id")
        .first()
    )
    if assignment is None:
        raise AssignmentDoesNotExist(assignment_id)
    return assignment


def _locked_assignment(hit: HIT, assignment_id: str) -> Assignment:
    return Assignment.objects.select_for_update(of=("self",)).select_related("worker").get(pk=assignment_id, hit=hit)


def approve_locked(
    hit: HIT,
    assignment: Assignment,
    *,
    actor: Actor,
    feedback: str,
    at: dt.datetime | None = None,
    automatic: bool = False,
    override: bool = False,
) -> None:
    """Approve a Submitted (or, with ``override``, Rejected) assignment and pay it, exactly once."""
    at = at or clock.now()
    reward = hit.hit_type.reward_cents
    fee = hit.unit_cost_cents - reward
    if assignment.status == AssignmentStatus.SUBMITTED:
        hit.submitted -= 1
        hit.completed += 1
        hit.escrow_cents -= hit.unit_cost_cents
    elif assignment.status == AssignmentStatus.REJECTED and override:
        # The slot's escrow went back to available funds on rejection; take it again to pay now.
        reserve_cents(hit, hit.unit_cost_cents, actor=actor, why=f"override:{assignment.pk}")
        hit.escrow_cents -= hit.unit_cost_cents
    else:
        raise InvalidAssignmentState("Submitted", assignment.status)
    # One payment per assignment: the key is the assignment's, so the database refuses a second one.
    if not ledger.pay_from_escrow(
        requester=hit.requester, worker=assignment.worker, environment=hit.environment,
        reward_cents=reward, fee_cents=fee, key=f"pay:{assignment.pk}", actor=actor,
        hit_id=hit.pk, assignment_id=assignment.pk,
    ):
        raise RuntimeError(f"assignment {assignment.pk} has been paid before")
    assignment.status = AssignmentStatus.APPROVED
    assignment.approval_time = at
    assignment.paid = True
    if feedback or not automatic:
        assignment.requester_feedback = feedback
    assignment.save(update_fields=["status", "approval_time", "paid", "requester_feedback"])
    hit.last_activity_at = clock.now()
    hit.save(update_fields=["submitted", "completed", "escrow_cents", "last_activity_at"])
    audit.record(actor, "approve_assignment", environment=hit.environment, target_type="Assignment",
                 target_id=assignment.pk, hit_id=hit.pk, automatic=automatic, override=override,
                 reward_cents=reward, fee_cents=fee)
    emit(hit.hit_type, "AssignmentApproved", hit_id=hit.pk, assignment_id=assignment.pk, at=at)


def reject_locked(hit: HIT, assignment: Assignment, *, actor: Actor, feedback: str) -> None:
    if assignment.status != AssignmentStatus.SUBMITTED:
        raise InvalidAssignmentState("Submitted", assignment.status)
    from ._lifecycle import release_slots

    now = clock.now()
    hit.submitted -= 1
    hit.completed += 1
    release_slots(hit, 1, actor=actor, why=f"reject:{assignment.pk}")
    assignment.status = AssignmentStatus.REJECTED
    assignment.rejection_time = now
    assignment.requester_feedback = feedback
    assignment.save(update_fields=["status", "rejection_time", "requester_feedback"])
    hit.last_activity_at = now
    hit.save(update_fields=["submitted", "completed", "escrow_cents", "last_activity_at"])
    audit.record(actor, "reject_assignment", environment=hit.environment, target_type="Assignment",
                 target_id=assignment.pk, hit_id=hit.pk)
    emit(hit.hit_type, "AssignmentRejected", hit_id=hit.pk, assignment_id=assignment.pk, at=now)


def approve_assignment(
    *,
    actor: Actor,
    requester: Requester,
    environment: str,
    assignment_id: str,
    feedback: str | None = None,
    override_rejection: bool = False,
) -> Assignment:
    feedback = check_text(feedback, "RequesterFeedback", max_length=1024)
    found = _requester_assignment(requester, environment, assignment_id)
    settle_first(found.hit_id)
    with transaction.atomic():
        hit = lock_hit(found.hit_id)
        assignment = _locked_assignment(hit, assignment_id)
        if assignment.status == AssignmentStatus.REJECTED:
            if not override_rejection:
                raise InvalidAssignmentState("Submitted", assignment.status)
            if hit.disposed_at is not None:
                raise InvalidAssignmentState("Submitted (a rejection cannot be overridden once its HIT is deleted)",
                                             assignment.status)
            if assignment.submit_time and clock.now() > assignment.submit_time + OVERRIDE_WINDOW:
                raise InvalidAssignmentState(
                    "Submitted (a rejection can be overridden only within 30 days of submission)", assignment.status
                )
        approve_locked(hit, assignment, actor=actor, feedback=feedback, override=override_rejection)
        signal_status(hit, actor=actor)
        return assignment


def reject_assignment(
    *, actor: Actor, requester: Requester, environment: str, assignment_id: str, feedback: str
) -> Assignment:
    feedback = check_text(feedback, "RequesterFeedback", max_length=1024)
    found = _requester_assignment(requester, environment, assignment_id)
    settle_first(found.hit_id)
    with transaction.atomic():
        hit = lock_hit(found.hit_id)
        assignment = _locked_assignment(hit, assignment_id)
        reject_locked(hit, assignment, actor=actor, feedback=feedback)
        signal_status(hit, actor=actor)
        return assignment


# --- Review policies ------------------------------------------------------------------------------------


def _record_outcome(hit: HIT, level: str, results: list, actions: list, *, actor: Actor) -> list[tuple[ReviewAction, object]]:
    ReviewResult.objects.bulk_create(
        [
            ReviewResult(hit=hit, level=level, subject_id=r.subject_id, subject_type=r.subject_type,
                         question_id=r.question_id or "", key=r.key, value=str(r.value))
            for r in results
        ]
    )
    rows = []
    for intended in actions:
        row = ReviewAction.objects.create(
            hit=hit, level=level, action_id=ids.entity_id(), action_name=intended.action_name,
            target_id=intended.target_id, target_type=intended.target_type, status="Intended",
        )
        rows.append((row, intended))
    return rows


def _carry_out(hit: HIT, rows: list[tuple[ReviewAction, object]], *, actor: Actor, extend_seconds: int | None) -> None:
    from kempelen.core.errors import KempelenError

    for row, intended in rows:
        try:
            if row.action_name in ("Approve", "Reject"):
                assignment = _locked_assignment(hit, row.target_id)
                if row.action_name == "Approve":
                    approve_locked(hit, assignment, actor=actor, feedback=getattr(intended, "reason", "") or "")
                else:
                    reject_locked(hit, assignment, actor=actor, feedback=getattr(intended, "reason", "") or "")
                row.result = f"{_PAST[row.action_name]} assignment {row.target_id}"
            elif row.action_name == "Extend":
                _extend_by_one(hit, actor=actor, min_seconds=extend_seconds)
                row.result = f"Extended HIT {hit.pk} to {hit.max_assignments} assignments"
            row.status = "Succeeded"
        except KempelenError as error:
            row.status = "Failed"
            row.error_code = error.turk_error_code
            row.result = error.message
        row.complete_time = clock.now()
        row.save(update_fields=["status", "result", "error_code", "complete_time"])


def _extend_by_one(hit: HIT, *, actor: Actor, min_seconds: int | None) -> None:
    # Refused before anything changes: the caller records the failure and carries on with the same HIT.
    check_slot_increase(hit, 1)
    now = clock.now()
    if min_seconds and hit.expiration < now + dt.timedelta(seconds=min_seconds):
        if hit.expiry_settled:
            reserve_slots(hit, hit.available, actor=actor, why="policy-extend")
            hit.expiry_settled = False
        hit.expiration = now + dt.timedelta(seconds=min_seconds)
        bring_forward(hit, hit.expiration)
    add_slots(hit, 1, actor=actor, why="policy-add")
    hit.save(update_fields=["max_assignments", "available", "expiration", "expiry_settled", "escrow_cents",
                            "next_due_at", "reviewing"])
    audit.record(actor, "create_additional_assignments", environment=hit.environment, target_type="HIT",
                 target_id=hit.pk, count=1, by="review policy")
    emit(hit.hit_type, "HITExtended", hit_id=hit.pk)


def run_assignment_policy(hit: HIT, assignment: Assignment, *, actor: Actor) -> None:
    """ScoreMyKnownAnswers, when the HIT has it: score the submission against the known answers and act."""
    from kempelen.questions.answers import answers_as_mapping

    from .. import review_policies

    policy = review_policies.parse_assignment_policy(hit.assignment_review_policy)
    if policy is None:
        return
    outcome = review_policies.evaluate_known_answers(
        policy, answers_as_mapping(assignment.answer), assignment_id=assignment.pk, hit_id=hit.pk,
        current_max_assignments=hit.max_assignments,
    )
    assignment.known_answer_score = outcome.score
    assignment.save(update_fields=["known_answer_score"])
    rows = _record_outcome(hit, "Assignment", list(outcome.results), list(outcome.actions), actor=actor)
    _carry_out(hit, rows, actor=Actor.system("ScoreMyKnownAnswers"), extend_seconds=policy.extend_minimum_time_in_seconds)


def run_hit_policy(hit: HIT, *, actor: Actor) -> None:
    """SimplePlurality, when the HIT has it: run once each time the HIT becomes reviewable."""
    from kempelen.questions.answers import answers_as_mapping

    from .. import review_policies

    policy = review_policies.parse_hit_policy(hit.hit_review_policy)
    if policy is None:
        return
    assignments = [
        review_policies.AssignmentAnswers(
            assignment_id=a.pk, worker_id=a.worker.worker_id, status=a.status,  # type: ignore[arg-type]  # filtered to those three below
            answers=answers_as_mapping(a.answer), known_answer_score=a.known_answer_score,
        )
        for a in hit.assignments.filter(
            status__in=(AssignmentStatus.SUBMITTED, AssignmentStatus.APPROVED, AssignmentStatus.REJECTED)
        ).select_related("worker").order_by("submit_time")
    ]
    outcome = review_policies.evaluate_plurality(
        policy, assignments, current_max_assignments=hit.max_assignments, hit_id=hit.pk
    )
    rows = _record_outcome(hit, "HIT", list(outcome.results), list(outcome.actions), actor=actor)
    _carry_out(hit, rows, actor=Actor.system("SimplePlurality"), extend_seconds=policy.extend_minimum_time_in_seconds)
    if hit.status(clock.now()) not in (HITStatus.REVIEWABLE, HITStatus.REVIEWING):
        hit.reviewable_signalled = False
        hit.save(update_fields=["reviewable_signalled"])
