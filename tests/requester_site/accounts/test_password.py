"""Changing the password while signed in, and resetting a forgotten one by email."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.urls import reverse

from kempelen.core.models import AuditEvent
from tests.conftest import make_worker
from tests.kits import main, signed_in_session, text

from .conftest import PASSWORD

pytestmark = pytest.mark.django_db
CHANGE = reverse("requester:password_change")
RESET = reverse("requester:password_reset")
SENT = reverse("requester:password_reset_done")
NEW = "a brand new passphrase 42"


def _link(message) -> str:  # type: ignore[no-untyped-def]
    found = re.search(r"https?://\S+/requester/password/reset/\S+", message.body)
    assert found, message.body
    return re.sub(r"^https?://[^/]+", "", found.group(0))


def test_anonymous_visitors_are_sent_to_sign_in_to_change_their_password(client):
    response = client.get(CHANGE)
    assert response.status_code == 302 and response["Location"].startswith(reverse("requester:login"))


def test_a_requester_changes_their_password_and_stays_signed_in(client, requester_with_password):
    requester = requester_with_password()
    client.force_login(requester.user)
    response = client.post(CHANGE, {"old_password": PASSWORD, "new_password1": NEW, "new_password2": NEW}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("requester:account")
    assert "Your password is changed." in main(response.content)
    assert signed_in_session(client)
    requester.user.refresh_from_db()
    assert requester.user.check_password(NEW)
    event = AuditEvent.objects.get(action="set_password", target_id=requester.user.username)
    assert event.actor.startswith(f"requester:{requester.customer_id}")


def test_a_wrong_current_password_changes_nothing(client, requester_with_password):
    requester = requester_with_password()
    client.force_login(requester.user)
    response = client.post(CHANGE, {"old_password": "wrong", "new_password1": NEW, "new_password2": NEW})
    assert response.status_code == 200
    assert "Your current password is not right. Type it again." in text(response.content)
    requester.user.refresh_from_db()
    assert requester.user.check_password(PASSWORD)


def test_a_requester_gets_a_reset_email_whose_link_sets_a_new_password(client, requester_with_password):
    requester = requester_with_password()
    response = client.post(RESET, {"email": requester.user.email.upper()}, follow=True)
    assert response.redirect_chain[-1][0] == SENT
    assert "Check your email" in main(response.content)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [requester.user.email]
    assert message.subject == "Reset your Kempelen requester password"
    assert f"Your username is: {requester.user.username}" in message.body

    form = client.get(_link(message), follow=True)
    assert "Choose a new password" in main(form.content)
    done = client.post(form.redirect_chain[-1][0], {"new_password1": NEW, "new_password2": NEW}, follow=True)
    assert done.redirect_chain[-1][0] == reverse("requester:password_reset_complete")
    requester.user.refresh_from_db()
    assert requester.user.check_password(NEW)
    # The link works once.
    assert "This reset link does not work" in main(client.get(_link(message), follow=True).content)


def test_reset_links_use_the_public_url_when_one_is_set(client, settings, requester_with_password):
    settings.KEMPELEN = {**settings.KEMPELEN, "PUBLIC_URL": "https://turk.example.org"}
    requester = requester_with_password()
    client.post(RESET, {"email": requester.user.email})
    assert "https://turk.example.org/requester/password/reset/" in mail.outbox[0].body


def test_a_worker_address_gets_the_same_answer_and_no_email(client):
    make_worker(email="worker@example.org", password=PASSWORD)
    response = client.post(RESET, {"email": "worker@example.org"})
    assert response["Location"] == SENT
    assert mail.outbox == []


def test_a_workers_reset_link_does_not_work_on_the_requester_site(client):
    worker = make_worker(email="worker@example.org", password=PASSWORD)
    client.post(reverse("worker:password_reset"), {"email": "worker@example.org"})
    worker_link = re.search(r"/worker/password/reset/(\S+)", mail.outbox[0].body)
    assert worker_link
    page = client.get(f"/requester/password/reset/{worker_link.group(1)}", follow=True)
    assert "This reset link does not work" in main(page.content)
    worker.user.refresh_from_db()
    assert worker.user.check_password(PASSWORD)


def test_reset_emails_are_limited_per_address(client, requester_with_password):
    requester = requester_with_password()
    for _ in range(3):
        client.post(RESET, {"email": requester.user.email})
    fourth = client.post(RESET, {"email": requester.user.email})
    assert fourth.status_code == 429
    assert "Too many password-reset requests" in text(fourth.content)
    assert len(mail.outbox) == 3
