"""`kempelen check`: one line per check, and a non-zero exit when the configuration would not work."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from kempelen.ops.environment import check_environment, known_variables

BIN = Path(sys.executable).parent
ON_POSTGRES = os.environ.get("KEMPELEN_DATABASE_URL", "").startswith("postgres")
A_KEY = secrets.token_urlsafe(50)


@pytest.fixture
def instance(tmp_path):
    """Run `kempelen …` on a fresh SQLite instance with only the given settings."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("KEMPELEN_")}
    base["KEMPELEN_DATA_DIR"] = str(tmp_path / "data")

    def run(*args: str, **settings: str) -> subprocess.CompletedProcess[str]:
        env = {**base, **{f"KEMPELEN_{k}": v for k, v in settings.items()}}
        return subprocess.run([str(BIN / "kempelen"), *args], env=env, capture_output=True, text=True, timeout=120,
                              check=False)

    return run


def _lines(done: subprocess.CompletedProcess[str], level: str) -> list[str]:
    return [line for line in done.stdout.splitlines() if line.startswith(level)]


def test_a_migrated_instance_passes_with_only_advice(instance):
    assert instance("migrate").returncode == 0
    done = instance("check")
    assert done.returncode == 0, done.stdout + done.stderr
    assert not _lines(done, "ERROR")
    for topic in ("settings", "secret key", "data dir", "database", "migrations", "django"):
        assert any(line.split(None, 1)[1].startswith(f"{topic}:") for line in _lines(done, "OK")), topic
    assert "OK       migrations: all applied" in done.stdout
    assert re.search(r"^WARNING  email: .*written to the log", done.stdout, re.M)
    assert done.stdout.strip().splitlines()[-1] in {"2 warnings.", "All checks passed."}
    assert "ledger" not in done.stdout  # read only when asked: it reads the whole ledger
    assert instance("create-requester", "olga").returncode == 0
    assert instance("add-funds", "olga", "5.00").returncode == 0
    with_ledger = instance("check", "--ledger")
    assert re.search(r"^OK       ledger: every transaction balances", with_ledger.stdout, re.M), with_ledger.stdout


def test_pending_migrations_are_counted_and_fail_only_a_strict_check(instance):
    done = instance("check")
    assert done.returncode == 0
    assert re.search(r"^WARNING  migrations: \d+ pending: run `kempelen migrate`", done.stdout, re.M)
    assert instance("check", "--strict").returncode == 1


def test_a_bad_value_is_named_without_a_traceback(instance):
    done = instance("check", EMAIL_PORT="twenty-five", PUBLC_URL="https://turk.example.org")
    assert done.returncode == 1
    assert "ERROR    settings: KEMPELEN_EMAIL_PORT='twenty-five' is not a whole number" in done.stdout
    assert ("WARNING  settings: KEMPELEN_PUBLC_URL is not a Kempelen setting and is ignored "
            "(did you mean KEMPELEN_PUBLIC_URL?)") in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


def test_a_data_dir_that_cannot_be_made_is_an_error(instance, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    done = instance("check", DATA_DIR=str(blocker / "data"))
    assert done.returncode == 1
    assert re.search(r"^ERROR    data dir: ", done.stdout, re.M)
    assert "Traceback" not in done.stdout + done.stderr


def test_a_secret_key_that_is_not_the_databases_is_an_error(instance):
    assert instance("create-requester", "olga").returncode == 0
    assert instance("check").returncode == 0
    done = instance("check", SECRET_KEY=A_KEY)
    assert done.returncode == 1
    assert "ERROR    secret key: it does not decrypt the stored API secrets" in done.stdout


def test_a_weak_secret_key_is_an_error(instance):
    done = instance("check", SECRET_KEY="changeme")
    assert done.returncode == 1
    assert "ERROR    secret key: the key from KEMPELEN_SECRET_KEY is too short" in done.stdout


def test_an_https_public_url_needs_its_origin_trusted_and_gets_deployment_checks(instance):
    assert instance("migrate").returncode == 0
    done = instance("check", PUBLIC_URL="https://turk.example.org", SECRET_KEY=A_KEY)
    assert done.returncode == 1
    assert ("ERROR    public URL: behind a TLS proxy, forms posted from https://turk.example.org are refused unless "
            "KEMPELEN_CSRF_TRUSTED_ORIGINS includes https://turk.example.org") in done.stdout
    trusted = instance("check", PUBLIC_URL="https://turk.example.org", SECRET_KEY=A_KEY,
                       CSRF_TRUSTED_ORIGINS="https://turk.example.org", ALLOWED_HOSTS="turk.example.org")
    assert trusted.returncode == 0, trusted.stdout
    assert "OK       django: system and deployment checks passed" in trusted.stdout  # cookies are Secure over HTTPS
    insecure = instance("check", PUBLIC_URL="https://turk.example.org", SECRET_KEY=A_KEY,
                        CSRF_TRUSTED_ORIGINS="https://turk.example.org", SECURE_COOKIES="0")
    assert "WARNING  django security.W012" in insecure.stdout


def test_a_malformed_public_url_is_an_error(instance):
    done = instance("check", PUBLIC_URL="turk.example.org")
    assert done.returncode == 1
    assert "ERROR    settings: KEMPELEN_PUBLIC_URL='turk.example.org' must start with https://" in done.stdout


def test_an_unreachable_database_is_an_error(instance):
    done = instance("check", DATABASE_URL="postgresql://postgres@127.0.0.1:1/kempelen")
    assert done.returncode == 1
    assert re.search(r"^ERROR    database: cannot open the PostgreSQL database 'kempelen' at 127.0.0.1:1: ",
                     done.stdout, re.M)
    assert "WARNING  migrations: not checked (no database)" in done.stdout


@pytest.mark.skipif(not ON_POSTGRES, reason="a PostgreSQL server")
def test_postgresql_is_checked_for_its_version_and_migrations(instance):
    import psycopg

    name = f"kempelen_check_{uuid.uuid4().hex[:12]}"
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as db:
        db.execute(f'CREATE DATABASE "{name}"')
    try:
        done = instance("check", DATABASE_URL=f"postgresql://postgres@127.0.0.1:5432/{name}")
        assert re.search(r"^OK       database: PostgreSQL 1\d\.\d+, database '" + name, done.stdout, re.M)
        assert re.search(r"^WARNING  migrations: \d+ pending", done.stdout, re.M)
        assert "WARNING  cache: sign-in limits are counted per process" in done.stdout
    finally:
        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as db:
            db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- The environment alone (before the settings load) ----------------------------------------------------


def test_every_variable_the_settings_read_is_known_with_its_type():
    known = known_variables()
    assert known["KEMPELEN_EMAIL_PORT"].kind == "int"
    assert known["KEMPELEN_FEE_PERCENT"].kind == "float"
    assert known["KEMPELEN_DEBUG"].kind == "flag"
    assert known["KEMPELEN_PUBLIC_URL"].kind == "text"
    assert known["KEMPELEN_PORT"].kind == "int"  # read by the serve command, not settings.py
    source = (Path(__file__).parents[2] / "src/kempelen/settings.py").read_text()
    for name in re.findall(r'_(?:env|flag)\("([A-Z0-9_]+)"', source):
        assert f"KEMPELEN_{name}" in known


@pytest.mark.parametrize(("environ", "expected"), [
    ({"KEMPELEN_FEE_PERCENT": "twenty"}, "ERROR    settings: KEMPELEN_FEE_PERCENT='twenty' is not a number"),
    ({"KEMPELEN_LOGIN_MAX_FAILURES": "-1"}, "ERROR    settings: KEMPELEN_LOGIN_MAX_FAILURES='-1' must not be negative"),
    ({"KEMPELEN_JOB_POLL_SECONDS": "nan"}, "ERROR    settings: KEMPELEN_JOB_POLL_SECONDS='nan' is not a finite number"),
    ({"KEMPELEN_DEBUG": "ture"}, "WARNING  settings: KEMPELEN_DEBUG='ture' is read as off"),
    ({"KEMPELEN_WORKER_SIGNUP": "invites"}, "ERROR    settings: KEMPELEN_WORKER_SIGNUP='invites' must be one of: open, "
                                           "invite"),
    ({"KEMPELEN_DATABASE_URL": "mysql://u@h/db"}, "ERROR    settings: KEMPELEN_DATABASE_URL must be a postgresql:// or "
                                                 "sqlite:/// URL"),
    ({"KEMPELEN_TASK_CONTENT_URL": "https://tasks.example.org/frames"}, "must be only scheme and host"),
    ({"KEMPELEN_LOG_LEVEL": "LOUD"}, "ERROR    settings: KEMPELEN_LOG_LEVEL='LOUD' is not a log level"),
    ({"KEMPELEN_SECRETKEY": "x"}, "(did you mean KEMPELEN_SECRET_KEY?)"),
])
def test_bad_settings_are_named(environ, expected):
    lines = [finding.line() for finding in check_environment(environ)]
    assert any(expected in line for line in lines), lines


def test_good_settings_pass():
    environ = {"KEMPELEN_FEE_PERCENT": "12.5", "KEMPELEN_DEBUG": "no",
               "KEMPELEN_PUBLIC_URL": "https://turk.example.org/",
               "KEMPELEN_DATABASE_URL": "postgresql://kempelen@db.internal:5432/kempelen", "KEMPELEN_PORT": "8000",
               "PATH": "/usr/bin"}
    lines = [f.line() for f in check_environment(environ)]
    assert lines == ["OK       settings: 5 KEMPELEN_* variables set, all valid"]
