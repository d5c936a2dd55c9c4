"""Signing up as a requester: the form, what it creates, bad input, and closed sign-up."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from kempelen.accounts import actions_requester
from kempelen.accounts.models import Requester
from kempelen.core.actors import Actor
from kempelen.core.errors import PermissionDenied
from kempelen.core.models import AuditEvent
from kempelen.ledger.models import LedgerTransaction
from tests.conftest import make_worker
from tests.kits import main, signed_in_session, text

from .conftest import PASSWORD

pytestmark = pytest.mark.django_db
SIGNUP = reverse("requester:signup")


def _form(username: str = "lab", **changes: str) -> dict[str, str]:
    data = {"username": username, "email": f"{username}@example.org", "password1": PASSWORD, "password2": PASSWORD,
            "display_name": "Vision Lab"}
    data.update(changes)
    return data


def test_the_sign_up_page_labels_its_fields(client):
    page = client.get(SIGNUP).content.decode()
    for label in ("Username", "Email address", "Password", "Password again", "Requester name"):
        assert f">{label}</label>" in page
    assert "Create my requester account" in page


def test_signing_up_creates_a_requester_signs_in_and_lands_on_home(client):
    response = client.post(SIGNUP, _form(), follow=True)
    assert response.redirect_chain[-1][0] == reverse("requester:home")
    requester = Requester.objects.get(user__username="lab")
    assert requester.display_name == "Vision Lab"
    assert requester.user.email == "lab@example.org"
    assert requester.user.check_password(PASSWORD)
    assert signed_in_session(client)
    assert "Welcome to Kempelen, Vision Lab!" in main(response.content)
    assert "in the sandbox" in main(response.content)
    assert AuditEvent.objects.filter(action="sign_up_requester", target_id=requester.customer_id).exists()
    # A new requester has no money and no API keys until they ask for them.
    assert not LedgerTransaction.objects.filter(requester=requester).exists()
    assert not requester.credentials.exists()


def test_an_empty_requester_name_becomes_the_username(client):
    client.post(SIGNUP, _form(display_name=""))
    assert Requester.objects.get(user__username="lab").display_name == "lab"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"password2": "something else entirely"}, "The two passwords differ. Type the same one twice."),
        ({"password1": "12345678", "password2": "12345678"}, "This password is entirely numeric."),
        ({"email": "not an address"}, "Enter a valid email address."),
        ({"username": "has space"}, "Enter a valid username."),
        ({"username": ""}, "This field is required."),
    ],
)
def test_bad_input_is_explained_and_creates_nothing(client, changes, message):
    response = client.post(SIGNUP, _form(**changes))
    assert response.status_code == 200
    assert message in text(response.content)
    assert 'role="alert"' in response.content.decode()
    assert not Requester.objects.exists()
    assert not signed_in_session(client)


def test_a_taken_username_or_email_is_refused_whoever_holds_it(client):
    worker = make_worker(email="taken@example.org")
    by_name = client.post(SIGNUP, _form(username=worker.user.username))
    assert "That username is taken. Choose another one." in text(by_name.content)
    by_email = client.post(SIGNUP, _form(email="TAKEN@example.org"))
    assert "An account with this email address already exists." in text(by_email.content)
    assert not Requester.objects.exists()


def test_the_password_is_never_echoed_back(client):
    response = client.post(SIGNUP, _form(password2="something else entirely"))
    assert PASSWORD not in response.content.decode()


def test_a_signed_in_user_is_asked_to_sign_out_first(client):
    client.post(SIGNUP, _form())
    assert "You are already signed in" in text(client.get(SIGNUP).content)
    refused = client.post(SIGNUP, _form(username="second", email="second@example.org"))
    assert refused.status_code == 403
    assert Requester.objects.count() == 1


@pytest.mark.usefixtures("signup_closed")
def test_closed_sign_up_shows_who_creates_accounts_and_creates_nothing(client):
    page = client.get(SIGNUP)
    assert page.status_code == 200
    assert "Requester sign-up is closed" in main(page.content)
    assert "kempelen create-requester" in main(page.content)
    assert client.post(SIGNUP, _form()).status_code == 403
    assert not get_user_model().objects.filter(username="lab").exists()


@pytest.mark.usefixtures("signup_closed")
def test_the_sign_up_action_itself_refuses_when_sign_up_is_closed():
    with pytest.raises(PermissionDenied, match="sign-up is closed"):
        actions_requester.sign_up_requester(actor=Actor.system("test"), username="lab", email="lab@example.org",
                                            password=PASSWORD)
    assert not Requester.objects.exists()
