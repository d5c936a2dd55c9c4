"""Writing the audit row that every action leaves behind."""

from __future__ import annotations

from typing import Any

from django.db import connection

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
    # One INSERT built once (every action writes one; the ORM would compile it each time). The JSON value is
    # prepared by the model field, exactly as the ORM would.
    sql = _INSERT.get(connection.vendor)
    if sql is None:
        columns = ("at", "actor", "action", "environment", "target_type", "target_id", "data")
        sql = _INSERT[connection.vendor] = (
            f"INSERT INTO {connection.ops.quote_name(AuditEvent._meta.db_table)} ({', '.join(columns)}) "
            f"VALUES ({', '.join(['%s'] * len(columns))})"
        )
    with connection.cursor() as cursor:
        cursor.execute(sql, [
            connection.ops.adapt_datetimefield_value(clock.now()), str(actor)[:100], action, environment,
            target_type, target_id, _DATA.get_db_prep_save(data, connection),
        ])


_INSERT: dict[str, str] = {}
_DATA = AuditEvent._meta.get_field("data")
