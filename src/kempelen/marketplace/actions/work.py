"""Worker-side actions: accept, return and submit assignments.

Accepting never over-fills a HIT: the HIT row is locked (on SQLite, the database write lock serialises
writers), its counters checked and changed in one transaction, and a partial unique index allows one
live assignment per worker per HIT as the last line of defence.
"""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction

from kempelen.accounts.models import Worker
from kempelen.core import audit, clock, ids
from kempelen.core.actors import Actor
from kempelen.core.errors import (
    AssignmentDoesNotExist,
    Blocked,
    DeadlinePassed,
    HITDoesNotExist,
    InvalidAssignmentState,
    NoAssignmentAvailable,
    NotQualified,
)
from kempelen.ledger import actions as ledger
from kempelen.notifications.actions import emit
from kempelen.qualifications.queries import unmet_requirements

from ..models import HIT, HOLDING_STATUSES, Assignment, AssignmentStatus, HITType, WorkerBlock
from ..queries import describe_requirement
from ._lifecycle import bring_forward, end_assignment, lock_hit, settle_first, signal_status
from .review import approve_locked, run_assignment_policy


def check_may(worker: Worker, hit_type: HITType, action: str) -> None:
    """Refuse when the worker fails a requirement guarding ``action`` or (to accept) is blocked."""
    unmet = unmet_requirements(hit_type.qualification_requirements, worker, hit_type.environment, action)
    if unmet:
        names = "; ".join(describe_requirement(r, hit_type.environment) for r in unmet)
        raise NotQualified(f"You do not meet the qualification requirements of this HIT: {names}.")
    if action == "Accept" and WorkerBlock.objects.filter(
        requester_id=hit_type.requester_id, environment=hit_type.environment, worker_id=worker.worker_id
    ).exists():
        raise Blocked("The requester of this HIT does not accept work from you.")


def _candidate_hits(worker: Worker, hit_type: HITType, now: dt.datetime, *, exclude: set[str]) -> list[str]:
    """Open HITs of a group that the worker has not worked on, oldest first (an indexed query, no scan)."""
    mine = Assignment.objects.filter(worker=worker, hit__hit_type=hit_type, status__in=HOLDING_STATUSES).values("hit_id")
    qs = (
        HIT.objects.filter(hit_type=hit_type, expiration__gt=now, available__gt=0, disposed_at__isnull=True,
                           published=True)
        .exclude(pk__in=mine)
        .order_by("created_at", "id")
        .values_list("pk", flat=True)
    )
    if exclude:
        qs = qs.exclude(pk__in=exclude)
    return list(qs[:5])


def accept_assignment(
    *, actor: Actor, worker: Worker, environment: str, hit_id: str | None = None, group_id: str | None = None
) -> Assignment:
    """Accept a HIT (by id) or the next open HIT of a group (by HITGroupId or HITTypeId)."""
    if hit_id:
        hit_meta = HIT.objects.filter(pk=hit_id, environment=environment).select_related("hit_type").first()
        if hit_meta is None:
            raise HITDoesNotExist(hit_id)
        hit_type = hit_meta.hit_type
    else:
        found_type = (
            HITType.objects.filter(group_id=group_id, environment=environment).first()
            or HITType.objects.filter(pk=group_id, environment=environment).first()
        )
        if found_type is None:
            raise NoAssignmentAvailable("There are no more HITs in this group.")
        hit_type = found_type
    check_may(worker, hit_type, "Accept")
    if hit_id:
        return _accept_one(actor=actor, worker=worker, hit_id=hit_id)
    # The next open HIT of the group. Candidates read without a lock may fill up before we lock them (other
    # workers race for the same slots): try the next ones, until the group has no open HIT left.
    tried: set[str] = set()
    while True:
        candidates = _candidate_hits(worker, hit_type, clock.now(), exclude=tried)
        if not candidates:
            raise NoAssignmentAvailable("There are no more HITs in this group.")
        for candidate in candidates:
            tried.add(candidate)
            try:
                return _accept_one(actor=actor, worker=worker, hit_id=candidate)
            except NoAssignmentAvailable:
                continue


def _accept_one(*, actor: Actor, worker: Worker, hit_id: str) -> Assignment:
    settle_first(hit_id)
    try:
        with transaction.atomic():
            hit = lock_hit(hit_id)
            now = clock.now()
            if hit.disposed_at is not None:
                raise NoAssignmentAvailable("This HIT is no longer available: its requester deleted it.")
            if not hit.published:
                raise NoAssignmentAvailable("This HIT is not available yet: its batch is still being published.")
            if hit.is_expired(now):
                raise NoAssignmentAvailable("This HIT is no longer available: it has expired.")
            if hit.available <= 0:
                raise NoAssignmentAvailable(
                    "This HIT is no longer available: there is no assignment left (other workers took them)."
                )
            if Assignment.objects.filter(hit=hit, worker=worker, status__in=HOLDING_STATUSES).exists():
                raise NoAssignmentAvailable("You have already worked on this HIT; each worker may do it once.")
            # The worker's earnings account exists before any payment to it (see kempelen.ledger.actions).
            ledger.ensure_worker_account(worker, hit.environment)
            duration = hit.hit_type.assignment_duration
            assignment = Assignment.objects.create(
                id=ids.entity_id(), hit=hit, worker=worker, requester_id=hit.requester_id,
                environment=hit.environment, status=AssignmentStatus.ACCEPTED, accept_time=now,
                deadline=now + dt.timedelta(seconds=duration),
            )
            hit.available -= 1
            hit.pending += 1
            hit.last_activity_at = now
            bring_forward(hit, assignment.deadline)
            hit.save(update_fields=["available", "pending", "next_due_at", "last_activity_at"])
            audit.record(actor, "accept_assignment", environment=hit.environment, target_type="Assignment",
                         target_id=assignment.pk, hit_id=hit.pk)
            emit(hit.hit_type, "AssignmentAccepted", hit_id=hit.pk, assignment_id=assignment.pk, at=now)
            signal_status(hit, actor=actor)
            assignment.hit = hit
            return assignment
    except IntegrityError as error:
        # The unique index caught a concurrent second accept of the same HIT by the same worker (the HIT lock
        # makes that unlikely; the index is the last line). Any other integrity error is a bug: re-raised.
        text = str(error)
        if "one_assignment_per_worker_per_hit" in text or "UNIQUE constraint failed: marketplace_assignment" in text:
            raise NoAssignmentAvailable("You have already worked on this HIT; each worker may do it once.") from error
        raise


def _workers_assignment(worker: Worker, assignment_id: str) -> Assignment:
    found = Assignment.objects.filter(pk=assignment_id, worker=worker).only("id", "hit_id").first()
    if found is None:
        raise AssignmentDoesNotExist(assignment_id)
    return found


def return_assignment(*, actor: Actor, worker: Worker, assignment_id: str) -> Assignment:
    found = _workers_assignment(worker, assignment_id)
    settle_first(found.hit_id)
    with transaction.atomic():
        hit = lock_hit(found.hit_id)
        assignment = Assignment.objects.select_for_update().get(pk=assignment_id)
        if assignment.status != AssignmentStatus.ACCEPTED:
            raise InvalidAssignmentState("Accepted", assignment.status)
        end_assignment(hit, assignment, AssignmentStatus.RETURNED, at=clock.now(), actor=actor)
        signal_status(hit, actor=actor)
        return assignment


def submit_assignment(*, actor: Actor, worker: Worker, assignment_id: str, answer_xml: str) -> Assignment:
    """Submit the worker's answers (QuestionFormAnswers XML) before the assignment's deadline."""
    found = _workers_assignment(worker, assignment_id)
    settle_first(found.hit_id)
    with transaction.atomic():
        hit = lock_hit(found.hit_id)
        assignment = Assignment.objects.select_for_update().select_related("worker").get(pk=assignment_id)
        if assignment.status == AssignmentStatus.ABANDONED:
            raise DeadlinePassed()
        if assignment.status != AssignmentStatus.ACCEPTED:
            raise InvalidAssignmentState("Accepted", assignment.status)
        now = clock.now()
        delay = hit.hit_type.auto_approval_delay
        assignment.status = AssignmentStatus.SUBMITTED
        assignment.submit_time = now
        assignment.auto_approval_time = now + dt.timedelta(seconds=delay)
        assignment.answer = answer_xml
        assignment.save(update_fields=["status", "submit_time", "auto_approval_time", "answer"])
        hit.pending -= 1
        hit.submitted += 1
        hit.last_activity_at = now
        bring_forward(hit, assignment.auto_approval_time)
        hit.save(update_fields=["pending", "submitted", "next_due_at", "last_activity_at"])
        audit.record(actor, "submit_assignment", environment=hit.environment, target_type="Assignment",
                     target_id=assignment.pk, hit_id=hit.pk)
        emit(hit.hit_type, "AssignmentSubmitted", hit_id=hit.pk, assignment_id=assignment.pk, at=now)
        if hit.assignment_review_policy:
            run_assignment_policy(hit, assignment, actor=actor)
            assignment.refresh_from_db()
        if delay == 0 and assignment.status == AssignmentStatus.SUBMITTED:
            approve_locked(hit, assignment, actor=Actor.system("auto-approval"), feedback="", at=now, automatic=True)
        signal_status(hit, actor=actor)
        return assignment
