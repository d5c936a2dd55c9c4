"""Batches: many HITs of one HIT type published together from a project (a HITLayout) and rows of values.

Publishing is all-or-nothing for workers and resumable for the publisher:

1. ``create_batch`` checks the project and the price, creates (or reuses) the HIT type and the ``Batch`` row in
   Publishing. Nothing is visible to workers.
2. ``publish_batch_rows`` writes one chunk of rows per call, each chunk in one transaction: its HITs (bulk inserted
   with ``published=False``: workers neither see nor accept them), their escrow (exactly what CreateHIT would
   hold for each: MaxAssignments x (reward + fee)), an audit row, and ``rows_published``. A process that dies
   loses at most the chunk it was writing; whoever publishes next continues after the last committed chunk.
3. ``finish_batch`` flips every HIT of the batch to ``published=True`` and the batch to Published in one short
   transaction, and queues HITCreated for HIT types with notifications.
4. ``fail_batch`` undoes a batch that cannot be finished: its HITs are removed, their escrow released, and the
   batch is Failed with the reason shown to the requester. ``fail_stalled_batches`` does this to batches that have
   made no progress for ``STALL_TIMEOUT``.

Changing a published batch (cancel, add assignments, extend) is in ``batch_changes.py``.

Ledger: each chunk's escrow is one ledger transaction (memo naming the batch and its rows) rather than one per
HIT; each HIT's ``escrow_cents`` holds its own share, so the escrow invariants hold HIT by HIT. Audit: one row per
chunk or batch action, naming the batch (each HIT names its batch and row).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from kempelen.accounts.models import Requester
from kempelen.core import audit, clock, ids
from kempelen.core.actors import Actor
from kempelen.core.errors import (
    DoesNotExist,
    HITLayoutDoesNotExist,
    InsufficientFunds,
    InvalidParameter,
    KempelenError,
)
from kempelen.core.money import fee_percent, format_cents, reward_fee
from kempelen.core.text import check_range, check_text
from kempelen.ledger import actions as ledger
from kempelen.qualifications.requirements import uses_masters, validate_requirements
from kempelen.questions.layouts import layout_variables

from ..models import HIT, Batch, BatchStatus, HITLayout
from . import _batch_rows
from ._batch_rows import LayoutRenderer
from .hits import MAX_SECONDS, THIRTY_DAYS, create_hit_type

#: Rows written per transaction while publishing.
CHUNK_ROWS = 5_000
#: Most rows in one batch.
MAX_ROWS = 1_000_000
#: A batch in Publishing that has written nothing for this long is undone by the job runner.
STALL_TIMEOUT = dt.timedelta(minutes=10)


class BatchDoesNotExist(DoesNotExist):
    code = "BatchDoesNotExist"

    def __init__(self, batch_id: str) -> None:
        super().__init__(f"Batch {batch_id} does not exist.")


class BalanceTooLow(InsufficientFunds):
    """InsufficientFunds, saying what the change costs and what the requester has."""

    def __init__(self, what: str, cost_cents: int, available_cents: int) -> None:
        KempelenError.__init__(
            self,
            f"{what} costs ${format_cents(cost_cents)}, but your available balance is "
            f"${format_cents(available_cents)}. Add funds, or make the batch smaller.",
        )


# --- Price and checks before publishing -----------------------------------------------------------------------


@dataclass(frozen=True)
class BatchCost:
    """What publishing ``rows`` tasks of a project costs at most (every assignment approved)."""

    rows: int
    assignments_per_row: int
    reward_cents: int
    fee_cents: int  # per assignment
    fee_percent: str
    masters: bool

    @property
    def assignments(self) -> int:
        return self.rows * self.assignments_per_row

    @property
    def unit_cents(self) -> int:
        return self.reward_cents + self.fee_cents

    @property
    def total_reward_cents(self) -> int:
        return self.assignments * self.reward_cents

    @property
    def total_fee_cents(self) -> int:
        return self.assignments * self.fee_cents

    @property
    def total_cents(self) -> int:
        return self.assignments * self.unit_cents


def batch_cost(layout: HITLayout, rows: int) -> BatchCost:
    masters = uses_masters(layout.qualification_requirements or [])
    percent = fee_percent(layout.max_assignments, masters=masters)
    return BatchCost(
        rows=rows, assignments_per_row=layout.max_assignments, reward_cents=layout.reward_cents,
        fee_cents=reward_fee(layout.reward_cents, layout.max_assignments, masters=masters),
        fee_percent=f"{percent.normalize():f}", masters=masters,
    )


def project_problems(layout: HITLayout, environment: str) -> list[str]:
    """What stops a batch being published from this project (its HIT properties as CreateHITType and CreateHIT
    check them); empty when it can be published."""
    problems: list[str] = []
    if layout.archived_at is not None:
        problems.append("This project is archived; restore it before publishing a batch.")
    checks = [
        lambda: check_text(layout.title, "Title", max_length=128, required=True),
        lambda: check_text(layout.description, "Description", max_length=2000, required=True),
        lambda: check_text(layout.keywords, "Keywords", max_length=1000),
        lambda: check_range(layout.assignment_duration, "Time allotted per assignment (seconds)", 30, MAX_SECONDS),
        lambda: check_range(layout.auto_approval_delay, "Auto-approval delay (seconds)", 0, THIRTY_DAYS),
        lambda: check_range(layout.lifetime, "Task lifetime (seconds)", 30, MAX_SECONDS),
        lambda: check_range(layout.max_assignments, "Assignments per task", 1, 1_000_000_000),
        lambda: validate_requirements(layout.qualification_requirements, environment),
    ]
    for check in checks:
        try:
            check()
        except KempelenError as error:
            problems.append(error.message)
    minimum = int(str(settings.KEMPELEN["MINIMUM_REWARD_CENTS"]))
    if layout.reward_cents < minimum:
        problems.append(f"The reward must be at least ${format_cents(minimum)}.")
    if not layout_variables(layout.html):
        problems.append("The project's template has no ${…} variables, so there is nothing for a CSV file to fill in.")
    return problems


def _own_layout(requester: Requester, environment: str, layout_id: str) -> HITLayout:
    layout = HITLayout.objects.filter(pk=layout_id, requester=requester, environment=environment).first()
    if layout is None:
        raise HITLayoutDoesNotExist(layout_id)
    return layout


def check_affordable(requester: Requester, environment: str, cost_cents: int, what: str) -> None:
    """In the live environment, refuse unless the requester's available funds cover ``cost_cents`` (their funds are
    locked until the caller's transaction ends). The sandbox's fake money is topped up as needed."""
    if environment != "live" or cost_cents <= 0:
        return
    available = ledger.lock_requester_funds(requester, environment).balance_cents
    if available < cost_cents:
        raise BalanceTooLow(what, cost_cents, available)


# --- Publishing ----------------------------------------------------------------------------------------------


def create_batch(
    *,
    actor: Actor,
    requester: Requester,
    environment: str,
    layout_id: str,
    name: str,
    input_columns: Sequence[str],
    row_count: int,
) -> Batch:
    """Start a batch of ``row_count`` rows with these columns: its HIT type and its row, in Publishing."""
    name = check_text(name.strip(), "Batch name", max_length=200, required=True).strip()
    check_range(row_count, "Number of rows", 1, MAX_ROWS)
    with transaction.atomic():
        layout = _own_layout(requester, environment, layout_id)
        problems = project_problems(layout, environment)
        if problems:
            raise InvalidParameter(" ".join(problems))
        LayoutRenderer(layout.html, layout.frame_height, input_columns)  # the columns are the template's variables
        hit_type = create_hit_type(
            actor=actor, requester=requester, environment=environment, title=layout.title,
            description=layout.description, reward_cents=layout.reward_cents,
            assignment_duration=layout.assignment_duration, auto_approval_delay=layout.auto_approval_delay,
            keywords=layout.keywords, qualification_requirements=layout.qualification_requirements,
        )
        cost = batch_cost(layout, row_count)
        check_affordable(requester, environment, cost.total_cents, "Publishing this batch")
        batch = Batch.objects.create(
            id=ids.entity_id(), requester=requester, environment=environment, layout=layout, hit_type=hit_type,
            name=name, input_columns=list(input_columns), row_count=row_count,
            assignments_per_row=layout.max_assignments, lifetime=layout.lifetime, status=BatchStatus.PUBLISHING,
            created_at=clock.now(),
        )
        audit.record(actor, "create_batch", environment=environment, target_type="Batch", target_id=batch.pk,
                     layout_id=layout.pk, hit_type_id=hit_type.pk, rows=row_count,
                     assignments_per_row=layout.max_assignments, cost_cents=cost.total_cents)
        return batch


def _lock_publishing(batch_id: str, *, undoing: bool = False) -> Batch | None:
    """The batch, locked, if it is in Publishing; and, unless ``undoing``, not being undone (``error`` set)."""
    batch = (
        Batch.objects.select_for_update(of=("self",)).select_related("hit_type", "layout", "requester")
        .filter(pk=batch_id).first()
    )
    if batch is None or batch.status != BatchStatus.PUBLISHING or (batch.error and not undoing):
        return None
    return batch


def publish_batch_rows(*, actor: Actor, batch_id: str, rows: Sequence[tuple[int, Sequence[str]]]) -> int:
    """Write one chunk of a publishing batch: (row index, values in ``input_columns`` order) for consecutive rows.

    Rows already written (by an earlier call, or a concurrent publisher) are skipped; returns how many were
    written. Raises InvalidParameter or InsufficientFunds (nothing of the chunk is written) when the chunk cannot
    be published; the caller then fails the batch.
    """
    with transaction.atomic():
        batch = _lock_publishing(batch_id)
        if batch is None:
            return 0
        todo = [(index, values) for index, values in rows if index >= batch.rows_published]
        if not todo:
            return 0
        if todo[0][0] != batch.rows_published or todo[-1][0] - todo[0][0] != len(todo) - 1:
            raise RuntimeError(f"batch {batch.pk}: rows must continue at {batch.rows_published} without gaps")
        if todo[-1][0] >= batch.row_count:
            raise RuntimeError(f"batch {batch.pk} has {batch.row_count} rows; got row {todo[-1][0]}")
        layout = _publishable_layout(batch)
        renderer = LayoutRenderer(layout.html, layout.frame_height, batch.input_columns)
        hit_type = batch.hit_type
        columns = batch.input_columns
        prepared = []
        hit_ids = _batch_rows.entity_ids(len(todo))
        for hit_id, (index, values) in zip(hit_ids, todo, strict=True):
            try:
                question = renderer.question(values)
            except InvalidParameter as error:
                raise InvalidParameter(f"Row {index + 1}: {error.message}") from None
            prepared.append((hit_id, dict(zip(columns, values, strict=True)), question, index))
        now = clock.now()
        reward = hit_type.reward_cents
        unit = reward + reward_fee(reward, batch.assignments_per_row, masters=uses_masters(hit_type.qualification_requirements))
        expiration = now + dt.timedelta(seconds=batch.lifetime)
        held = batch.assignments_per_row * unit
        total = held * len(prepared)
        first, last = todo[0][0], todo[-1][0]
        # Escrow first: it may refuse for lack of funds before anything is written.
        ledger.reserve(
            requester=batch.requester, environment=batch.environment, cents=total,
            key=f"reserve:batch:{batch.pk}:{first}:{ids.entity_id()}", actor=actor, hit_id="",
            memo=f"Escrow for {len(prepared):,} HITs of batch {batch.pk} (rows {first + 1} to {last + 1})", new_key=True,
        )
        prototype = HIT(
            id="", hit_type=hit_type, requester=batch.requester, environment=batch.environment, layout=layout,
            question="", requester_annotation=f"BatchId:{batch.pk};OriginalHitTemplateId:{layout.pk};",
            max_assignments=batch.assignments_per_row, available=batch.assignments_per_row, created_at=now,
            expiration=expiration, unit_cost_cents=unit, escrow_cents=held, next_due_at=expiration,
            last_activity_at=now, batch=batch, published=False,
        )
        _batch_rows.insert_hits(prototype, prepared)
        batch.rows_published = last + 1
        batch.save(update_fields=["rows_published"])
        audit.record(actor, "publish_batch_rows", environment=batch.environment, target_type="Batch",
                     target_id=batch.pk, first_row=first, last_row=last, hits=len(prepared), escrow_cents=total)
        return len(prepared)


def _publishable_layout(batch: Batch) -> HITLayout:
    layout = batch.layout
    if layout is None:
        raise InvalidParameter("The project of this batch was deleted while the batch was being published.")
    if layout.updated_at is not None and layout.updated_at > batch.created_at:
        raise InvalidParameter("The project was changed while the batch was being published, so its HITs would not "
                               "all show the same template. Publish the file again.")
    return layout


def finish_batch(*, actor: Actor, batch_id: str) -> Batch | None:
    """Make a fully written batch visible: every HIT published, the batch Published. Returns None when the batch
    is not in Publishing or not fully written yet (nothing changes)."""
    with transaction.atomic():
        batch = _lock_publishing(batch_id)
        if batch is None or batch.rows_published < batch.row_count:
            return None
        now = clock.now()
        hidden = HIT.objects.filter(batch=batch, published=False)
        hit_ids = list(hidden.values_list("pk", flat=True)) if _batch_rows.wants(batch.hit_type, "HITCreated") else []
        flipped = hidden.update(published=True)
        batch.status = BatchStatus.PUBLISHED
        batch.published_at = now
        batch.save(update_fields=["status", "published_at"])
        audit.record(actor, "publish_batch", environment=batch.environment, target_type="Batch", target_id=batch.pk,
                     hits=flipped)
        _batch_rows.emit_each(batch.hit_type, "HITCreated", [(hit_id, now) for hit_id in hit_ids])
        return batch


def fail_batch(*, actor: Actor, batch_id: str, error: str, chunk_hits: int = CHUNK_ROWS) -> Batch | None:
    """Undo a batch that cannot be finished: remove its HITs (none was ever visible), release their escrow, and
    mark it Failed with ``error``. Returns None when the batch is not in Publishing.

    The undo runs in transactions of ``chunk_hits`` HITs, like publishing: the first records ``error`` (from then
    on no chunk is written and the batch is never published), each removes the last-written HITs and releases
    their escrow, the last marks the batch Failed. Interrupted, it continues when called again (the job runner
    does that for any batch left in Publishing with an error).
    """
    with transaction.atomic():
        batch = _lock_publishing(batch_id, undoing=True)
        if batch is None:
            return None
        if not batch.error:
            batch.error = error[:4000]
            batch.save(update_fields=["error"])
            audit.record(actor, "fail_batch", environment=batch.environment, target_type="Batch", target_id=batch.pk,
                         error=error[:1000], rows_reached=batch.rows_published)
    removed = released = 0
    while True:
        with transaction.atomic():
            batch = _lock_publishing(batch_id, undoing=True)
            if batch is None:
                return None
            last = list(
                HIT.objects.select_for_update(of=("self",)).filter(batch=batch).order_by("-batch_row")
                .values_list("batch_row", "escrow_cents")[:chunk_hits]
            )
            if not last:
                batch.status = BatchStatus.FAILED
                batch.rows_published = 0
                batch.save(update_fields=["status", "rows_published"])
                audit.record(actor, "undo_batch", environment=batch.environment, target_type="Batch",
                             target_id=batch.pk, hits_removed=removed, released_cents=released)
                return batch
            held = sum(cents for _, cents in last)
            if held:
                ledger.release(
                    requester=batch.requester, environment=batch.environment, cents=held,
                    key=f"release:batch:{batch.pk}:failed:{ids.entity_id()}", actor=actor, hit_id="",
                    memo=f"Escrow released: batch {batch.pk} could not be published ({len(last):,} HITs removed)",
                    new_key=True,
                )
            HIT.objects.filter(batch=batch, batch_row__gte=last[-1][0]).only("pk").delete()
            removed += len(last)
            released += held


def last_progress(batch: Batch) -> dt.datetime:
    """When a publishing batch last wrote a chunk (or was created)."""
    latest = HIT.objects.filter(batch=batch).order_by("-batch_row").values_list("created_at", flat=True).first()
    return max(latest, batch.created_at) if latest else batch.created_at


def fail_stalled_batches(*, actor: Actor, stalled_for: dt.timedelta = STALL_TIMEOUT) -> int:
    """Undo batches left in Publishing that wrote nothing for ``stalled_for`` (their publisher died, or keeps
    failing). Returns how many were undone."""
    now = clock.now()
    undone = 0
    for batch in Batch.objects.filter(status=BatchStatus.PUBLISHING, created_at__lte=now - stalled_for):
        if now - last_progress(batch) < stalled_for:
            continue
        minutes = int(stalled_for.total_seconds() // 60)
        message = (f"Publishing stopped after {batch.rows_published:,} of {batch.row_count:,} rows and did not "
                   f"resume within {minutes} minutes, so it was undone: nothing was published and the escrow "
                   "was released. Publish the file again.")
        if fail_batch(actor=actor, batch_id=batch.pk, error=message) is not None:
            undone += 1
    return undone
