"""UniqueRequestToken: a token may be used once per requester and scope within 24 hours."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction

from . import audit, clock
from .models import IdempotencyToken

if TYPE_CHECKING:
    from kempelen.accounts.models import Requester

    from .actors import Actor

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


def purge_expired(*, actor: Actor, chunk: int = 5_000, max_chunks: int = 20) -> int:
    """Delete the tokens older than MTurk's 24 hours (a step of the job runner); returns how many went.

    An expired token answers nothing any more (``previous_result`` ignores it), so its row is only weight. When none
    has expired this is one indexed read and no write. A backlog goes ``chunk`` rows per transaction, at most
    ``max_chunks`` per call, so that no call holds the write lock for long; several runners may purge at once (a row
    two of them delete goes once).
    """
    cutoff = clock.now() - WINDOW
    expired = IdempotencyToken.objects.filter(created_at__lte=cutoff)
    deleted = 0
    for _ in range(max_chunks):
        ids = list(expired.order_by("created_at").values_list("pk", flat=True)[:chunk])
        if not ids:
            break
        with transaction.atomic():
            gone, _ = IdempotencyToken.objects.filter(pk__in=ids, created_at__lte=cutoff).delete()
            if gone:
                audit.record(actor, "purge_idempotency_tokens", count=gone, older_than=cutoff.isoformat())
        deleted += gone
        if len(ids) < chunk:
            break
    return deleted
