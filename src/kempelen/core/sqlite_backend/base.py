"""Django's SQLite backend, with a process's write transactions queued in order before ``BEGIN IMMEDIATE``.

SQLite lets one writer in at a time. A connection that finds the write lock taken sleeps in SQLite's busy
handler and polls again (after 1, 2, 5, 10… up to 100 ms), so when a process has many threads writing, the
lock is often free while every waiter is still asleep, and a writer can be overtaken again and again (the
long tails of write latency under load). Here each process's writers queue on a lock of its own first: the
next thread in that process takes the database's write lock as soon as the previous one commits, and only
one thread per process waits in SQLite's busy handler. Readers are not affected (WAL lets them run beside the
writer), and transactions are still serialised by SQLite itself across processes.
"""

from __future__ import annotations

import threading

from django.db import OperationalError
from django.db.backends.sqlite3 import base

#: One queue per process (and database file: every connection of a process writes to the same file).
_writers = threading.Lock()


class DatabaseWrapper(base.DatabaseWrapper):
    _holds_writer_slot = False

    def _start_transaction_under_autocommit(self) -> None:
        # As long as SQLite's own busy timeout: a writer that cannot get in gives up the same way.
        if not _writers.acquire(timeout=float(self.settings_dict["OPTIONS"].get("timeout", 30))):
            raise OperationalError("database is locked (waited for this process's other writers)")
        self._holds_writer_slot = True
        try:
            super()._start_transaction_under_autocommit()  # type: ignore[misc]
        except BaseException:
            self._release_writer_slot()
            raise

    def _release_writer_slot(self) -> None:
        if self._holds_writer_slot:
            self._holds_writer_slot = False
            _writers.release()

    def _commit(self) -> None:
        try:
            super()._commit()  # type: ignore[misc]
        finally:
            self._release_writer_slot()

    def _rollback(self) -> None:
        try:
            super()._rollback()  # type: ignore[misc]
        finally:
            self._release_writer_slot()

    def _close(self) -> None:
        try:
            super()._close()  # type: ignore[misc]
        finally:
            self._release_writer_slot()
