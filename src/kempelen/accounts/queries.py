"""Reads of accounts shared by several callers; the credential lookup runs on every API call."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from django.db import connection

from .models import ApiCredential, Requester
from .secrets import decrypt

_REQUESTER_TTL = 30.0
_requesters: dict[int, tuple[float, Requester]] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class ActiveCredential:
    access_key_id: str
    secret: str
    requester: Requester


def requester_by_id(requester_id: int) -> Requester:
    """A requester by primary key, kept briefly per process."""
    # Requester rows hardly change (nothing the API uses ever does), so each process keeps them briefly.
    now = time.monotonic()
    cached = _requesters.get(requester_id)
    if cached and now - cached[0] < _REQUESTER_TTL:
        return cached[1]
    requester = Requester.objects.get(pk=requester_id)
    with _lock:
        _requesters[requester_id] = (now, requester)
    return requester


def forget_requesters() -> None:
    """Drop the process's cached requester rows (a display name changed; tests reusing primary keys)."""
    with _lock:
        _requesters.clear()


def active_credential(access_key_id: str) -> ActiveCredential | None:
    """The unrevoked access key with this id, or None. Revocation takes effect on the very next call: the key's
    row is read every time (with one plain statement, as this runs on every API call)."""
    table = ApiCredential._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT requester_id, secret_encrypted FROM {table} WHERE access_key_id = %s AND revoked_at IS NULL",
            [access_key_id],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    return ActiveCredential(access_key_id, decrypt(row[1]), requester_by_id(row[0]))
