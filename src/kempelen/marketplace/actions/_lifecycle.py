"""Shared steps of the HIT lifecycle: locking, settling elapsed timers, escrow bookkeeping, status signals.

Timers (assignment deadlines, auto-approval, HIT expiry) are stored as timestamps. ``HIT.next_due_at`` is
the earliest moment one of them may fall due. Whoever touches a HIT first after that moment (an action on
it, or the job runner) *settles* it under the HIT's lock: the elapsed timers take effect (payments
included) exactly once, because each effect is a state change checked under that lock.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Min, Q

from kempelen.accounts.models import Requester
from kempelen.accounts.queries import requester_by_id
from kempelen.core import audit, clock, ids, lookups
from kempelen.core.actors import Actor
from kempelen.core.errors import HITDoesNotExist, InvalidMaximumAssignmentsIncrease
from kempelen.ledger import actions as ledger
from kempelen.notifications.actions import emit

from ..models import HIT, Assignment, AssignmentStatus, HITStatus, HITType

REVIEWABLE = (HITStatus.REVIEWABLE, HITStatus.REVIEWING)


def lock_hit(hit_id: str, *, requester: Requester | None = None, environment: str | None = None) -> HIT:
    """Lock and return a HIT (the requester's own, when ``requester`` is given), settled up to now."""
    # Lock the HIT row alone: its HIT type and requester rows are read, not locked, so that actions on
    # different HITs of one requester do not queue behind each other. The statements are built once
    # (core.lookups): this runs in every action on a HIT.
    if requester is not None:
        hit = lookups.one(HIT, "id = %s AND requester_id = %s AND environment = %s",
                          [hit_id, requester.pk, environment], for_update=True)
    else:
        hit = lookups.one(HIT, "id = %s", [hit_id], for_update=True)
    if hit is None:
        raise HITDoesNotExist(hit_id)
    # The HIT type is read fresh (its notification settings change); the requester row may come from the
    # process's short-lived cache (nothing an action reads from it changes).
    hit.hit_type = lookups.one(HITType, "id = %s", [hit.hit_type_id])  # type: ignore[assignment]
    hit.requester = requester if requester is not None else requester_by_id(hit.requester_id)
    settle(hit)
    return hit


def settle(hit: HIT, *, actor: Actor | None = None) -> None:
    """Apply every timer of a (locked) HIT that has elapsed, in the order they fell due (so that the events
    they queue, and whether a slot that ended was still open, follow the real sequence)."""
    now = clock.now()
    if hit.next_due_at is None or hit.next_due_at > now:
        return
    actor = actor or Actor.system("timers")
    from .review import approve_locked  # a cycle: approval settles nothing, but lives with review

    due: list[tuple[dt.datetime, int, Assignment | None]] = []
    for assignment in Assignment.objects.filter(hit=hit, status=AssignmentStatus.ACCEPTED, deadline__lte=now):
        due.append((assignment.deadline, 0, assignment))
    for assignment in Assignment.objects.filter(hit=hit, status=AssignmentStatus.SUBMITTED, auto_approval_time__lte=now):
        assert assignment.auto_approval_time is not None
        due.append((assignment.auto_approval_time, 1, assignment))
    if hit.is_expired(now) and not hit.expiry_settled:
        due.append((hit.expiration, 2, None))
    for _when, kind, item in sorted(due, key=lambda entry: (entry[0], entry[1])):
        if kind == 0:
            assert item is not None
            end_assignment(hit, item, AssignmentStatus.ABANDONED, at=item.deadline, actor=actor)
        elif kind == 1:
            assert item is not None
            approve_locked(hit, item, actor=actor, feedback="", at=item.auto_approval_time, automatic=True)
        else:
            settle_expiry(hit, actor=actor)
    hit.next_due_at = compute_next_due(hit)
    hit.save(update_fields=["next_due_at"])
    signal_status(hit, actor=actor)


def compute_next_due(hit: HIT) -> dt.datetime | None:
    agg = Assignment.objects.filter(hit=hit, status__in=(AssignmentStatus.ACCEPTED, AssignmentStatus.SUBMITTED)).aggregate(
        deadline=Min("deadline", filter=Q(status=AssignmentStatus.ACCEPTED)),
        approval=Min("auto_approval_time", filter=Q(status=AssignmentStatus.SUBMITTED)),
    )
    candidates = [agg["deadline"], agg["approval"]]
    if not hit.expiry_settled:
        candidates.append(hit.expiration)
    found = [c for c in candidates if c is not None]
    return min(found) if found else None


def bring_forward(hit: HIT, when: dt.datetime | None) -> None:
    if when is not None and (hit.next_due_at is None or when < hit.next_due_at):
        hit.next_due_at = when


def settle_expiry(hit: HIT, *, actor: Actor) -> None:
    """The HIT's lifetime has ended: unfilled slots stop holding escrow, and HITExpired is reported."""
    release_slots(hit, hit.available, actor=actor, why="expired")
    hit.expiry_settled = True
    hit.save(update_fields=["expiry_settled", "escrow_cents"])
    audit.record(actor, "expire_hit", environment=hit.environment, target_type="HIT", target_id=hit.pk,
                 unfilled=hit.available)
    emit(hit.hit_type, "HITExpired", hit_id=hit.pk, at=min(hit.expiration, clock.now()))


def release_slots(hit: HIT, slots: int, *, actor: Actor, why: str) -> None:
    """Give back the escrow of ``slots`` slots that ended unused."""
    release_cents(hit, slots * hit.unit_cost_cents, actor=actor, why=why)


def release_cents(hit: HIT, cents: int, *, actor: Actor, why: str) -> None:
    if cents <= 0:
        return
    if cents > hit.escrow_cents:
        raise RuntimeError(f"HIT {hit.pk} holds {hit.escrow_cents} cents in escrow; cannot release {cents} ({why})")
    _book(ledger.release, hit, cents, actor=actor, kind="release", why=why,
          memo=f"Escrow released from HIT {hit.pk} ({why})")
    hit.escrow_cents -= cents


def reserve_slots(hit: HIT, slots: int, *, actor: Actor, why: str) -> None:
    """Hold reward plus fee for ``slots`` new slots in escrow (InsufficientFunds if the balance is short)."""
    reserve_cents(hit, slots * hit.unit_cost_cents, actor=actor, why=why)


def reserve_cents(hit: HIT, cents: int, *, actor: Actor, why: str) -> None:
    if cents <= 0:
        return
    _book(ledger.reserve, hit, cents, actor=actor, kind="reserve", why=why, memo=f"Escrow for HIT {hit.pk} ({why})")
    hit.escrow_cents += cents


def _book(movement, hit: HIT, cents: int, *, actor: Actor, kind: str, why: str, memo: str) -> None:  # type: ignore[no-untyped-def]
    """Book one escrow movement of a (locked) HIT.

    Escrow movements happen exactly once because they are made under the HIT's lock together with the state
    change that causes them (not because of their key). Each gets a key of its own: a HIT can be expired,
    extended and expired again with the same amounts, and each of those is a new movement. A key that is
    somehow booked already would leave the HIT's escrow and the ledger apart, so it is an error, not a no-op.
    """
    key = f"{kind}:{hit.pk}:{why}:{ids.entity_id()}"[:160]
    booked = movement(requester=hit.requester, environment=hit.environment, cents=cents, key=key, actor=actor,
                      hit_id=hit.pk, memo=memo, new_key=True)
    if not booked:
        raise RuntimeError(f"escrow movement {key} was not booked")


def add_slots(hit: HIT, count: int, *, actor: Actor, why: str) -> None:
    """Raise a (locked) HIT's MaxAssignments by ``count``: CreateAdditionalAssignmentsForHIT, and the extensions
    of review policies.

    A HIT below 10 assignments may not reach 10 (its fee would change). The new slots hold escrow unless the
    HIT's expiry has been settled: nobody can take them then, and an extension reserves them with the rest.
    """
    check_slot_increase(hit, count)
    if not hit.expiry_settled:
        reserve_slots(hit, count, actor=actor, why=why)
    hit.max_assignments += count
    hit.available += count
    reopen_if_assignable(hit)


def check_slot_increase(hit: HIT, count: int) -> None:
    if hit.max_assignments < 10 <= hit.max_assignments + count:
        raise InvalidMaximumAssignmentsIncrease(
            f"HIT {hit.pk} has {hit.max_assignments} assignments; it cannot be extended to 10 or more "
            f"(a HIT created with fewer than 10 assignments stays below 10)."
        )


def reopen_if_assignable(hit: HIT) -> None:
    """New slots or a new lifetime made the HIT assignable: it leaves Reviewing (and will be Reviewable again
    when the new work is done). A HIT that stays unassignable keeps the review status the requester set."""
    if hit.reviewing and hit.status(clock.now()) == HITStatus.ASSIGNABLE:
        hit.reviewing = False


def end_assignment(hit: HIT, assignment: Assignment, status: str, *, at: dt.datetime, actor: Actor) -> None:
    """Return or abandon an accepted assignment: its slot is unfilled again (and its escrow released when the
    HIT has expired, since nobody can take it any more)."""
    assignment.status = status
    assignment.ended_time = at
    assignment.save(update_fields=["status", "ended_time"])
    hit.pending -= 1
    hit.available += 1
    if hit.is_expired(clock.now()) and hit.expiry_settled:
        release_slots(hit, 1, actor=actor, why=f"{status.lower()}:{assignment.pk}")
    hit.last_activity_at = clock.now()
    hit.save(update_fields=["pending", "available", "escrow_cents", "last_activity_at"])
    verb = "return_assignment" if status == AssignmentStatus.RETURNED else "abandon_assignment"
    audit.record(actor, verb, environment=hit.environment, target_type="Assignment", target_id=assignment.pk,
                 hit_id=hit.pk)
    event = "AssignmentReturned" if status == AssignmentStatus.RETURNED else "AssignmentAbandoned"
    emit(hit.hit_type, event, hit_id=hit.pk, assignment_id=assignment.pk, at=at)


def signal_status(hit: HIT, *, actor: Actor) -> None:
    """Report HITReviewable (and run the HIT review policy) once each time the HIT becomes reviewable."""
    status = hit.status(clock.now())
    if status in REVIEWABLE and not hit.reviewable_signalled:
        hit.reviewable_signalled = True
        hit.save(update_fields=["reviewable_signalled"])
        emit(hit.hit_type, "HITReviewable", hit_id=hit.pk)
        if hit.hit_review_policy:
            from .review import run_hit_policy

            run_hit_policy(hit, actor=actor)
    elif status in (HITStatus.ASSIGNABLE, HITStatus.UNASSIGNABLE) and hit.reviewable_signalled:
        hit.reviewable_signalled = False
        hit.save(update_fields=["reviewable_signalled"])


def settle_first(hit_id: str) -> None:
    """Apply a HIT's elapsed timers in a transaction of their own, before an action opens its transaction.

    The action settles again under its own lock (something may fall due in between), but an action that is
    then refused rolls its transaction back, and elapsed timers settled in there would be undone with it
    (an abandonment, an auto-approval with its payment, an expiry with its escrow release). Settled here,
    they stick whatever the action's outcome.
    """
    from django.db import transaction

    due = lookups.column_list(
        "settle_first", lambda: f"SELECT 1 FROM {HIT._meta.db_table} WHERE id = %s AND next_due_at <= %s",
        [hit_id, lookups.db_datetime(clock.now())],
    )
    if due:
        with transaction.atomic():
            lock_hit(hit_id)


def settle_if_due(hit: HIT) -> HIT:
    """For readers: a HIT with an elapsed timer is settled first, so what they show has already happened."""
    if hit.next_due_at is None or hit.next_due_at > clock.now():
        return hit
    from django.db import transaction

    with transaction.atomic():
        return lock_hit(hit.pk)


def settle_due_for_requester(requester: Requester, environment: str, *, limit: int = 200) -> int:
    """For readers of a requester's money (GetAccountBalance, the requester's pages): settle the requester's HITs
    whose timers have elapsed, so that expiries' released escrow and auto-approvals' payments show before the
    job runner gets to them. Returns how many HITs were settled."""
    from django.db import transaction

    due = list(
        HIT.objects.filter(requester=requester, environment=environment, next_due_at__lte=clock.now())
        .order_by("next_due_at")
        .values_list("pk", flat=True)[:limit]
    )
    for hit_id in due:
        with transaction.atomic():
            lock_hit(hit_id)
    return len(due)
