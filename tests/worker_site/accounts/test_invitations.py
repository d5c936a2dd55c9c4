"""Invite-only sign-up: an operator's single-use, expiring invitation codes."""

from __future__ import annotations

import html

import pytest
from django.urls import reverse

from kempelen.accounts import actions_profile
from kempelen.accounts.invitations import InvitationInvalid
from kempelen.accounts.models import Worker
from kempelen.core.actors import Actor
from kempelen.core.errors import InvalidParameter
from kempelen.core.models import AuditEvent

from .conftest import PASSWORD

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("invite_only")]
SIGNUP = reverse("worker:signup")
OPERATOR = Actor.operator("ops")


def _form(username: str = "ada", code: str | None = None) -> dict[str, str]:
    data = {"username": username, "email": f"{username}@example.org", "password1": PASSWORD,
            "password2": PASSWORD, "country": "US"}
    if code is not None:
        data["invitation"] = code
    return data


def _text(response) -> str:  # type: ignore[no-untyped-def]
    return html.unescape(response.content.decode())


def test_the_invite_only_sign_up_page_asks_for_the_code_and_fills_it_from_the_link(client):
    code = actions_profile.create_invitation(actor=OPERATOR, note="for the pilot")
    page = _text(client.get(SIGNUP, {"invitation": code}))
    assert "This Kempelen is invite-only" in page
    assert ">Invitation code</label>" in page
    assert f'value="{code}"' in page


def test_sign_up_without_a_code_is_refused(client):
    response = client.post(SIGNUP, _form())
    assert "This Kempelen is invite-only: enter the invitation code you were given." in _text(response)
    assert not Worker.objects.exists()


def test_a_made_up_or_mangled_code_is_refused(client):
    code = actions_profile.create_invitation(actor=OPERATOR)
    for bad in ("letmein", code[:-3] + "abc"):
        response = client.post(SIGNUP, _form(code=bad))
        assert "This invitation code is not valid" in _text(response)
    assert not Worker.objects.exists()


def test_a_valid_code_creates_one_account_and_only_one(client):
    code = actions_profile.create_invitation(actor=OPERATOR, note="Ada")
    created = client.post(SIGNUP, _form(code=f"  {code}  "))
    assert created.status_code == 302
    worker = Worker.objects.get(user__username="ada")
    assert AuditEvent.objects.filter(action="redeem_invitation", data__worker_id=worker.worker_id).exists()

    client.logout()
    again = client.post(SIGNUP, _form(username="grace", code=code))
    assert "This invitation code has already been used" in _text(again)
    assert Worker.objects.count() == 1


def test_the_audit_log_never_holds_a_usable_code(client):
    code = actions_profile.create_invitation(actor=OPERATOR, note="Ada")
    row = AuditEvent.objects.get(action="create_invitation")
    assert row.data == {"note": "Ada"}
    assert row.target_id not in code and code not in str(row.data)


def test_a_code_expires_after_the_configured_age(client, settings, move_clock):
    settings.KEMPELEN = {**settings.KEMPELEN, "INVITATION_MAX_AGE_DAYS": 7}
    code = actions_profile.create_invitation(actor=OPERATOR)
    move_clock(8 * 86400)
    response = client.post(SIGNUP, _form(code=code))
    assert "This invitation code has expired. Ask for a new one." in _text(response)
    assert not Worker.objects.exists()


def test_a_withdrawn_code_no_longer_works(client):
    code = actions_profile.create_invitation(actor=OPERATOR)
    actions_profile.revoke_invitation(actor=OPERATOR, code=code)
    assert "already been used" in _text(client.post(SIGNUP, _form(code=code)))
    with pytest.raises(InvalidParameter, match="already been used or withdrawn"):
        actions_profile.revoke_invitation(actor=OPERATOR, code=code)


def test_the_action_itself_refuses_a_spent_code(client):
    """The form's check is for the message; the action decides, under a lock, in the sign-up transaction."""
    code = actions_profile.create_invitation(actor=OPERATOR)
    actions_profile.sign_up_worker(actor=OPERATOR, username="ada", email="ada@example.org", password=PASSWORD,
                                   country="US", invitation_code=code)
    with pytest.raises(InvitationInvalid, match="already been used"):
        actions_profile.sign_up_worker(actor=OPERATOR, username="grace", email="grace@example.org",
                                       password=PASSWORD, country="US", invitation_code=code)
    with pytest.raises(InvitationInvalid, match="invite-only"):
        actions_profile.sign_up_worker(actor=OPERATOR, username="grace", email="grace@example.org",
                                       password=PASSWORD, country="US")


def test_open_sign_up_ignores_codes(client, settings):
    settings.KEMPELEN = {**settings.KEMPELEN, "WORKER_SIGNUP": "open"}
    assert client.post(SIGNUP, _form(code="whatever")).status_code == 302


def test_a_mistyped_setting_keeps_sign_up_closed_rather_than_open(client, settings):
    settings.KEMPELEN = {**settings.KEMPELEN, "WORKER_SIGNUP": "invte"}
    assert "This Kempelen is invite-only" in _text(client.post(SIGNUP, _form()))
    assert not Worker.objects.exists()
