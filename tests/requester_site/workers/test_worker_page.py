"""One worker's page: figures and assignments, block and unblock, messages, bonuses and qualifications, each
visible to the worker where a worker would notice it."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client

from kempelen.core import clock
from kempelen.jobs.runner import send_emails
from kempelen.marketplace.models import HIT, Batch, BonusPayment, WorkerBlock
from kempelen.notifications.models import OutboxEmail
from kempelen.qualifications.models import Qualification
from tests.conftest import make_requester, make_worker
from tests.lifecycle.kit import earnings, new_hit, new_hit_type
from tests.requester_site.conftest import signed_in

from .kit import flashed, grant, main, new_type, text, work

pytestmark = pytest.mark.django_db


def page_of(owner, worker, environment="sandbox"):
    return signed_in(owner, environment).get(f"/requester/workers/{worker.worker_id}")


def as_worker(worker) -> Client:
    browser = Client()
    browser.force_login(worker.user)
    return browser


def section(response, anchor: str) -> str:
    body = response.content.decode()
    start = body.index(f'id="{anchor}"')
    end = body.find("</section>", start)
    return text(body[start:end])


# --- what the page shows --------------------------------------------------------------------------------------------


def test_the_page_shows_the_figures_and_the_assignments_newest_first(move_clock):
    owner = make_requester().requester
    worker = make_worker()
    first = work(owner, worker, outcome="approved", title="Tag a bird")
    move_clock(60)
    second = work(owner, worker, outcome="rejected", title="Count the cars")
    work(make_requester().requester, worker, title="Someone else's HIT")
    response = page_of(owner, worker)
    figures = section(response, "figures-heading")
    assert "Assignments submitted 2 Approved 1 Rejected 1 Awaiting your review 0" in figures
    assert "Approval rate 50% (1 of 2 reviewed)" in figures
    assignments = section(response, "assignments")
    assert assignments.index(second.pk) < assignments.index(first.pk)
    assert "Count the cars Rejected" in assignments and "Tag a bird Approved" in assignments
    assert "Someone else's HIT" not in response.content.decode()


def test_an_assignment_from_a_batch_links_to_the_batch_results():
    owner = make_requester().requester
    worker = make_worker()
    hit_type = new_hit_type(owner, environment="sandbox")
    batch = Batch.objects.create(id="B1", requester=owner, environment="sandbox", hit_type=hit_type, name="Birds",
                                 lifetime=3600, created_at=clock.now())
    assignment = work(owner, worker, hit_type=hit_type)
    HIT.objects.filter(pk=assignment.hit_id).update(batch=batch, batch_row=0)
    body = page_of(owner, worker).content.decode()
    assert '<a href="/requester/batches/B1/results">Batch results</a>' in body


def test_an_unknown_page_number_shows_the_last_page(monkeypatch):
    from kempelen.requester_site import views_workers

    monkeypatch.setattr(views_workers, "ASSIGNMENTS_PER_PAGE", 1)
    owner = make_requester().requester
    worker = make_worker()
    work(owner, worker)
    work(owner, worker)
    response = signed_in(owner).get(f"/requester/workers/{worker.worker_id}?page=99")
    assert response.status_code == 200 and "Page 2 of 2" in main(response)


# --- block and unblock ------------------------------------------------------------------------------------------------


def test_a_blocked_worker_no_longer_finds_the_requesters_hits_and_an_unblocked_one_does_again():
    owner = make_requester().requester
    worker = make_worker()
    work(owner, worker, environment="live", outcome="approved")
    new_hit(owner, environment="live", title="Sort the seashells")
    assert "Sort the seashells" in text(as_worker(worker).get("/worker/"))
    browser = signed_in(owner, "live")
    response = browser.post(f"/requester/workers/{worker.worker_id}/block", {"block-reason": "Copied answers"})
    assert response.status_code == 302
    assert "can no longer find or accept your HITs" in flashed(response)[0]
    assert "Sort the seashells" not in text(as_worker(worker).get("/worker/"))
    page = page_of(owner, worker, "live")
    assert "Blocked. This worker cannot find or accept your HITs in this environment. Your reason: Copied answers" in main(page)
    response = browser.post(f"/requester/workers/{worker.worker_id}/unblock", {"unblock-reason": "Appealed"})
    assert response.status_code == 302
    assert "Sort the seashells" in text(as_worker(worker).get("/worker/"))
    assert not WorkerBlock.objects.exists()


def test_blocking_needs_a_reason():
    owner = make_requester().requester
    worker = make_worker()
    work(owner, worker)
    response = signed_in(owner).post(f"/requester/workers/{worker.worker_id}/block", {"block-reason": "  "})
    assert response.status_code == 200
    assert "Reason for blocking: Give a reason." in section(response, "block")
    assert not WorkerBlock.objects.exists()


def test_a_block_in_the_sandbox_does_not_block_in_live():
    owner = make_requester().requester
    worker = make_worker()
    work(owner, worker, environment="sandbox")
    work(owner, worker, environment="live")
    new_hit(owner, environment="live", title="Sort the seashells")
    signed_in(owner, "sandbox").post(f"/requester/workers/{worker.worker_id}/block", {"block-reason": "Sandbox test"})
    assert WorkerBlock.objects.get().environment == "sandbox"
    assert "Sort the seashells" in text(as_worker(worker).get("/worker/"))
    assert "Blocked." not in main(page_of(owner, worker, "live"))


def test_unblocking_a_worker_known_only_by_the_block_returns_to_the_list():
    from kempelen.core.actors import Actor
    from kempelen.marketplace import actions as marketplace

    owner = make_requester().requester
    worker = make_worker()
    marketplace.create_worker_block(actor=Actor.for_requester(owner), requester=owner, environment="sandbox",
                                    worker_id=worker.worker_id, reason="Spam")
    response = signed_in(owner).post(f"/requester/workers/{worker.worker_id}/unblock", {"unblock-reason": ""})
    assert response.status_code == 302 and response["Location"] == "/requester/workers"


# --- messages ---------------------------------------------------------------------------------------------------------


def test_a_message_is_sent_and_emailed_to_the_worker():
    owner = make_requester().requester
    worker = make_worker(email="ada@example.org")
    work(owner, worker, outcome="approved", environment="live")
    response = signed_in(owner, "live").post(f"/requester/workers/{worker.worker_id}/message", {
        "message-subject": "More birds next week", "message-message": "Thank you for the careful tags.",
    })
    assert response.status_code == 302
    assert flashed(response) == [f"Message sent to {worker.worker_id}: they will receive it by email."]
    send_emails()
    assert [(m.to, m.subject, m.body) for m in mail.outbox] == [
        (["ada@example.org"], "More birds next week", "Thank you for the careful tags.")
    ]
    assert "More birds next week" in text(as_worker(worker).get("/worker/dashboard/messages"))


def test_a_worker_whose_work_was_not_reviewed_cannot_be_messaged():
    owner = make_requester().requester
    worker = make_worker(email="ada@example.org")
    work(owner, worker)  # submitted, not reviewed
    response = signed_in(owner).post(f"/requester/workers/{worker.worker_id}/message", {
        "message-subject": "Hello", "message-message": "Hi",
    })
    assert response.status_code == 200
    assert "You can only send messages to workers whose work you have approved or rejected." in section(response, "message")
    assert not OutboxEmail.objects.exists()


def test_a_message_needs_a_subject_and_a_text():
    owner = make_requester().requester
    worker = make_worker()
    work(owner, worker, outcome="approved")
    response = signed_in(owner).post(f"/requester/workers/{worker.worker_id}/message",
                                     {"message-subject": "", "message-message": ""})
    problems = section(response, "message")
    assert "Subject: Write a subject." in problems and "Message: Write a message." in problems
    assert not OutboxEmail.objects.exists()


# --- bonuses ----------------------------------------------------------------------------------------------------------


def bonus_form(response) -> dict[str, str]:
    body = response.content.decode()
    token = re.search(r'name="bonus-token" value="([A-Z0-9]+)"', body)
    assert token, "the page has no bonus form"
    return {"bonus-token": token.group(1)}


def test_a_bonus_is_paid_once_even_when_the_form_is_sent_twice():
    owner = make_requester().requester
    worker = make_worker()
    assignment = work(owner, worker, outcome="approved", environment="live")
    browser = signed_in(owner, "live")
    posted = {**bonus_form(page_of(owner, worker, "live")), "bonus-assignment": assignment.pk,
              "bonus-amount": "$1.25", "bonus-reason": "Great tags"}
    before = earnings(worker)
    first = browser.post(f"/requester/workers/{worker.worker_id}/bonus", posted)
    assert flashed(first) == [f"Bonus of $1.25 sent to {worker.worker_id}."]
    again = browser.post(f"/requester/workers/{worker.worker_id}/bonus", posted)
    assert "already sent" in flashed(again)[-1]
    assert earnings(worker) - before == 125
    assert BonusPayment.objects.count() == 1
    assignments = section(page_of(owner, worker, "live"), "assignments")
    assert "$1.25" in assignments
    assert "Bonuses you paid $1.25" in main(page_of(owner, worker, "live"))


def test_a_row_link_preselects_its_assignment_for_a_bonus():
    owner = make_requester().requester
    worker = make_worker()
    assignment = work(owner, worker)
    body = signed_in(owner).get(f"/requester/workers/{worker.worker_id}?bonus={assignment.pk}").content.decode()
    assert re.search(rf'<option value="{assignment.pk}" selected>', body)


@pytest.mark.parametrize(("amount", "reason", "message"), [
    ("abc", "Thanks", "Amount in US dollars: The amount must be an amount in US dollars with at most two decimals"),
    ("0", "Thanks", "Amount in US dollars: The amount must be more than $0.00."),
    ("1.234", "Thanks", "at most two decimals"),
    ("", "Thanks", "Amount in US dollars: Give the amount of the bonus."),
    ("1.00", "", "Reason: Give a reason."),
])
def test_a_bonus_with_bad_input_is_refused_and_nothing_is_paid(amount, reason, message):
    owner = make_requester().requester
    worker = make_worker()
    assignment = work(owner, worker, outcome="approved")
    response = signed_in(owner).post(f"/requester/workers/{worker.worker_id}/bonus", {
        **bonus_form(page_of(owner, worker)), "bonus-assignment": assignment.pk, "bonus-amount": amount,
        "bonus-reason": reason,
    })
    assert response.status_code == 200
    assert message in section(response, "bonus")
    assert not BonusPayment.objects.exists()


def test_a_bonus_cannot_be_paid_for_another_workers_assignment():
    owner = make_requester().requester
    worker, other = make_worker(), make_worker()
    work(owner, worker)
    others = work(owner, other)
    response = signed_in(owner).post(f"/requester/workers/{worker.worker_id}/bonus", {
        **bonus_form(page_of(owner, worker)), "bonus-assignment": others.pk, "bonus-amount": "1",
        "bonus-reason": "Thanks",
    })
    assert "For the assignment: Choose one of this worker's assignments." in section(response, "bonus")
    assert not BonusPayment.objects.exists()


def test_a_bonus_the_balance_cannot_cover_is_refused():
    owner = make_requester(funds_cents=0).requester
    worker = make_worker()
    from kempelen.ledger import actions as ledger
    from tests.conftest import OPERATOR

    ledger.deposit(requester=owner, environment="live", cents=60, key="small", actor=OPERATOR)
    assignment = work(owner, worker, environment="live")
    response = signed_in(owner, "live").post(f"/requester/workers/{worker.worker_id}/bonus", {
        **bonus_form(page_of(owner, worker, "live")), "bonus-assignment": assignment.pk, "bonus-amount": "500",
        "bonus-reason": "Thanks",
    })
    assert "insufficient funds" in section(response, "bonus")
    assert not BonusPayment.objects.exists()


# --- qualifications ---------------------------------------------------------------------------------------------------


def test_grant_change_and_revoke_are_visible_to_the_worker():
    owner = make_requester().requester
    worker = make_worker(email="ada@example.org")
    work(owner, worker, environment="live")
    qt = new_type(owner, "Seashell expert", environment="live")
    browser = signed_in(owner, "live")
    url = f"/requester/workers/{worker.worker_id}/qualifications"
    response = browser.post(url, {"type": qt.pk, "action": "grant", f"q-{qt.pk}-value": "80", f"q-{qt.pk}-notify": "on"})
    assert flashed(response) == [f"{worker.worker_id} now has \u201cSeashell expert\u201d with the value 80."]
    mine = as_worker(worker)
    assert "Seashell expert Requester" in text(mine.get("/worker/qualifications/mine")).replace(owner.display_name, "Requester")
    browser.post(url, {"type": qt.pk, "action": "grant", f"q-{qt.pk}-value": "60"})
    assert Qualification.objects.get().integer_value == 60
    response = browser.post(url, {"type": qt.pk, "action": "revoke", f"r-{qt.pk}-reason": "Too many mistakes"})
    assert flashed(response)[-1] == f"\u201cSeashell expert\u201d was revoked from {worker.worker_id}."
    row = re.search(rf'<tr id="grant-{qt.pk}">.*?</tr>', mine.get("/worker/qualifications/mine").content.decode(), re.S)
    assert row and "Revoked: Too many mistakes" in text(row.group(0))
    # One email for the first grant (asked for), none for the change (not asked for), one for the revocation.
    assert [e.kind for e in OutboxEmail.objects.order_by("pk")] == ["qualification_granted", "qualification_revoked"]


def test_the_worker_page_lists_the_requesters_types_with_the_workers_values():
    owner = make_requester().requester
    worker = make_worker()
    work(owner, worker)
    held, not_held = new_type(owner, "Held type"), new_type(owner, "Other type")
    grant(owner, held, worker, 42)
    new_type(make_requester().requester, "Foreign type")
    qualifications = section(page_of(owner, worker), "qualifications")
    assert "Held type Value 42, granted" in qualifications
    assert "Other type Not held" in qualifications
    assert "Foreign type" not in qualifications
    assert not_held.pk  # listed with a Grant button
    assert "Grant of Other type" in qualifications


@pytest.mark.parametrize(("value", "message"), [("101", "The value must be at most 100."),
                                                ("-3", "The value must be at least 0."),
                                                ("lots", "The value must be a whole number from 0 to 100."),
                                                ("", "Give a value from 0 to 100.")])
def test_a_value_out_of_range_is_refused_and_nothing_changes(value, message):
    owner = make_requester().requester
    worker = make_worker()
    work(owner, worker)
    qt = new_type(owner)
    grant(owner, qt, worker, 10)
    response = signed_in(owner).post(f"/requester/workers/{worker.worker_id}/qualifications",
                                     {"type": qt.pk, "action": "grant", f"q-{qt.pk}-value": value})
    assert response.status_code == 200
    assert f"Value: {message}" in section(response, "qualifications")
    assert Qualification.objects.get().integer_value == 10
