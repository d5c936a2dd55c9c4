"""Resetting a forgotten password by email: the request, the email, the link, and their limits."""

from __future__ import annotations

import html
import re

import pytest
from django.core import mail
from django.urls import reverse

from kempelen.core.models import AuditEvent
from tests.conftest import make_requester

from .conftest import PASSWORD

pytestmark = pytest.mark.django_db
RESET = reverse("worker:password_reset")
SENT = reverse("worker:password_reset_done")
NEW = "a brand new passphrase 42"


def _text(response) -> str:  # type: ignore[no-untyped-def]
    return html.unescape(response.content.decode())


def _link(message) -> str:  # type: ignore[no-untyped-def]
    found = re.search(r"https?://\S+/worker/password/reset/\S+", message.body)
    assert found, message.body
    return found.group(0)


def _path(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


def test_the_reset_page_asks_for_the_email_address(client):
    page = _text(client.get(RESET))
    assert ">Email address</label>" in page
    assert "Send me a reset link" in page


def test_a_worker_gets_an_email_with_a_link_and_their_username(client, worker_with_password):
    worker = worker_with_password()
    response = client.post(RESET, {"email": worker.user.email.upper()}, follow=True)
    assert response.redirect_chain[-1][0] == SENT
    assert "Check your email" in _text(response)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [worker.user.email]
    assert message.subject == "Reset your Kempelen password"
    assert f"Your username is: {worker.user.username}" in message.body
    assert _link(message).startswith("http://testserver/worker/password/reset/")


def test_an_unknown_address_gets_the_same_answer_and_no_email(client):
    response = client.post(RESET, {"email": "nobody@example.org"})
    assert response["Location"] == SENT
    assert mail.outbox == []


def test_requesters_get_no_reset_email_from_the_worker_site(client):
    requester = make_requester().requester
    requester.user.email = "req@example.org"
    requester.user.set_password(PASSWORD)
    requester.user.save()
    assert client.post(RESET, {"email": "req@example.org"})["Location"] == SENT
    assert mail.outbox == []


def test_an_invalid_address_is_refused_with_a_message(client):
    page = _text(client.post(RESET, {"email": "not an address"}))
    assert "Enter a valid email address." in page and 'role="alert"' in page
    assert 'value="not an address"' in page


def test_the_link_lets_the_worker_choose_a_new_password_once(client, worker_with_password):
    worker = worker_with_password()
    client.post(RESET, {"email": worker.user.email})
    link = _path(_link(mail.outbox[0]))

    # The token moves from the URL into the session, so it does not leak through the Referer header.
    opened = client.get(link)
    assert opened.status_code == 302 and opened["Location"].endswith("/set-password")
    form = client.get(opened["Location"])
    page = _text(form)
    assert "Choose a new password" in page
    assert ">New password</label>" in page and ">New password again</label>" in page

    mismatch = client.post(opened["Location"], {"new_password1": NEW, "new_password2": "other"})
    assert "The two new passwords differ" in _text(mismatch)

    done = client.post(opened["Location"], {"new_password1": NEW, "new_password2": NEW}, follow=True)
    assert done.redirect_chain[-1][0] == reverse("worker:password_reset_complete")
    assert "Your password is changed" in _text(done)
    worker.user.refresh_from_db()
    assert worker.user.check_password(NEW)
    assert AuditEvent.objects.filter(action="set_password", data__reason="reset").exists()

    signed_in = client.post(reverse("worker:login"), {"username": worker.user.username, "password": NEW})
    assert signed_in.status_code == 302

    client.logout()
    again = client.get(link)
    assert "This reset link does not work" in _text(again)


def test_a_mangled_link_is_explained(client, worker_with_password):
    worker = worker_with_password()
    client.post(RESET, {"email": worker.user.email})
    link = _path(_link(mail.outbox[0]))
    page = _text(client.get(link[:-2] + "xx"))
    assert "This reset link does not work" in page
    assert 'role="alert"' in page


def test_links_use_the_public_url_when_one_is_configured(client, settings, worker_with_password):
    settings.KEMPELEN = {**settings.KEMPELEN, "PUBLIC_URL": "https://work.example.org"}
    worker = worker_with_password()
    client.post(RESET, {"email": worker.user.email})
    assert _link(mail.outbox[0]).startswith("https://work.example.org/worker/password/reset/")


def test_resetting_the_password_lifts_a_sign_in_pause(client, worker_with_password):
    worker = worker_with_password()
    login = reverse("worker:login")
    for _ in range(5):
        client.post(login, {"username": worker.user.username, "password": "guess"})
    assert client.post(login, {"username": worker.user.username, "password": PASSWORD}).status_code == 429

    client.post(RESET, {"email": worker.user.email})
    set_password = client.get(_path(_link(mail.outbox[0])))["Location"]
    client.post(set_password, {"new_password1": NEW, "new_password2": NEW})

    assert client.post(login, {"username": worker.user.username, "password": NEW}).status_code == 302


def test_reset_emails_to_one_address_are_limited(client, worker_with_password, move_clock):
    worker = worker_with_password()
    for _ in range(3):
        assert client.post(RESET, {"email": worker.user.email})["Location"] == SENT
    refused = client.post(RESET, {"email": worker.user.email})
    assert refused.status_code == 429
    assert "Too many password-reset requests" in _text(refused)
    assert len(mail.outbox) == 3
    move_clock(3601)
    assert client.post(RESET, {"email": worker.user.email})["Location"] == SENT
    assert len(mail.outbox) == 4
