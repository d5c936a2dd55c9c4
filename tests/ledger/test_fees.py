"""Commission (§11): 20% of rewards and bonuses, +20% for HITs with 10 or more assignments (rewards only),
+5% with a Masters requirement, half-up rounding to the cent, a minimum fee per assignment or bonus."""

from __future__ import annotations

import pytest

from kempelen.core.money import bonus_fee, percent_of, reward_fee
from kempelen.ledger.models import LedgerTransaction
from tests.conftest import make_requester, make_worker
from tests.lifecycle.kit import (
    MASTERS_LIVE,
    accept,
    approve,
    earnings,
    funds,
    new_hit,
    platform_fees,
    submit,
)

MASTERS = [{"QualificationTypeId": MASTERS_LIVE, "Comparator": "Exists"}]


@pytest.mark.parametrize(
    ("reward", "assignments", "masters", "fee"),
    [
        (50, 1, False, 10),  # 20%
        (50, 9, False, 10),
        (50, 10, False, 20),  # 40% from 10 assignments
        (100, 1, True, 25),  # 25% with Masters
        (100, 10, True, 45),  # 45%: both surcharges
        (52, 1, False, 10),  # 10.4 cents → 10
        (42, 1, True, 11),  # 10.5 cents → 11 (half-up)
        (6, 1, True, 2),  # 1.5 → 2
        (10, 10, True, 5),  # 4.5 → 5
        (1, 1, False, 1),  # 0.2 cents → the 1-cent minimum
        (0, 1, False, 0),  # no reward, no fee
    ],
)
def test_reward_fee(reward, assignments, masters, fee):
    assert reward_fee(reward, assignments, masters=masters) == fee


def test_half_up_rounding():
    assert percent_of(52, 20) == 10  # $0.104 → $0.10
    assert percent_of(42, 25) == 11  # $0.105 → $0.11
    assert percent_of(2, 25) == 1  # $0.005 → $0.01


def test_bonus_fee_has_no_large_hit_surcharge_and_a_minimum():
    assert bonus_fee(100) == 20
    assert bonus_fee(1234) == 247  # 246.8
    assert bonus_fee(2) == 1
    assert bonus_fee(0) == 0


def test_minimum_fee_setting(settings):
    settings.KEMPELEN = {**settings.KEMPELEN, "MINIMUM_FEE_CENTS": 5}
    assert reward_fee(10, 1, masters=False) == 5
    assert reward_fee(100, 1, masters=False) == 20
    assert bonus_fee(10) == 5
    settings.KEMPELEN = {**settings.KEMPELEN, "MINIMUM_FEE_CENTS": 0}
    assert reward_fee(1, 1, masters=False) == 0


def test_fee_percent_settings(settings):
    settings.KEMPELEN = {**settings.KEMPELEN, "FEE_PERCENT": 10.0, "LARGE_HIT_SURCHARGE_PERCENT": 0.0}
    assert reward_fee(100, 1, masters=False) == 10
    assert reward_fee(100, 20, masters=False) == 10


@pytest.mark.django_db
@pytest.mark.parametrize(("assignments", "masters", "unit"), [(1, False, 120), (10, False, 140), (2, True, 125)])
def test_escrow_and_payment_use_the_hit_fee(assignments, masters, unit):
    handle = make_requester()
    r = handle.requester
    hit = new_hit(r, reward_cents=100, max_assignments=assignments, requirements=MASTERS if masters else None)
    assert hit.unit_cost_cents == unit
    assert funds(r) == (100_000 - unit * assignments, unit * assignments)
    master = make_worker()
    master.is_master_live = True
    master.save()
    a = submit(master, accept(master, hit))
    fees_before = platform_fees()
    approve(r, a)
    assert earnings(master) == 100
    assert platform_fees() - fees_before == unit - 100
    payment = LedgerTransaction.objects.get(kind="assignment_payment", assignment_id=a.pk)
    assert sorted(e.amount_cents for e in payment.entries.all()) == sorted([-unit, 100, unit - 100])
