"""Who may open the qualification pages: signed-in workers only, and only their own tests."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from kempelen.qualifications import actions
from kempelen.qualifications.models import QualificationRequest
from tests.conftest import make_requester

from .kit import OWNER, ask, bird_test, new_type, owner, signed_in, text

pytestmark = pytest.mark.django_db


def pages(type_id: str = "3QUALTYPE", request_id: str = "3REQUEST") -> list[tuple[str, str]]:
    return [
        ("get", reverse("worker:qualifications")),
        ("get", reverse("worker:my_qualifications")),
        ("post", reverse("worker:request_qualification", args=[type_id])),
        ("get", reverse("worker:qualification_test", args=[request_id])),
        ("post", reverse("worker:qualification_test", args=[request_id])),
    ]


@pytest.mark.parametrize("index", range(5))
def test_anonymous_visitors_are_sent_to_sign_in_and_come_back(index):
    method, url = pages()[index]
    response = getattr(Client(), method)(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('worker:login')}?next={url}"


@pytest.mark.parametrize("index", range(5))
def test_a_signed_in_requester_is_refused_with_a_clear_page(index):
    method, url = pages()[index]
    client = Client()
    client.force_login(make_requester(funds_cents=0).requester.user)
    response = getattr(client, method)(url)
    assert response.status_code == 403
    assert "which is not a worker account" in text(response)
    assert 'role="alert"' in response.content.decode()


def test_another_worker_s_test_is_not_found_and_cannot_be_handed_in():
    qt = bird_test(owner())
    _, alice = signed_in()
    started = ask(alice, qt)
    mallory, _ = signed_in()
    url = reverse("worker:qualification_test", args=[started.pk])
    assert mallory.get(url).status_code == 404
    assert mallory.post(url, {"bird1": "robin", "bird2": "wren", "bird3": "finch"}).status_code == 404
    started.refresh_from_db()
    assert started.state == "test" and started.answer == ""


def test_unknown_request_ids_are_not_found():
    client, _ = signed_in()
    assert client.get(reverse("worker:qualification_test", args=["NOSUCHREQUEST"])).status_code == 404


def test_a_request_without_a_test_has_no_test_page():
    qt = new_type(owner())
    client, worker = signed_in()
    pending = ask(worker, qt)
    assert client.get(reverse("worker:qualification_test", args=[pending.pk])).status_code == 404


@pytest.mark.parametrize("which", ["unknown", "sandbox", "deleted"])
def test_requesting_a_type_that_does_not_exist_here_is_not_found(which):
    requester = owner()
    if which == "unknown":
        type_id = "NOSUCHTYPE"
    elif which == "sandbox":
        type_id = new_type(requester, environment="sandbox").pk
    else:
        qt = new_type(requester)
        actions.delete_qualification_type(actor=OWNER, requester=requester, environment="live",
                                          qualification_type_id=qt.pk)
        type_id = qt.pk
    client, worker = signed_in()
    assert client.post(reverse("worker:request_qualification", args=[type_id])).status_code == 404
    assert not QualificationRequest.objects.filter(worker=worker).exists()


def test_requesting_needs_a_post():
    qt = new_type(owner(), auto_granted=True)
    client, worker = signed_in()
    assert client.get(reverse("worker:request_qualification", args=[qt.pk])).status_code == 405
    assert not QualificationRequest.objects.filter(worker=worker).exists()


def test_a_hand_in_without_the_csrf_token_is_refused():
    qt = bird_test(owner())
    client, worker = signed_in()
    client = Client(enforce_csrf_checks=True)
    client.force_login(worker.user)
    started = ask(worker, qt)
    response = client.post(reverse("worker:qualification_test", args=[started.pk]), {"bird1": "robin"})
    assert response.status_code == 403
    started.refresh_from_db()
    assert started.state == "test"
