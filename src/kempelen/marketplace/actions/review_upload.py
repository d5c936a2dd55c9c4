"""Reviewing many assignments of one batch at once: the results page's bulk approve and reject, and applying an
uploaded results CSV. One action, one transaction, all or nothing.

A decision says what the requester wants an assignment to end up as (approved, or rejected with feedback), not
a transition, so applying the same decisions twice changes nothing the second time:

- want approved: a Submitted assignment is approved; a Rejected one is override-approved, if it was submitted
  within the last 30 days and its HIT has not been deleted; an Approved one is left alone.
- want rejected: a Submitted assignment is rejected with the feedback (required, RequesterFeedback's rules); a
  Rejected one is left alone; an Approved one cannot be rejected (an error).

An assignment whose auto-approval time has passed counts as Approved. Every decision is checked first; if any
cannot be applied (unknown assignment, another batch's, wrong state, a reversal too old, bad feedback, the
same assignment twice), nothing is applied and every problem is reported with the row it came from. The
changes themselves go through :func:`approve_assignment` and :func:`reject_assignment`, so payments, escrow,
notifications and audit rows are exactly those of the API; a refusal from them (a race since the check) also
undoes everything.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction

from kempelen.accounts.models import Requester
from kempelen.core import audit, clock
from kempelen.core.actors import Actor
from kempelen.core.errors import DoesNotExist, InvalidParameter, KempelenError
from kempelen.core.text import check_text

from ..models import HIT, VISIBLE_STATUSES, Assignment, AssignmentStatus, Batch
from ._lifecycle import settle_first
from .review import OVERRIDE_WINDOW, approve_assignment, reject_assignment

#: The most changes (approvals and rejections) one operation applies. It runs in one transaction, which holds
#: the database's write lock on SQLite while it lasts; larger reviews are split into several operations.
MAX_CHANGES = 2_000

APPROVE = "approve"
OVERRIDE = "override"
REJECT = "reject"
UNCHANGED = "unchanged"


@dataclass(frozen=True)
class Decision:
    """What the requester wants for one assignment. ``row`` says where it came from (a CSV row), for messages."""

    assignment_id: str
    approve: bool
    feedback: str = ""
    row: int | None = None


@dataclass(frozen=True)
class Problem:
    assignment_id: str
    message: str
    row: int | None = None

    def __str__(self) -> str:
        where = f"Row {self.row}: " if self.row is not None else ""
        subject = f"assignment {self.assignment_id}" if self.assignment_id else "no AssignmentId"
        return f"{where}{subject}: {self.message}"


class ReviewRefused(InvalidParameter):
    """Some decisions cannot be applied; nothing was."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        count = len(self.problems)
        super().__init__(
            f"Nothing was changed: {count} {'row cannot' if count == 1 else 'rows cannot'} be applied. "
            + "; ".join(str(p) for p in self.problems[:3]) + ("…" if count > 3 else "")
        )


@dataclass(frozen=True)
class AssignmentState:
    """What deciding about an assignment needs to know (read by the dry run, and again under lock)."""

    status: str
    submit_time: dt.datetime | None
    auto_approval_time: dt.datetime | None
    batch_id: str | None
    hit_disposed: bool


@dataclass
class ReviewResult:
    approved: int = 0
    overridden: int = 0
    rejected: int = 0
    unchanged: int = 0

    @property
    def changed(self) -> int:
        return self.approved + self.overridden + self.rejected


def effective_status(state: AssignmentState, now: dt.datetime) -> str:
    if (state.status == AssignmentStatus.SUBMITTED and state.auto_approval_time is not None
            and state.auto_approval_time <= now):
        return AssignmentStatus.APPROVED
    return state.status


def judge(decision: Decision, state: AssignmentState | None, *, batch_id: str, now: dt.datetime) -> tuple[str, str]:
    """``(outcome, message)`` for one decision: an outcome of APPROVE, OVERRIDE, REJECT or UNCHANGED, or
    ``("error", why)``. Pure: the dry run and the action share it."""
    if state is None:
        return "error", "no such assignment among your submitted work in this environment."
    if state.batch_id != batch_id:
        return "error", "this assignment is not part of this batch."
    status = effective_status(state, now)
    if decision.approve:
        if decision.feedback:
            try:
                check_text(decision.feedback, "RequesterFeedback", max_length=1024)
            except InvalidParameter as error:
                return "error", error.message
        if status == AssignmentStatus.SUBMITTED:
            return APPROVE, "will be approved and paid."
        if status == AssignmentStatus.APPROVED:
            automatic = state.status == AssignmentStatus.SUBMITTED
            return UNCHANGED, "already approved" + (" (automatically, when its review period ended)." if automatic else ".")
        if state.hit_disposed:
            return "error", "its rejection cannot be reversed: its HIT has been deleted."
        if state.submit_time is not None and now > state.submit_time + OVERRIDE_WINDOW:
            return "error", (f"its rejection cannot be reversed: it was submitted on {state.submit_time:%Y-%m-%d}, "
                             "more than 30 days ago.")
        return OVERRIDE, "its rejection will be reversed: it will be approved and paid."
    if status == AssignmentStatus.REJECTED:
        return UNCHANGED, "already rejected."
    if status == AssignmentStatus.APPROVED:
        return "error", "it is already approved; an approval cannot be undone."
    try:
        check_text(decision.feedback, "The reason for rejecting (RequesterFeedback)", max_length=1024, required=True)
    except InvalidParameter as error:
        return "error", error.message
    return REJECT, "will be rejected; the worker sees the reason."


def assignment_states(requester: Requester, environment: str, assignment_ids: Sequence[str]) -> dict[str, AssignmentState]:
    """The requester's submitted assignments among ``assignment_ids`` (others are absent: unknown to them)."""
    states: dict[str, AssignmentState] = {}
    unique = list(dict.fromkeys(assignment_ids))
    for start in range(0, len(unique), 500):
        rows = Assignment.objects.filter(
            pk__in=unique[start:start + 500], requester=requester, environment=environment,
            status__in=VISIBLE_STATUSES,
        ).values_list("pk", "status", "submit_time", "auto_approval_time", "hit__batch_id", "hit__disposed_at")
        for pk, status, submit_time, auto_time, batch_id, disposed_at in rows:
            states[pk] = AssignmentState(status, submit_time, auto_time, batch_id, disposed_at is not None)
    return states


def duplicate_problems(decisions: Sequence[Decision]) -> list[Problem]:
    seen: dict[str, Decision] = {}
    problems = []
    for decision in decisions:
        first = seen.setdefault(decision.assignment_id, decision)
        if first is not decision:
            where = f"row {first.row}" if first.row is not None else "another decision"
            problems.append(Problem(decision.assignment_id, f"this assignment appears twice (also {where}).",
                                    decision.row))
    return problems


def review_batch(
    *,
    actor: Actor,
    requester: Requester,
    environment: str,
    batch_id: str,
    decisions: Sequence[Decision],
) -> ReviewResult:
    """Apply every decision, or none (ReviewRefused lists why). Deciding what an assignment already is counts
    as unchanged, so a repeated review changes nothing."""
    batch = Batch.objects.filter(pk=batch_id, requester=requester, environment=environment).first()
    if batch is None:
        raise DoesNotExist(f"Batch {batch_id} does not exist.")
    problems = duplicate_problems(decisions)
    if problems:
        raise ReviewRefused(problems)
    ids = [d.assignment_id for d in decisions]
    # Timers that have elapsed take effect in transactions of their own first, so that they stick whatever
    # this review's outcome (see settle_first).
    hit_ids = sorted({
        hit_id for start in range(0, len(ids), 500)
        for hit_id in Assignment.objects.filter(pk__in=ids[start:start + 500], requester=requester,
                                                environment=environment).values_list("hit_id", flat=True)
    })
    for hit_id in hit_ids:
        settle_first(hit_id)
    result = ReviewResult()
    with transaction.atomic():
        # Every HIT involved is locked up front, in one order, so that two reviews (or a review and an API
        # call, which locks one HIT and then the requester's funds) never wait on each other in a cycle.
        for start in range(0, len(hit_ids), 500):
            list(HIT.objects.select_for_update(of=("self",)).filter(pk__in=hit_ids[start:start + 500])
                 .order_by("pk").values_list("pk", flat=True))
        now = clock.now()
        states = assignment_states(requester, environment, ids)
        changes: list[tuple[Decision, str]] = []
        for decision in decisions:
            outcome, message = judge(decision, states.get(decision.assignment_id), batch_id=batch.pk, now=now)
            if outcome == "error":
                problems.append(Problem(decision.assignment_id, message, decision.row))
            elif outcome == UNCHANGED:
                result.unchanged += 1
            else:
                changes.append((decision, outcome))
        if len(changes) > MAX_CHANGES:
            problems.append(Problem("", f"{len(changes):,} changes were asked for; one review applies at most "
                                        f"{MAX_CHANGES:,}. Review in parts (filter by worker, or upload the file "
                                        "in parts)."))
        if problems:
            raise ReviewRefused(problems)
        for decision, outcome in changes:
            try:
                if outcome == REJECT:
                    reject_assignment(actor=actor, requester=requester, environment=environment,
                                      assignment_id=decision.assignment_id, feedback=decision.feedback)
                    result.rejected += 1
                else:
                    approve_assignment(actor=actor, requester=requester, environment=environment,
                                       assignment_id=decision.assignment_id, feedback=decision.feedback or None,
                                       override_rejection=outcome == OVERRIDE)
                    if outcome == OVERRIDE:
                        result.overridden += 1
                    else:
                        result.approved += 1
            except KempelenError as error:
                problems.append(Problem(decision.assignment_id, error.message, decision.row))
        if problems:
            raise ReviewRefused(problems)
        if result.changed:
            audit.record(actor, "review_batch", environment=environment, target_type="Batch", target_id=batch.pk,
                         approved=result.approved, overridden=result.overridden, rejected=result.rejected,
                         unchanged=result.unchanged)
    return result
