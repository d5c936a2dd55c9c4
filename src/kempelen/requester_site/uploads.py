"""Keeping an uploaded file between the steps of a dry-run-then-apply page.

The file's bytes are stored as uploaded; each step parses them again. An upload belongs to one requester, one
environment, one kind and one subject (``subject_id``): fetching it with any other of these fails as if it did
not exist. Uploads older than ``MAX_AGE`` are removed by ``discard_stale``.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from kempelen.accounts.models import Requester
from kempelen.core import audit, clock, ids
from kempelen.core.actors import Actor
from kempelen.core.errors import InvalidParameter

from .models import PendingUpload

MAX_AGE = dt.timedelta(days=1)
#: The largest file accepted (bytes). A million-row results CSV is a few hundred megabytes; batch inputs less.
MAX_BYTES = 512 * 1024 * 1024


def keep_upload(
    *, actor: Actor, requester: Requester, environment: str, kind: str, filename: str, content: bytes,
    subject_id: str = "",
) -> PendingUpload:
    """Store an uploaded file for the next step; returns the row (its id goes into the next form)."""
    if len(content) > MAX_BYTES:
        raise InvalidParameter(f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB.")
    with transaction.atomic():
        upload = PendingUpload.objects.create(
            id=ids.entity_id(), requester=requester, environment=environment, kind=kind,
            filename=filename[:255], content=content, subject_id=subject_id, created_at=clock.now(),
        )
        audit.record(actor, "keep_upload", environment=environment, target_type="PendingUpload",
                     target_id=upload.pk, kind=kind, filename=filename[:255], size=len(content), subject=subject_id)
    return upload


def find_upload(
    upload_id: str, *, requester: Requester, environment: str, kind: str, subject_id: str = ""
) -> PendingUpload | None:
    """The requester's own upload of this kind and subject, if it still exists and is not stale."""
    return PendingUpload.objects.filter(
        pk=upload_id, requester=requester, environment=environment, kind=kind, subject_id=subject_id,
        created_at__gt=clock.now() - MAX_AGE,
    ).first()


def discard_upload(*, actor: Actor, upload: PendingUpload) -> None:
    with transaction.atomic():
        deleted, _ = PendingUpload.objects.filter(pk=upload.pk).delete()
        if deleted:
            audit.record(actor, "discard_upload", environment=upload.environment, target_type="PendingUpload",
                         target_id=upload.pk)


def discard_stale(*, actor: Actor) -> int:
    """Remove uploads older than ``MAX_AGE`` (run by the job runner)."""
    stale = PendingUpload.objects.filter(created_at__lte=clock.now() - MAX_AGE)
    if not stale.exists():  # most passes: no write transaction at all
        return 0
    with transaction.atomic():
        deleted, _ = stale.delete()
        if deleted:
            audit.record(actor, "discard_stale_uploads", count=deleted)
    return deleted
