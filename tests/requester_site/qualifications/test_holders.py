"""A type's page: who holds it (values, dates, pages), granting it to a worker and revoking it, as workers see it."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from kempelen.notifications.models import OutboxEmail
from kempelen.qualifications.models import Qualification
from tests.conftest import make_requester, make_worker
from tests.requester_site.conftest import signed_in
from tests.requester_site.workers.kit import flashed, grant, main, new_type, text

pytestmark = pytest.mark.django_db


def holders(response) -> list[str]:
    return re.findall(r'<td><a href="/requester/workers/(A[A-Z0-9]+)">', response.content.decode())


def worker_sees(worker, qt) -> str:
    browser = Client()
    browser.force_login(worker.user)
    row = re.search(rf'<tr id="grant-{qt.pk}">.*?</tr>', browser.get("/worker/qualifications/mine").content.decode(), re.S)
    return text(row.group(0)) if row else ""


def test_granting_by_worker_id_is_visible_to_the_worker_and_emails_them():
    owner = make_requester().requester
    qt = new_type(owner, "Seashell expert", environment="live")
    worker = make_worker()
    response = signed_in(owner, "live").post(f"/requester/qualifications/{qt.pk}/grant",
                                             {"worker_id": worker.worker_id.lower(), "value": "85", "notify": "on"})
    assert response.status_code == 302 and response["Location"].endswith("#holders")
    assert flashed(response) == [f"{worker.worker_id} now has \u201cSeashell expert\u201d with the value 85."]
    assert worker_sees(worker, qt).startswith("Seashell expert") and " 85 Granted " in worker_sees(worker, qt)
    assert OutboxEmail.objects.get().kind == "qualification_granted"
    page = signed_in(owner, "live").get(f"/requester/qualifications/{qt.pk}")
    assert holders(page) == [worker.worker_id]
    assert f"{worker.worker_id} 85 " in main(page)


def test_granting_without_notifying_sends_no_email():
    owner = make_requester().requester
    qt = new_type(owner)
    worker = make_worker()
    signed_in(owner).post(f"/requester/qualifications/{qt.pk}/grant", {"worker_id": worker.worker_id, "value": "1"})
    assert Qualification.objects.filter(worker=worker).exists() and not OutboxEmail.objects.exists()


def test_revoking_is_visible_to_the_worker_with_the_reason():
    owner = make_requester().requester
    qt = new_type(owner, "Seashell expert", environment="live")
    worker = make_worker()
    grant(owner, qt, worker, 50)
    grant_row = Qualification.objects.get()
    response = signed_in(owner, "live").post(f"/requester/qualifications/{qt.pk}/revoke", {
        f"revoke-{grant_row.pk}-worker_id": worker.worker_id, f"revoke-{grant_row.pk}-reason": "Mislabelled shells",
    })
    assert flashed(response) == [f"\u201cSeashell expert\u201d was revoked from {worker.worker_id}."]
    assert "Revoked: Mislabelled shells" in worker_sees(worker, qt)
    browser = signed_in(owner, "live")
    assert holders(browser.get(f"/requester/qualifications/{qt.pk}")) == []
    revoked = browser.get(f"/requester/qualifications/{qt.pk}?holders=revoked")
    assert holders(revoked) == [worker.worker_id] and "Revoked: Mislabelled shells" in main(revoked)


@pytest.mark.parametrize(("posted", "message"), [
    ({"worker_id": "bob", "value": "5"}, "Worker ID: This is not a Worker ID"),
    ({"worker_id": "A9ZZZZZZZZZZZZ", "value": "5"}, "Worker ID: No worker has the ID A9ZZZZZZZZZZZZ."),
    ({"worker_id": "", "value": "5"}, "Worker ID: Give the worker's ID."),
    ({"worker_id": "{w}", "value": "500"}, "Value: The value must be at most 100."),
])
def test_bad_grants_are_refused_and_nothing_changes(posted, message):
    owner = make_requester().requester
    qt = new_type(owner)
    worker = make_worker()
    posted = {k: v.format(w=worker.worker_id) for k, v in posted.items()}
    response = signed_in(owner).post(f"/requester/qualifications/{qt.pk}/grant", posted)
    assert response.status_code == 200 and message in main(response)
    assert not Qualification.objects.exists()


def test_a_revocation_for_a_worker_without_the_grant_is_refused():
    owner = make_requester().requester
    qt = new_type(owner)
    worker = make_worker()
    response = signed_in(owner).post(f"/requester/qualifications/{qt.pk}/revoke",
                                     {"revoke-1-worker_id": worker.worker_id, "revoke-1-reason": ""})
    assert flashed(response) == [f"{worker.worker_id}: You requested a Qualification that does not exist."]
    assert not Qualification.objects.exists()


def test_a_revocation_reason_that_is_too_long_is_refused_in_place():
    owner = make_requester().requester
    qt = new_type(owner)
    worker = make_worker()
    grant(owner, qt, worker, 7)
    grant_row = Qualification.objects.get()
    response = signed_in(owner).post(f"/requester/qualifications/{qt.pk}/revoke", {
        f"revoke-{grant_row.pk}-worker_id": worker.worker_id, f"revoke-{grant_row.pk}-reason": "x" * 5000,
    })
    assert response.status_code == 200
    assert "Reason (optional): The reason must be at most 4096 characters." in main(response)
    assert Qualification.objects.get().status == "Granted"


def test_holders_come_in_pages_newest_grant_first(monkeypatch, move_clock):
    from kempelen.requester_site import views_qualifications

    monkeypatch.setattr(views_qualifications, "HOLDERS_PER_PAGE", 2)
    owner = make_requester().requester
    qt = new_type(owner)
    workers = []
    for _ in range(3):
        workers.append(make_worker())
        grant(owner, qt, workers[-1], 1)
        move_clock(5)
    browser = signed_in(owner)
    first = browser.get(f"/requester/qualifications/{qt.pk}")
    assert holders(first) == [workers[2].worker_id, workers[1].worker_id] and "3 workers." in main(first)
    assert holders(browser.get(f"/requester/qualifications/{qt.pk}?holders=granted&page=2")) == [workers[0].worker_id]
