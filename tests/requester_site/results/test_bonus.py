"""Bonuses from an assignment's page: amount and reason required, paid through SendBonus, the balance checked."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from kempelen.ledger.models import AccountKind
from kempelen.ledger.queries import balance, requester_balances
from kempelen.marketplace.models import BonusPayment
from tests.conftest import make_requester, make_worker
from tests.kits import main

from .kit import BatchKit, make_batch, work

pytestmark = pytest.mark.django_db


def send(kit: BatchKit, assignment_id: str, **data: str):  # type: ignore[no-untyped-def]
    data.setdefault("token", "form-1")
    return kit.browser().post(reverse("requester:results_bonus", args=[kit.batch.pk, assignment_id]), data)


def test_a_bonus_is_paid_to_the_worker_with_its_reason():
    kit = make_batch(environment="live")
    ada = make_worker()
    done = work(kit, kit.hits[0], ada)
    available_before, _ = requester_balances(kit.requester, "live")
    response = send(kit, done.pk, amount="$1.25", reason="For the careful comments.")
    assert response.status_code == 302
    assert [str(m) for m in get_messages(response.wsgi_request)] == [f"Sent a bonus of $1.25 to worker {ada.worker_id}."]
    bonus = BonusPayment.objects.get()
    assert (bonus.worker, bonus.assignment_id, bonus.amount_cents, bonus.reason) == (
        ada, done.pk, 125, "For the careful comments.")
    assert balance(AccountKind.WORKER_EARNINGS, "live", worker=ada) == 125
    assert requester_balances(kit.requester, "live")[0] == available_before - 125 - bonus.fee_cents
    page = main(kit.browser().get(reverse("requester:results_assignment", args=[kit.batch.pk, done.pk])).content)
    assert "$1.25 on" in page and "For the careful comments." in page


def test_the_same_form_sent_twice_pays_once():
    kit = make_batch()
    done = work(kit, kit.hits[0])
    send(kit, done.pk, amount="0.50", reason="Thanks", token="same")
    response = send(kit, done.pk, amount="0.50", reason="Thanks", token="same")
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "This bonus was already sent (the form was submitted twice); nothing more was paid."]
    assert BonusPayment.objects.count() == 1


@pytest.mark.parametrize(("amount", "reason", "message"), [
    ("", "Thanks", "Bonus amount in US dollars: This field is required."),
    ("abc", "Thanks", "The bonus amount must be an amount in US dollars with at most two decimals"),
    ("0.001", "Thanks", "The bonus amount must be an amount in US dollars with at most two decimals"),
    ("0", "Thanks", "The bonus amount must be more than $0.00."),
    ("-1", "Thanks", "The bonus amount must be an amount in US dollars"),
    ("1.00", "   ", "Reason (the worker sees it): This field is required."),
    ("1.00", "bad \x01 text", "The reason contains control characters that are not allowed."),
])
def test_a_bonus_needs_an_amount_and_a_reason(amount, reason, message):
    kit = make_batch()
    done = work(kit, kit.hits[0])
    response = send(kit, done.pk, amount=amount, reason=reason)
    assert response.status_code == 400
    page = main(response.content)
    assert "Nothing was changed" in page and message in page
    assert not BonusPayment.objects.exists()


def test_a_bonus_larger_than_the_balance_is_refused_clearly():
    requester = make_requester(funds_cents=200).requester
    kit = make_batch(requester, environment="live", reward_cents=10)
    ada = make_worker()
    done = work(kit, kit.hits[0], ada)
    available, _ = requester_balances(requester, "live")
    response = send(kit, done.pk, amount="5.00", reason="Great work")
    assert response.status_code == 400
    page = main(response.content)
    assert (f"Your available balance (${available // 100}.{available % 100:02d}) does not cover a bonus of $5.00 "
            "and its fee. Add funds, then send it again. Nothing was paid.") in page
    assert not BonusPayment.objects.exists()
    assert balance(AccountKind.WORKER_EARNINGS, "live", worker=ada) == 0
