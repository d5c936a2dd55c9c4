"""Facts about a SQLite database file that a restore must know before it writes over one."""

from __future__ import annotations

import fcntl
import os
import re
import sqlite3
from pathlib import Path

#: In WAL mode every connection holds a shared lock on one byte of the ``-shm`` file for as long as it is open
#: (SQLite's "DMS" byte, at offset 128 in the unix VFS); a process that can lock that byte exclusively is the
#: only one with the database open. POSIX locks belong to the process: call this with no connection of the
#: calling process open to the file (closing our descriptor would drop that connection's locks).
_DMS_OFFSET = 128


def _regexp(pattern: str | None, value: object) -> bool | None:
    if pattern is None or value is None:
        return None
    return re.search(pattern, str(value)) is not None


def connect(path: Path | str) -> sqlite3.Connection:
    """A plain connection that can evaluate the schema's CHECK constraints (some use REGEXP, as Django's
    connections define it), which SQLite's integrity check does."""
    db = sqlite3.connect(path, timeout=30)
    db.create_function("REGEXP", 2, _regexp, deterministic=True)
    return db


def in_use(path: Path) -> bool:
    """Whether another process (a running ``kempelen serve`` or ``worker``) has the database open."""
    shm = Path(f"{path}-shm")
    try:
        fd = os.open(shm, os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, _DMS_OFFSET)
    except OSError:
        return True
    else:
        fcntl.lockf(fd, fcntl.LOCK_UN, 1, _DMS_OFFSET)
        return False
    finally:
        os.close(fd)


def table_count(path: Path) -> int:
    """How many tables the database holds (0 for a missing or empty file)."""
    if not path.exists() or path.stat().st_size == 0:
        return 0
    db = connect(path)
    try:
        query = "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        return int(db.execute(query).fetchone()[0])
    finally:
        db.close()


def integrity_problems(db: sqlite3.Connection) -> list[str]:
    rows = [row[0] for row in db.execute("PRAGMA integrity_check")]
    return [] if rows == ["ok"] else rows


def copy(source: Path, target: Path) -> None:
    """Copy a database with SQLite's backup API: other connections to ``target`` see the new contents whole."""
    src = connect(source)
    dst = connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()
