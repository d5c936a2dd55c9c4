"""Signing in and out of the requester site, who may sign in, and the throttle on failed attempts."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.conftest import make_worker
from tests.kits import main, signed_in_session, text

from .conftest import PASSWORD

pytestmark = pytest.mark.django_db
LOGIN = reverse("requester:login")
LOGOUT = reverse("requester:logout")
HOME = reverse("requester:home")


def _try(client, username: str, password: str, address: str = "127.0.0.1", **extra: str):  # type: ignore[no-untyped-def]
    return client.post(LOGIN, {"username": username, "password": password, **extra}, REMOTE_ADDR=address)


def test_the_sign_in_page_labels_its_fields_and_offers_reset_and_sign_up(client):
    page = client.get(LOGIN).content.decode()
    assert ">Username</label>" in page and ">Password</label>" in page
    assert reverse("requester:password_reset") in page
    assert reverse("requester:signup") in page


def test_a_requester_signs_in_and_lands_on_home(client, requester_with_password):
    requester = requester_with_password()
    response = _try(client, requester.user.username, PASSWORD)
    assert response.status_code == 302 and response["Location"] == HOME
    assert signed_in_session(client)
    assert client.get(HOME).status_code == 200


def test_sign_in_returns_to_the_page_that_asked_for_it_but_never_to_another_site(client, requester_with_password):
    requester = requester_with_password()
    asked = client.get(reverse("requester:account"))
    assert asked["Location"] == f"{LOGIN}?next={reverse('requester:account')}"
    back = _try(client, requester.user.username, PASSWORD, next=reverse("requester:account"))
    assert back["Location"] == reverse("requester:account")
    client.logout()
    elsewhere = _try(client, requester.user.username, PASSWORD, next="https://evil.example/steal")
    assert elsewhere["Location"] == HOME


def test_a_signed_in_requester_visiting_sign_in_goes_home(client, requester_with_password):
    client.force_login(requester_with_password().user)
    assert client.get(LOGIN)["Location"] == HOME


def test_a_wrong_password_is_refused_and_the_username_is_kept(client, requester_with_password):
    requester = requester_with_password()
    response = _try(client, requester.user.username, "not my password")
    assert response.status_code == 200
    assert "The username or password is not right. Both are case-sensitive." in text(response.content)
    assert f'value="{requester.user.username}"' in response.content.decode()
    assert not signed_in_session(client)


def test_a_worker_signing_in_is_told_the_site_is_for_requesters_and_is_not_signed_in(client):
    worker = make_worker(password=PASSWORD)
    response = _try(client, worker.user.username, PASSWORD)
    assert response.status_code == 403
    page = main(response.content)
    assert "This site is for requesters" in page
    assert f"The account {worker.user.username} is not a requester account" in page
    assert not signed_in_session(client)


def test_a_worker_already_signed_in_gets_the_requesters_only_page_not_requester_data(client):
    client.force_login(make_worker().user)
    for name in ("requester:home", "requester:account", "requester:credentials", "requester:statement_csv",
                 "requester:password_change"):
        response = client.get(reverse(name))
        assert response.status_code == 403, name
        assert "for requesters" in text(response.content)


def test_a_requester_on_the_worker_site_gets_the_worker_sites_refusal(client, requester_with_password):
    requester = requester_with_password()
    refused = client.post(reverse("worker:login"), {"username": requester.user.username, "password": PASSWORD})
    assert refused.status_code == 403
    assert "This site is for workers" in text(refused.content)


def test_five_failures_pause_sign_in_for_that_username(client, requester_with_password, move_clock):
    name = requester_with_password().user.username
    for _ in range(4):
        assert _try(client, name, "guess").status_code == 200
    fifth = _try(client, name, "guess")
    assert fifth.status_code == 429
    assert "Too many failed sign-in attempts for this username" in text(fifth.content)
    refused = _try(client, name, PASSWORD)
    assert refused.status_code == 429 and "Sign-in is paused" in text(refused.content)
    assert not signed_in_session(client)
    move_clock(15 * 60 + 1)
    assert _try(client, name, PASSWORD).status_code == 302


def test_the_page_warns_before_the_pause(client, requester_with_password):
    name = requester_with_password().user.username
    for _ in range(2):
        assert "more failed attempts" not in text(_try(client, name, "guess").content)
    assert "2 more failed attempts and sign-in for this username pauses" in text(_try(client, name, "guess").content)
    assert "One more failed attempt" in text(_try(client, name, "guess").content)


def test_signing_out_takes_a_post_and_a_get_asks_first(client, requester_with_password):
    client.force_login(requester_with_password().user)
    confirm = client.get(LOGOUT)
    assert confirm.status_code == 200 and 'method="post"' in confirm.content.decode()
    assert signed_in_session(client)
    response = client.post(LOGOUT, follow=True)
    assert response.redirect_chain[-1][0] == LOGIN
    assert "You have signed out." in text(response.content)
    assert not signed_in_session(client)
    assert client.get(HOME)["Location"].startswith(LOGIN)
