"""The statement as CSV: streamed, its columns, every kind of movement, exact amounts, balances that add up."""

from __future__ import annotations

import itertools
import re

import pytest
from django.http import StreamingHttpResponse
from django.test import Client
from django.urls import reverse

from kempelen.ledger import actions as ledger
from kempelen.ledger.queries import requester_balances
from kempelen.requester_site import queries_money
from kempelen.requester_site.views_money import CSV_COLUMNS
from tests.conftest import OPERATOR, make_requester, make_worker
from tests.lifecycle.kit import new_hit

from .kit import csv_rows, live_story

pytestmark = pytest.mark.django_db
CSV = reverse("requester:statement_csv")


def _browser(requester, environment: str) -> Client:  # type: ignore[no-untyped-def]
    from tests.requester_site.conftest import signed_in

    return signed_in(requester, environment)


def _cents(text: str) -> int:
    assert re.fullmatch(r"-?\d+\.\d\d", text), text
    sign = -1 if text.startswith("-") else 1
    whole, cents = text.lstrip("-").split(".")
    return sign * (int(whole) * 100 + int(cents))


def test_anonymous_visitors_are_sent_to_sign_in_and_workers_refused():
    assert Client().get(CSV)["Location"].startswith(reverse("requester:login"))
    browser = Client()
    browser.force_login(make_worker().user)
    assert browser.get(CSV).status_code == 403


def test_the_csv_is_streamed_as_a_named_attachment_with_its_columns():
    handle = make_requester(funds_cents=100)
    response = _browser(handle.requester, "live").get(CSV)
    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert re.fullmatch(r'attachment; filename="kempelen-statement-live-\d{4}-\d\d-\d\d\.csv"',
                        response["Content-Disposition"])
    body = b"".join(response.streaming_content).decode()
    assert body.splitlines()[0] == ",".join(CSV_COLUMNS)
    assert CSV_COLUMNS == ("date", "kind", "description", "amount", "available_change", "escrow_change",
                           "available_balance", "escrow_balance", "hit_id", "assignment_id", "worker_id",
                           "transaction_id")


def test_every_kind_of_movement_appears_with_exact_amounts_in_dollars(move_clock):
    handle = make_requester()
    story = live_story(handle.requester, move_clock)
    rows = csv_rows(_browser(handle.requester, "live").get(CSV))
    assert [r["kind"] for r in rows] == ["Escrow released", "Escrow reserved", "Fee", "Bonus", "Refund", "Fee",
                                         "Payment", "Escrow reserved", "Deposit"]
    by_kind = {(r["kind"], r["assignment_id"] or r["hit_id"]): r for r in rows}
    payment = by_kind[("Payment", story.paid.pk)]
    assert (payment["amount"], payment["available_change"], payment["escrow_change"]) == ("0.50", "0.00", "-0.50")
    assert payment["worker_id"] == story.worker.worker_id and payment["hit_id"] == story.busy_hit.pk
    bonus = by_kind[("Bonus", story.paid.pk)]
    assert (bonus["amount"], bonus["available_change"], bonus["escrow_change"]) == ("1.00", "-1.00", "0.00")
    assert bonus["description"].endswith(": Great work")
    fees = sorted(r["amount"] for r in rows if r["kind"] == "Fee")
    assert fees == ["0.10", "0.20"]
    refund = next(r for r in rows if r["kind"] == "Refund")
    assert (refund["amount"], refund["available_change"], refund["escrow_change"]) == ("0.60", "0.60", "-0.60")
    assert story.rejected.pk in refund["description"]
    released = rows[0]
    assert released["hit_id"] == story.expired_hit.pk and released["available_balance"] == "998.20"
    deposit = rows[-1]
    assert (deposit["amount"], deposit["available_balance"], deposit["escrow_balance"]) == ("1000.00", "1000.00", "0.00")
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", r["date"]) for r in rows)


def test_balances_in_the_csv_add_up_to_the_ledgers(move_clock):
    handle = make_requester()
    live_story(handle.requester, move_clock)
    ledger.deposit(requester=handle.requester, environment="live", cents=1_234, key="odd", actor=OPERATOR,
                   memo="Odd cents")
    rows = csv_rows(_browser(handle.requester, "live").get(CSV))
    available, escrow = requester_balances(handle.requester, "live")
    assert (_cents(rows[0]["available_balance"]), _cents(rows[0]["escrow_balance"])) == (available, escrow)
    assert rows[0]["amount"] == "12.34" and rows[0]["available_change"] == "12.34"
    for newer, older in itertools.pairwise(rows):
        assert _cents(newer["available_balance"]) - _cents(newer["available_change"]) == _cents(older["available_balance"])
        assert _cents(newer["escrow_balance"]) - _cents(newer["escrow_change"]) == _cents(older["escrow_balance"])
    oldest = rows[-1]
    assert _cents(oldest["available_balance"]) == _cents(oldest["available_change"])
    assert sum(_cents(r["available_change"]) for r in rows) == available


def test_the_csv_reads_the_ledger_in_chunks_and_leaves_nothing_out(monkeypatch):
    monkeypatch.setattr(queries_money, "EXPORT_CHUNK", 2)
    handle = make_requester(funds_cents=100)
    for n in range(1, 6):
        ledger.deposit(requester=handle.requester, environment="live", cents=n, key=f"c{n}", actor=OPERATOR)
    rows = csv_rows(_browser(handle.requester, "live").get(CSV))
    assert [r["amount"] for r in rows] == ["0.05", "0.04", "0.03", "0.02", "0.01", "1.00"]
    assert [r["available_balance"] for r in rows] == ["1.15", "1.10", "1.06", "1.03", "1.01", "1.00"]


def test_the_csv_has_only_this_requesters_movements_in_this_environment():
    mine, theirs = make_requester(funds_cents=700), make_requester(funds_cents=900)
    new_hit(theirs.requester, max_assignments=1, reward_cents=50)
    new_hit(mine.requester, environment="sandbox", max_assignments=1, reward_cents=50)
    live = csv_rows(_browser(mine.requester, "live").get(CSV))
    assert [(r["kind"], r["amount"]) for r in live] == [("Deposit", "7.00")]
    sandbox = csv_rows(_browser(mine.requester, "sandbox").get(CSV))
    assert [(r["kind"], r["amount"]) for r in sandbox] == [("Escrow reserved", "0.60"), ("Sandbox credit", "10000.00")]


def test_an_empty_statement_is_just_the_header():
    response = _browser(make_requester(funds_cents=0).requester, "sandbox").get(CSV)
    assert b"".join(response.streaming_content).decode().splitlines() == [",".join(CSV_COLUMNS)]


def test_text_that_a_spreadsheet_would_run_as_a_formula_is_defused():
    handle = make_requester(funds_cents=0)
    ledger.deposit(requester=handle.requester, environment="live", cents=100, key="f", actor=OPERATOR,
                   memo="=HYPERLINK(\"http://evil.example\")")
    rows = csv_rows(_browser(handle.requester, "live").get(CSV))
    assert rows[0]["description"] == "'=HYPERLINK(\"http://evil.example\")"
