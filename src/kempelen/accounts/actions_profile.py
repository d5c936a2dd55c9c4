"""Workers' own account actions: signing up (with an invitation on invite-only instances), editing the
profile that feeds the Locale and Adult qualifications, setting a password; and operators' invitations."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError
from django.db import transaction

from kempelen.core import audit
from kempelen.core.actors import Actor
from kempelen.core.errors import InvalidParameter

from . import countries, invitations
from .actions import create_worker
from .models import Worker


def _check_locale(country: str, subdivision: str) -> tuple[str, str]:
    country, subdivision = country.strip().upper(), subdivision.strip().upper()
    if not countries.is_country(country):
        raise InvalidParameter("Choose your country from the list (an ISO 3166-1 two-letter code).")
    if subdivision and not (len(subdivision) == 2 and subdivision.isascii() and subdivision.isalpha()):
        raise InvalidParameter("A subdivision is two letters, such as CA for California (ISO 3166-2).")
    return country, subdivision


def _check_password(password: str, user: Any) -> None:
    try:
        password_validation.validate_password(password, user)
    except ValidationError as error:
        raise InvalidParameter(" ".join(error.messages)) from None


def email_in_use(email: str) -> bool:
    return bool(email) and get_user_model().objects.filter(email__iexact=email).exists()


def username_in_use(username: str) -> bool:
    return get_user_model().objects.filter(username__iexact=username).exists()


def sign_up_worker(
    *,
    actor: Actor,
    username: str,
    email: str,
    password: str,
    display_name: str = "",
    country: str,
    subdivision: str = "",
    is_adult: bool = False,
    invitation_code: str = "",
) -> Worker:
    """A person creates their own worker account. On an invite-only instance the invitation code is spent in
    the same transaction, so it creates exactly one account."""
    country, subdivision = _check_locale(country, subdivision)
    _check_password(password, get_user_model()(username=username, email=email))
    needs_invitation = invitations.invite_only()
    with transaction.atomic():
        code_digest = ""
        if needs_invitation:
            code_digest = invitations.verify(invitation_code)
            invitations.lock(code_digest)
            code_digest = invitations.usable(invitation_code)
        if username_in_use(username):
            raise InvalidParameter(f"The username {username!r} is taken.")
        if email_in_use(email):
            raise InvalidParameter("An account with this email address already exists.")
        worker = create_worker(
            actor=actor, username=username, email=email, password=password, display_name=display_name,
            country=country, subdivision=subdivision, is_adult=is_adult,
        )
        if needs_invitation:
            audit.record(actor, "redeem_invitation", target_type=invitations.TARGET_TYPE, target_id=code_digest,
                         worker_id=worker.worker_id)
        return worker


def update_worker_profile(
    *, actor: Actor, worker: Worker, display_name: str, country: str, subdivision: str, is_adult: bool
) -> Worker:
    """Change what the worker tells Kempelen about themselves. Country and subdivision are the worker's Locale
    qualification value and ``is_adult`` the Adult one, so requirements on them are judged anew at once."""
    country, subdivision = _check_locale(country, subdivision)
    display_name = display_name.strip()[:200]
    with transaction.atomic():
        locked = Worker.objects.select_for_update().get(pk=worker.pk)
        new = {"display_name": display_name or locked.user.get_username(), "country": country,
               "subdivision": subdivision, "is_adult": is_adult}
        changes: dict[str, Any] = {
            field: [getattr(locked, field), value] for field, value in new.items() if getattr(locked, field) != value
        }
        if changes:
            for field, (_old, value) in changes.items():
                setattr(locked, field, value)
            locked.save(update_fields=list(changes))
            audit.record(actor, "update_worker_profile", target_type="Worker", target_id=locked.worker_id,
                         changes=changes)
        for field, value in new.items():
            setattr(worker, field, value)
        return locked


def set_password(*, actor: Actor, user: Any, password: str, reason: str) -> None:
    """Give ``user`` a new password (``reason``: "change" with the old one, "reset" through an emailed link).

    Saving the new hash also voids outstanding password-reset links, whose tokens cover the hash."""
    User = get_user_model()
    _check_password(password, user)
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        locked.set_password(password)
        locked.save(update_fields=["password"])
        user.password = locked.password
        audit.record(actor, "set_password", target_type="User", target_id=locked.get_username(), reason=reason)


def create_invitation(*, actor: Actor, note: str = "") -> str:
    """A single-use code with which one person may sign up as a worker on an invite-only instance."""
    code, code_digest = invitations.make()
    with transaction.atomic():
        audit.record(actor, "create_invitation", target_type=invitations.TARGET_TYPE, target_id=code_digest,
                     note=note[:500])
    return code


def revoke_invitation(*, actor: Actor, code: str) -> None:
    """Withdraw a code that has not been used yet."""
    code_digest = invitations.verify(code)
    with transaction.atomic():
        invitations.lock(code_digest)
        if invitations.is_spent(code_digest):
            raise InvalidParameter("This invitation code has already been used or withdrawn.")
        audit.record(actor, "revoke_invitation", target_type=invitations.TARGET_TYPE, target_id=code_digest)
