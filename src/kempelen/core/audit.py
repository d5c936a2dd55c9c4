"""Writing the audit row that every action leaves behind."""

from __future__ import annotations

from typing import Any

from . import clock
from .actors import Actor
from .models import AuditEvent


def record(
    actor: Actor,
    action: str,
    *,
    environment: str = "",
    target_type: str = "",
    target_id: str = "",
    **data: Any,
) -> None:
    AuditEvent.objects.create(
        at=clock.now(),
        actor=str(actor)[:100],
        action=action,
        environment=environment,
        target_type=target_type,
        target_id=target_id,
        data=data,
    )
