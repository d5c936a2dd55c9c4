"""The requester site's access rules and the live/sandbox switch."""

import pytest
from django.test import Client

from tests.conftest import make_requester, make_worker
from tests.requester_site.conftest import signed_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_anonymous_visitors_are_sent_to_the_requester_sign_in():
    response = Client().post("/requester/environment", {"environment": "live"})
    assert response.status_code == 302 and response["Location"].startswith("/requester/login")


def test_a_worker_account_is_told_the_site_is_for_requesters():
    worker = make_worker()
    browser = Client()
    browser.force_login(worker.user)
    response = browser.post("/requester/environment", {"environment": "live"})
    assert response.status_code == 403 and b"for requesters" in response.content


def test_switching_environment_is_remembered_and_only_to_known_environments():
    browser = signed_in(make_requester().requester, "sandbox")
    response = browser.post("/requester/environment", {"environment": "live", "next": "/requester/batches"})
    assert response.status_code == 302 and response["Location"] == "/requester/batches"
    assert browser.session["requester_environment"] == "live"
    browser.post("/requester/environment", {"environment": "production"})
    assert browser.session["requester_environment"] == "live"


def test_switching_never_redirects_off_site():
    browser = signed_in(make_requester().requester)
    response = browser.post("/requester/environment", {"environment": "live", "next": "https://evil.example/"})
    assert response["Location"] == "/requester/"
