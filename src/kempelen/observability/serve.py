"""What ``kempelen serve`` sets up for operation: JSON logs, a database pool sized to the HTTP threads (left
behind by the master before it forks workers), and a directory where gunicorn's worker processes keep their
metrics so that a scrape reports their totals.

:func:`prepare_serve_environment` runs before Django or prometheus_client is imported (prometheus_client decides
at import whether values go to files). Counters of a worker that exits stay in its files, so totals survive
worker restarts; gunicorn's ``child_exit`` hook drops the exited worker's live gauges. The directory is a fresh
temporary one removed when serve exits, or ``PROMETHEUS_MULTIPROC_DIR`` if the operator set it (emptied at start).
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from gunicorn.glogging import Logger


def prepare_serve_environment(*, threads: int) -> None:
    os.environ.setdefault("KEMPELEN_LOG_FORMAT", "json")
    # Each HTTP thread holds at most one connection at a time: as many in the pool means no thread waits for one.
    os.environ.setdefault("KEMPELEN_DB_POOL_MAX", str(max(1, threads)))
    chosen = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if chosen:
        directory = Path(chosen)
        directory.mkdir(parents=True, exist_ok=True)
        for stale in directory.glob("*.db"):
            stale.unlink()
        return
    created = tempfile.mkdtemp(prefix="kempelen-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = created
    atexit.register(_remove_directory, created, os.getpid())


def _remove_directory(path: str, owner: int) -> None:
    # Forked gunicorn workers inherit this exit handler; only the process that made the directory removes it.
    if os.getpid() == owner:
        shutil.rmtree(path, ignore_errors=True)


def _release_database(server: Any, worker: Any) -> None:
    """Close the master's database connections (and pool) before it forks a worker. ``kempelen serve`` migrates
    in the master; a worker inheriting its pooled connections would share their sockets with its siblings."""
    from django.db import connections

    for connection in connections.all(initialized_only=True):
        connection.close()
        if connection.alias in getattr(connection, "_connection_pools", {}):
            connection.close_pool()  # type: ignore[attr-defined]


def _child_exit(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


class JsonGunicornLogger(Logger):  # type: ignore[misc]
    """gunicorn's own messages (worker start, timeouts) as JSON lines, like Kempelen's."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        from .logs import JsonFormatter

        for handler in self.error_log.handlers:
            handler.setFormatter(JsonFormatter())


def gunicorn_options() -> dict[str, Any]:
    from django.conf import settings

    options: dict[str, Any] = {"pre_fork": _release_database}
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        options["child_exit"] = _child_exit
    if settings.KEMPELEN.get("LOG_FORMAT") == "json":
        options["logger_class"] = JsonGunicornLogger
    return options
