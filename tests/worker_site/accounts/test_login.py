"""Signing in and out, who may sign in to the worker site, and the throttle on failed attempts."""

from __future__ import annotations

import html

import pytest
from django.test import RequestFactory
from django.urls import reverse

from kempelen.worker_site import ratelimit
from tests.conftest import make_requester

from .conftest import PASSWORD

pytestmark = pytest.mark.django_db
LOGIN = reverse("worker:login")
LOGOUT = reverse("worker:logout")
FIFTEEN_MINUTES = 15 * 60


def _text(response) -> str:  # type: ignore[no-untyped-def]
    return html.unescape(response.content.decode())


def _signed_in(client) -> bool:  # type: ignore[no-untyped-def]
    return "_auth_user_id" in client.session


def _try(client, username: str, password: str, address: str = "127.0.0.1"):  # type: ignore[no-untyped-def]
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address)


def test_the_sign_in_page_labels_its_fields_and_offers_reset_and_sign_up(client):
    page = _text(client.get(LOGIN))
    assert ">Username</label>" in page and ">Password</label>" in page
    assert reverse("worker:password_reset") in page
    assert reverse("worker:signup") in page


def test_a_worker_signs_in_and_lands_on_the_work_list(client, worker_with_password):
    worker = worker_with_password()
    response = _try(client, worker.user.username, PASSWORD)
    assert response.status_code == 302 and response["Location"] == reverse("worker:groups")
    assert _signed_in(client)


def test_sign_in_returns_to_the_page_that_asked_for_it_but_never_to_another_site(client, worker_with_password):
    worker = worker_with_password()
    profile = reverse("worker:profile")
    to_profile = client.post(LOGIN, {"username": worker.user.username, "password": PASSWORD, "next": profile})
    assert to_profile["Location"] == profile
    client.logout()
    elsewhere = client.post(LOGIN, {"username": worker.user.username, "password": PASSWORD,
                                    "next": "https://evil.example/steal"})
    assert elsewhere["Location"] == reverse("worker:groups")


def test_a_signed_in_worker_visiting_sign_in_goes_straight_to_work(client, worker_with_password):
    client.force_login(worker_with_password().user)
    assert client.get(LOGIN)["Location"] == reverse("worker:groups")


def test_a_wrong_password_is_refused_and_the_username_is_kept(client, worker_with_password):
    worker = worker_with_password()
    response = _try(client, worker.user.username, "not my password")
    assert response.status_code == 200
    page = _text(response)
    assert "The username or password is not right. Both are case-sensitive." in page
    assert 'role="alert"' in page
    assert f'value="{worker.user.username}"' in page
    assert not _signed_in(client)


def test_a_requester_signing_in_is_told_the_site_is_for_workers_and_is_not_signed_in(client):
    requester = make_requester().requester
    user = requester.user
    user.set_password(PASSWORD)
    user.save()
    response = _try(client, user.username, PASSWORD)
    assert response.status_code == 403
    page = _text(response)
    assert "This site is for workers" in page
    assert f"The account <strong>{user.username}</strong> is not a worker account" in page
    assert not _signed_in(client)


def test_five_failures_pause_sign_in_for_that_username_for_fifteen_minutes(client, worker_with_password, move_clock):
    worker = worker_with_password()
    name = worker.user.username
    for _ in range(4):
        assert _try(client, name, "guess").status_code == 200
    fifth = _try(client, name, "guess")
    assert fifth.status_code == 429
    assert "Too many failed sign-in attempts for this username" in _text(fifth)
    assert "paused for 15 minutes" in _text(fifth)

    # Even the right password is refused while paused, and the page says why.
    refused = _try(client, name, PASSWORD)
    assert refused.status_code == 429
    assert "Sign-in is paused" in _text(refused)
    assert not _signed_in(client)

    move_clock(FIFTEEN_MINUTES - 60)
    assert _try(client, name, PASSWORD).status_code == 429
    move_clock(61)
    assert _try(client, name, PASSWORD).status_code == 302
    assert _signed_in(client)


def test_the_page_warns_before_the_pause(client, worker_with_password):
    name = worker_with_password().user.username
    for _ in range(2):
        assert "more failed attempts" not in _text(_try(client, name, "guess"))
    assert "2 more failed attempts and sign-in for this username pauses" in _text(_try(client, name, "guess"))
    assert "One more failed attempt" in _text(_try(client, name, "guess"))


def test_failures_older_than_the_window_are_forgotten(client, worker_with_password, move_clock):
    name = worker_with_password().user.username
    for _ in range(4):
        _try(client, name, "guess")
    move_clock(FIFTEEN_MINUTES + 1)
    assert _try(client, name, "guess").status_code == 200  # a fresh count, not the fifth strike
    assert _try(client, name, PASSWORD).status_code == 302


def test_a_successful_sign_in_resets_the_count_for_that_username(client, worker_with_password):
    name = worker_with_password().user.username
    for _ in range(4):
        _try(client, name, "guess")
    assert _try(client, name, PASSWORD).status_code == 302
    client.logout()
    for _ in range(4):
        assert _try(client, name, "guess").status_code == 200


def test_the_username_pause_ignores_case_and_names_that_do_not_exist_pause_too(client):
    """Any username is counted, so the throttle does not reveal which accounts exist."""
    for _ in range(5):
        _try(client, "Nobody", "guess")
    assert "for this username" in _text(_try(client, "nobody", "guess"))


def test_a_pause_on_one_username_leaves_other_workers_alone(client, worker_with_password):
    victim, other = worker_with_password(), worker_with_password()
    for _ in range(5):
        _try(client, victim.user.username, "guess")
    assert _try(client, other.user.username, PASSWORD).status_code == 302


def test_many_failures_from_one_address_pause_that_address_for_every_username(client, worker_with_password, move_clock):
    worker = worker_with_password()
    for n in range(20):
        _try(client, f"spray{n}", "guess", address="203.0.113.7")
    refused = _try(client, worker.user.username, PASSWORD, address="203.0.113.7")
    assert refused.status_code == 429
    assert "Too many failed sign-in attempts from your network" in _text(refused)
    assert _try(client, worker.user.username, PASSWORD, address="198.51.100.1").status_code == 302
    client.logout()
    move_clock(FIFTEEN_MINUTES + 1)
    assert _try(client, worker.user.username, PASSWORD, address="203.0.113.7").status_code == 302


def test_limits_come_from_settings(client, settings, worker_with_password, move_clock):
    settings.KEMPELEN = {**settings.KEMPELEN, "LOGIN_MAX_FAILURES": 2, "LOGIN_LOCKOUT_SECONDS": 60}
    name = worker_with_password().user.username
    _try(client, name, "guess")
    assert _try(client, name, "guess").status_code == 429
    move_clock(61)
    assert _try(client, name, PASSWORD).status_code == 302


def test_the_client_address_comes_from_x_forwarded_for_only_behind_trusted_proxies(settings):
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9")
    assert ratelimit.client_address(request) == "10.0.0.2"
    settings.KEMPELEN = {**settings.KEMPELEN, "TRUSTED_PROXY_COUNT": 1}
    assert ratelimit.client_address(request) == "203.0.113.9"  # the proxy's own entry, not what the client wrote


def test_signing_out_takes_a_post_and_a_get_asks_first(client, worker_with_password):
    worker = worker_with_password()
    client.force_login(worker.user)
    confirm = client.get(LOGOUT)
    assert confirm.status_code == 200
    assert "Sign out" in _text(confirm) and 'method="post"' in _text(confirm)
    assert _signed_in(client)

    response = client.post(LOGOUT, follow=True)
    assert response.redirect_chain[-1][0] == LOGIN
    assert "You have signed out." in _text(response)
    assert not _signed_in(client)
    assert client.get(LOGOUT)["Location"] == LOGIN
