"""Readiness: the database answers and every migration this code knows is applied to it."""

from __future__ import annotations

import functools
import logging

from django.db import DatabaseError, connection
from django.db.migrations.loader import MigrationLoader

log = logging.getLogger("kempelen.health")

Key = tuple[str, str]


@functools.cache
def _known_migrations() -> tuple[frozenset[Key], dict[Key, frozenset[Key]]]:
    """The migrations on disk, and for each squashed one the migrations it replaces (read once per process)."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    replaced = {key: frozenset(loader.graph.nodes[key].replaces) for key in loader.replacements}
    return frozenset(loader.graph.nodes), replaced


def _applied_migrations() -> set[Key]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT app, name FROM django_migrations")
        return {(str(app), str(name)) for app, name in cursor.fetchall()}


def unapplied_migrations(applied: set[Key]) -> list[str]:
    known, replaced = _known_migrations()
    missing = [
        key for key in known
        if key not in applied and not (key in replaced and replaced[key] <= applied)
    ]
    return sorted(f"{app}.{name}" for app, name in missing)


def _has_migration_table() -> bool | None:
    try:
        return "django_migrations" in connection.introspection.table_names()
    except DatabaseError:
        return None


def readiness_problems() -> list[str]:
    """What stops this process from serving, in words for an operator; empty when it is ready."""
    try:
        applied = _applied_migrations()
    except DatabaseError as error:
        if _has_migration_table() is False:
            return ["the database has no migrations applied (run `kempelen migrate`)"]
        log.warning("readiness: the database is unreachable: %s", error)
        return [f"the database is unreachable ({type(error).__name__}; see the server log)"]
    missing = unapplied_migrations(applied)
    if missing:
        shown = ", ".join(missing[:10]) + (f" and {len(missing) - 10} more" if len(missing) > 10 else "")
        return [f"{len(missing)} migration(s) not applied (run `kempelen migrate`): {shown}"]
    return []
