"""Signing up as a worker: the form, what it refuses and why, and the account it creates."""

from __future__ import annotations

import html

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from kempelen.accounts.models import Worker
from kempelen.core.models import AuditEvent
from tests.conftest import make_requester

from .conftest import PASSWORD

pytestmark = pytest.mark.django_db
SIGNUP = reverse("worker:signup")


def _form(**overrides: str) -> dict[str, str]:
    data = {
        "username": "ada", "email": "ada@example.org", "password1": PASSWORD, "password2": PASSWORD,
        "display_name": "Ada L.", "country": "GB", "subdivision": "", "is_adult": "on",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _text(response) -> str:  # type: ignore[no-untyped-def]
    return html.unescape(response.content.decode())


def test_the_sign_up_page_labels_every_field_and_lists_countries_by_name(client):
    response = client.get(SIGNUP)
    assert response.status_code == 200
    page = _text(response)
    for label in ("Username", "Email address", "Password", "Password again", "Display name (optional)",
                  "Country", "State or region (optional)",
                  "I am 18 or older and willing to work on HITs that may contain adult content"):
        assert f">{label}</" in page, label
    assert '<option value="US">United States</option>' in page
    assert '<option value="DE">Germany</option>' in page
    assert "Invitation code" not in page  # sign-up is open by default


def test_signing_up_creates_the_worker_signs_them_in_and_shows_their_worker_id(client):
    response = client.post(SIGNUP, _form(subdivision="ny", country="US"), follow=True)
    worker = Worker.objects.get(user__username="ada")
    assert (worker.display_name, worker.country, worker.subdivision, worker.is_adult) == ("Ada L.", "US", "NY", True)
    assert worker.user.email == "ada@example.org"
    assert worker.user.check_password(PASSWORD)
    assert response.redirect_chain[-1][0] == reverse("worker:profile")
    page = _text(response)
    assert f"Your Worker ID is {worker.worker_id}" in page
    assert response.context["user"] == worker.user  # signed in
    assert AuditEvent.objects.filter(action="create_worker", target_id=worker.worker_id).exists()


def test_the_adult_confirmation_is_optional(client):
    client.post(SIGNUP, _form(is_adult=None))
    assert Worker.objects.get(user__username="ada").is_adult is False


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"password2": "something else entirely"}, "password2", "The two passwords differ"),
        ({"password1": "password", "password2": "password"}, "password1", "This password is too common"),
        ({"password1": "12345678901", "password2": "12345678901"}, "password1", "This password is entirely numeric"),
        ({"password1": "ada@example.org1", "password2": "ada@example.org1"}, "password1", "too similar"),
        ({"username": "no spaces please"}, "username", "Enter a valid username"),
        ({"email": "not-an-email"}, "email", "Enter a valid email address"),
        ({"country": ""}, "country", "Choose your country."),
        ({"country": "XX"}, "country", "Choose your country from the list."),
        ({"subdivision": "C1"}, "subdivision", "A subdivision is two letters"),
        ({"subdivision": "CAL"}, "subdivision", "Ensure this value has at most 2 characters"),
        ({"username": ""}, "username", "This field is required."),
    ],
)
def test_sign_up_refuses_bad_input_with_a_message_next_to_the_field(client, overrides, field, message):
    response = client.post(SIGNUP, _form(**overrides))
    assert response.status_code == 200
    assert not Worker.objects.exists()
    page = _text(response)
    assert message in page
    assert 'role="alert"' in page
    assert f'id="id_{field}_error"' in page
    assert 'aria-invalid="true"' in page


def test_a_refused_sign_up_keeps_what_was_typed_except_the_passwords(client):
    response = client.post(SIGNUP, _form(password2="mismatch", country="CA", subdivision="qc",
                                         display_name="Ada from Montréal"))
    page = _text(response)
    assert 'value="ada"' in page
    assert 'value="ada@example.org"' in page
    assert 'value="Ada from Montréal"' in page
    assert '<option value="CA" selected>Canada</option>' in page
    assert 'value="qc"' in page
    assert 'name="is_adult"' in page and "checked" in page
    assert PASSWORD not in page  # never echoed back into the page


def test_a_taken_username_is_refused_whatever_its_case(client, worker_with_password):
    existing = worker_with_password()
    response = client.post(SIGNUP, _form(username=existing.user.username.upper()))
    assert "That username is taken. Choose another one." in _text(response)
    assert Worker.objects.count() == 1


def test_an_email_address_already_in_use_is_refused_with_a_way_forward(client, worker_with_password):
    worker_with_password(email="Ada@Example.org")
    response = client.post(SIGNUP, _form(email="ada@example.org"))
    page = _text(response)
    assert "An account with this email address already exists. Sign in, or reset your password" in page
    assert Worker.objects.count() == 1


def test_a_signed_in_person_is_told_to_sign_out_before_creating_another_account(client, worker_with_password):
    worker = worker_with_password()
    client.force_login(worker.user)
    page = client.get(SIGNUP)
    assert page.status_code == 200
    assert "You are already signed in" in _text(page)
    assert f"You are signed in as <strong>{worker.user.username}</strong>" in _text(page)
    refused = client.post(SIGNUP, _form())
    assert refused.status_code == 403
    assert not get_user_model().objects.filter(username="ada").exists()


def test_a_signed_in_requester_cannot_sign_up_either(client):
    requester = make_requester().requester
    client.force_login(requester.user)
    assert client.post(SIGNUP, _form()).status_code == 403
    assert not Worker.objects.exists()
