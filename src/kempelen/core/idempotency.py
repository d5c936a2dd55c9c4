"""UniqueRequestToken: a token may be used once per requester and scope within 24 hours."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction

from . import clock
from .models import IdempotencyToken

if TYPE_CHECKING:
    from kempelen.accounts.models import Requester

WINDOW = dt.timedelta(hours=24)


def previous_result(requester: Requester, environment: str, scope: str, token: str) -> str | None:
    """What the token produced if it was used in the last 24 hours, else None (and a stale record is dropped)."""
    row = IdempotencyToken.objects.filter(
        requester=requester, environment=environment, scope=scope, token=token
    ).first()
    if row is None:
        return None
    if row.created_at <= clock.now() - WINDOW:
        row.delete()
        return None
    return row.result


def remember(requester: Requester, environment: str, scope: str, token: str, result: str) -> bool:
    """Record the token; False when a concurrent request recorded it first."""
    try:
        with transaction.atomic():
            IdempotencyToken.objects.create(
                requester=requester,
                environment=environment,
                scope=scope,
                token=token,
                result=result,
                created_at=clock.now(),
            )
    except IntegrityError:
        return False
    return True


def purge_expired() -> int:
    deleted, _ = IdempotencyToken.objects.filter(created_at__lte=clock.now() - WINDOW).delete()
    return deleted
