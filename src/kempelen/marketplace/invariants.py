"""Checks of the marketplace's invariants, used by tests, benchmarks and `kempelen check`."""

from __future__ import annotations

from django.db.models import F, Q, Sum

from kempelen.ledger.models import AccountKind, LedgerAccount

from .models import HIT, Assignment, AssignmentStatus


def escrow_problems() -> list[str]:
    """Counter identities, escrow held equal to what every HIT's unresolved slots could cost, and timers that
    the job runner can find (see :func:`timer_problems`)."""
    found: list[str] = timer_problems()
    held: dict[tuple[int, str], int] = {}
    for hit in HIT.objects.only(
        "id", "requester_id", "environment", "max_assignments", "available", "pending", "submitted", "completed",
        "escrow_cents", "unit_cost_cents", "expiry_settled", "disposed_at",
    ).iterator():
        if hit.max_assignments != hit.available + hit.pending + hit.submitted + hit.completed:
            found.append(f"HIT {hit.pk}: Max {hit.max_assignments} != Available {hit.available} + Pending "
                         f"{hit.pending} + Submitted {hit.submitted} + Completed {hit.completed}")
        open_slots = hit.pending + hit.submitted + (0 if hit.expiry_settled or hit.disposed_at else hit.available)
        if hit.escrow_cents != open_slots * hit.unit_cost_cents:
            found.append(f"HIT {hit.pk}: escrow {hit.escrow_cents} != {open_slots} open slots x {hit.unit_cost_cents}")
        key = (hit.requester_id, hit.environment)
        held[key] = held.get(key, 0) + hit.escrow_cents
    accounts = LedgerAccount.objects.filter(kind=AccountKind.REQUESTER_ESCROW).values(
        "requester_id", "environment"
    ).annotate(total=Sum("balance_cents"))
    for row in accounts:
        key = (row["requester_id"], row["environment"])
        if row["total"] != held.get(key, 0):
            found.append(f"escrow account of requester {key[0]} ({key[1]}) holds {row['total']}, "
                         f"its HITs {held.get(key, 0)}")
    return found


def timer_problems() -> list[str]:
    """``HIT.next_due_at`` may be early, never late: no deadline, auto-approval or unsettled expiry of a HIT
    falls before it (or exists while it is empty), or the job runner would not settle it in time."""
    found: list[str] = []
    late = Q(hit__next_due_at__isnull=True)
    for pk, hit_id in Assignment.objects.filter(
        late | Q(deadline__lt=F("hit__next_due_at")), status=AssignmentStatus.ACCEPTED
    ).values_list("pk", "hit_id"):
        found.append(f"HIT {hit_id}: the deadline of assignment {pk} is before next_due_at")
    for pk, hit_id in Assignment.objects.filter(
        late | Q(auto_approval_time__lt=F("hit__next_due_at")), status=AssignmentStatus.SUBMITTED
    ).values_list("pk", "hit_id"):
        found.append(f"HIT {hit_id}: the auto-approval of assignment {pk} is before next_due_at")
    for pk in HIT.objects.filter(
        Q(next_due_at__isnull=True) | Q(expiration__lt=F("next_due_at")), expiry_settled=False, disposed_at__isnull=True
    ).values_list("pk", flat=True):
        found.append(f"HIT {pk}: its unsettled expiry is before next_due_at")
    return found
