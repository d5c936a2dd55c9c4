"""The account page: balance and statement of the current environment, paged, and only the requester's own."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from kempelen.ledger import actions as ledger
from kempelen.ledger.models import LedgerTransaction
from kempelen.ledger.queries import requester_balances
from kempelen.requester_site import queries_money
from tests.conftest import OPERATOR, make_requester, make_worker
from tests.kits import main, text
from tests.lifecycle.kit import new_hit
from tests.requester_site.conftest import signed_in

from .kit import live_story

pytestmark = pytest.mark.django_db
ACCOUNT = reverse("requester:account")


def _rows(markup: bytes) -> list[str]:
    body = re.search(rb'<table class="acct-statement">.*?<tbody>(.*?)</tbody>', markup, flags=re.S)
    assert body, "the page has no statement"
    return [text(row) for row in re.findall(rb"<tr>(.*?)</tr>", body.group(1), flags=re.S)]


def test_anonymous_visitors_are_sent_to_sign_in_and_workers_refused():
    assert Client().get(ACCOUNT)["Location"].startswith(reverse("requester:login"))
    browser = Client()
    browser.force_login(make_worker().user)
    response = browser.get(ACCOUNT)
    assert response.status_code == 403 and "for requesters" in text(response.content)


def test_the_account_page_says_which_environment_and_shows_its_balance():
    handle = make_requester(funds_cents=5_000)
    live = main(signed_in(handle.requester, "live").get(ACCOUNT).content)
    assert "Balance (live)" in live and "Statement (live)" in live
    assert "Available $50.00" in live and "In escrow $0.00" in live
    sandbox = main(signed_in(handle.requester, "sandbox").get(ACCOUNT).content)
    assert "Balance in the sandbox" in sandbox and "Statement (sandbox)" in sandbox
    assert "Available $0.00" in sandbox
    assert "No movements yet in the sandbox." in sandbox
    assert handle.requester.customer_id in live and handle.requester.display_name in live


def test_the_statement_shows_every_movement_newest_first_with_balances_after_each(move_clock):
    handle = make_requester()
    story = live_story(handle.requester, move_clock)
    rows = _rows(signed_in(handle.requester, "live").get(ACCOUNT).content)
    kinds = [row.split()[2] for row in rows]  # date, time, kind
    assert kinds == ["Escrow", "Escrow", "Fee", "Bonus", "Refund", "Fee", "Payment", "Escrow", "Deposit"]
    released, reserved, bonus_fee, bonus, refund, fee, payment, reserved_first, deposit = rows
    assert f"HIT {story.expired_hit.pk}: HIT expired: its unfilled assignments released $0.60 $998.20 +$0.60 $0.00 \u2212$0.60" in released
    assert f"HIT {story.expired_hit.pk}: HIT created" in reserved and reserved.endswith("$0.60 $997.60 \u2212$0.60 $0.60 +$0.60")
    assert bonus.endswith("$1.00 $998.40 \u2212$1.00 $0.00")
    assert f"Bonus to worker {story.worker.worker_id} for assignment {story.paid.pk}: Great work" in bonus
    assert bonus_fee.endswith("$0.20 $998.20 \u2212$0.20 $0.00")
    assert f"assignment {story.rejected.pk} rejected: its reward and fee returned $0.60 $999.40 +$0.60 $0.00 \u2212$0.60" in refund
    assert fee.endswith("$0.10 $998.80 $0.60 \u2212$0.10")
    assert f"Reward for assignment {story.paid.pk}" in payment and payment.endswith("$0.50 $998.80 $0.70 \u2212$0.50")
    assert reserved_first.endswith("$1.20 $998.80 \u2212$1.20 $1.20 +$1.20")
    assert deposit.endswith("$1000.00 $1000.00 +$1000.00 $0.00")
    assert requester_balances(handle.requester, "live") == (99_820, 0)


def test_the_statement_is_paged_and_balances_run_on_across_pages(monkeypatch):
    monkeypatch.setattr(queries_money, "PAGE_SIZE", 3)
    handle = make_requester(funds_cents=100)
    for n in range(1, 7):
        ledger.deposit(requester=handle.requester, environment="live", cents=n, key=f"d{n}", actor=OPERATOR,
                       memo=f"Top-up {n}")
    browser = signed_in(handle.requester, "live")
    first = browser.get(ACCOUNT)
    first_rows = _rows(first.content)
    assert [r.split("Top-up ")[1][0] for r in first_rows] == ["6", "5", "4"]
    assert first_rows[0].endswith("$1.21 +$0.06 $0.00")  # $1.00 + 1+2+…+6 cents
    older = re.search(rb'href="(\?before=\d+)" rel="next"', first.content)
    assert older and b'rel="prev"' not in first.content
    second = browser.get(ACCOUNT + older.group(1).decode())
    second_rows = _rows(second.content)
    assert "Top-up 3" in second_rows[0] and second_rows[0].endswith("$1.06 +$0.03 $0.00")
    assert "Top-up 1" in second_rows[2]
    newer = re.search(rb'href="(\?after=\d+)" rel="prev"', second.content)
    assert newer
    assert _rows(browser.get(ACCOUNT + newer.group(1).decode()).content) == first_rows
    third = browser.get(ACCOUNT + re.search(rb'href="(\?before=\d+)" rel="next"', second.content).group(1).decode())  # type: ignore[union-attr]
    third_rows = _rows(third.content)
    assert len(third_rows) == 1 and third_rows[0].endswith("$1.00 +$1.00 $0.00")
    assert b'rel="next"' not in third.content


def test_page_keys_that_are_nonsense_or_someone_elses_show_the_newest_page():
    handle, other = make_requester(funds_cents=100), make_requester(funds_cents=200)
    browser = signed_in(handle.requester, "live")
    theirs = LedgerTransaction.objects.get(requester=other.requester).pk
    for query in ("?before=banana", f"?before={theirs}", f"?after={theirs}", "?after=-1"):
        rows = _rows(browser.get(ACCOUNT + query).content)
        assert len(rows) == 1 and "$1.00" in rows[0], query


def test_a_page_older_than_the_oldest_movement_says_it_is_empty():
    handle = make_requester(funds_cents=100)
    oldest = LedgerTransaction.objects.get(requester=handle.requester).pk
    page = main(signed_in(handle.requester, "live").get(f"{ACCOUNT}?before={oldest}").content)
    assert "No movements on this page." in page


def test_the_statement_shows_only_this_requesters_movements_in_this_environment():
    mine, theirs = make_requester(funds_cents=700), make_requester(funds_cents=900)
    new_hit(theirs.requester, max_assignments=1, reward_cents=50)
    new_hit(mine.requester, environment="sandbox", max_assignments=1, reward_cents=50)
    live_rows = _rows(signed_in(mine.requester, "live").get(ACCOUNT).content)
    assert len(live_rows) == 1 and "$7.00" in live_rows[0]
    sandbox_rows = _rows(signed_in(mine.requester, "sandbox").get(ACCOUNT).content)
    assert [row.split()[2:4] for row in sandbox_rows] == [["Escrow", "reserved"], ["Sandbox", "credit"]]
    assert "$10000.00" in sandbox_rows[1]


def test_the_page_links_to_the_csv_keys_and_password():
    page = signed_in(make_requester().requester, "live").get(ACCOUNT).content.decode()
    for name in ("requester:statement_csv", "requester:credentials", "requester:password_change"):
        assert f'href="{reverse(name)}"' in page
