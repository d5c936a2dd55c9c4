"""Reset links work only on the site of their kind of account, as the requester site's already did."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.urls import reverse

from tests.conftest import make_requester
from tests.kits import main

from .conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_a_requesters_reset_link_does_not_work_on_the_worker_site(client):
    requester = make_requester().requester
    requester.user.email = "requester@example.org"
    requester.user.set_password(PASSWORD)
    requester.user.save(update_fields=["email", "password"])
    client.post(reverse("requester:password_reset"), {"email": "requester@example.org"})
    requester_link = re.search(r"/requester/password/reset/(\S+)", mail.outbox[0].body)
    assert requester_link

    page = client.get(f"/worker/password/reset/{requester_link.group(1)}", follow=True)
    assert "This reset link does not work" in main(page.content)
    uidb64 = requester_link.group(1).split("/")[0]
    client.post(f"/worker/password/reset/{uidb64}/set-password",
                {"new_password1": "a brand new passphrase 42", "new_password2": "a brand new passphrase 42"})
    requester.user.refresh_from_db()
    assert requester.user.check_password(PASSWORD)
    # The same link still works where it was sent from.
    page = client.get(f"/requester/password/reset/{requester_link.group(1)}", follow=True)
    assert "Choose a new password" in main(page.content)


def test_the_password_changed_page_is_only_read(client):
    assert client.get(reverse("worker:password_reset_complete")).status_code == 200
    assert client.post(reverse("worker:password_reset_complete")).status_code == 405
