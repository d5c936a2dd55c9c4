"""Requesters' account actions: signing up on the requester site, and operators adding funds to a balance.

Sign-up is open or closed (``settings.KEMPELEN["REQUESTER_SIGNUP"]``): on a closed instance only operators
create requesters (``kempelen create-requester``).

Adding funds is keyed: the operator's form carries a fresh request id, and the deposit's ledger key is made from
it, so a form submitted twice (a double click, a reload, a retried POST) deposits once.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError
from django.db import transaction

from kempelen.core import audit
from kempelen.core.actors import Actor
from kempelen.core.errors import InvalidParameter, PermissionDenied
from kempelen.core.models import Environment
from kempelen.ledger import actions as ledger

from .actions import create_requester
from .actions_profile import email_in_use, username_in_use
from .models import Requester

#: A request id of the add-funds form: 32 hexadecimal digits (a UUID without dashes).
FUNDS_REQUEST_ID = re.compile(r"^[0-9a-f]{32}$")
#: The largest single deposit an operator can make through the admin, in cents ($1,000,000).
MAX_DEPOSIT_CENTS = 100_000_000


def _check_password(password: str, username: str, email: str) -> None:
    try:
        password_validation.validate_password(password, get_user_model()(username=username, email=email))
    except ValidationError as error:
        raise InvalidParameter(" ".join(error.messages)) from None


def signup_open() -> bool:
    return str(settings.KEMPELEN.get("REQUESTER_SIGNUP", "open")).lower() != "closed"


def sign_up_requester(
    *, actor: Actor, username: str, email: str, password: str, display_name: str = ""
) -> Requester:
    """A person creates their own requester account (refused when sign-up is closed)."""
    if not signup_open():
        raise PermissionDenied("Requester sign-up is closed on this Kempelen: ask its operator for an account.")
    username, email, display_name = username.strip(), email.strip(), display_name.strip()
    if not username:
        raise InvalidParameter("Choose a username.")
    if not email:
        raise InvalidParameter("Enter your email address: password resets are sent there.")
    _check_password(password, username, email)
    with transaction.atomic():
        if username_in_use(username):
            raise InvalidParameter(f"The username {username!r} is taken.")
        if email_in_use(email):
            raise InvalidParameter("An account with this email address already exists.")
        requester = create_requester(
            actor=actor, username=username, email=email, password=password, display_name=display_name[:200],
        )
        audit.record(actor, "sign_up_requester", target_type="Requester", target_id=requester.customer_id)
        return requester


def add_funds(
    *, actor: Actor, requester: Requester, environment: str, cents: int, request_id: str, memo: str = ""
) -> bool:
    """Deposit ``cents`` into the requester's available funds in ``environment``, once per ``request_id``.

    Returns False (and deposits nothing) when this request was booked before."""
    if environment not in Environment.values:
        raise InvalidParameter("Choose the live environment or the sandbox.")
    if cents <= 0:
        raise InvalidParameter("The amount must be more than $0.00.")
    if cents > MAX_DEPOSIT_CENTS:
        raise InvalidParameter(f"One deposit can be at most ${MAX_DEPOSIT_CENTS // 100:,}.")
    if not FUNDS_REQUEST_ID.match(request_id):
        raise InvalidParameter("The form has expired. Open it again.")
    memo = memo.strip()[:1024] or "Deposit by an operator"
    with transaction.atomic():
        booked = ledger.deposit(
            requester=requester, environment=environment, cents=cents, key=f"deposit:{request_id}", actor=actor,
            memo=memo,
        )
        if booked:
            audit.record(actor, "add_funds", environment=environment, target_type="Requester",
                         target_id=requester.customer_id, cents=cents, memo=memo, request_id=request_id)
        return booked
