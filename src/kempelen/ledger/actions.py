"""Money movements. Every one is a balanced transaction with an idempotency key the database keeps unique.

Accounts per environment: a requester's *available* funds and *escrow*; a worker's *earnings*; the platform's
*fees*; and *external* (the world outside: deposits in, payouts out, and the sandbox's fake money).

Escrow holds what a requester's live HITs could still cost: reward plus fee for every slot that is not yet
resolved. It is reserved when HITs are created or extended, paid out on approval, and released back to
available funds on rejection and for slots that end unused.

Callers run these inside their own action's transaction. Locking, so that concurrent actions never deadlock
on money:

- Every movement of a requester's money first locks that requester's *available* account row, and only then
  touches their escrow. A requester's two accounts are thus always taken in one order, and the available
  account is the requester's money lock (its balance is checked under it before anything is debited).
- Only the requester accounts keep a cached balance (``balance_cents``), changed under that lock. Worker
  earnings, platform fees and the external account are only ever credited by these movements, so nothing is
  checked against them; their balances are the sums of their entries, and their rows are never locked. (A
  cached platform-fees balance would be one row updated by every payment on the instance: every payment
  would queue behind it, and two actions paying two workers in opposite orders would deadlock.)
- A worker's earnings account is created when the worker accepts work (:func:`ensure_worker_account`), not
  inside a payment, where two payments creating it at once could wait on each other's uncommitted insert.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F

from kempelen.accounts.models import Requester, Worker
from kempelen.core import clock, ids, lookups
from kempelen.core.actors import Actor
from kempelen.core.errors import InsufficientFunds, InvalidParameter

from .models import CACHED_KINDS, AccountKind, LedgerAccount, LedgerEntry, LedgerTransaction

# Requester accounts are locked available-first; the cached balances are updated in this order too.
_LOCK_ORDER: dict[str, int] = {AccountKind.REQUESTER_AVAILABLE: 0, AccountKind.REQUESTER_ESCROW: 1}


def _key(kind: str, environment: str, requester: Requester | None, worker: Worker | None) -> str:
    owner = f"r{requester.pk}" if requester else f"w{worker.pk}" if worker else "platform"
    return f"{environment}:{kind}:{owner}"


def account_for(
    kind: str, environment: str, *, requester: Requester | None = None, worker: Worker | None = None
) -> LedgerAccount:
    key = _key(kind, environment, requester, worker)
    account = lookups.one(LedgerAccount, "key = %s", [key])
    if account is None:
        try:
            with transaction.atomic():
                account = LedgerAccount.objects.create(
                    key=key, kind=kind, environment=environment, requester=requester, worker=worker
                )
        except IntegrityError:
            account = LedgerAccount.objects.get(key=key)
    return account


def lock_requester_funds(requester: Requester, environment: str) -> LedgerAccount:
    """Lock (and return) the requester's available account: the lock every movement of their money takes first."""
    key = _key(AccountKind.REQUESTER_AVAILABLE, environment, requester, None)
    account = lookups.one(LedgerAccount, "key = %s", [key], for_update=True)
    if account is None:  # the requester's first movement in this environment
        created = account_for(AccountKind.REQUESTER_AVAILABLE, environment, requester=requester)
        account = LedgerAccount.objects.select_for_update().get(pk=created.pk)
    return account


#: Worker earnings accounts this process has seen exist (accounts are never deleted), by key.
_known_worker_accounts: set[str] = set()


def ensure_worker_account(worker: Worker, environment: str) -> None:
    """Create the worker's earnings account ahead of any payment to it (see the module's notes on locking)."""
    key = _key(AccountKind.WORKER_EARNINGS, environment, None, worker)
    if key in _known_worker_accounts:
        return
    account_for(AccountKind.WORKER_EARNINGS, environment, worker=worker)
    # Remembered only once the creating transaction commits (a rolled-back accept must not leave it remembered).
    transaction.on_commit(lambda: _known_worker_accounts.add(key))


def forget_known_accounts() -> None:
    """Drop what this process remembers of existing accounts (tests reuse a database's keys after emptying it)."""
    _known_worker_accounts.clear()


def post(
    *,
    key: str,
    kind: str,
    environment: str,
    legs: Sequence[tuple[LedgerAccount, int]],
    actor: Actor,
    memo: str = "",
    requester: Requester | None = None,
    worker: Worker | None = None,
    hit_id: str = "",
    assignment_id: str = "",
    new_key: bool = False,
) -> bool:
    """Book a balanced transaction once. Returns False (and books nothing) if ``key`` was booked before.

    The caller holds the lock of any requester whose accounts are among the legs (:func:`lock_requester_funds`).
    ``new_key`` says the key was just made unique (it contains a fresh random id): then there is nothing to look
    up first, and a clash would be a bug that must fail the whole action rather than be skipped.
    """
    legs = [(acct, cents) for acct, cents in legs if cents]
    if sum(c for _, c in legs) != 0:
        raise ValueError(f"unbalanced ledger transaction {key}: {legs}")
    if any(acct.environment != environment for acct, _ in legs):
        raise ValueError(f"ledger transaction {key} mixes environments: {legs}")
    if new_key:
        _book_entries(key, kind, environment, legs, actor, memo, requester, worker, hit_id, assignment_id)
        return True
    if LedgerTransaction.objects.filter(idempotency_key=key).exists():
        return False
    try:
        with transaction.atomic():
            _book_entries(key, kind, environment, legs, actor, memo, requester, worker, hit_id, assignment_id)
    except IntegrityError:
        return False
    return True


def _book_entries(
    key: str,
    kind: str,
    environment: str,
    legs: Sequence[tuple[LedgerAccount, int]],
    actor: Actor,
    memo: str,
    requester: Requester | None,
    worker: Worker | None,
    hit_id: str,
    assignment_id: str,
) -> None:
    """Insert one transaction with its entries and move the cached balances it touches."""
    txn = LedgerTransaction.objects.create(
        idempotency_key=key,
        kind=kind,
        environment=environment,
        created_at=clock.now(),
        memo=memo[:1024],
        actor=str(actor)[:100],
        requester=requester,
        worker=worker,
        hit_id=hit_id,
        assignment_id=assignment_id,
    )
    LedgerEntry.objects.bulk_create(
        [LedgerEntry(transaction=txn, account=acct, amount_cents=cents) for acct, cents in legs]
    )
    cached = sorted(
        ((acct, cents) for acct, cents in legs if acct.kind in CACHED_KINDS),
        key=lambda leg: (_LOCK_ORDER.get(leg[0].kind, 9), leg[0].pk),
    )
    for acct, cents in cached:
        LedgerAccount.objects.filter(pk=acct.pk).update(balance_cents=F("balance_cents") + cents)




def _sandbox_credit_if_needed(requester: Requester, available: LedgerAccount, needed: int, actor: Actor) -> None:
    """The sandbox's money is fake: top the available funds up so that sandbox work never runs short."""
    shortfall = needed - available.balance_cents
    if shortfall <= 0:
        return
    grant = max(shortfall, int(str(settings.KEMPELEN["SANDBOX_BALANCE_CENTS"])))
    post(
        key=f"sandbox-credit:{requester.pk}:{ids.entity_id()}",
        kind="sandbox_credit",
        environment="sandbox",
        legs=[(available, grant), (account_for(AccountKind.EXTERNAL, "sandbox"), -grant)],
        actor=actor,
        requester=requester,
        memo="Sandbox credit (fake money)",
    )
    available.refresh_from_db(fields=["balance_cents"])


def deposit(*, requester: Requester, environment: str, cents: int, key: str, actor: Actor, memo: str = "") -> bool:
    if cents <= 0:
        raise InvalidParameter("A deposit must be a positive amount.")
    with transaction.atomic():
        lock_requester_funds(requester, environment)
        return post(
            key=key,
            kind="deposit",
            environment=environment,
            legs=[
                (account_for(AccountKind.REQUESTER_AVAILABLE, environment, requester=requester), cents),
                (account_for(AccountKind.EXTERNAL, environment), -cents),
            ],
            actor=actor,
            requester=requester,
            memo=memo or "Deposit",
        )


def _debit_available(
    requester: Requester, environment: str, cents: int, actor: Actor
) -> LedgerAccount:
    """Lock the requester's available funds and check that ``cents`` can be taken from them."""
    available = lock_requester_funds(requester, environment)
    if environment == "sandbox":
        _sandbox_credit_if_needed(requester, available, cents, actor)
    elif available.balance_cents < cents:
        raise InsufficientFunds()
    return available


def reserve(
    *,
    requester: Requester,
    environment: str,
    cents: int,
    key: str,
    actor: Actor,
    hit_id: str,
    memo: str = "",
    new_key: bool = False,
) -> bool:
    """Move ``cents`` from available funds into escrow, or refuse with InsufficientFunds."""
    if cents <= 0:
        return False
    available = _debit_available(requester, environment, cents, actor)
    escrow = account_for(AccountKind.REQUESTER_ESCROW, environment, requester=requester)
    return post(
        key=key,
        kind="escrow_reserve",
        environment=environment,
        legs=[(available, -cents), (escrow, cents)],
        actor=actor,
        requester=requester,
        hit_id=hit_id,
        memo=memo,
        new_key=new_key,
    )


def release(
    *,
    requester: Requester,
    environment: str,
    cents: int,
    key: str,
    actor: Actor,
    hit_id: str,
    memo: str = "",
    new_key: bool = False,
) -> bool:
    """Return ``cents`` from escrow to available funds (rejections, slots that end unused)."""
    if cents <= 0:
        return False
    available = lock_requester_funds(requester, environment)
    return post(
        key=key,
        kind="escrow_release",
        environment=environment,
        legs=[(account_for(AccountKind.REQUESTER_ESCROW, environment, requester=requester), -cents), (available, cents)],
        actor=actor,
        requester=requester,
        hit_id=hit_id,
        memo=memo,
        new_key=new_key,
    )


def pay_from_escrow(
    *,
    requester: Requester,
    worker: Worker,
    environment: str,
    reward_cents: int,
    fee_cents: int,
    key: str,
    actor: Actor,
    hit_id: str,
    assignment_id: str,
) -> bool:
    """Pay an approved assignment: the reward to the worker and the fee to the platform, out of escrow."""
    lock_requester_funds(requester, environment)
    escrow = account_for(AccountKind.REQUESTER_ESCROW, environment, requester=requester)
    return post(
        key=key,
        kind="assignment_payment",
        environment=environment,
        legs=[
            (escrow, -(reward_cents + fee_cents)),
            (account_for(AccountKind.WORKER_EARNINGS, environment, worker=worker), reward_cents),
            (account_for(AccountKind.PLATFORM_FEES, environment), fee_cents),
        ],
        actor=actor,
        requester=requester,
        worker=worker,
        hit_id=hit_id,
        assignment_id=assignment_id,
        memo=f"Payment for assignment {assignment_id}",
    )


def pay_bonus(
    *,
    requester: Requester,
    worker: Worker,
    environment: str,
    bonus_cents: int,
    fee_cents: int,
    key: str,
    actor: Actor,
    hit_id: str,
    assignment_id: str,
    reason: str,
) -> bool:
    """Pay a bonus and its fee straight from available funds, or refuse with InsufficientFunds."""
    available = _debit_available(requester, environment, bonus_cents + fee_cents, actor)
    return post(
        key=key,
        kind="bonus",
        environment=environment,
        legs=[
            (available, -(bonus_cents + fee_cents)),
            (account_for(AccountKind.WORKER_EARNINGS, environment, worker=worker), bonus_cents),
            (account_for(AccountKind.PLATFORM_FEES, environment), fee_cents),
        ],
        actor=actor,
        requester=requester,
        worker=worker,
        hit_id=hit_id,
        assignment_id=assignment_id,
        memo=reason,
    )
