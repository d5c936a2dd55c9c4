"""Changing the password while signed in."""

from __future__ import annotations

import html

import pytest
from django.urls import reverse

from kempelen.core.models import AuditEvent

from .conftest import PASSWORD

pytestmark = pytest.mark.django_db
CHANGE = reverse("worker:password_change")
NEW = "a brand new passphrase 42"


def _text(response) -> str:  # type: ignore[no-untyped-def]
    return html.unescape(response.content.decode())


@pytest.fixture
def signed_in(client, worker_with_password):  # type: ignore[no-untyped-def]
    worker = worker_with_password()
    client.force_login(worker.user)
    return worker


def test_anonymous_visitors_are_sent_to_sign_in(client):
    assert client.get(CHANGE)["Location"].startswith(reverse("worker:login"))


def test_the_page_labels_its_fields(client, signed_in):
    page = _text(client.get(CHANGE))
    for label in ("Current password", "New password", "New password again"):
        assert f">{label}</label>" in page


def test_changing_the_password_keeps_this_session_signed_in(client, signed_in):
    response = client.post(CHANGE, {"old_password": PASSWORD, "new_password1": NEW, "new_password2": NEW},
                           follow=True)
    assert response.redirect_chain[-1][0] == reverse("worker:profile")
    assert "Your password is changed." in _text(response)
    signed_in.user.refresh_from_db()
    assert signed_in.user.check_password(NEW)
    assert client.get(reverse("worker:profile")).status_code == 200  # still signed in
    assert AuditEvent.objects.filter(action="set_password", target_id=signed_in.user.username,
                                     data__reason="change").exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"old_password": "wrong", "new_password1": NEW, "new_password2": NEW},
         "Your current password is not right. Type it again."),
        ({"old_password": PASSWORD, "new_password1": NEW, "new_password2": NEW + "x"},
         "The two new passwords differ. Type the same one twice."),
        ({"old_password": PASSWORD, "new_password1": "password1", "new_password2": "password1"},
         "This password is too common."),
    ],
)
def test_a_refused_change_says_why_and_changes_nothing(client, signed_in, data, message):
    response = client.post(CHANGE, data)
    assert response.status_code == 200
    page = _text(response)
    assert message in page and 'role="alert"' in page
    signed_in.user.refresh_from_db()
    assert signed_in.user.check_password(PASSWORD)
