"""Fixed single-row lookups on the hottest paths, with their SQL built once instead of on every call.

Django's ORM compiles a query afresh each time it runs, which costs several times what the database then
spends on a primary-key or unique-key lookup; on the paths every API call takes (the HIT, the HIT type, the
requester's ledger accounts) that compilation was most of the server's CPU. These lookups go through
``Model.objects.raw``, which still turns rows into model instances with the backend's converters.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, TypeVar

from django.db import connection, models

M = TypeVar("M", bound=models.Model)

_sql: dict[tuple[type[models.Model], str, bool], str] = {}  # one entry per lookup in the code


def one(model: type[M], where: str, params: list[object], *, for_update: bool = False) -> M | None:
    """The row of ``model`` matching ``where`` (SQL with ``%s`` placeholders on column names), or None.

    ``for_update`` locks the row on databases with row locks (on SQLite the write transaction's database lock
    serialises writers instead).
    """
    key = (model, f"{connection.vendor}:{where}", for_update)
    sql = _sql.get(key)
    if sql is None:
        sql = f"SELECT * FROM {connection.ops.quote_name(model._meta.db_table)} WHERE {where}"
        if for_update and connection.features.has_select_for_update:
            sql += " FOR UPDATE"
        _sql[key] = sql
    found = list(model._default_manager.raw(sql, params))
    return found[0] if found else None


def db_datetime(value: dt.datetime) -> Any:
    """A datetime as the database driver expects it in raw SQL (SQLite stores text in Django's own format)."""
    return connection.ops.adapt_datetimefield_value(value)


def column_list(sql_key: str, build: Callable[[], str], params: list[Any]) -> list[Any]:
    """The first column of every row of a fixed statement (built once per database vendor by ``build``)."""
    key = f"{connection.vendor}:{sql_key}"
    sql = _plain_sql.get(key)
    if sql is None:
        sql = _plain_sql[key] = build()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


_plain_sql: dict[str, str] = {}
