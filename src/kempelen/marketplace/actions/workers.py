"""Requester actions about workers: bonuses, blocks and messages."""

from __future__ import annotations

from django.db import transaction

from kempelen.accounts.models import Requester, Worker
from kempelen.core import audit, clock, idempotency, ids
from kempelen.core.actors import Actor
from kempelen.core.errors import DuplicateRequest, InvalidParameter
from kempelen.core.ids import WORKER_ID
from kempelen.core.money import bonus_fee
from kempelen.core.text import check_text
from kempelen.ledger import actions as ledger
from kempelen.notifications.actions import queue_email

from ..models import Assignment, AssignmentStatus, BonusPayment, WorkerBlock
from .review import _requester_assignment

MAX_BLOCKS = 100_000


def send_bonus(
    *,
    actor: Actor,
    requester: Requester,
    environment: str,
    worker_id: str,
    assignment_id: str,
    amount_cents: int,
    reason: str,
    unique_request_token: str | None = None,
) -> BonusPayment:
    """Pay a worker a bonus for one of their submitted, approved or rejected assignments."""
    reason = check_text(reason, "Reason", max_length=4096, required=True)
    if amount_cents <= 0:
        raise InvalidParameter("BonusAmount must be greater than 0.00.")
    with transaction.atomic():
        found = _requester_assignment(requester, environment, assignment_id)
        assignment = Assignment.objects.select_related("worker", "hit").get(pk=found.pk)
        if assignment.worker.worker_id != worker_id:
            raise InvalidParameter(
                f"Assignment {assignment_id} was not done by worker {worker_id}; "
                "a bonus can only be paid to the worker who did the assignment."
            )
        if unique_request_token:
            if idempotency.previous_result(requester, environment, "bonus", unique_request_token) is not None:
                raise DuplicateRequest(unique_request_token)
            if not idempotency.remember(requester, environment, "bonus", unique_request_token, assignment_id):
                raise DuplicateRequest(unique_request_token)
        fee = bonus_fee(amount_cents)
        # Paid once per request: a repeated UniqueRequestToken is refused above (its row is unique in the
        # database, so a concurrent repeat waits and then fails). The ledger key is the payment's own: the
        # token may be used again after 24 hours, for a new payment.
        key = f"bonus:{requester.pk}:{environment}:{ids.entity_id()}"
        if not ledger.pay_bonus(
            requester=requester, worker=assignment.worker, environment=environment, bonus_cents=amount_cents,
            fee_cents=fee, key=key, actor=actor, hit_id=assignment.hit_id, assignment_id=assignment.pk, reason=reason,
        ):
            raise RuntimeError(f"bonus {key} was booked before")
        bonus = BonusPayment.objects.create(
            requester=requester, environment=environment, worker=assignment.worker, assignment=assignment,
            amount_cents=amount_cents, fee_cents=fee, reason=reason, grant_time=clock.now(),
        )
        audit.record(actor, "send_bonus", environment=environment, target_type="Assignment", target_id=assignment.pk,
                     worker_id=worker_id, amount_cents=amount_cents, fee_cents=fee)
        queue_email(
            worker=assignment.worker, environment=environment, kind="bonus", requester=requester,
            subject=f"You received a bonus of ${amount_cents / 100:.2f} from {requester.display_name}",
            body=f"{requester.display_name} sent you a bonus for assignment {assignment.pk}.\n\nReason: {reason}",
        )
        return bonus


def _check_worker_id(worker_id: str) -> str:
    if not worker_id or not WORKER_ID.match(worker_id):
        raise InvalidParameter("WorkerId is invalid.")
    return worker_id


def create_worker_block(*, actor: Actor, requester: Requester, environment: str, worker_id: str, reason: str) -> None:
    _check_worker_id(worker_id)
    reason = check_text(reason, "Reason", max_length=4096, required=True)
    with transaction.atomic():
        block = WorkerBlock.objects.select_for_update().filter(
            requester=requester, environment=environment, worker_id=worker_id
        ).first()
        if block:
            block.reason = reason
            block.save(update_fields=["reason"])
        else:
            if WorkerBlock.objects.filter(requester=requester, environment=environment).count() >= MAX_BLOCKS:
                raise InvalidParameter(f"A requester can block at most {MAX_BLOCKS} workers.")
            WorkerBlock.objects.create(
                requester=requester, environment=environment, worker_id=worker_id, reason=reason, created_at=clock.now()
            )
        audit.record(actor, "create_worker_block", environment=environment, target_type="Worker", target_id=worker_id,
                     reason=reason)


def delete_worker_block(
    *, actor: Actor, requester: Requester, environment: str, worker_id: str, reason: str | None = None
) -> None:
    _check_worker_id(worker_id)
    with transaction.atomic():
        deleted, _ = WorkerBlock.objects.filter(requester=requester, environment=environment, worker_id=worker_id).delete()
        if deleted:
            audit.record(actor, "delete_worker_block", environment=environment, target_type="Worker",
                         target_id=worker_id, reason=reason or "")


def notify_workers(
    *, actor: Actor, requester: Requester, environment: str, subject: str, message: str, worker_ids: list[str]
) -> list[dict]:
    """Email workers who have done reviewed work for this requester; report the others as failures."""
    subject = check_text(subject, "Subject", max_length=200, required=True)
    message = check_text(message, "MessageText", max_length=4096, required=True)
    if not worker_ids:
        raise InvalidParameter("WorkerIds must name at least one worker.")
    if len(worker_ids) > 100:
        raise InvalidParameter(f"WorkerIds may name at most 100 workers; got {len(worker_ids)}.")
    failures: list[dict] = []
    with transaction.atomic():
        workers = {w.worker_id: w for w in Worker.objects.filter(worker_id__in=worker_ids)}
        worked = set(
            Assignment.objects.filter(
                requester=requester, environment=environment, worker__worker_id__in=worker_ids,
                status__in=(AssignmentStatus.APPROVED, AssignmentStatus.REJECTED),
            ).values_list("worker__worker_id", flat=True)
        )
        for worker_id in dict.fromkeys(worker_ids):
            worker = workers.get(worker_id)
            if worker is None:
                failures.append({"NotifyWorkersFailureCode": "HardFailure", "WorkerId": worker_id,
                                 "NotifyWorkersFailureMessage": f"Worker {worker_id} does not exist."})
            elif worker_id not in worked:
                failures.append({"NotifyWorkersFailureCode": "HardFailure", "WorkerId": worker_id,
                                 "NotifyWorkersFailureMessage": "You can only send messages to workers whose work "
                                 "you have approved or rejected."})
            else:
                queue_email(worker=worker, environment=environment, kind="message", requester=requester,
                            subject=subject, body=message)
        audit.record(actor, "notify_workers", environment=environment, target_type="Requester",
                     target_id=requester.customer_id, subject=subject, sent=len(worker_ids) - len(failures))
    return failures
