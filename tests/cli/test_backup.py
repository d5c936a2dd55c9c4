"""`kempelen backup` while the instance keeps writing, and `kempelen restore` into a fresh instance on the same
kind of database the suite runs on: the restored instance is the original as it was at the backup's moment."""

from __future__ import annotations

import io
import json
import os
import socket
import sqlite3
import subprocess
import sys
import tarfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.db import connection

from kempelen.cli import main as kempelen
from kempelen.ledger import actions as ledger
from kempelen.marketplace import files
from kempelen.ops.contents import postgres_tables, sqlite_tables
from tests.conftest import OPERATOR, client_for, make_requester, make_worker
from tests.lifecycle.kit import accept, approve, new_hit, submit

pytestmark = pytest.mark.django_db(transaction=True)

BIN = Path(sys.executable).parent
ON_POSTGRES = os.environ.get("KEMPELEN_DATABASE_URL", "").startswith("postgres")
PICTURE = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Instance:
    """A fresh instance for a restore: its own data directory and, on PostgreSQL, its own new database."""

    env: dict[str, str]
    data_dir: Path
    database_url: str | None

    def run(self, *args: str, extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(BIN / "kempelen"), *args], env={**self.env, **(extra or {})}, capture_output=True,
                              text=True, timeout=180, check=False)

    def table_counts(self) -> dict[str, int]:
        if self.database_url is None:
            db = sqlite3.connect(self.data_dir / "kempelen.sqlite3")
            try:
                return sqlite_tables(db)
            finally:
                db.close()
        import psycopg

        with psycopg.connect(self.database_url) as db, db.cursor() as cursor:
            return postgres_tables(cursor)

    def writer_keys(self) -> set[str]:
        sql = "SELECT idempotency_key FROM ledger_ledgertransaction WHERE idempotency_key LIKE 'writer:%'"
        if self.database_url is None:
            db = sqlite3.connect(self.data_dir / "kempelen.sqlite3")
            try:
                return {row[0] for row in db.execute(sql)}
            finally:
                db.close()
        import psycopg

        with psycopg.connect(self.database_url) as db, db.cursor() as cursor:
            cursor.execute(sql)
            return {row[0] for row in cursor.fetchall()}


def _server_url(name: str) -> str:
    s = connection.settings_dict
    auth = quote(s["USER"] or "postgres") + (f":{quote(s['PASSWORD'])}" if s["PASSWORD"] else "")
    return f"postgresql://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{name}"


def _admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(_server_url("postgres"), autocommit=True) as db:
        db.execute(sql)


@pytest.fixture
def fresh_instance(tmp_path: Path) -> Iterator[Instance]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEMPELEN_")}
    data_dir = tmp_path / "restored"
    env["KEMPELEN_DATA_DIR"] = str(data_dir)
    if not ON_POSTGRES:
        yield Instance(env, data_dir, None)
        return
    name = f"kempelen_restore_{uuid.uuid4().hex[:12]}"
    _admin(f'CREATE DATABASE "{name}"')
    env["KEMPELEN_DATABASE_URL"] = _server_url(name)
    try:
        yield Instance(env, data_dir, env["KEMPELEN_DATABASE_URL"])
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _suite_table_counts() -> dict[str, int]:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            return postgres_tables(cursor)
    db = sqlite3.connect(connection.settings_dict["NAME"])
    try:
        return sqlite_tables(db)
    finally:
        db.close()


class DepositWriter(threading.Thread):
    """Keeps depositing $1.00 into one requester's account, each deposit with the next key writer:1, writer:2…"""

    def __init__(self, requester: Any) -> None:
        super().__init__(daemon=True)
        self.requester = requester
        self.written = 0
        self.stopping = threading.Event()
        self.failure: BaseException | None = None

    def run(self) -> None:
        try:
            while not self.stopping.is_set():
                ledger.deposit(requester=self.requester, environment="live", cents=100,
                               key=f"writer:{self.written + 1}", actor=OPERATOR)
                self.written += 1
                time.sleep(0.002)
        except BaseException as exc:  # reported by the test
            self.failure = exc
        finally:
            connection.close()

    def wait_for(self, count: int) -> None:
        deadline = time.monotonic() + 30
        while self.written < count:
            assert self.failure is None, self.failure
            assert time.monotonic() < deadline, "the writer stalled"
            time.sleep(0.01)


def _backup(path: Path) -> Path:
    assert kempelen(["backup", str(path)]) == 0
    return path


@pytest.fixture
def original(api: Any, settings: Any, tmp_path: Path) -> dict[str, Any]:
    """An instance with a requester, HITs made through the actions, an approved assignment, and a submitted one
    with a file the worker uploaded."""
    settings.MEDIA_ROOT = tmp_path / "uploads"
    handle = api()
    worker = make_worker()
    hit = new_hit(handle.requester, max_assignments=2)
    approve(handle.requester, submit(worker, accept(worker, hit)))
    pending = new_hit(handle.requester, max_assignments=1, title="Photograph a receipt")
    assignment = accept(worker, pending)
    files.store_upload(assignment, "photo", PICTURE)
    submit(worker, assignment)
    return {"handle": handle, "hit": hit.pk, "pending": pending.pk, "upload": assignment.pk}


@pytest.fixture
def archive(original: dict[str, Any], tmp_path: Path) -> Path:
    return _backup(tmp_path / "backup.tar.gz")


def _serve(instance: Instance) -> subprocess.Popen[str]:
    port = _free_port()
    server = subprocess.Popen([str(BIN / "kempelen"), "serve", "--port", str(port), "--workers", "1", "--threads", "2",
                               "--no-jobs"], env=instance.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True)
    server.url = f"http://127.0.0.1:{port}"  # type: ignore[attr-defined]
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{server.url}/", timeout=1)  # type: ignore[attr-defined]
            return server
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                raise AssertionError("the restored instance did not start:\n" + (server.stdout.read() if server.stdout
                                                                                  else "")) from None
            time.sleep(0.2)


def _balance(client: Any) -> dict[str, Any]:
    return {k: v for k, v in client.get_account_balance().items() if k != "ResponseMetadata"}


def test_a_backup_taken_while_writing_restores_the_instance_as_it_was_at_that_moment(original, fresh_instance,
                                                                                     tmp_path):
    handle = original["handle"]
    depositor = make_requester(funds_cents=500)
    before = _suite_table_counts()
    writer = DepositWriter(depositor.requester)
    writer.start()
    try:
        writer.wait_for(5)
        path = _backup(tmp_path / "while-writing.tar.gz")
        done_at_backup = writer.written
        writer.wait_for(done_at_backup + 5)
    finally:
        writer.stopping.set()
        writer.join(timeout=30)
    assert writer.failure is None, writer.failure
    after, written = _suite_table_counts(), writer.written
    per_deposit = {}
    for table, count in after.items():
        grew = count - before[table]
        assert grew % written == 0, f"{table} grew by {grew} over {written} deposits"
        per_deposit[table] = grew // written

    restored = fresh_instance.run("restore", str(path))
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert "ERROR" not in restored.stdout
    assert "OK       ledger:" in restored.stdout
    assert "OK       uploaded files: all 1 the database names are present" in restored.stdout

    # A consistent moment: the deposits it holds are exactly the first k, and every table holds what the
    # original held after k deposits.
    keys = fresh_instance.writer_keys()
    k = len(keys)
    assert 5 <= k < written
    assert keys == {f"writer:{i}" for i in range(1, k + 1)}
    assert fresh_instance.table_counts() == {t: before[t] + k * per_deposit[t] for t in before}

    # The secret came along: the original access keys verify against the restored instance.
    server = _serve(fresh_instance)
    try:
        theirs = client_for(server.url, handle.access_key_id, handle.secret)  # type: ignore[attr-defined]
        ours = handle.client()
        assert theirs.get_hit(HITId=original["hit"])["HIT"] == ours.get_hit(HITId=original["hit"])["HIT"]
        for hit_id in (original["hit"], original["pending"]):
            assert (theirs.list_assignments_for_hit(HITId=hit_id)["Assignments"]
                    == ours.list_assignments_for_hit(HITId=hit_id)["Assignments"])
        assert _balance(theirs) == _balance(ours)
        link = theirs.get_file_upload_url(AssignmentId=original["upload"], QuestionIdentifier="photo")
        with urllib.request.urlopen(link["FileUploadURL"], timeout=10) as response:
            assert response.read() == PICTURE
        url = server.url  # type: ignore[attr-defined]
        depositor_client = client_for(url, depositor.access_key_id, depositor.secret)
        assert depositor_client.get_account_balance()["AvailableBalance"] == f"{5 + k}.00"
    finally:
        server.terminate()
        server.communicate(timeout=30)


def test_the_archive_holds_the_database_the_secret_and_a_manifest(archive):
    from django.conf import settings

    with tarfile.open(archive) as tar:
        names = tar.getnames()
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
        secret = tar.extractfile("secret_key").read().decode()  # type: ignore[union-attr]
    kind = "postgresql" if ON_POSTGRES else "sqlite"
    database = "kempelen.pgdump" if ON_POSTGRES else "kempelen.sqlite3"
    assert names[:3] == ["manifest.json", "secret_key", database]
    assert len(names) == 4 and names[3].startswith("media/uploads/") and names[3].endswith("-upload")
    assert secret == settings.SECRET_KEY
    assert manifest["database"] == kind
    assert ["ledger", "0001_initial"] in manifest["migrations"]
    assert manifest["tables"]["marketplace_hit"] == 2
    assert manifest["created_at"]
    assert oct(archive.stat().st_mode & 0o777) == "0o600"


def test_backup_into_a_directory_names_the_file_by_its_time_and_never_overwrites(original, tmp_path, capsys):
    target = tmp_path / "backups"
    target.mkdir()
    assert kempelen(["backup", str(target)]) == 0
    made = list(target.iterdir())
    assert len(made) == 1 and made[0].name.startswith("kempelen-backup-") and made[0].name.endswith(".tar.gz")
    assert kempelen(["backup", str(made[0])]) == 1
    assert "already exists" in capsys.readouterr().err
    assert kempelen(["backup", str(tmp_path / "backup.zip")]) == 1
    assert ".tar.gz" in capsys.readouterr().err


def test_restore_refuses_a_database_that_holds_data_unless_forced(archive, fresh_instance):
    assert fresh_instance.run("restore", str(archive)).returncode == 0
    counts = fresh_instance.table_counts()
    assert fresh_instance.run("create-worker", "someone-new").returncode == 0
    assert fresh_instance.table_counts() != counts

    again = fresh_instance.run("restore", str(archive))
    assert again.returncode == 1
    assert ("already holds a database" in again.stderr) or ("is not empty" in again.stderr)
    assert "--force" in again.stderr
    assert fresh_instance.table_counts() != counts

    forced = fresh_instance.run("restore", "--force", str(archive))
    assert forced.returncode == 0, forced.stdout + forced.stderr
    assert fresh_instance.table_counts() == counts
    kept = [p.name for p in fresh_instance.data_dir.iterdir() if ".before-restore-" in p.name]
    assert any(name.startswith("uploads.before-restore-") for name in kept)
    if not ON_POSTGRES:
        assert any(name.startswith("kempelen.sqlite3.before-restore-") for name in kept)
    assert "OK       uploaded files: all 1 the database names are present" in forced.stdout


@pytest.mark.skipif(ON_POSTGRES, reason="a SQLite file open in a running instance")
def test_restore_refuses_a_sqlite_file_open_in_a_running_instance(archive, fresh_instance):
    assert fresh_instance.run("restore", str(archive)).returncode == 0
    running = sqlite3.connect(fresh_instance.data_dir / "kempelen.sqlite3")  # as a running server holds it
    try:
        running.execute("SELECT count(*) FROM marketplace_hit").fetchone()
        running.execute("DELETE FROM marketplace_hit")
        running.commit()
        refused = fresh_instance.run("restore", str(archive))
        assert refused.returncode == 1
        assert "open in another process" in refused.stderr
        forced = fresh_instance.run("restore", "--force", str(archive))
        assert forced.returncode == 0, forced.stdout + forced.stderr
        # The open connection sees the restored database, not a file swapped under it.
        assert running.execute("SELECT count(*) FROM marketplace_hit").fetchone()[0] == 2
    finally:
        running.close()


@pytest.mark.skipif(not ON_POSTGRES, reason="other clients of a PostgreSQL database")
def test_restore_refuses_a_postgresql_database_other_clients_use(archive, fresh_instance):
    import psycopg

    with psycopg.connect(fresh_instance.database_url):
        refused = fresh_instance.run("restore", str(archive))
    assert refused.returncode == 1
    assert "other connection is open" in refused.stderr


def _rewritten(archive: Path, target: Path, *, manifest: Any = None, database: Any = None) -> Path:
    """A copy of ``archive`` with its manifest (a dict) or database (bytes) changed by the given functions."""
    with tarfile.open(archive) as src, tarfile.open(target, "w:gz") as dst:
        for member in src.getmembers():
            data = src.extractfile(member).read()  # type: ignore[union-attr]
            if member.name == "manifest.json" and manifest:
                data = json.dumps(manifest(json.loads(data))).encode()
            elif member.name.startswith("kempelen.") and database:
                data = database(data)
            member.size = len(data)
            dst.addfile(member, io.BytesIO(data))
    return target


def _flip_a_byte(data: bytes) -> bytes:
    middle = len(data) // 2
    return data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1:]


def test_restore_refuses_a_damaged_archive_and_leaves_nothing_behind(archive, fresh_instance, tmp_path):
    damaged = _rewritten(archive, tmp_path / "damaged.tar.gz", database=_flip_a_byte)
    refused = fresh_instance.run("restore", str(damaged))
    assert refused.returncode == 1
    assert "does not match its checksum" in refused.stderr
    assert sum(fresh_instance.table_counts().values()) == 0
    assert not [p for p in fresh_instance.data_dir.iterdir() if p.name.startswith(".kempelen-restore-")]

    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    refused = fresh_instance.run("restore", str(truncated))
    assert refused.returncode == 1 and "refused" in refused.stderr
    assert "Traceback" not in refused.stderr

    not_a_backup = tmp_path / "notes.tar.gz"
    with tarfile.open(not_a_backup, "w:gz") as tar:
        tar.addfile(tarfile.TarInfo("notes.txt"), io.BytesIO(b""))
    refused = fresh_instance.run("restore", str(not_a_backup))
    assert refused.returncode == 1 and "not a Kempelen backup" in refused.stderr


def test_restore_refuses_a_backup_of_the_other_kind_of_database(archive, fresh_instance, tmp_path):
    other = "sqlite" if ON_POSTGRES else "postgresql"
    swapped = _rewritten(archive, tmp_path / "other.tar.gz", manifest=lambda m: {**m, "database": other})
    refused = fresh_instance.run("restore", str(swapped))
    assert refused.returncode == 1
    assert "restore it into the same kind of database" in refused.stderr


def test_restore_refuses_a_backup_made_by_a_newer_version(archive, fresh_instance, tmp_path):
    def from_the_future(manifest: dict[str, Any]) -> dict[str, Any]:
        return {**manifest, "migrations": [*manifest["migrations"], ["ledger", "9999_from_the_future"]]}

    newer = _rewritten(archive, tmp_path / "newer.tar.gz", manifest=from_the_future)
    refused = fresh_instance.run("restore", str(newer))
    assert refused.returncode == 1
    assert "newer Kempelen" in refused.stderr and "ledger.9999_from_the_future" in refused.stderr


def test_restore_refuses_a_secret_key_setting_that_is_not_the_backups(archive, fresh_instance):
    other_key = "k" * 30 + "ey-that-is-long-enough-but-not-this-instances"
    refused = fresh_instance.run("restore", str(archive), extra={"KEMPELEN_SECRET_KEY": other_key})
    assert refused.returncode == 1
    assert "KEMPELEN_SECRET_KEY is not the key this backup was made with" in refused.stderr
    from django.conf import settings

    same = fresh_instance.run("restore", str(archive), extra={"KEMPELEN_SECRET_KEY": settings.SECRET_KEY})
    assert same.returncode == 0, same.stdout + same.stderr
    assert "OK       secret key: decrypts the stored API secrets" in same.stdout
    assert not (fresh_instance.data_dir / "secret_key").exists()  # the setting stays the one source of the key
