"""Encryption of requesters' secret access keys at rest, with a key derived from the instance secret."""

from __future__ import annotations

import base64
import functools

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


@functools.cache
def _fernet(secret_key: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"kempelen api-credential secrets").derive(
        secret_key.encode()
    )
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt(plain: str) -> str:
    return _fernet(settings.SECRET_KEY).encrypt(plain.encode()).decode()


@functools.lru_cache(maxsize=4096)
def _decrypt(secret_key: str, token: str) -> str:
    return _fernet(secret_key).decrypt(token.encode()).decode()


def decrypt(token: str) -> str:
    # Cached: every API call verifies a signature, and decryption costs more than the rest of the check.
    return _decrypt(settings.SECRET_KEY, token)
