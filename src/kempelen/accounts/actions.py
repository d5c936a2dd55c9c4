"""Creating requesters, workers and operators, and issuing and revoking API credentials."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction

from kempelen.core import audit, clock, ids
from kempelen.core.actors import Actor
from kempelen.core.errors import InvalidParameter

from .models import ApiCredential, Requester, Worker
from .secrets import encrypt


@dataclass(frozen=True)
class IssuedCredential:
    access_key_id: str
    secret_access_key: str


def _new_user(username: str, email: str, password: str | None):  # type: ignore[no-untyped-def]
    User = get_user_model()
    if User.objects.filter(username=username).exists():
        raise InvalidParameter(f"The username {username!r} is taken.")
    user = User(username=username, email=email)
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    return user


def create_requester(
    *, actor: Actor, username: str, email: str = "", display_name: str = "", password: str | None = None
) -> Requester:
    with transaction.atomic():
        user = _new_user(username, email, password)
        requester = Requester.objects.create(
            user=user, customer_id=ids.worker_id(), display_name=display_name or username, created_at=clock.now()
        )
        audit.record(actor, "create_requester", target_type="Requester", target_id=requester.customer_id)
        return requester


def create_worker(
    *,
    actor: Actor,
    username: str,
    email: str = "",
    password: str | None = None,
    display_name: str = "",
    country: str = "",
    subdivision: str = "",
    is_adult: bool = False,
    synthetic: bool = False,
) -> Worker:
    country, subdivision = country.upper(), subdivision.upper()
    if (country and len(country) != 2) or (subdivision and len(subdivision) != 2):
        raise InvalidParameter("Country and subdivision are two-letter ISO 3166 codes.")
    with transaction.atomic():
        user = _new_user(username, email, password)
        worker = Worker.objects.create(
            user=user, worker_id=ids.worker_id(), display_name=display_name or username, country=country,
            subdivision=subdivision, is_adult=is_adult, synthetic=synthetic, created_at=clock.now(),
        )
        audit.record(actor, "create_worker", target_type="Worker", target_id=worker.worker_id)
        return worker


def create_operator(*, actor: Actor, username: str, email: str, password: str) -> object:
    with transaction.atomic():
        user = _new_user(username, email, password)
        user.is_staff = True
        user.is_superuser = True
        user.save(update_fields=["is_staff", "is_superuser"])
        audit.record(actor, "create_operator", target_type="User", target_id=username)
        return user


def issue_credential(*, actor: Actor, requester: Requester, label: str = "") -> IssuedCredential:
    """A new access key for ``requester``. The secret is returned here once and stored only encrypted."""
    secret = ids.secret_access_key()
    with transaction.atomic():
        credential = ApiCredential.objects.create(
            requester=requester, access_key_id=ids.access_key_id(), secret_encrypted=encrypt(secret),
            label=label[:100], created_at=clock.now(),
        )
        audit.record(actor, "issue_credential", target_type="ApiCredential", target_id=credential.access_key_id)
    return IssuedCredential(credential.access_key_id, secret)


def revoke_credential(*, actor: Actor, requester: Requester, access_key_id: str) -> None:
    with transaction.atomic():
        credential = ApiCredential.objects.select_for_update().filter(
            requester=requester, access_key_id=access_key_id
        ).first()
        if credential is None:
            raise InvalidParameter(f"Access key {access_key_id} does not exist.")
        if credential.revoked_at is None:
            credential.revoked_at = clock.now()
            credential.save(update_fields=["revoked_at"])
            audit.record(actor, "revoke_credential", target_type="ApiCredential", target_id=access_key_id)


def set_masters(*, actor: Actor, worker: Worker, environment: str, value: bool) -> None:
    """Award or withdraw the Masters qualification in one environment (an operator's decision)."""
    field = "is_master_sandbox" if environment == "sandbox" else "is_master_live"
    with transaction.atomic():
        locked = Worker.objects.select_for_update().get(pk=worker.pk)
        setattr(locked, field, value)
        locked.save(update_fields=[field])
        audit.record(actor, "set_masters", environment=environment, target_type="Worker",
                     target_id=worker.worker_id, value=value)
