"""The queue of workers' pending requests: reading test answers, accepting with a value, rejecting with a reason."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from kempelen.core.actors import Actor
from kempelen.notifications.models import OutboxEmail
from kempelen.qualifications import actions
from kempelen.qualifications.models import Qualification, QualificationRequest
from tests.conftest import make_requester, make_worker
from tests.qualifications.kit import BIRD_TEST, TWO_RIGHT
from tests.requester_site.conftest import signed_in
from tests.requester_site.workers.kit import flashed, main, new_type, text
from tests.worker_site.qualifications.kit import ask

pytestmark = pytest.mark.django_db


def card(response, request_id: str) -> str:
    found = re.search(rf'<li class="card" id="request-{request_id}">.*?</li>\s*(?=<li class="card"|</ol>)',
                      response.content.decode(), re.S)
    assert found, f"request {request_id} is not in the queue"
    return text(found.group(0))


def test_pending_requests_are_listed_oldest_first_with_the_workers_test_answers():
    owner = make_requester().requester
    qt = new_type(owner, "Bird spotter", environment="live", test=BIRD_TEST, test_duration=600)  # no key: reviewed
    first, second = make_worker(), make_worker()
    taken = ask(first, qt)
    actions.submit_qualification_test(actor=Actor.for_worker(first), worker=first, request_id=taken.pk, posted=TWO_RIGHT)
    waiting = ask(second, qt)  # still taking the test: not in the queue
    response = signed_in(owner, "live").get(f"/requester/qualifications/{qt.pk}/requests")
    assert "1 request waiting for your decision" in main(response)
    shown = card(response, taken.pk)
    assert shown.startswith(f"Worker {first.worker_id}")
    assert "Picture 1 (Which bird is in this picture?) Robin" in shown
    assert "Picture 3 (Which bird is in this picture?) Sparrow" in shown
    assert "experience (How many years have you been birdwatching?) 4" in shown
    assert waiting.pk not in response.content.decode()


def test_accepting_grants_the_value_and_the_worker_sees_it():
    owner = make_requester().requester
    qt = new_type(owner, "Trusted", environment="live")
    worker = make_worker()
    pending = ask(worker, qt)
    response = signed_in(owner, "live").post(f"/requester/qualifications/{qt.pk}/requests/{pending.pk}",
                                             {"decision": "accept", f"accept-{pending.pk}-value": "65"})
    assert response.status_code == 302
    assert flashed(response) == [f"{worker.worker_id} now has \u201cTrusted\u201d with the value 65."]
    assert Qualification.objects.get().integer_value == 65
    assert QualificationRequest.objects.get().state == "granted"
    assert OutboxEmail.objects.get().kind == "qualification_granted"
    browser = Client()
    browser.force_login(worker.user)
    assert "Trusted" in text(browser.get("/worker/qualifications/mine"))


def test_rejecting_tells_the_worker_why():
    owner = make_requester().requester
    qt = new_type(owner, "Trusted", environment="live")
    worker = make_worker()
    pending = ask(worker, qt)
    response = signed_in(owner, "live").post(f"/requester/qualifications/{qt.pk}/requests/{pending.pk}",
                                             {"decision": "reject", f"reject-{pending.pk}-reason": "Too new"})
    assert flashed(response) == [f"The request of {worker.worker_id} was rejected."]
    assert (QualificationRequest.objects.get().state, QualificationRequest.objects.get().reason) == ("rejected", "Too new")
    email = OutboxEmail.objects.get()
    assert email.kind == "qualification_rejected" and "Reason: Too new" in email.body
    assert not Qualification.objects.exists()


def test_a_bad_value_is_refused_in_place_and_nothing_changes():
    owner = make_requester().requester
    qt = new_type(owner)
    pending = ask(make_worker(), qt)
    response = signed_in(owner).post(f"/requester/qualifications/{qt.pk}/requests/{pending.pk}",
                                     {"decision": "accept", f"accept-{pending.pk}-value": "1000"})
    assert response.status_code == 200
    assert "Value to grant: The value must be at most 100." in card(response, pending.pk)
    assert QualificationRequest.objects.get().state == "pending" and not Qualification.objects.exists()


def test_deciding_twice_says_it_was_already_decided():
    owner = make_requester().requester
    qt = new_type(owner)
    pending = ask(make_worker(), qt)
    browser = signed_in(owner)
    url = f"/requester/qualifications/{qt.pk}/requests/{pending.pk}"
    browser.post(url, {"decision": "accept", f"accept-{pending.pk}-value": "5"})
    second = browser.post(url, {"decision": "reject", f"reject-{pending.pk}-reason": ""})
    assert "was already decided" in flashed(second)[-1]
    assert QualificationRequest.objects.get().state == "granted" and Qualification.objects.get().integer_value == 5


def test_no_decision_changes_nothing():
    owner = make_requester().requester
    qt = new_type(owner)
    pending = ask(make_worker(), qt)
    response = signed_in(owner).post(f"/requester/qualifications/{qt.pk}/requests/{pending.pk}", {"decision": "maybe"})
    assert flashed(response) == ["Choose to accept or reject the request."]
    assert QualificationRequest.objects.get().state == "pending"


def test_an_empty_queue_says_so():
    owner = make_requester().requester
    qt = new_type(owner)
    assert "No requests are waiting." in main(signed_in(owner).get(f"/requester/qualifications/{qt.pk}/requests"))
