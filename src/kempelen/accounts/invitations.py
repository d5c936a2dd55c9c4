"""Invitation codes for invite-only sign-up: signed, timed, single-use tokens, with no table of their own.

An instance is invite-only when ``settings.KEMPELEN["WORKER_SIGNUP"]`` is ``"invite"``. An operator creates a
code with ``actions_profile.create_invitation`` and hands it out (as the code or as a sign-up link).

Design, chosen to need no new model:

* A code is ``<nonce>:<timestamp>:<signature>``: a random nonce signed with ``django.core.signing`` under its own
  salt. The signature proves an operator of this instance made it; the timestamp lets it expire after
  ``settings.KEMPELEN["INVITATION_MAX_AGE_DAYS"]`` days (30 by default). Changing ``SECRET_KEY`` voids every
  code not yet used.
* Every life event of a code is an audit row (``core.AuditEvent``) with ``target_type="Invitation"`` and
  ``target_id`` = a digest of the nonce (so the audit log never holds a usable code): ``create_invitation``
  (with the operator's note), ``redeem_invitation`` (with the new WorkerId) and ``revoke_invitation``. A code
  with a redeem or revoke row is spent. The audit table is indexed on ``(target_type, target_id)``.
* Single use under concurrency: redeeming runs in the sign-up transaction. On SQLite every write transaction
  begins ``IMMEDIATE``, so writers are serialised; on PostgreSQL the transaction first takes a transaction-level
  advisory lock keyed by the digest, so two sign-ups with one code queue and the second sees the first's row.

Pruning the audit log of ``redeem_invitation`` rows would make their codes usable again until they expire, so
keep audit rows at least as long as ``INVITATION_MAX_AGE_DAYS``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.conf import settings
from django.core import signing
from django.db import connection

from kempelen.core import clock
from kempelen.core.errors import InvalidParameter
from kempelen.core.models import AuditEvent

_SALT = "kempelen.accounts.invitation"
TARGET_TYPE = "Invitation"
SPENT_ACTIONS = ("redeem_invitation", "revoke_invitation")


class InvitationInvalid(InvalidParameter):
    """A sign-up without a usable invitation code on an invite-only instance."""

    code = "InvitationInvalid"


def invite_only() -> bool:
    """Anything but ``"open"`` (a typo included) keeps sign-up closed to people without a code."""
    return str(settings.KEMPELEN.get("WORKER_SIGNUP", "open")).strip().lower() != "open"


def max_age() -> dt.timedelta:
    return dt.timedelta(days=float(str(settings.KEMPELEN.get("INVITATION_MAX_AGE_DAYS", 30))))


class _Signer(signing.TimestampSigner):
    """Timestamps from Kempelen's clock, so tests can let codes expire by moving business time."""

    def timestamp(self) -> str:
        return signing.b62_encode(int(clock.now().timestamp()))

    def unsign(self, value: str, max_age: float | dt.timedelta | None = None) -> str:
        result = signing.Signer.unsign(self, value)
        nonce, ts = result.rsplit(self.sep, 1)
        if max_age is not None:
            seconds = max_age.total_seconds() if isinstance(max_age, dt.timedelta) else max_age
            age = clock.now().timestamp() - signing.b62_decode(ts)
            if age > seconds:
                raise signing.SignatureExpired(f"Signature age {age} > {seconds} seconds")
        return nonce


def _signer() -> _Signer:
    return _Signer(salt=_SALT)


def make() -> tuple[str, str]:
    """A new code and its digest (what the audit log records)."""
    nonce = secrets.token_urlsafe(12)
    return _signer().sign(nonce), digest(nonce)


def digest(nonce: str) -> str:
    return hashlib.sha256(f"{_SALT}:{nonce}".encode()).hexdigest()[:40]


def verify(code: str) -> str:
    """The digest of a genuine, unexpired code (spent or not); ``InvitationInvalid`` otherwise."""
    code = (code or "").strip()
    if not code:
        raise InvitationInvalid("Kempelen is invite-only here: enter the invitation code you were given.")
    try:
        nonce = _signer().unsign(code, max_age=max_age())
    except signing.SignatureExpired:
        raise InvitationInvalid("This invitation code has expired. Ask for a new one.") from None
    except signing.BadSignature:
        raise InvitationInvalid(
            "This invitation code is not valid. Check that you copied all of it, or ask for a new one."
        ) from None
    return digest(nonce)


def is_spent(code_digest: str) -> bool:
    return AuditEvent.objects.filter(
        target_type=TARGET_TYPE, target_id=code_digest, action__in=SPENT_ACTIONS
    ).exists()


def usable(code: str) -> str:
    """The digest of a code that may still be used; ``InvitationInvalid`` with the reason otherwise."""
    code_digest = verify(code)
    if is_spent(code_digest):
        raise InvitationInvalid("This invitation code has already been used. Each code creates one account.")
    return code_digest


def lock(code_digest: str) -> None:
    """Serialise transactions spending the same code (call inside ``transaction.atomic()``)."""
    if connection.vendor == "postgresql":
        key = int.from_bytes(bytes.fromhex(code_digest[:16]), "big", signed=True)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])
    # SQLite: the write transaction began IMMEDIATE and already holds the database's write lock.
