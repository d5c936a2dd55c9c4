"""Worker-side actions: accept, return and submit assignments.

Accepting never over-fills a HIT: the HIT row is locked (on SQLite, the database write lock serialises
writers), its counters checked and changed in one transaction, and a partial unique index allows one
live assignment per worker per HIT as the last line of defence.
"""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, connection, transaction

from kempelen.accounts.models import Worker
from kempelen.core import audit, clock, ids, lookups
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
    if action == "Accept" and lookups.column_list(
        "worker_blocked",
        lambda: f"SELECT 1 FROM {WorkerBlock._meta.db_table} WHERE requester_id = %s AND environment = %s "
                "AND worker_id = %s",
        [hit_type.requester_id, hit_type.environment, worker.worker_id],
    ):
        raise Blocked("The requester of this HIT does not accept work from you.")


def _candidate_sql(excluded: int) -> str:
    # Written out for the query planner: walking the (hit_type_id, created_at, id) index in order and stopping
    # at the 5th open HIT needs the literal conditions (SQLite keeps a worse plan for ``available > %s``).
    hit, assignment = HIT._meta.db_table, Assignment._meta.db_table
    holding = ", ".join(f"'{status}'" for status in HOLDING_STATUSES)
    published = "published" if connection.vendor == "postgresql" else "published = 1"
    not_tried = f" AND h.id NOT IN ({', '.join(['%s'] * excluded)})" if excluded else ""
    return (
        f"SELECT h.id FROM {hit} h WHERE h.hit_type_id = %s AND h.expiration > %s AND h.available > 0 "
        f"AND h.disposed_at IS NULL AND h.{published}{not_tried} AND NOT EXISTS (SELECT 1 FROM {assignment} a "
        f"WHERE a.hit_id = h.id AND a.worker_id = %s AND a.status IN ({holding})) "
        "ORDER BY h.created_at, h.id LIMIT 5"
    )


def _candidate_hits(worker: Worker, hit_type: HITType, now: dt.datetime, *, exclude: set[str]) -> list[str]:
    """Open HITs of a group that the worker has not worked on, oldest first (an indexed query, no scan)."""
    tried = sorted(exclude)
    return lookups.column_list(
        f"candidate_hits:{len(tried)}", lambda: _candidate_sql(len(tried)),
        [hit_type.pk, lookups.db_datetime(now), *tried, worker.pk],
    )


def group_hit_type(group_id: str, environment: str) -> HITType | None:
    """The HIT type of a group, named by its HITGroupId or its HITTypeId."""
    return (lookups.one(HITType, "group_id = %s AND environment = %s", [group_id, environment])
            or lookups.one(HITType, "id = %s AND environment = %s", [group_id, environment]))


def accept_assignment(
    *, actor: Actor, worker: Worker, environment: str, hit_id: str | None = None, group_id: str | None = None
) -> Assignment:
    """Accept a HIT (by id) or the next open HIT of a group (by HITGroupId or HITTypeId)."""
    if hit_id:
        hit_meta = lookups.one(HIT, "id = %s AND environment = %s", [hit_id, environment])
        if hit_meta is None:
            raise HITDoesNotExist(hit_id)
        found_type = lookups.one(HITType, "id = %s", [hit_meta.hit_type_id])
    else:
        found_type = group_hit_type(group_id or "", environment)
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
            if lookups.column_list(
                "holds_assignment",
                lambda: f"SELECT 1 FROM {Assignment._meta.db_table} WHERE hit_id = %s AND worker_id = %s AND status IN "
                        f"({', '.join(repr(str(status)) for status in HOLDING_STATUSES)})",
                [hit.pk, worker.pk],
            ):
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
    found = lookups.one(Assignment, "id = %s AND worker_id = %s", [assignment_id, worker.pk])
    if found is None:
        raise AssignmentDoesNotExist(assignment_id)
    return found


def _locked_assignment(assignment_id: str, worker: Worker) -> Assignment:
    """The worker's assignment, locked (its HIT is locked already), with ``worker`` as its worker."""
    assignment = lookups.one(Assignment, "id = %s AND worker_id = %s", [assignment_id, worker.pk], for_update=True)
    if assignment is None:
        raise AssignmentDoesNotExist(assignment_id)
    assignment.worker = worker
    return assignment


def return_assignment(*, actor: Actor, worker: Worker, assignment_id: str) -> Assignment:
    found = _workers_assignment(worker, assignment_id)
    settle_first(found.hit_id)
    with transaction.atomic():
        hit = lock_hit(found.hit_id)
        assignment = _locked_assignment(assignment_id, worker)
        if assignment.status != AssignmentStatus.ACCEPTED:
            raise InvalidAssignmentState("Accepted", assignment.status)
        end_assignment(hit, assignment, AssignmentStatus.RETURNED, at=clock.now(), actor=actor)
        signal_status(hit, actor=actor)
        return assignment


def submit_assignment(
    *, actor: Actor, worker: Worker, assignment_id: str, answer_xml: str, read: Assignment | None = None
) -> Assignment:
    """Submit the worker's answers (QuestionFormAnswers XML) before the assignment's deadline.

    ``read``: the assignment as the caller already read it (unlocked), to spare reading it again.
    """
    if read is not None and read.pk == assignment_id and read.worker_id == worker.pk:
        found = read
    else:
        found = _workers_assignment(worker, assignment_id)
    settle_first(found.hit_id)
    with transaction.atomic():
        hit = lock_hit(found.hit_id)
        assignment = _locked_assignment(assignment_id, worker)
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
