"""The batch list and a batch's page: progress, figures, results link, and cancelling, adding assignments and
extending from the page (permissions, tenancy, environments, refusals that change nothing)."""

import pytest
from django.test import Client

from kempelen.core.actors import Actor
from kempelen.ledger.queries import requester_balances
from kempelen.marketplace import actions
from kempelen.marketplace.models import HIT, Batch, BatchStatus
from kempelen.requester_site.queries_batches import seconds_text
from tests.api.helpers import accept, submit
from tests.conftest import make_requester, make_worker
from tests.requester_site.conftest import signed_in

from .conftest import csv_bytes, make_project, picture_rows, publish_file

pytestmark = pytest.mark.django_db


@pytest.fixture
def published():
    requester = make_requester().requester
    batch = publish_file(requester, make_project(requester), csv_bytes(picture_rows(3)))
    return requester, batch, signed_in(requester, "live")


def _urls(batch) -> list[tuple[str, str]]:
    base = f"/requester/batches/{batch.pk}"
    return [("get", "/requester/batches"), ("get", base), ("get", base + "/progress"), ("get", base + "/cancel"),
            ("post", base + "/cancel"), ("post", base + "/assignments"), ("post", base + "/extend")]


def _hits(batch):
    return list(HIT.objects.filter(batch=batch).order_by("batch_row"))


def _snapshot(batch):
    return [(h.max_assignments, h.available, h.expiration, h.escrow_cents) for h in _hits(batch)], \
        Batch.objects.get(pk=batch.pk).status


def test_anonymous_visitors_are_sent_to_sign_in(published):
    _, batch, _ = published
    for method, url in _urls(batch):
        response = getattr(Client(), method)(url)
        assert response.status_code == 302 and response["Location"].startswith("/requester/login"), url


def test_a_worker_account_is_refused(published):
    _, batch, _ = published
    browser = Client()
    browser.force_login(make_worker().user)
    for method, url in _urls(batch):
        assert getattr(browser, method)(url).status_code == 403, url


def test_another_requesters_batch_and_the_other_environments_are_not_found(published):
    requester, batch, _ = published
    before = _snapshot(batch)
    for browser in (signed_in(make_requester().requester, "live"), signed_in(requester, "sandbox")):
        for method, url in _urls(batch)[1:]:
            response = getattr(browser, method)(url, {"count": "1", "amount": "1", "unit": "days"})
            assert response.status_code == 404, url
        assert batch.name not in browser.get("/requester/batches").content.decode()
    assert _snapshot(batch) == before


def test_the_list_shows_the_environments_batches_newest_first_with_progress(published):
    requester, batch, browser = published
    newer = publish_file(requester, make_project(requester, name="Second project"), csv_bytes(picture_rows(1)))
    sandbox = publish_file(requester, make_project(requester, environment="sandbox"), csv_bytes(picture_rows(1)))
    Batch.objects.filter(pk=sandbox.pk).update(name="Sandbox batch")
    page = browser.get("/requester/batches").content.decode()
    assert page.index(f"/requester/batches/{newer.pk}") < page.index(f"/requester/batches/{batch.pk}")
    assert "Sandbox batch" not in page and "0 of 6" in page and f"/requester/batches/{batch.pk}/results" in page
    assert "Sandbox batch" in signed_in(requester, "sandbox").get("/requester/batches").content.decode()


def test_the_page_counts_assignments_and_estimates_pay_and_completion(published, move_clock):
    requester, batch, browser = published
    hits = _hits(batch)
    page = browser.get(f"/requester/batches/{batch.pk}").content.decode()
    assert 'id="n-waiting">6<' in page and page.count("not enough data yet") == 3
    assert f'href="/requester/batches/{batch.pk}/results"' in page
    workers = [make_worker() for _ in range(6)]
    for i, worker in enumerate(workers[:5]):
        assignment = accept(worker, hits[i % 3].pk)
        move_clock(60 * (i + 1))  # work times of 1, 2, 3, 4 and 5 minutes: the median is 3 minutes
        submit(worker, assignment)
    approved = HIT.objects.get(pk=hits[0].pk).assignments.filter(status="Submitted").first()
    actions.approve_assignment(actor=Actor.for_requester(requester), requester=requester, environment="live",
                               assignment_id=approved.pk)
    rejected = HIT.objects.get(pk=hits[1].pk).assignments.filter(status="Submitted").first()
    actions.reject_assignment(actor=Actor.for_requester(requester), requester=requester, environment="live",
                              assignment_id=rejected.pk, feedback="Wrong label")
    accept(workers[5], hits[2].pk)
    page = browser.get(f"/requester/batches/{batch.pk}").content.decode()
    assert 'id="n-submitted">3<' in page and 'id="n-approved">1<' in page and 'id="n-rejected">1<' in page
    assert 'id="n-in-progress">1<' in page and 'id="n-waiting">0<' in page and 'id="n-total">6<' in page
    assert 'id="median">3 min<' in page and "$2.00 an hour" in page  # 10 cents per 3 minutes
    assert "submissions an hour" in page and "around" in page


def test_cancelling_from_the_page_asks_first_then_releases_the_escrow(published):
    requester, batch, browser = published
    page = browser.get(f"/requester/batches/{batch.pk}/cancel").content.decode()
    assert "6 assignments still waiting for a worker" in page and 'id="confirm-cancel"' in page
    available = requester_balances(requester, "live")[0]
    response = browser.post(f"/requester/batches/{batch.pk}/cancel")
    assert response.status_code == 302
    assert requester_balances(requester, "live") == (available + 72, 0)
    page = browser.get(response["Location"]).content.decode()
    assert "3 tasks expired and $0.72 went back to your available balance" in page
    assert "Cancelled" in page and 'id="add-form"' not in page and 'id="eta">cancelled' in page
    response = browser.post(f"/requester/batches/{batch.pk}/cancel")
    assert response.status_code == 409 and "was cancelled, so you cannot cancel it" in response.content.decode()


def test_adding_assignments_from_the_page(published):
    _requester, batch, browser = published
    response = browser.post(f"/requester/batches/{batch.pk}/assignments", {"count": "2"})
    assert response.status_code == 302
    assert all(h.max_assignments == 4 for h in _hits(batch))
    assert "Added 2 assignments to each of 3 tasks; $0.72 is held for them." in browser.get(response["Location"]).content.decode()


@pytest.mark.parametrize(("count", "message"), [
    ("", "Say how many assignments to add."), ("0", "Add at least 1 assignment."), ("two", "Enter a whole number."),
    ("8", "this batch&#x27;s tasks have 2 assignments, so you can add at most 7"),
])
def test_bad_assignment_counts_are_refused_and_change_nothing(published, count, message):
    _, batch, browser = published
    before = _snapshot(batch)
    response = browser.post(f"/requester/batches/{batch.pk}/assignments", {"count": count})
    assert response.status_code == 400 and message in response.content.decode()
    assert _snapshot(batch) == before


def test_adding_more_than_the_balance_covers_is_refused_on_the_page():
    requester = make_requester(funds_cents=100).requester
    batch = publish_file(requester, make_project(requester), csv_bytes(picture_rows(3)))
    browser = signed_in(requester, "live")
    before = _snapshot(batch)
    response = browser.post(f"/requester/batches/{batch.pk}/assignments", {"count": "1"})
    assert response.status_code == 400
    assert "costs $0.36, but your available balance is $0.28" in response.content.decode()
    assert _snapshot(batch) == before


def test_extending_from_the_page(published):
    _, batch, browser = published
    before = _hits(batch)[0].expiration
    response = browser.post(f"/requester/batches/{batch.pk}/extend", {"amount": "2", "unit": "days"})
    assert response.status_code == 302
    after = _hits(batch)[0].expiration
    assert (after - before).total_seconds() == 2 * 86400
    assert f"now expire on {after:%Y-%m-%d %H:%M} UTC" in browser.get(response["Location"]).content.decode()


@pytest.mark.parametrize(("form", "message"), [
    ({"amount": "", "unit": "days"}, "Say how long to extend the batch by."),
    ({"amount": "0", "unit": "hours"}, "Extend by at least 1 hour."),
    ({"amount": "1", "unit": "weeks"}, "Select a valid choice."),
    ({"amount": "400", "unit": "days"}, "Tasks can live at most 365 days"),
    ({"amount": "363", "unit": "days"}, "at most 365 days from now"),
])
def test_bad_extensions_are_refused_and_change_nothing(published, form, message):
    _, batch, browser = published
    before = _snapshot(batch)
    response = browser.post(f"/requester/batches/{batch.pk}/extend", form)
    assert response.status_code == 400 and message in response.content.decode()
    assert _snapshot(batch) == before


def test_a_failed_batch_shows_why_and_offers_to_publish_again():
    requester = make_requester().requester
    project = make_project(requester)
    batch = publish_file(requester, project, csv_bytes(picture_rows(2)))
    Batch.objects.filter(pk=batch.pk).update(status=BatchStatus.FAILED, error="Publishing failed: the reason.")
    HIT.objects.filter(batch=batch).update(batch=None)
    page = signed_in(requester, "live").get(f"/requester/batches/{batch.pk}").content.decode()
    assert "This batch was not published" in page and "Publishing failed: the reason." in page
    assert f"/requester/projects/{project.pk}/batches/new" in page and 'id="add-form"' not in page


@pytest.mark.parametrize(("seconds", "text"), [(0.4, "less than a second"), (1, "1 second"), (44.6, "45 seconds"),
                                               (180, "3 min"), (192, "3 min 12 s"), (3900, "1 h 5 min"), (7200, "2 h")])
def test_times_are_written_as_people_read_them(seconds, text):
    assert seconds_text(seconds) == text
