"""``kempelen restore``: put a backup (database, secret, uploaded files) back into the configured database and
data directory, then verify it.

Refusals come before anything is written: an archive that is not a Kempelen backup or is damaged, a backup of
the other kind of database, one made by a newer Kempelen (migrations this version does not know), a
``KEMPELEN_SECRET_KEY`` that is not the backup's key, and (unless ``--force``) a database that already holds
data or is open in a running instance, or uploaded files already in the data directory. With ``--force`` the
replaced SQLite file, secret and uploads directory are kept beside the new ones (``.before-restore-<time>``).

SQLite is written with SQLite's backup API, so a process that still has the file open sees the restored
contents whole rather than a file swapped under it. PostgreSQL is restored with ``pg_restore`` in one
transaction: it succeeds whole or changes nothing.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, connection, connections

from kempelen.core import clock

from . import check, postgres, sqlite_files
from .archive import SECRET, ArchiveReader, Manifest, media_path, open_archive
from .contents import postgres_migrations, postgres_tables, sqlite_migrations, sqlite_tables
from .errors import BackupRefused
from .findings import Finding, error, ok, warning

_KINDS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


@dataclass(frozen=True)
class Restored:
    manifest: Manifest
    findings: list[Finding]


def _engine() -> str:
    return "postgresql" if connection.vendor == "postgresql" else "sqlite"


def _stamp() -> str:
    return f"{clock.system_now():%Y%m%dT%H%M%SZ}"


def _check_manifest(manifest: Manifest, kind: str) -> None:
    from django.db.migrations.loader import MigrationLoader

    if manifest.database != kind:
        raise BackupRefused(
            f"this is a backup of a {_KINDS[manifest.database]} database and this instance is configured for "
            f"{_KINDS[kind]} (KEMPELEN_DATABASE_URL): restore it into the same kind of database")
    loader = MigrationLoader(None, ignore_no_migrations=True)
    unknown = [f"{app}.{name}" for app, name in manifest.migrations
               if app in loader.migrated_apps and (app, name) not in loader.graph.nodes]
    if unknown:
        raise BackupRefused(
            f"this backup was made by a newer Kempelen ({manifest.kempelen_version}): its database has migrations "
            f"this version does not know ({', '.join(unknown[:3])}); restore it with that version or newer")


def _check_secret(manifest: Manifest, *, force: bool) -> None:
    explicit = os.environ.get("KEMPELEN_SECRET_KEY")
    if not explicit or force:
        return
    if hashlib.sha256(explicit.encode()).hexdigest() != manifest.checksums.get(SECRET):
        raise BackupRefused(
            "KEMPELEN_SECRET_KEY is not the key this backup was made with, and the requesters' API secrets in it "
            "can be decrypted only with that key. Set KEMPELEN_SECRET_KEY to the backup's key (tar -xzOf BACKUP "
            "secret_key), or unset it to have the key written to the data directory")


# --- SQLite ----------------------------------------------------------------------------------------------


def _sqlite_refusals(target: Path, *, force: bool) -> bool:
    """Refuse (unless ``force``) a database in use or holding data; whether it holds data."""
    if sqlite_files.in_use(target) and not force:
        raise BackupRefused(
            f"{target} is open in another process (a running `kempelen serve` or `kempelen worker`?): stop the "
            "instance first, or pass --force to restore under it (then restart it)")
    tables = sqlite_files.table_count(target)
    if tables and not force:
        raise BackupRefused(
            f"{target} already holds a database ({tables} tables): restore into an empty data directory, or pass "
            "--force to replace it (the current file is kept beside it)")
    return tables > 0


def _restore_sqlite(reader: ArchiveReader, work: Path, *, force: bool) -> tuple[str, bool, list[Finding]]:
    target = Path(str(connection.settings_dict["NAME"]))
    target.parent.mkdir(parents=True, exist_ok=True)
    replacing = _sqlite_refusals(target, force=force)
    _media_refusal(force=force)
    copy = work / reader.manifest.database_file
    secret = _read_members(reader, database=copy)
    db = sqlite_files.connect(copy)
    try:
        problems = sqlite_files.integrity_problems(db)
    finally:
        db.close()
    if problems:
        raise BackupRefused(f"the backup's database fails SQLite's integrity check: {'; '.join(problems[:3])}")
    findings = []
    if replacing:
        kept = target.with_name(f"{target.name}.before-restore-{_stamp()}")
        sqlite_files.copy(target, kept)
        findings.append(ok("previous database", f"kept as {kept}"))
    sqlite_files.copy(copy, target)
    return secret, replacing, findings


def _sqlite_state(target: Path) -> tuple[list[str], dict[str, int], list[list[str]]]:
    db = sqlite_files.connect(target)
    try:
        return sqlite_files.integrity_problems(db), sqlite_tables(db), sqlite_migrations(db)
    finally:
        db.close()


# --- PostgreSQL ------------------------------------------------------------------------------------------


def _postgres_refusals(*, force: bool) -> bool:
    name = connection.settings_dict["NAME"]
    postgres.close_pool()
    try:
        raw = postgres.connect_directly()
    except Exception as exc:  # the driver's connection error, with its own message
        raise BackupRefused(
            f"cannot open the PostgreSQL database {name!r}: {str(exc).strip().splitlines()[0]} (create it first: "
            f"createdb -O <user> {name})") from exc
    try:
        with raw.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') "
                "AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'")
            relations = int(cursor.fetchone()[0])
            cursor.execute("SELECT count(*) FROM pg_stat_activity "
                           "WHERE datname = current_database() AND pid <> pg_backend_pid()")
            others = int(cursor.fetchone()[0])
    finally:
        raw.close()
    if others and not force:
        raise BackupRefused(
            f"{others} other connection{'s are' if others != 1 else ' is'} open to database {name!r} (running "
            "nodes?): stop them first, or pass --force")
    if relations and not force:
        raise BackupRefused(
            f"database {name!r} is not empty ({relations} tables, sequences and views): restore into a new empty "
            "database, or pass --force to drop and replace its Kempelen tables")
    return relations > 0


def _restore_postgres(reader: ArchiveReader, work: Path, *, force: bool) -> tuple[str, bool, list[Finding]]:
    replacing = _postgres_refusals(force=force)
    _media_refusal(force=force)
    dump = work / reader.manifest.database_file
    secret = _read_members(reader, database=dump)
    arguments = ["--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error"]
    if replacing:
        arguments += ["--clean", "--if-exists"]
    postgres.run("pg_restore", [*arguments, str(dump)], connection.settings_dict)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # pg_restore brings no planner statistics
    return secret, replacing, []


def _postgres_state() -> tuple[dict[str, int], list[list[str]]]:
    with connection.cursor() as cursor:
        return postgres_tables(cursor), postgres_migrations(cursor)


# --- Both ------------------------------------------------------------------------------------------------


def _read_members(reader: ArchiveReader, *, database: Path) -> str:
    """Unpack the archive into the work directory: the database beside ``database``'s name, the uploaded files
    under ``media/``; returns the secret."""
    secret = None
    staging = database.parent / "media"
    for name, stream in reader.members():
        relative = media_path(name)
        if name == SECRET:
            secret = reader.secret_from(stream)
        elif relative is not None:
            target = staging.joinpath(*relative.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            with target.open("wb") as out:
                shutil.copyfileobj(stream, out)
        else:
            reader.copy_database(stream, database)
    if secret is None or not database.exists():
        raise BackupRefused("the archive is incomplete: it lacks the database or the secret key")
    return secret


def _media_root() -> Path:
    return Path(settings.MEDIA_ROOT)


def _media_refusal(*, force: bool) -> None:
    root = _media_root()
    if not force and root.is_dir() and any(p.is_file() for p in root.rglob("*")):
        raise BackupRefused(
            f"{root} already holds uploaded files: restore into an empty data directory, or pass --force to replace "
            "them (the current directory is kept beside it)")


def _install_media(staging: Path) -> Finding | None:
    """Put the unpacked uploads in place of the data directory's, keeping any previous ones aside."""
    root = _media_root()
    kept = None
    if root.exists() and any(root.iterdir()):
        kept = root.with_name(f"{root.name}.before-restore-{_stamp()}")
        root.rename(kept)
    elif root.exists():
        root.rmdir()
    root.parent.mkdir(parents=True, exist_ok=True)
    if staging.is_dir():
        shutil.move(str(staging), str(root))
    else:
        root.mkdir()
    return ok("previous uploads", f"kept as {kept}") if kept else None


def _files_finding() -> Finding:
    """Every file the database says a worker uploaded is there, with its size."""
    from kempelen.marketplace.files import absolute_path
    from kempelen.marketplace.models import UploadedFile

    try:
        rows = list(UploadedFile.objects.only("path", "size", "key"))
    except DatabaseError:
        return warning("uploaded files", "not checked: run `kempelen migrate`, then `kempelen check`")
    missing = []
    for row in rows:
        path = absolute_path(row)
        if not path.is_file() or path.stat().st_size != row.size:
            missing.append(row.path)
    if missing:
        return error("uploaded files", f"{len(missing)} of {len(rows)} missing or of the wrong size, e.g. {missing[0]}")
    if not rows:
        return ok("uploaded files", "none (the database names no uploaded file)")
    return ok("uploaded files", f"all {len(rows)} the database names are present")


def _install_secret(secret: str, *, keep_previous: bool) -> Finding:
    """Make ``secret`` the instance's key: the data dir's secret_key file, unless KEMPELEN_SECRET_KEY is set."""
    explicit = os.environ.get("KEMPELEN_SECRET_KEY")
    if explicit:
        if explicit != secret:
            return warning("secret key", "KEMPELEN_SECRET_KEY is not the backup's key (--force)")
        return ok("secret key", "KEMPELEN_SECRET_KEY is the backup's key")
    path = Path(settings.DATA_DIR) / "secret_key"
    if path.exists() and path.read_text().strip() != secret and keep_previous:
        shutil.copy2(path, path.with_name(f"secret_key.before-restore-{_stamp()}"))
    partial = path.with_name(".secret_key.partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(secret)
    os.replace(partial, path)
    # From here on this process acts for the restored instance (the verification decrypts with this key).
    settings.SECRET_KEY = secret
    return ok("secret key", f"restored to {path}")


def _compare(manifest: Manifest, tables: dict[str, int], migrations: list[list[str]]) -> list[Finding]:
    findings = []
    differing = [f"{name}: {tables.get(name)} rows, {count} in the backup"
                 for name, count in manifest.tables.items() if tables.get(name) != count]
    if differing:
        findings.append(error("contents", "the restored tables differ from the backup: " + "; ".join(differing[:5])))
    else:
        rows = sum(manifest.tables.values())
        findings.append(ok("contents", f"{len(manifest.tables)} tables, {rows} rows, as at {manifest.created_at}"))
    if migrations != manifest.migrations:
        findings.append(error("migrations", "the restored migration records differ from the backup's"))
        return findings
    pending, _ = check.migration_state()
    if pending:
        findings.append(warning("migrations", f"{len(pending)} pending (the backup is from Kempelen "
                                              f"{manifest.kempelen_version}): run `kempelen migrate`"))
    else:
        findings.append(ok("migrations", f"{len(migrations)} applied, none pending"))
    return findings


def verify(manifest: Manifest) -> list[Finding]:
    """Check the restored database: integrity, contents, migrations, ledger, and that the key decrypts."""
    connections.close_all()
    findings = []
    if _engine() == "sqlite":
        problems, tables, migrations = _sqlite_state(Path(str(connection.settings_dict["NAME"])))
        findings.append(error("integrity", "; ".join(problems[:3])) if problems
                        else ok("integrity", "SQLite integrity check passed"))
    else:
        tables, migrations = _postgres_state()
        findings.append(ok("integrity", "pg_restore completed in one transaction"))
    findings += _compare(manifest, tables, migrations)
    findings.append(check.ledger_finding())
    findings.append(_files_finding())
    decrypts = check.secret_decrypts_finding()
    if decrypts is not None:
        findings.append(decrypts)
    return findings


def restore_backup(path: Path, *, force: bool = False) -> Restored:
    """Restore the archive at ``path`` into the configured database and data directory (see the module)."""
    kind = _engine()
    # No connection of ours may hold the target open (see sqlite_files.in_use) or count as another client.
    if kind == "postgresql":
        postgres.close_pool()
    else:
        connections.close_all()
    with open_archive(path) as reader:
        manifest = reader.manifest
        _check_manifest(manifest, kind)
        _check_secret(manifest, force=force)
        data_dir = Path(settings.DATA_DIR)
        data_dir.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".kempelen-restore-", dir=data_dir))
        try:
            os.chmod(work, 0o700)
            restore = _restore_sqlite if kind == "sqlite" else _restore_postgres
            secret, replacing, findings = restore(reader, work, force=force)
            kept_media = _install_media(work / "media")
            if kept_media:
                findings.append(kept_media)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    findings.insert(0, ok("archive", f"{manifest.database} backup made {manifest.created_at} by Kempelen "
                                     f"{manifest.kempelen_version}; checksums match"))
    findings.append(_install_secret(secret, keep_previous=replacing))
    return Restored(manifest, findings + verify(manifest))
