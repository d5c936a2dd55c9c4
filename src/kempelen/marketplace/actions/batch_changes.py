"""Changing a published batch as a whole: cancel it, add assignments to every task, extend every task's lifetime.

Each change is one action and one transaction, whatever the batch's size: the batch and its HITs are locked, the
timers that have fallen due are applied first, and then one set-based UPDATE gives every HIT the effects the
one-HIT operation has (UpdateExpiration, CreateAdditionalAssignmentsForHIT, the expiry that ``_lifecycle``
settles), with the same escrow bookkeeping: one ledger movement for the batch, each HIT's ``escrow_cents`` moved
by its own share, so the escrow invariants hold HIT by HIT.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import BigIntegerField, Case, Count, DateTimeField, F, Max, Min, Q, Sum, Value, When

from kempelen.accounts.models import Requester
from kempelen.core import audit, clock, ids
from kempelen.core.actors import Actor
from kempelen.core.errors import InvalidMaximumAssignmentsIncrease, InvalidParameter
from kempelen.core.text import check_range
from kempelen.ledger import actions as ledger

from ..models import HIT, Assignment, AssignmentStatus, Batch, BatchStatus
from . import _batch_rows
from ._lifecycle import settle, signal_status
from .batches import BatchDoesNotExist, check_affordable
from .hits import MAX_SECONDS


@dataclass(frozen=True)
class BatchChange:
    """What a change to a batch did: the HITs it touched and the escrow it reserved (positive) or released (negative)."""

    batch: Batch
    hits: int
    escrow_cents: int
    expires_at: dt.datetime | None = None


def _lock_own_batch(requester: Requester, environment: str, batch_id: str, doing: str) -> Batch:
    batch = (
        Batch.objects.select_for_update(of=("self",)).select_related("hit_type", "requester")
        .filter(pk=batch_id, requester=requester, environment=environment).first()
    )
    if batch is None:
        raise BatchDoesNotExist(batch_id)
    refusals: dict[str, str] = {
        BatchStatus.PUBLISHING: f"This batch is still being published; you can {doing} once it is published.",
        BatchStatus.FAILED: "This batch failed to publish, so it has no tasks.",
        BatchStatus.CANCELLED: f"This batch was cancelled, so you cannot {doing}. Publish a new batch instead.",
    }
    if batch.status in refusals:
        raise InvalidParameter(refusals[batch.status])
    return batch


def _lock_hits(batch: Batch, now: dt.datetime, actor: Actor) -> None:
    """Lock every HIT of the batch (in id order, so two batch actions never deadlock), and apply the timers that
    have fallen due, so that what follows starts from the present: HITs with due assignment deadlines or
    auto-approvals are settled one by one (they pay workers, in the order things happened); the rest, whose only
    due timer is their expiry, are expired together."""
    if connection.features.has_select_for_update:  # on SQLite the transaction holds the database's write lock
        list(HIT.objects.select_for_update(of=("self",)).filter(batch=batch).order_by("pk").values_list("pk", flat=True))
    due_assignments = Assignment.objects.filter(hit__batch=batch).filter(
        Q(status=AssignmentStatus.ACCEPTED, deadline__lte=now)
        | Q(status=AssignmentStatus.SUBMITTED, auto_approval_time__lte=now)
    )
    for hit in HIT.objects.select_related("hit_type", "requester").filter(
        pk__in=due_assignments.values("hit_id")
    ).order_by("pk"):
        settle(hit, actor=actor)
    _settle_expired(batch, now, actor)


def _settle_expired(batch: Batch, now: dt.datetime, actor: Actor, *, expire_now: bool = False) -> tuple[int, int]:
    """Expire (as ``settle_expiry`` does for one HIT) every HIT of the batch whose lifetime has ended but whose
    expiry has not been applied, and with ``expire_now`` every HIT still running too (its expiration becomes now):
    unfilled slots release their escrow, HITExpired is queued, and a HIT left with no work in progress becomes
    reviewable. One UPDATE for them all. Returns (HITs expired, cents released)."""
    due = HIT.objects.filter(batch=batch, disposed_at__isnull=True, expiry_settled=False)
    if not expire_now:
        due = due.filter(expiration__lte=now)
    totals = due.aggregate(hits=Count("pk"), released=Sum(F("available") * F("unit_cost_cents")))
    if not totals["hits"]:
        return 0, 0
    released = totals["released"] or 0
    hit_type = batch.hit_type
    expired_events = (list(due.values_list("pk", "expiration")) if _batch_rows.wants(hit_type, "HITExpired") else [])
    # Reviewable now (expired, nothing in progress): signalled once, as signal_status does; a HIT review policy
    # runs through signal_status itself, below.
    newly_reviewable = due.filter(pending=0, reviewable_signalled=False, hit_review_policy__isnull=True)
    reviewable = (list(newly_reviewable.values_list("pk", flat=True)) if _batch_rows.wants(hit_type, "HITReviewable")
                  else [])
    with_policy = list(due.filter(hit_review_policy__isnull=False).values_list("pk", flat=True))
    # A HIT with work in progress keeps a timer: the earliest remaining one of any of them is early for each HIT,
    # never late (see _lifecycle.settle), and the runner computes each one exactly when it comes.
    timers = Assignment.objects.filter(hit__in=due.filter(Q(pending__gt=0) | Q(submitted__gt=0)).values("pk")).aggregate(
        deadline=Min("deadline", filter=Q(status=AssignmentStatus.ACCEPTED)),
        approval=Min("auto_approval_time", filter=Q(status=AssignmentStatus.SUBMITTED)),
    )
    earliest = min((t for t in timers.values() if t is not None), default=now)
    idle = Q(pending=0, submitted=0)
    due.update(
        expiration=Case(When(expiration__gt=now, then=Value(now)), default=F("expiration")),
        expiry_settled=True,
        escrow_cents=F("escrow_cents") - F("available") * F("unit_cost_cents"),
        next_due_at=Case(When(idle, then=Value(None, output_field=DateTimeField())), default=Value(earliest)),
        reviewable_signalled=Case(When(pending=0, hit_review_policy__isnull=True, then=Value(True)),
                                  default=F("reviewable_signalled")),
    )
    if released:
        ledger.release(
            requester=batch.requester, environment=batch.environment, cents=released,
            key=f"release:batch:{batch.pk}:expired:{ids.entity_id()}", actor=actor, hit_id="",
            memo=f"Escrow released from {totals['hits']:,} expired HITs of batch {batch.pk}", new_key=True,
        )
    for hit in HIT.objects.select_related("hit_type", "requester").filter(pk__in=with_policy):
        signal_status(hit, actor=actor)
    _batch_rows.emit_each(hit_type, "HITExpired", [(pk, min(expiration, now)) for pk, expiration in expired_events])
    _batch_rows.emit_each(hit_type, "HITReviewable", [(pk, None) for pk in reviewable])
    audit.record(actor, "expire_batch_hits", environment=batch.environment, target_type="Batch", target_id=batch.pk,
                 hits=totals["hits"], released_cents=released)
    return totals["hits"], released


def cancel_batch(*, actor: Actor, requester: Requester, environment: str, batch_id: str) -> BatchChange:
    """Expire every task of the batch now: nobody can accept them any more, and the escrow of their unfilled slots
    is released. Work already accepted can still be submitted and reviewed."""
    with transaction.atomic():
        batch = _lock_own_batch(requester, environment, batch_id, "cancel it")
        now = clock.now()
        _lock_hits(batch, now, actor)
        expired, released = _settle_expired(batch, now, actor, expire_now=True)
        batch.status = BatchStatus.CANCELLED
        batch.cancelled_at = now
        batch.save(update_fields=["status", "cancelled_at"])
        audit.record(actor, "cancel_batch", environment=environment, target_type="Batch", target_id=batch.pk,
                     hits_expired=expired, released_cents=released)
        return BatchChange(batch, expired, -released)


def add_batch_assignments(
    *, actor: Actor, requester: Requester, environment: str, batch_id: str, count: int
) -> BatchChange:
    """Add ``count`` assignments to every task of the batch (CreateAdditionalAssignmentsForHIT on each): the new
    slots hold escrow on tasks that have not expired; a task below 10 assignments may not reach 10."""
    check_range(count, "Assignments to add", 1, 1_000_000)
    with transaction.atomic():
        batch = _lock_own_batch(requester, environment, batch_id, "add assignments")
        now = clock.now()
        _lock_hits(batch, now, actor)
        open_hits = HIT.objects.filter(batch=batch, disposed_at__isnull=True)
        if not open_hits.exists():
            raise InvalidParameter("Every task of this batch has been deleted; there is nothing to add assignments to.")
        below = open_hits.filter(max_assignments__lt=10).aggregate(n=Max("max_assignments"))["n"]
        if below is not None and below + count >= 10:
            raise InvalidMaximumAssignmentsIncrease(
                f"Tasks with fewer than 10 assignments cannot be extended to 10 or more (the fee would change): this "
                f"batch's tasks have {below} assignments, so you can add at most {9 - below}."
                if below < 9 else
                "This batch's tasks have 9 assignments; tasks with fewer than 10 cannot be extended to 10 or more "
                "(the fee would change). Publish a new batch with 10 or more assignments per task instead."
            )
        running = open_hits.filter(expiry_settled=False)
        cost = count * (running.aggregate(n=Sum("unit_cost_cents"))["n"] or 0)
        check_affordable(requester, environment, cost, f"Adding {count} assignment{'s' if count != 1 else ''} to each task")
        if cost:
            ledger.reserve(
                requester=requester, environment=environment, cents=cost,
                key=f"reserve:batch:{batch.pk}:add:{ids.entity_id()}", actor=actor, hit_id="",
                memo=f"Escrow for {count} more assignments on each task of batch {batch.pk}", new_key=True,
            )
        hit_ids = list(open_hits.values_list("pk", flat=True)) if _batch_rows.wants(batch.hit_type, "HITExtended") else []
        running_now = Q(expiration__gt=now)
        # add_slots on each HIT: slots held in escrow unless its expiry was settled; a running HIT is assignable
        # again, so it leaves Reviewing and will be signalled reviewable afresh (reopen_if_assignable,
        # signal_status).
        changed = open_hits.update(
            max_assignments=F("max_assignments") + count,
            available=F("available") + count,
            escrow_cents=Case(When(expiry_settled=False, then=F("escrow_cents") + F("unit_cost_cents") * count),
                              default=F("escrow_cents"), output_field=BigIntegerField()),
            reviewing=Case(When(running_now, then=Value(False)), default=F("reviewing")),
            reviewable_signalled=Case(When(running_now, then=Value(False)), default=F("reviewable_signalled")),
            last_activity_at=now,
        )
        batch.assignments_per_row += count
        batch.save(update_fields=["assignments_per_row"])
        audit.record(actor, "add_batch_assignments", environment=environment, target_type="Batch", target_id=batch.pk,
                     count=count, hits=changed, escrow_cents=cost)
        _batch_rows.emit_each(batch.hit_type, "HITExtended", [(pk, None) for pk in hit_ids])
        return BatchChange(batch, changed, cost)


def extend_batch(*, actor: Actor, requester: Requester, environment: str, batch_id: str, seconds: int) -> BatchChange:
    """Give every task of the batch ``seconds`` more lifetime: they all expire at the batch's latest expiry (or
    now, if it has passed) plus ``seconds``. Expired tasks come back, their unfilled slots holding escrow again."""
    check_range(seconds, "Extension (seconds)", 60, MAX_SECONDS)
    with transaction.atomic():
        batch = _lock_own_batch(requester, environment, batch_id, "extend it")
        now = clock.now()
        _lock_hits(batch, now, actor)
        open_hits = HIT.objects.filter(batch=batch, disposed_at__isnull=True)
        latest = open_hits.aggregate(n=Max("expiration"))["n"]
        if latest is None:
            raise InvalidParameter("Every task of this batch has been deleted; there is nothing to extend.")
        new_expiration = max(latest, now) + dt.timedelta(seconds=seconds)
        if new_expiration > now + dt.timedelta(seconds=MAX_SECONDS):
            raise InvalidParameter(
                f"Tasks can live at most 365 days from now; this extension would end on "
                f"{new_expiration:%Y-%m-%d %H:%M} UTC. Choose a shorter extension."
            )
        expired = open_hits.filter(expiry_settled=True)
        cost = expired.aggregate(n=Sum(F("available") * F("unit_cost_cents")))["n"] or 0
        check_affordable(requester, environment, cost, "Reopening the expired tasks")
        if cost:
            ledger.reserve(
                requester=requester, environment=environment, cents=cost,
                key=f"reserve:batch:{batch.pk}:extend:{ids.entity_id()}", actor=actor, hit_id="",
                memo=f"Escrow for the unfilled slots of batch {batch.pk}, extended", new_key=True,
            )
        hit_ids = list(open_hits.values_list("pk", flat=True)) if _batch_rows.wants(batch.hit_type, "HITExtended") else []
        # update_expiration on each HIT: an expired HIT's unfilled slots are held in escrow again; assignable again,
        # it leaves Reviewing; with work to do, it will be signalled reviewable afresh.
        changed = open_hits.update(
            escrow_cents=Case(When(expiry_settled=True, then=F("escrow_cents") + F("available") * F("unit_cost_cents")),
                              default=F("escrow_cents"), output_field=BigIntegerField()),
            expiry_settled=False,
            expiration=new_expiration,
            next_due_at=Case(When(Q(next_due_at__isnull=True) | Q(next_due_at__gt=new_expiration),
                                  then=Value(new_expiration)), default=F("next_due_at")),
            reviewing=Case(When(available__gt=0, then=Value(False)), default=F("reviewing")),
            reviewable_signalled=Case(When(Q(available__gt=0) | Q(pending__gt=0), then=Value(False)),
                                      default=F("reviewable_signalled")),
            last_activity_at=now,
        )
        audit.record(actor, "extend_batch", environment=environment, target_type="Batch", target_id=batch.pk,
                     seconds=seconds, expire_at=new_expiration.isoformat(), hits=changed, escrow_cents=cost)
        _batch_rows.emit_each(batch.hit_type, "HITExtended", [(pk, None) for pk in hit_ids])
        return BatchChange(batch, changed, cost, new_expiration)
