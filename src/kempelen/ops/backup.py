"""``kempelen backup``: a consistent copy of the database, the instance secret and the workers' uploaded files,
taken while the instance runs.

SQLite: ``sqlite3.Connection.backup`` copies the database in one step, inside one read transaction. In WAL
mode that transaction does not stop writers; it sees the database as it was when it began, so the copy is
that moment exactly, however long the copy takes.

PostgreSQL: a repeatable-read transaction exports its snapshot; the manifest (migrations, row counts) is read
in that transaction and ``pg_dump --snapshot`` dumps the same snapshot, so manifest and dump agree.

Uploaded files are archived after the database's moment: every file the database names is there (files are
only added, except an upload a worker replaces before submitting), and a file uploaded meanwhile is an extra.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from django.conf import settings
from django.db import connection

from kempelen.core import clock

from . import postgres, sqlite_files
from .archive import DATABASE_FILES, Manifest, MediaWritten, tar_mode, write_archive
from .contents import postgres_migrations, postgres_tables, sqlite_migrations, sqlite_tables
from .errors import BackupRefused


@dataclass(frozen=True)
class BackupMade:
    path: Path
    manifest: Manifest
    media: MediaWritten


def kempelen_version() -> str:
    try:
        return metadata.version("kempelen")
    except metadata.PackageNotFoundError:
        return "unknown"


def default_name() -> str:
    return f"kempelen-backup-{clock.system_now():%Y%m%dT%H%M%SZ}.tar.gz"


def destination(path: Path | None) -> Path:
    """The archive's path: ``path`` itself, or a time-stamped name inside ``path`` when it is a directory."""
    path = Path.cwd() if path is None else path
    if path.is_dir() or str(path).endswith(os.sep):
        path.mkdir(parents=True, exist_ok=True)
        path = path / default_name()
    tar_mode(path)  # refuses a name that is neither .tar.gz nor .tar
    if path.exists():
        raise BackupRefused(f"{path} already exists; a backup never overwrites a file")
    if not path.parent.is_dir():
        raise BackupRefused(f"{path.parent} is not a directory")
    return path.resolve()


def _secret_source() -> str:
    return "environment" if os.environ.get("KEMPELEN_SECRET_KEY") else "file"


def _copy_sqlite(source: str, copy: Path) -> Manifest:
    if not Path(source).exists():
        raise BackupRefused(f"there is no database at {source} yet: nothing to back up")
    src = sqlite_files.connect(source)
    dst = sqlite_files.connect(copy)
    try:
        src.backup(dst)  # one step: one read transaction, one moment
        problems = sqlite_files.integrity_problems(dst)
        if problems:
            raise BackupRefused(f"the database fails SQLite's integrity check: {'; '.join(problems[:3])}")
        manifest = Manifest(
            kempelen_version=kempelen_version(), created_at=clock.system_now().isoformat(), database="sqlite",
            server_version=sqlite3.sqlite_version, secret_source=_secret_source(),
            migrations=sqlite_migrations(dst), tables=sqlite_tables(dst),
        )
    finally:
        dst.close()
        src.close()
    return manifest


def _dump_postgres(dump: Path) -> Manifest:
    postgres.tool("pg_dump")
    raw = postgres.connect_directly()
    try:
        raw.autocommit = True
        with raw.cursor() as cursor:
            cursor.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cursor.execute("SELECT pg_export_snapshot(), current_setting('server_version')")
            snapshot, server_version = cursor.fetchone()
            migrations = postgres_migrations(cursor)
            tables = postgres_tables(cursor)
            # The snapshot stays valid while this transaction is open: pg_dump reads exactly what was counted.
            postgres.run("pg_dump", ["--format=custom", f"--snapshot={snapshot}", f"--file={dump}"],
                         connection.settings_dict)
            cursor.execute("ROLLBACK")
    finally:
        raw.close()
    return Manifest(
        kempelen_version=kempelen_version(), created_at=clock.system_now().isoformat(), database="postgresql",
        server_version=str(server_version), secret_source=_secret_source(), migrations=migrations, tables=tables,
    )


def create_backup(path: Path | None = None) -> BackupMade:
    """Back up the configured database and the instance secret into one archive (see ``archive``)."""
    target = destination(path)
    kind = "postgresql" if connection.vendor == "postgresql" else "sqlite"
    work = Path(tempfile.mkdtemp(prefix=".kempelen-backup-", dir=target.parent))
    try:
        os.chmod(work, 0o700)
        database = work / DATABASE_FILES[kind]
        if kind == "sqlite":
            manifest = _copy_sqlite(str(connection.settings_dict["NAME"]), database)
        else:
            manifest = _dump_postgres(database)
        media = write_archive(target, manifest, database=database, secret=settings.SECRET_KEY,
                              media_root=Path(settings.MEDIA_ROOT))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return BackupMade(target, manifest, media)
