"""Approving and rejecting from the results page: one, selected, all in a filter; all or nothing; reversals."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from kempelen.core import clock
from kempelen.core.models import AuditEvent
from kempelen.ledger.models import AccountKind
from kempelen.ledger.queries import balance
from kempelen.marketplace.actions import review_upload
from kempelen.marketplace.models import Assignment
from tests.conftest import make_worker
from tests.kits import main
from tests.lifecycle.kit import approve, reject

from .kit import DAY, BatchKit, make_batch, work

pytestmark = pytest.mark.django_db


def status(*assignments: Assignment) -> list[str]:
    return [Assignment.objects.get(pk=a.pk).status for a in assignments]


def post(kit: BatchKit, **data: object):  # type: ignore[no-untyped-def]
    return kit.browser().post(reverse("requester:results_review", args=[kit.batch.pk]), data)


def said(response) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(m) for m in get_messages(response.wsgi_request)]


def earnings(worker) -> int:  # type: ignore[no-untyped-def]
    return balance(AccountKind.WORKER_EARNINGS, "sandbox", worker=worker)


def test_approving_one_pays_the_worker_and_says_so():
    kit = make_batch()
    ada = make_worker()
    done = work(kit, kit.hits[0], ada)
    response = post(kit, do=f"approve:{done.pk}", feedback="  Nice work!\r\nThanks  ", next=kit.url + "?page=1")
    assert response.status_code == 302 and response["Location"] == kit.url + "?page=1"
    assert said(response) == ["Approved 1 assignment."]
    done.refresh_from_db()
    assert done.status == "Approved" and done.requester_feedback == "Nice work!\nThanks"
    assert earnings(ada) == 50
    assert AuditEvent.objects.filter(action="review_batch", target_id=kit.batch.pk).count() == 1


def test_approving_and_rejecting_the_selected_ones():
    kit = make_batch()
    a, b, c = (work(kit, hit) for hit in kit.hits)
    response = post(kit, do="reject-selected", assignment=[a.pk, c.pk], feedback="The label does not match.")
    assert said(response) == ["Rejected 2 assignments."]
    assert status(a, b, c) == ["Rejected", "Submitted", "Rejected"]
    assert Assignment.objects.get(pk=a.pk).requester_feedback == "The label does not match."
    response = post(kit, do="approve-selected", assignment=[b.pk])
    assert said(response) == ["Approved 1 assignment."]
    assert status(b) == ["Approved"]


def test_rejecting_needs_a_reason_within_requester_feedback_s_rules_and_changes_nothing_without_one():
    kit = make_batch()
    a, b, _ = (work(kit, hit) for hit in kit.hits)
    for feedback, message in (
        ("   ", "Give a reason for rejecting: the worker sees it."),
        ("x" * 1025, "The reason for rejecting must be at most 1024 characters; got 1025."),
        ("bad \x07 bell", "The reason for rejecting contains control characters that are not allowed."),
    ):
        response = post(kit, do="reject-selected", assignment=[a.pk, b.pk], feedback=feedback)
        assert response.status_code == 400
        page = main(response.content)
        assert "Nothing was changed" in page and message in page
        assert status(a, b) == ["Submitted", "Submitted"]
        # The selection is kept for another try.
        assert f'value="{a.pk}" id="pick-{a.pk}" class="results-pick" checked' in response.content.decode()
    response = post(kit, do="reject-selected", assignment=[], feedback="Wrong.")
    assert response.status_code == 400
    assert "Select at least one assignment (tick its box) first." in main(response.content)


def test_a_bulk_review_is_all_or_nothing_with_a_message_per_row():
    kit = make_batch()
    a, b, c = (work(kit, hit) for hit in kit.hits)
    approve(kit.requester, b, environment="sandbox")  # approved meanwhile, e.g. through the API
    spent_before = earnings(Assignment.objects.get(pk=a.pk).worker)
    response = post(kit, do="reject-selected", assignment=[a.pk, b.pk, c.pk], feedback="Not good enough.")
    assert response.status_code == 400
    page = main(response.content)
    assert "Nothing was changed: 1 row cannot be applied" in page
    assert f"assignment {b.pk}: it is already approved; an approval cannot be undone." in page
    assert status(a, b, c) == ["Submitted", "Approved", "Submitted"]
    assert earnings(Assignment.objects.get(pk=a.pk).worker) == spent_before


def test_an_approval_that_fails_midway_undoes_the_ones_before_it(monkeypatch):
    kit = make_batch()
    a, b, c = (work(kit, hit) for hit in kit.hits)
    real = review_upload.approve_assignment

    def flaky(**kwargs):  # type: ignore[no-untyped-def]
        if kwargs["assignment_id"] == c.pk:
            from kempelen.core.errors import InvalidAssignmentState

            raise InvalidAssignmentState("Submitted", "Approved")
        return real(**kwargs)

    monkeypatch.setattr(review_upload, "approve_assignment", flaky)
    response = post(kit, do="approve-selected", assignment=[a.pk, b.pk, c.pk])
    assert response.status_code == 400
    assert f"assignment {c.pk}: This assignment is currently in the state 'Approved'" in main(response.content)
    assert status(a, b, c) == ["Submitted", "Submitted", "Submitted"]
    assert earnings(Assignment.objects.get(pk=a.pk).worker) == 0


def test_approve_all_covers_every_page_of_the_filter_but_not_work_submitted_after_the_page_was_shown():
    kit = make_batch(rows=[{"sentence": f"s{i}", "image_url": ""} for i in range(30)])
    ada, bob = make_worker(), make_worker()
    adas = [work(kit, hit, ada) for hit in kit.hits[:27]]
    bobs = work(kit, kit.hits[27], bob)
    shown_at = clock.now().isoformat()
    clock.advance(5)
    late = work(kit, kit.hits[28], ada)
    response = post(kit, do="approve-all", worker=ada.worker_id, status="Submitted", as_of=shown_at)
    assert said(response) == ["Approved 27 assignments."]
    assert set(status(*adas)) == {"Approved"}
    assert status(bobs, late) == ["Submitted", "Submitted"]
    response = post(kit, do="approve-all", worker=ada.worker_id, status="Approved", as_of=clock.now().isoformat())
    assert said(response) == ["There is nothing left to review in this view."]


def test_one_review_applies_at_most_max_changes(monkeypatch):
    monkeypatch.setattr(review_upload, "MAX_CHANGES", 2)
    monkeypatch.setattr("kempelen.requester_site.views_results.MAX_CHANGES", 2)
    kit = make_batch()
    done = [work(kit, hit) for hit in kit.hits]
    response = post(kit, do="approve-all", as_of=clock.now().isoformat())
    assert response.status_code == 400
    assert "3 changes were asked for; one review applies at most 2." in main(response.content)
    assert set(status(*done)) == {"Submitted"}


def test_approving_what_is_already_approved_changes_nothing_and_says_so(move_clock):
    kit = make_batch(auto_approval_delay=DAY)
    done = work(kit, kit.hits[0])
    move_clock(DAY + 1)  # approved automatically; the job runner has not run
    response = post(kit, do=f"approve:{done.pk}")
    assert said(response) == ["Nothing changed: the assignment is already in that state."]
    done.refresh_from_db()
    assert done.status == "Approved" and done.approval_time == done.auto_approval_time


def test_rejecting_an_automatically_approved_assignment_is_refused(move_clock):
    kit = make_batch(auto_approval_delay=DAY)
    done = work(kit, kit.hits[0])
    move_clock(DAY + 1)
    response = post(kit, do=f"reject:{done.pk}", feedback="Too late?")
    assert response.status_code == 400
    assert "it is already approved; an approval cannot be undone." in main(response.content)


def test_a_rejection_can_be_reversed_within_30_days_of_submission(move_clock):
    kit = make_batch(lifetime=60 * DAY)
    ada = make_worker()
    done = work(kit, kit.hits[0], ada)
    reject(kit.requester, done, environment="sandbox", feedback="Wrong.")
    move_clock(29 * DAY)
    page = kit.browser().get(kit.url + "?status=Rejected")
    assert "Reverse rejection" in main(page.content)
    response = post(kit, do=f"approve:{done.pk}", feedback="Sorry, my mistake.")
    assert said(response) == ["Reversed 1 rejection (now approved and paid)."]
    done.refresh_from_db()
    assert done.status == "Approved" and done.requester_feedback == "Sorry, my mistake."
    assert earnings(ada) == 50


def test_a_rejection_older_than_30_days_cannot_be_reversed(move_clock):
    kit = make_batch(lifetime=60 * DAY)
    done = work(kit, kit.hits[0])
    reject(kit.requester, done, environment="sandbox", feedback="Wrong.")
    move_clock(30 * DAY + 60)
    page = kit.browser().get(kit.url + "?status=Rejected")
    assert "Reverse rejection" not in main(page.content)
    response = post(kit, do=f"approve:{done.pk}")
    assert response.status_code == 400
    submitted = done.submit_time
    assert (f"its rejection cannot be reversed: it was submitted on {submitted:%Y-%m-%d}, more than 30 days ago."
            in main(response.content))
    assert status(done) == ["Rejected"]


def test_reviewing_from_the_assignment_page_comes_back_to_it_with_errors_in_place():
    kit = make_batch()
    done = work(kit, kit.hits[0])
    here = reverse("requester:results_assignment", args=[kit.batch.pk, done.pk])
    browser = kit.browser()
    response = browser.post(reverse("requester:results_review", args=[kit.batch.pk]),
                            {"do": f"reject:{done.pk}", "feedback": "", "origin": "assignment", "next": here})
    assert response.status_code == 400
    page = main(response.content)
    assert f"Assignment {done.pk}" in page and "Give a reason for rejecting: the worker sees it." in page
    response = browser.post(reverse("requester:results_review", args=[kit.batch.pk]),
                            {"do": f"reject:{done.pk}", "feedback": "Off topic.", "origin": "assignment",
                             "next": here})
    assert response.status_code == 302 and response["Location"] == here
    assert status(done) == ["Rejected"]


def test_next_cannot_send_the_requester_elsewhere():
    kit = make_batch()
    done = work(kit, kit.hits[0])
    response = post(kit, do=f"approve:{done.pk}", next="https://evil.example/phish")
    assert response["Location"] == kit.url
