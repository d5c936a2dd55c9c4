"""The double-entry ledger itself: balanced, booked once per key, one environment per transaction, cached
balances for requester accounts only, and ``problems()`` finding what is wrong."""

from __future__ import annotations

import pytest

from kempelen.core.errors import InsufficientFunds, InvalidParameter
from kempelen.ledger import actions as ledger
from kempelen.ledger.models import AccountKind, LedgerAccount, LedgerTransaction
from kempelen.ledger.queries import balance, problems, requester_balances
from kempelen.marketplace.invariants import escrow_problems
from tests.conftest import OPERATOR, make_requester, make_worker

pytestmark = pytest.mark.django_db


def accounts(requester):
    return (
        ledger.account_for(AccountKind.REQUESTER_AVAILABLE, "live", requester=requester),
        ledger.account_for(AccountKind.REQUESTER_ESCROW, "live", requester=requester),
    )


def test_a_key_is_booked_once():
    r = make_requester(funds_cents=0).requester
    assert ledger.deposit(requester=r, environment="live", cents=500, key="dep-1", actor=OPERATOR)
    assert not ledger.deposit(requester=r, environment="live", cents=500, key="dep-1", actor=OPERATOR)
    assert requester_balances(r, "live") == (500, 0)
    assert LedgerTransaction.objects.filter(idempotency_key="dep-1").count() == 1


def test_unbalanced_and_mixed_transactions_are_refused():
    r = make_requester().requester
    available, escrow = accounts(r)
    sandbox = ledger.account_for(AccountKind.REQUESTER_ESCROW, "sandbox", requester=r)
    with pytest.raises(ValueError, match="unbalanced"):
        ledger.post(key="bad-1", kind="test", environment="live", legs=[(available, -5), (escrow, 4)], actor=OPERATOR)
    with pytest.raises(ValueError, match="mixes environments"):
        ledger.post(key="bad-2", kind="test", environment="live", legs=[(available, -5), (sandbox, 5)], actor=OPERATOR)
    assert not LedgerTransaction.objects.filter(idempotency_key__startswith="bad-").exists()


def test_deposits_must_be_positive_and_reserves_need_funds():
    r = make_requester(funds_cents=100).requester
    with pytest.raises(InvalidParameter):
        ledger.deposit(requester=r, environment="live", cents=0, key="zero", actor=OPERATOR)
    with pytest.raises(InsufficientFunds):
        ledger.reserve(requester=r, environment="live", cents=101, key="too-much", actor=OPERATOR, hit_id="")
    assert ledger.reserve(requester=r, environment="live", cents=100, key="all", actor=OPERATOR, hit_id="")
    assert requester_balances(r, "live") == (0, 100)
    # No HIT holds this escrow: give it back, as an expiry would.
    assert ledger.release(requester=r, environment="live", cents=100, key="back", actor=OPERATOR, hit_id="")
    assert requester_balances(r, "live") == (100, 0)


def test_credited_accounts_are_sums_and_requester_accounts_caches():
    r = make_requester().requester
    w = make_worker()
    ledger.ensure_worker_account(w, "live")
    ledger.reserve(requester=r, environment="live", cents=120, key="res", actor=OPERATOR, hit_id="H")
    ledger.pay_from_escrow(requester=r, worker=w, environment="live", reward_cents=100, fee_cents=20, key="pay",
                           actor=OPERATOR, hit_id="H", assignment_id="A")
    assert balance(AccountKind.WORKER_EARNINGS, "live", worker=w) == 100
    assert balance(AccountKind.PLATFORM_FEES, "live") == 20
    assert LedgerAccount.objects.get(kind=AccountKind.WORKER_EARNINGS, worker=w).balance_cents == 0  # not cached
    assert balance(AccountKind.REQUESTER_AVAILABLE, "live", requester=r) == 100_000 - 120
    assert problems() == []


def test_problems_finds_a_stale_cache_and_escrow_problems_a_hit_out_of_step():
    from tests.lifecycle.kit import new_hit

    r = make_requester().requester
    available, _ = accounts(r)
    LedgerAccount.objects.filter(pk=available.pk).update(balance_cents=available.balance_cents + 1)
    assert any("cached balance" in p for p in problems())
    LedgerAccount.objects.filter(pk=available.pk).update(balance_cents=available.balance_cents)
    hit = new_hit(r)
    type(hit).objects.filter(pk=hit.pk).update(escrow_cents=hit.escrow_cents + 1)
    found = escrow_problems()
    assert any("open slots" in p for p in found)
    type(hit).objects.filter(pk=hit.pk).update(escrow_cents=hit.escrow_cents, next_due_at=None)
    assert any("unsettled expiry" in p for p in escrow_problems())
    type(hit).objects.filter(pk=hit.pk).update(next_due_at=hit.next_due_at)
    assert escrow_problems() == []
