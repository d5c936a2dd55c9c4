"""Reading balances and checking the ledger's invariants."""

from __future__ import annotations

from django.db.models import Sum

from kempelen.accounts.models import Requester, Worker

from .models import CACHED_KINDS, AccountKind, LedgerAccount, LedgerEntry


def balance(kind: str, environment: str, *, requester: Requester | None = None, worker: Worker | None = None) -> int:
    account = LedgerAccount.objects.filter(
        kind=kind, environment=environment, requester=requester, worker=worker
    ).first()
    if account is None:
        return 0
    if account.kind in CACHED_KINDS:
        return account.balance_cents
    return LedgerEntry.objects.filter(account=account).aggregate(total=Sum("amount_cents"))["total"] or 0


def requester_balances(requester: Requester, environment: str) -> tuple[int, int]:
    """(available, in escrow) in cents."""
    rows = dict(
        LedgerAccount.objects.filter(requester=requester, environment=environment).values_list(
            "kind", "balance_cents"
        )
    )
    return rows.get(AccountKind.REQUESTER_AVAILABLE, 0), rows.get(AccountKind.REQUESTER_ESCROW, 0)


def problems() -> list[str]:
    """Everything wrong with the ledger: unbalanced transactions, stale balance caches, negative funds."""
    found: list[str] = []
    unbalanced = (
        LedgerEntry.objects.values("transaction_id")
        .annotate(total=Sum("amount_cents"))
        .exclude(total=0)
        .values_list("transaction_id", flat=True)
    )
    found += [f"transaction {t} does not balance" for t in unbalanced]
    sums = dict(LedgerEntry.objects.values("account_id").annotate(total=Sum("amount_cents")).values_list("account_id", "total"))
    for account in LedgerAccount.objects.all():
        actual = sums.get(account.pk, 0) or 0
        cached = account.balance_cents if account.kind in CACHED_KINDS else 0
        if account.kind in CACHED_KINDS and actual != cached:
            found.append(f"{account.key}: cached balance {cached} != entries {actual}")
        elif account.kind not in CACHED_KINDS and account.balance_cents != 0:
            found.append(f"{account.key}: summed account has a cached balance {account.balance_cents}")
        if account.kind != AccountKind.EXTERNAL and actual < 0:
            found.append(f"{account.key} is negative: {actual}")
    return found
