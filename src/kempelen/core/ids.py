"""Identifiers shaped like MTurk's: 30-character upper-case base-36 ids, and WorkerIds ``A…``."""

from __future__ import annotations

import os
import re

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
ENTITY_ID = re.compile(r"^[A-Z0-9]{1,64}$")
WORKER_ID = re.compile(r"^A[A-Z0-9]{1,63}$")


def _base36(n: int, width: int) -> str:
    out = []
    for _ in range(width):
        n, r = divmod(n, 36)
        out.append(_ALPHABET[r])
    return "".join(reversed(out))


def entity_id() -> str:
    """A new 30-character id for a HIT, HIT type, HIT group, assignment or qualification type."""
    # 20 random bytes = 160 bits; 36**30 > 2**155, so the leading digits stay well mixed.
    return _base36(int.from_bytes(os.urandom(20), "big"), 30)


def worker_id() -> str:
    """A new WorkerId: ``A`` followed by 13 base-36 characters, like MTurk's (``A2YUCJ28XANFOX``)."""
    return "A" + _base36(int.from_bytes(os.urandom(9), "big"), 13)


def access_key_id() -> str:
    """An access key id in AWS's shape (``AKIA`` + 16 upper-case characters)."""
    return "AKIA" + _base36(int.from_bytes(os.urandom(11), "big"), 16)


def secret_access_key() -> str:
    import secrets

    return secrets.token_urlsafe(30)[:40]


def short_id(width: int = 20) -> str:
    return _base36(int.from_bytes(os.urandom(16), "big"), width)
