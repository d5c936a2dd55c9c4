"""Reads of a requester's money for the requester site: balances, the statement, and the latest batches.

The statement is built from the ledger (``kempelen.ledger``): every transaction booked for the requester in one
environment, newest first. Most transactions are one line; an assignment payment and a bonus are two (what the
worker got, and the commission on it), so that fees appear as movements of their own.

The statement's order is (``created_at``, id), newest first. All of a requester's money movements in an
environment are booked under one lock (the available account's row, see ``kempelen.ledger.actions``), each
stamped with the time it was booked, so that is the order the movements were made; it is also the order of the
ledger's (requester, environment, created_at) index, so pages and the CSV export walk the index by key (never by
offset) and every page and every chunk of the export costs the same however long the statement is.

Each line says how it changed the requester's two balances (available funds and escrow) and what they were after
it. The ledger keeps only the current balances, so the balances after a line are worked out backwards: the balance
after transaction T is the account's balance now less every entry of the transactions after T (in the statement's
order), read in one statement, i.e. one snapshot of the database.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from django.db.models import OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce

from kempelen.accounts.models import Requester
from kempelen.ledger.models import AccountKind, LedgerAccount, LedgerEntry, LedgerTransaction
from kempelen.ledger.queries import requester_balances
from kempelen.marketplace.models import HIT, Batch

#: Ledger transactions per statement page (a page has at most twice as many lines).
PAGE_SIZE = 50
#: Ledger transactions read at a time by the CSV export.
EXPORT_CHUNK = 500
#: Batches shown on the home page.
LATEST_BATCHES = 5

# The statement's kinds of line, as a requester reads them.
DEPOSIT = "Deposit"
SANDBOX_CREDIT = "Sandbox credit"
ESCROW_RESERVED = "Escrow reserved"
ESCROW_RELEASED = "Escrow released"
REFUND = "Refund"
PAYMENT = "Payment"
BONUS = "Bonus"
FEE = "Fee"
KINDS = (DEPOSIT, SANDBOX_CREDIT, ESCROW_RESERVED, ESCROW_RELEASED, REFUND, PAYMENT, BONUS, FEE)

_AVAILABLE, _ESCROW = AccountKind.REQUESTER_AVAILABLE, AccountKind.REQUESTER_ESCROW
# Escrow movements carry their cause at the end of the memo: "Escrow for HIT X (create)".
_WHY = re.compile(r"\(([^()]+)\)\s*$")


@dataclass(frozen=True)
class Balances:
    available_cents: int
    escrow_cents: int


@dataclass(frozen=True)
class StatementLine:
    transaction_id: int
    at: dt.datetime
    kind: str
    description: str
    hit_id: str
    assignment_id: str
    worker_id: str
    #: How much money the line is about (never negative); the two changes say where it went.
    amount_cents: int
    available_change_cents: int
    escrow_change_cents: int
    available_after_cents: int
    escrow_after_cents: int


@dataclass(frozen=True)
class StatementPage:
    lines: list[StatementLine]
    #: Keys for the links to the newer and the older page (None when there is none).
    newer_after: int | None
    older_before: int | None


@dataclass(frozen=True)
class BatchSummary:
    batch: Batch
    assignments: int
    in_progress: int
    awaiting_review: int
    reviewed: int


def balances(requester: Requester, environment: str) -> Balances:
    available, escrow = requester_balances(requester, environment)
    return Balances(available, escrow)


# --- the statement --------------------------------------------------------------------------------------------

def _transactions(requester: Requester, environment: str):  # type: ignore[no-untyped-def]
    return LedgerTransaction.objects.filter(requester=requester, environment=environment)


def _older(qs, at: dt.datetime, pk: int):  # type: ignore[no-untyped-def]
    """Transactions of ``qs`` booked before (``at``, ``pk``). The plain ``created_at`` bound lets the database walk
    the ledger's (requester, environment, created_at) index; the rest breaks ties."""
    return qs.filter(created_at__lte=at).exclude(created_at=at, pk__gte=pk)


def _newer(qs, at: dt.datetime, pk: int):  # type: ignore[no-untyped-def]
    return qs.filter(created_at__gte=at).exclude(created_at=at, pk__lte=pk)


_NEWEST_FIRST = ("-created_at", "-id")


class _Txn(NamedTuple):
    pk: int
    kind: str
    created_at: dt.datetime
    memo: str
    hit_id: str
    assignment_id: str
    worker_id: str | None


def _rows(qs) -> list[_Txn]:  # type: ignore[no-untyped-def]
    """The transactions of ``qs`` as plain rows (a statement can be long: no model instances)."""
    fields = ("id", "kind", "created_at", "memo", "hit_id", "assignment_id", "worker__worker_id")
    return [_Txn._make(row) for row in qs.values_list(*fields)]


def _balances_after(requester: Requester, environment: str, at: dt.datetime, pk: int) -> tuple[int, int]:
    """(available, escrow) right after the transaction (``at``, ``pk``): the balances now less every entry booked
    after it, read in one statement."""
    later_txns = _newer(_transactions(requester, environment), at, pk).values("pk")
    later = (
        LedgerEntry.objects.filter(account=OuterRef("pk"), transaction_id__in=later_txns)
        .values("account")
        .annotate(total=Sum("amount_cents"))
        .values("total")
    )
    rows = (
        LedgerAccount.objects.filter(requester=requester, environment=environment, kind__in=(_AVAILABLE, _ESCROW))
        .annotate(later=Coalesce(Subquery(later), 0))
        .values_list("kind", "balance_cents", "later")
    )
    after = {kind: balance - later_total for kind, balance, later_total in rows}
    return after.get(_AVAILABLE, 0), after.get(_ESCROW, 0)


@dataclass
class _Legs:
    available: int = 0
    escrow: int = 0
    to_workers: int = 0
    fees: int = 0


def _legs(requester: Requester, transaction_ids: Sequence[int]) -> dict[int, _Legs]:
    legs: dict[int, _Legs] = defaultdict(_Legs)
    entries = LedgerEntry.objects.filter(transaction_id__in=transaction_ids).values_list(
        "transaction_id", "account__kind", "account__requester_id", "amount_cents"
    )
    for txn_id, kind, owner_id, cents in entries:
        leg = legs[txn_id]
        if kind == _AVAILABLE and owner_id == requester.pk:
            leg.available += cents
        elif kind == _ESCROW and owner_id == requester.pk:
            leg.escrow += cents
        elif kind == AccountKind.WORKER_EARNINGS:
            leg.to_workers += cents
        elif kind == AccountKind.PLATFORM_FEES:
            leg.fees += cents
    return legs


def _reason(memo: str) -> str:
    found = _WHY.search(memo)
    return found.group(1) if found else ""


_RESERVE_REASONS = {
    "create": "HIT created: the reward and fee of its assignments held",
    "extend": "HIT extended: its unfilled assignments held again",
    "add": "assignments added to the HIT",
    "policy-extend": "HIT extended by its review policy",
    "policy-add": "an assignment added by the HIT's review policy",
}
_RELEASE_REASONS = {
    "expired": "HIT expired: its unfilled assignments released",
    "dispose": "HIT deleted: its unfilled assignments released",
}


def _escrow_description(hit_id: str, memo: str, *, reserve: bool) -> tuple[str, str]:
    """(kind, description) of an escrow movement, from the cause recorded in its memo."""
    why = _reason(memo)
    cause, _, subject = why.partition(":")
    kind = ESCROW_RESERVED if reserve else ESCROW_RELEASED
    known = (_RESERVE_REASONS if reserve else _RELEASE_REASONS).get(why)
    if known:
        text = known
    elif cause == "retype":
        text = f"reward changed (new HIT type {subject})"
    elif cause == "override" and reserve:
        text = f"rejection of assignment {subject} overridden: its reward and fee held again to pay it"
    elif cause == "reject" and not reserve:
        kind, text = REFUND, f"assignment {subject} rejected: its reward and fee returned"
    elif cause in ("returned", "abandoned") and not reserve:
        text = f"assignment {subject} {cause} after the HIT expired: its slot released"
    else:
        return kind, memo
    return kind, f"HIT {hit_id}: {text}" if hit_id else text


def _split(txn: _Txn, legs: _Legs) -> list[tuple[str, str, int, int, int]]:
    """The lines of one transaction in the order they happened: (kind, description, amount, Δavailable, Δescrow)."""
    worker_id = txn.worker_id or ""
    debit_from_escrow = legs.escrow < 0 and not legs.available
    total = legs.to_workers + legs.fees
    if txn.kind in ("assignment_payment", "bonus") and -(legs.available + legs.escrow) == total:
        def change(cents: int) -> tuple[int, int]:
            return (0, -cents) if debit_from_escrow else (-cents, 0)

        if txn.kind == "assignment_payment":
            principal = (PAYMENT, f"Reward for assignment {txn.assignment_id} of HIT {txn.hit_id}, paid to worker "
                                  f"{worker_id}")
            fee = (FEE, f"Commission on the payment for assignment {txn.assignment_id}")
        else:
            principal = (BONUS, f"Bonus to worker {worker_id} for assignment {txn.assignment_id}: {txn.memo}")
            fee = (FEE, f"Commission on the bonus to worker {worker_id} for assignment {txn.assignment_id}")
        lines = [(*principal, legs.to_workers, *change(legs.to_workers)), (*fee, legs.fees, *change(legs.fees))]
        return [lines[0]] + [line for line in lines[1:] if line[2]]  # a payment always shows, a nil fee does not
    if txn.kind == "deposit":
        kind, description = DEPOSIT, txn.memo or "Deposit"
    elif txn.kind == "sandbox_credit":
        kind, description = SANDBOX_CREDIT, txn.memo or "Sandbox credit (fake money)"
    elif txn.kind in ("escrow_reserve", "escrow_release"):
        kind, description = _escrow_description(txn.hit_id, txn.memo, reserve=txn.kind == "escrow_reserve")
    else:
        kind, description = txn.kind.replace("_", " ").capitalize(), txn.memo
    amount = abs(legs.available) or abs(legs.escrow)
    return [(kind, description, amount, legs.available, legs.escrow)]


def _lines(
    requester: Requester, txns: Sequence[_Txn], available: int, escrow: int
) -> tuple[list[StatementLine], int, int]:
    """Lines of ``txns`` (newest first), given the balances after the newest; and the balances before the oldest."""
    legs = _legs(requester, [t.pk for t in txns])
    lines: list[StatementLine] = []
    for txn in txns:
        worker_id = txn.worker_id or ""
        for kind, description, amount, d_available, d_escrow in reversed(_split(txn, legs[txn.pk])):
            lines.append(StatementLine(
                transaction_id=txn.pk, at=txn.created_at, kind=kind, description=description, hit_id=txn.hit_id,
                assignment_id=txn.assignment_id, worker_id=worker_id, amount_cents=amount,
                available_change_cents=d_available, escrow_change_cents=d_escrow,
                available_after_cents=available, escrow_after_cents=escrow,
            ))
            available -= d_available
            escrow -= d_escrow
    return lines, available, escrow


def _position(requester: Requester, environment: str, pk: int | None) -> tuple[dt.datetime, int] | None:
    """Where the requester's transaction ``pk`` stands in the statement (None for anyone else's, or none)."""
    if pk is None:
        return None
    at = _transactions(requester, environment).filter(pk=pk).values_list("created_at", flat=True).first()
    return (at, pk) if at is not None else None


def statement_page(
    requester: Requester, environment: str, *, before: int | None = None, after: int | None = None,
    size: int | None = None,
) -> StatementPage:
    """One page of the statement, newest first: the newest page, the page older than transaction ``before``, or
    the page newer than transaction ``after`` (keys that are not the requester's show the newest page)."""
    size = size or PAGE_SIZE
    base = _transactions(requester, environment)
    newer_than, older_than = _position(requester, environment, after), _position(requester, environment, before)
    if newer_than is not None:
        txns = list(reversed(_rows(_newer(base, *newer_than).order_by("created_at", "id")[:size])))
    elif older_than is not None:
        txns = _rows(_older(base, *older_than).order_by(*_NEWEST_FIRST)[:size])
    else:
        txns = _rows(base.order_by(*_NEWEST_FIRST)[:size])
    if not txns:
        return StatementPage([], None, None)
    newest, oldest = txns[0], txns[-1]
    available, escrow = _balances_after(requester, environment, newest.created_at, newest.pk)
    lines, _, _ = _lines(requester, txns, available, escrow)
    return StatementPage(
        lines,
        newer_after=newest.pk if _newer(base, newest.created_at, newest.pk).exists() else None,
        older_before=oldest.pk if _older(base, oldest.created_at, oldest.pk).exists() else None,
    )


def statement_lines(
    requester: Requester, environment: str, *, chunk: int | None = None
) -> Iterator[StatementLine]:
    """The whole statement, newest first, read ``chunk`` transactions at a time (for the CSV export). Movements
    booked while it is being read are left out: it ends at the newest transaction there was when it began."""
    chunk = chunk or EXPORT_CHUNK
    base = _transactions(requester, environment)
    newest = base.order_by(*_NEWEST_FIRST).values_list("created_at", "id").first()
    if newest is None:
        return
    available, escrow = _balances_after(requester, environment, *newest)
    txns = _rows(base.filter(pk=newest[1]))
    while txns:
        lines, available, escrow = _lines(requester, txns, available, escrow)
        yield from lines
        last = txns[-1]
        txns = _rows(_older(base, last.created_at, last.pk).order_by(*_NEWEST_FIRST)[:chunk])


# --- the home page --------------------------------------------------------------------------------------------

def latest_batches(requester: Requester, environment: str, count: int = LATEST_BATCHES) -> list[BatchSummary]:
    """The requester's newest batches in ``environment``, with their assignments counted by state."""
    batches = list(
        Batch.objects.filter(requester=requester, environment=environment).order_by("-created_at", "-pk")[:count]
    )
    if not batches:
        return []
    counts = (
        HIT.objects.filter(batch__in=batches).values("batch_id")
        .annotate(slots=Sum("max_assignments"), working=Sum("pending"), waiting=Sum("submitted"),
                  done=Sum("completed"))
        .values_list("batch_id", "slots", "working", "waiting", "done")
    )
    totals: dict[str, tuple[int, int, int, int]] = {
        batch_id: (slots or 0, working or 0, waiting or 0, done or 0)
        for batch_id, slots, working, waiting, done in counts
    }
    summaries = []
    for batch in batches:
        slots, working, waiting, done = totals.get(batch.pk, (0, 0, 0, 0))
        summaries.append(BatchSummary(batch=batch, assignments=slots, in_progress=working,
                                      awaiting_review=waiting, reviewed=done))
    return summaries
