"""Applying a requester's worker file: qualification grants, value changes and revocations, blocks and unblocks.

The requester site reads and checks the file (``kempelen.requester_site.worker_csv``) and hands the rows here.
Everything is applied in one transaction through the existing actions (associate/disassociate a qualification,
create/delete a worker block), so the rules, audit rows and emails are exactly theirs; if anything is refused,
nothing at all changes. What already holds is skipped: a value the worker already has, a revocation of a
qualification the worker does not hold, blocking a blocked worker, unblocking one who is not blocked. Applying
the same file twice therefore changes nothing the second time.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from django.db import transaction

from kempelen.accounts.models import Requester, Worker
from kempelen.core import audit
from kempelen.core.actors import Actor
from kempelen.core.errors import InvalidParameter, WorkerDoesNotExist
from kempelen.core.ids import WORKER_ID
from kempelen.core.text import check_text
from kempelen.qualifications import actions as qualification_actions
from kempelen.qualifications.models import Qualification
from kempelen.qualifications.queries import owned_type

from ..models import WorkerBlock
from .workers import create_worker_block, delete_worker_block

BLOCK = "Block"
UNBLOCK = "Unblock"
#: The block reason when the file gives none (the worker never sees it; the requester does, in ListWorkerBlocks).
DEFAULT_BLOCK_REASON = "Blocked by worker file upload"
DEFAULT_UNBLOCK_REASON = "Unblocked by worker file upload"
#: Qualification values a worker file may set (MTurk's site allowed 0 to 100).
MIN_VALUE, MAX_VALUE = 0, 100
MAX_ROWS = 100_000
_CHUNK = 500


@dataclass(frozen=True)
class WorkerFileRow:
    """What one row of the file asks for one worker."""

    worker_id: str
    #: Qualification type id → the value to grant (or change to), or ``None`` to revoke.
    qualifications: Mapping[str, int | None] = field(default_factory=dict)
    block: str = ""  # BLOCK, UNBLOCK or "" (leave as it is)
    reason: str = ""  # the block (or unblock) reason; a default is used when empty


@dataclass
class WorkerFileOutcome:
    granted: int = 0
    changed: int = 0
    revoked: int = 0
    blocked: int = 0
    unblocked: int = 0

    @property
    def total(self) -> int:
        return self.granted + self.changed + self.revoked + self.blocked + self.unblocked


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start:start + _CHUNK]


def _check_rows(rows: Sequence[WorkerFileRow]) -> None:
    if len(rows) > MAX_ROWS:
        raise InvalidParameter(f"A worker file may change at most {MAX_ROWS:,} workers at once; this one has {len(rows):,}.")
    seen: set[str] = set()
    for row in rows:
        if not WORKER_ID.match(row.worker_id):
            raise InvalidParameter(f"{row.worker_id!r} is not a Worker ID.")
        if row.worker_id in seen:
            raise InvalidParameter(f"Worker {row.worker_id} appears more than once; give each worker one row.")
        seen.add(row.worker_id)
        for value in row.qualifications.values():
            if value is not None and not MIN_VALUE <= value <= MAX_VALUE:
                raise InvalidParameter(f"Qualification values must be whole numbers from {MIN_VALUE} to {MAX_VALUE}; got {value}.")
        if row.block not in ("", BLOCK, UNBLOCK):
            raise InvalidParameter(f"{row.block!r} is not a block status: use {BLOCK} or {UNBLOCK}.")
        check_text(row.reason, "BlockReason", max_length=4096)


def apply_worker_file(
    *,
    actor: Actor,
    requester: Requester,
    environment: str,
    rows: Sequence[WorkerFileRow],
    notify: bool = True,
    filename: str = "",
) -> WorkerFileOutcome:
    """Apply every row, all or nothing. ``notify`` decides whether grants and value changes email the worker
    (revocations always do, as RevokeQualification does). Raises the first refusal, with nothing changed."""
    _check_rows(rows)
    outcome = WorkerFileOutcome()
    worker_ids = [row.worker_id for row in rows]
    with transaction.atomic():
        # The requester's types first (the lock order every qualification action keeps), in a fixed order.
        type_ids = sorted({type_id for row in rows for type_id in row.qualifications})
        for type_id in type_ids:
            owned_type(requester, environment, type_id, lock=True)
        known: set[str] = set()
        held: dict[tuple[str, str], int | None] = {}
        blocked: set[str] = set()
        for chunk in _chunks(worker_ids):
            known.update(Worker.objects.filter(worker_id__in=chunk).values_list("worker_id", flat=True))
            if type_ids:
                for type_id, worker_id, value in Qualification.objects.filter(
                    qualification_type_id__in=type_ids, worker__worker_id__in=chunk, status="Granted"
                ).values_list("qualification_type_id", "worker__worker_id", "integer_value"):
                    held[(worker_id, type_id)] = value
            blocked.update(WorkerBlock.objects.select_for_update().filter(
                requester=requester, environment=environment, worker_id__in=chunk
            ).values_list("worker_id", flat=True))
        missing = [worker_id for worker_id in worker_ids if worker_id not in known]
        if missing:
            raise WorkerDoesNotExist(missing[0])
        for row in rows:
            _apply_row(actor, requester, environment, row, held, blocked, notify, outcome)
        audit.record(actor, "apply_worker_file", environment=environment, target_type="Requester",
                     target_id=requester.customer_id, filename=filename[:255], rows=len(rows),
                     granted=outcome.granted, changed=outcome.changed, revoked=outcome.revoked,
                     blocked=outcome.blocked, unblocked=outcome.unblocked)
    return outcome


def _apply_row(
    actor: Actor,
    requester: Requester,
    environment: str,
    row: WorkerFileRow,
    held: dict[tuple[str, str], int | None],
    blocked: set[str],
    notify: bool,
    outcome: WorkerFileOutcome,
) -> None:
    for type_id, value in row.qualifications.items():
        key = (row.worker_id, type_id)
        if value is None:
            if key in held:
                qualification_actions.disassociate_qualification_from_worker(
                    actor=actor, requester=requester, environment=environment, qualification_type_id=type_id,
                    worker_id=row.worker_id,
                )
                outcome.revoked += 1
            continue
        if key in held and held[key] == value:
            continue
        qualification_actions.associate_qualification_with_worker(
            actor=actor, requester=requester, environment=environment, qualification_type_id=type_id,
            worker_id=row.worker_id, integer_value=value, send_notification=notify,
        )
        if key in held:
            outcome.changed += 1
        else:
            outcome.granted += 1
    if row.block == BLOCK and row.worker_id not in blocked:
        create_worker_block(actor=actor, requester=requester, environment=environment, worker_id=row.worker_id,
                            reason=row.reason.strip() or DEFAULT_BLOCK_REASON)
        outcome.blocked += 1
    elif row.block == UNBLOCK and row.worker_id in blocked:
        delete_worker_block(actor=actor, requester=requester, environment=environment, worker_id=row.worker_id,
                            reason=row.reason.strip() or DEFAULT_UNBLOCK_REASON)
        outcome.unblocked += 1
