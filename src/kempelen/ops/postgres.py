"""Running PostgreSQL's own tools (``pg_dump``, ``pg_restore``) against the configured database."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from collections.abc import Mapping
from typing import Any

from .errors import BackupRefused


@functools.cache
def _libpq_keywords() -> frozenset[str]:
    from psycopg import pq

    return frozenset(option.keyword.decode() for option in pq.Conninfo.get_defaults())


def conninfo(settings_dict: Mapping[str, Any]) -> str:
    """A libpq connection string for Django's database settings, without the password (it goes in PGPASSWORD,
    not on a command line other users can read)."""
    from psycopg.conninfo import make_conninfo

    params: dict[str, Any] = {"dbname": settings_dict["NAME"]}
    for key, name in (("HOST", "host"), ("PORT", "port"), ("USER", "user")):
        if settings_dict.get(key):
            params[name] = str(settings_dict[key])
    for key, value in (settings_dict.get("OPTIONS") or {}).items():
        if key in _libpq_keywords() and key != "password" and isinstance(value, str | int):
            params[key] = str(value)
    return make_conninfo("", **params)


def connect_directly() -> Any:
    """A psycopg connection of its own to the configured database, outside Django's connection pool (whose
    connections stay open after use, and which retries an unreachable server for its whole timeout)."""
    from django.db import connection

    params = connection.get_connection_params()  # type: ignore[attr-defined]
    params.setdefault("connect_timeout", 10)
    return connection.Database.connect(**params)  # type: ignore[attr-defined]


def close_pool() -> None:
    """Close this process's pooled connections, so that they are not counted as another client's."""
    from django.db import connection, connections

    connections.close_all()
    if getattr(connection, "pool", None) is not None:
        connection.close_pool()  # type: ignore[attr-defined]


def tool_environment(settings_dict: Mapping[str, Any]) -> dict[str, str]:
    env = dict(os.environ)
    if settings_dict.get("PASSWORD"):
        env["PGPASSWORD"] = str(settings_dict["PASSWORD"])
    return env


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupRefused(f"{name} is not installed: install PostgreSQL's client tools (Debian: apt install "
                            "postgresql-client), of the server's major version or newer")
    return path


def run(name: str, arguments: list[str], settings_dict: Mapping[str, Any]) -> None:
    """Run a PostgreSQL tool on the configured database; its own error message becomes the refusal's."""
    done = subprocess.run([tool(name), *arguments, f"--dbname={conninfo(settings_dict)}"],
                          env=tool_environment(settings_dict), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        message = done.stderr.strip() or f"exit status {done.returncode}"
        raise BackupRefused(f"{name} failed: {message}")
