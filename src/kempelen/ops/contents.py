"""What a database holds, as a backup's manifest records it and a restore compares it: rows per table and
the migrations applied. Read through plain DB-API connections, so that they work on a copy or a snapshot."""

from __future__ import annotations

import sqlite3
from typing import Any


def sqlite_migrations(db: sqlite3.Connection) -> list[list[str]]:
    try:
        return [[app, name] for app, name in db.execute("SELECT app, name FROM django_migrations ORDER BY id")]
    except sqlite3.OperationalError:  # a database never migrated
        return []


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def sqlite_tables(db: sqlite3.Connection) -> dict[str, int]:
    names = [row[0] for row in db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
    return {name: db.execute(f"SELECT count(*) FROM {_quoted(name)}").fetchone()[0] for name in names}


def postgres_tables(cursor: Any) -> dict[str, int]:
    """Rows per table of the current schema, read through any DB-API cursor."""
    cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename")
    names = [row[0] for row in cursor.fetchall()]
    counts = {}
    for name in names:
        cursor.execute(f"SELECT count(*) FROM {_quoted(name)}")
        counts[name] = cursor.fetchone()[0]
    return counts


def postgres_migrations(cursor: Any) -> list[list[str]]:
    cursor.execute("SELECT to_regclass('django_migrations') IS NOT NULL")
    if not cursor.fetchone()[0]:
        return []
    cursor.execute("SELECT app, name FROM django_migrations ORDER BY id")
    return [[app, name] for app, name in cursor.fetchall()]
