"""Operators add funds to a requester's balance in the Django admin: audited, and once per submitted form."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from kempelen.accounts import actions as accounts
from kempelen.accounts import actions_requester
from kempelen.core.actors import Actor
from kempelen.core.errors import InvalidParameter
from kempelen.core.models import AuditEvent
from kempelen.ledger.models import LedgerTransaction
from kempelen.ledger.queries import requester_balances
from tests.conftest import OPERATOR, make_requester
from tests.kits import text

pytestmark = pytest.mark.django_db


def _operator() -> Client:
    user = accounts.create_operator(actor=OPERATOR, username="ops", email="ops@example.org", password="x" * 12)
    browser = Client()
    browser.force_login(user)  # type: ignore[arg-type]
    return browser


def _page(requester_pk: int) -> str:
    return reverse("admin:accounts_requester_add_funds", args=[requester_pk])


def _form(browser: Client, requester_pk: int, **values: str) -> dict[str, str]:
    page = browser.get(_page(requester_pk))
    assert page.status_code == 200
    request_id = re.search(rb'name="request_id" value="([0-9a-f]{32})"', page.content)
    assert request_id
    return {"amount": "250.75", "environment": "live", "memo": "Invoice 2026-014",
            "request_id": request_id.group(1).decode(), **values}


def test_the_requester_admin_offers_add_funds_and_shows_balances():
    requester = make_requester(funds_cents=1_000).requester
    browser = _operator()
    change = browser.get(reverse("admin:accounts_requester_change", args=[requester.pk]))
    assert change.status_code == 200
    assert _page(requester.pk) in change.content.decode()
    assert "live: available $10.00, in escrow $0.00" in text(change.content)
    assert _page(requester.pk) in browser.get(reverse("admin:accounts_requester_changelist")).content.decode()


def test_an_operator_adds_funds_with_a_memo_and_it_is_audited():
    requester = make_requester(funds_cents=1_000).requester
    browser = _operator()
    response = browser.post(_page(requester.pk), _form(browser, requester.pk), follow=True)
    assert "Deposited $250.75 into the live balance" in text(response.content)
    assert requester_balances(requester, "live") == (26_075, 0)
    deposit = LedgerTransaction.objects.get(requester=requester, kind="deposit", memo="Invoice 2026-014")
    assert deposit.actor == "operator:ops"
    event = AuditEvent.objects.get(action="add_funds")
    assert event.actor == "operator:ops" and event.environment == "live"
    assert event.target_id == requester.customer_id and event.data["cents"] == 25_075


def test_the_same_form_submitted_twice_deposits_once():
    requester = make_requester(funds_cents=0).requester
    browser = _operator()
    form = _form(browser, requester.pk, amount="40")
    browser.post(_page(requester.pk), form)
    again = browser.post(_page(requester.pk), form, follow=True)
    assert "This form had been submitted already: the deposit was made once and not repeated." in text(again.content)
    assert requester_balances(requester, "live") == (4_000, 0)
    assert LedgerTransaction.objects.filter(requester=requester, kind="deposit").count() == 1
    assert AuditEvent.objects.filter(action="add_funds").count() == 1
    # A fresh form is a new deposit.
    browser.post(_page(requester.pk), _form(browser, requester.pk, amount="40"))
    assert requester_balances(requester, "live") == (8_000, 0)


def test_funds_go_to_the_chosen_environment_only():
    requester = make_requester(funds_cents=0).requester
    browser = _operator()
    browser.post(_page(requester.pk), _form(browser, requester.pk, amount="5.05", environment="sandbox"))
    assert requester_balances(requester, "sandbox") == (505, 0)
    assert requester_balances(requester, "live") == (0, 0)


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("0", "The amount must be more than $0.00."),
        ("-5", "The amount must be an amount in US dollars with at most two decimals"),
        ("1.234", "The amount must be an amount in US dollars with at most two decimals"),
        ("ten", "The amount must be an amount in US dollars with at most two decimals"),
        ("1000001", "One deposit can be at most $1,000,000."),
    ],
)
def test_a_bad_amount_is_explained_and_deposits_nothing(amount, message):
    requester = make_requester(funds_cents=0).requester
    browser = _operator()
    response = browser.post(_page(requester.pk), _form(browser, requester.pk, amount=amount))
    assert response.status_code == 200
    assert message in text(response.content)
    assert not LedgerTransaction.objects.filter(requester=requester).exists()


def test_a_tampered_request_id_or_environment_deposits_nothing():
    requester = make_requester(funds_cents=0).requester
    browser = _operator()
    bad_id = browser.post(_page(requester.pk), _form(browser, requester.pk, request_id="not-a-uuid"))
    assert "The form has expired. Open it again." in text(bad_id.content)
    bad_env = browser.post(_page(requester.pk), _form(browser, requester.pk, environment="production"))
    assert "Select a valid choice." in text(bad_env.content)
    assert not LedgerTransaction.objects.filter(requester=requester).exists()


def test_only_operators_may_add_funds(client):
    requester = make_requester(funds_cents=0).requester
    assert client.get(_page(requester.pk))["Location"].startswith("/admin/login/")
    staff = get_user_model().objects.create_user("viewer", password="x" * 12, is_staff=True)
    client.force_login(staff)
    assert client.get(_page(requester.pk)).status_code == 403
    assert client.post(_page(requester.pk), {"amount": "5", "environment": "live", "memo": "",
                                             "request_id": "a" * 32}).status_code == 403
    assert not LedgerTransaction.objects.filter(requester=requester).exists()


def test_an_unknown_requester_is_not_found():
    requester = make_requester(funds_cents=0).requester
    assert _operator().get(_page(requester.pk + 1000)).status_code == 404


def test_the_action_refuses_bad_input_itself():
    requester = make_requester(funds_cents=0).requester
    actor = Actor.operator("ops")
    for kwargs in ({"environment": "prod"}, {"cents": 0}, {"request_id": "x"}):
        params = {"environment": "live", "cents": 100, "request_id": "b" * 32, **kwargs}
        with pytest.raises(InvalidParameter):
            actions_requester.add_funds(actor=actor, requester=requester, **params)  # type: ignore[arg-type]
    assert not LedgerTransaction.objects.filter(requester=requester).exists()
