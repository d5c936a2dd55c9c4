"""Files workers upload for QuestionForm ``FileUploadAnswer`` questions, and the links requesters fetch them by.

- **Storing** (:func:`store_upload`, called by the worker pages while the assignment is in progress): the file
  goes to ``MEDIA_ROOT/uploads/<AssignmentId>/<key>-<safe original name>``, where ``key`` is 32 random hex
  characters that the answer XML carries as ``UploadedFileKey``. Uploading again for the same question
  replaces the earlier file (a worker may correct a wrong upload before submitting).
- **Links** (:func:`signed_url`, for GetFileUploadURL): ``<base>/files/<token>``, where the token is the
  file's key signed with a timestamp from :mod:`kempelen.core.clock` (millisecond precision) and Django's
  signing key. A link is valid for :data:`URL_LIFETIME_SECONDS` (60 s, as on MTurk) and is a bearer link:
  whoever holds it may download the file in that time, as with MTurk's (S3) links. :func:`read_token` tells a
  tampered link (403) from an expired one (410).
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils.text import get_valid_filename

from kempelen.core import audit, clock
from kempelen.core.actors import Actor
from kempelen.core.errors import InvalidAssignmentState, InvalidParameter

from .models import Assignment, AssignmentStatus, UploadedFile

URL_LIFETIME_SECONDS = 60
UPLOAD_DIR = "uploads"
_SALT = "kempelen.marketplace.files.download"
_CHUNK = 64 * 1024
_MAX_NAME = 100


class ClockTimestampSigner(signing.TimestampSigner):
    """A TimestampSigner whose timestamps (in milliseconds) come from the business clock, so tests can age links."""

    def timestamp(self) -> str:
        return signing.b62_encode(int(clock.now().timestamp() * 1000))

    def unsign(self, value: str, max_age: float | None = None) -> str:  # type: ignore[override]
        result = signing.Signer.unsign(self, value)
        value, stamp = result.rsplit(self.sep, 1)
        signed_ms = signing.b62_decode(stamp)
        if max_age is not None:
            age = clock.now().timestamp() - signed_ms / 1000
            if age > max_age:
                raise signing.SignatureExpired(f"Signature age {age:.3f} > {max_age} seconds")
        return value


def _signer() -> ClockTimestampSigner:
    return ClockTimestampSigner(salt=_SALT)


def _media_root() -> Path:
    return Path(settings.MEDIA_ROOT)


def absolute_path(uploaded: UploadedFile) -> Path:
    """Where the file is on disk (``path`` is kept relative to MEDIA_ROOT, so the data directory can move)."""
    path = Path(uploaded.path)
    return path if path.is_absolute() else _media_root() / path


def download_name(uploaded: UploadedFile) -> str:
    """The name the worker's file had (made safe), for Content-Disposition."""
    name = Path(uploaded.path).name
    prefix = f"{uploaded.key}-"
    return name[len(prefix):] if name.startswith(prefix) else name


def _safe_name(name: str | None) -> str:
    base = Path(name or "").name  # no directories, whatever the browser sent
    try:
        safe = get_valid_filename(base)
    except Exception:  # Django refuses names that reduce to nothing ("", ".", "..")
        safe = ""
    if len(safe) > _MAX_NAME:
        stem, dot, ext = safe.rpartition(".")
        safe = (stem[: _MAX_NAME - len(ext) - 1] + "." + ext) if dot and len(ext) < 20 else safe[:_MAX_NAME]
    return safe or "upload"


def _chunks(uploaded_file: Any) -> Any:
    if isinstance(uploaded_file, bytes | bytearray):
        yield bytes(uploaded_file)
        return
    chunks = getattr(uploaded_file, "chunks", None)
    if callable(chunks):
        yield from chunks(_CHUNK)
        return
    while True:
        block = uploaded_file.read(_CHUNK)
        if not block:
            return
        yield block


def store_upload(
    assignment: Assignment, question_identifier: str, uploaded_file: Any, *, actor: Actor | None = None
) -> UploadedFile:
    """Keep a worker's file for ``question_identifier`` of an assignment in progress and record it.

    ``uploaded_file`` is a Django ``UploadedFile`` (or any object with ``chunks()``/``read()``, or bytes). Its
    name and ``content_type``, when it has them, are kept for the download. Returns the row whose ``key`` and
    ``size`` go into the answer XML (``UploadedFileKey`` / ``UploadedFileSizeInBytes``). An earlier upload for
    the same question is replaced. The caller (the worker pages) has already checked that the assignment is
    the signed-in worker's; this checks that it is still in progress.
    """
    if not question_identifier or len(question_identifier) > 256:
        raise InvalidParameter("A file upload needs the question's identifier (at most 256 characters).")
    actor = actor or Actor.for_worker(assignment.worker)
    key = secrets.token_hex(16)
    relative = Path(UPLOAD_DIR) / assignment.pk / f"{key}-{_safe_name(getattr(uploaded_file, 'name', None))}"
    target = _media_root() / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    size = 0
    try:
        with open(target, "xb") as out:
            for block in _chunks(uploaded_file):
                out.write(block)
                size += len(block)
        with transaction.atomic():
            locked = Assignment.objects.select_for_update().get(pk=assignment.pk)
            if locked.status != AssignmentStatus.ACCEPTED:
                raise InvalidAssignmentState("Accepted", locked.status)
            replaced = list(UploadedFile.objects.filter(assignment=locked, question_identifier=question_identifier))
            for old in replaced:
                old.delete()
            row = UploadedFile.objects.create(
                assignment=locked, question_identifier=question_identifier, key=key, size=size,
                content_type=(getattr(uploaded_file, "content_type", "") or "")[:100], path=str(relative),
            )
            audit.record(actor, "store_upload", environment=locked.environment, target_type="Assignment",
                         target_id=locked.pk, question_identifier=question_identifier, key=key, size=size,
                         replaced=[old.key for old in replaced])
            old_paths = [absolute_path(old) for old in replaced]
            transaction.on_commit(lambda: _remove(old_paths))
    except BaseException:
        _remove([target])
        raise
    return row


def _remove(paths: list[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


def discard_hit_files(hit_id: str) -> int:
    """Forget the uploaded files of a HIT's assignments (MTurk deletes them when the HIT is disposed).

    For DeleteHIT to call inside its transaction: the rows go with it, the files once it commits. Returns how
    many files were discarded.
    """
    rows = list(UploadedFile.objects.filter(assignment__hit_id=hit_id))
    paths = [absolute_path(row) for row in rows]
    UploadedFile.objects.filter(pk__in=[row.pk for row in rows]).delete()
    transaction.on_commit(lambda: _remove(paths))
    return len(rows)


def signed_url(request_base: str, uploaded: UploadedFile) -> str:
    """A download link for ``uploaded`` under ``request_base`` (e.g. ``https://kempelen.example.org``), valid 60 s."""
    token = _signer().sign(uploaded.key)
    return request_base.rstrip("/") + reverse("uploaded-file", kwargs={"token": token})


class LinkTampered(Exception):
    """The link was not made by this instance, or was changed."""


class LinkExpired(Exception):
    """The link was genuine but is older than 60 seconds."""


def read_token(token: str) -> str:
    """The file key inside a download token; LinkTampered or LinkExpired when it cannot be honoured."""
    try:
        return _signer().unsign(token, max_age=URL_LIFETIME_SECONDS)
    except signing.SignatureExpired:
        raise LinkExpired(token) from None
    except (signing.BadSignature, ValueError):
        raise LinkTampered(token) from None
