"""Refusals of ``kempelen backup`` and ``kempelen restore``."""

from __future__ import annotations

from kempelen.core.errors import KempelenError


class BackupRefused(KempelenError):
    """A backup or restore that cannot be made as asked; the message says why and what to do."""

    code = "BackupRefused"
