"""``kempelen check``: is this configuration ready to start? One finding per check, OK / WARNING / ERROR.

The environment is checked before Django's settings load (``environment.check_environment``); everything here
runs after, against the configured database.
"""

from __future__ import annotations

import os
import socket
import stat
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.db import DatabaseError, connection

from .findings import Finding, error, ok, warning

#: Django supports PostgreSQL 14 and later (Django 5.2).
MINIMUM_POSTGRESQL = 140000
#: Deployment checks that ask for what the reverse proxy does in front of Kempelen (HSTS, the HTTPS redirect),
#: and the secret key's strength, which the secret key check reports in Kempelen's words.
NOT_REPORTED = {"security.W004", "security.W008", "security.W021", "security.W009"}
#: Django's checks name Django's settings; these are the KEMPELEN_* variables that set them.
_KEMPELEN_SETTING = {
    "security.W012": "KEMPELEN_SECURE_COOKIES (on by default with an https:// KEMPELEN_PUBLIC_URL)",
    "security.W016": "KEMPELEN_SECURE_COOKIES (on by default with an https:// KEMPELEN_PUBLIC_URL)",
    "security.W018": "KEMPELEN_DEBUG",
    "security.W020": "KEMPELEN_ALLOWED_HOSTS",
    "4_0.E001": "KEMPELEN_CSRF_TRUSTED_ORIGINS",
}
_CONSOLE_BACKENDS = {
    "django.core.mail.backends.console.EmailBackend",
    "django.core.mail.backends.locmem.EmailBackend",
    "django.core.mail.backends.dummy.EmailBackend",
    "django.core.mail.backends.filebased.EmailBackend",
}


def engine() -> str:
    return "postgresql" if connection.vendor == "postgresql" else "sqlite"


def data_dir_finding(data_dir: Path) -> Finding:
    """Whether the data directory exists (or can be made) and takes new files."""
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=data_dir, prefix=".kempelen-check-"):
            pass
    except OSError as exc:
        return error("data dir", f"{data_dir} is not writable: {exc.strerror or exc}")
    what = "the SQLite database, " if engine() == "sqlite" else ""
    return ok("data dir", f"{data_dir} is writable ({what}uploads, the secret key)")


def _secret_key_findings() -> list[Finding]:
    key = settings.SECRET_KEY
    path = Path(settings.DATA_DIR) / "secret_key"
    from_environment = bool(os.environ.get("KEMPELEN_SECRET_KEY"))
    source = "KEMPELEN_SECRET_KEY" if from_environment else str(path)
    if len(key) < 50 or len(set(key)) < 5:
        return [error("secret key", f"the key from {source} is too short or too simple: use at least 50 random "
                                     "characters (python -c 'import secrets; print(secrets.token_urlsafe(50))')")]
    findings = []
    if not from_environment and path.exists() and stat.S_IMODE(path.stat().st_mode) & 0o077:
        findings.append(warning("secret key", f"{path} can be read by other users: chmod 600 it"))
    if engine() == "postgresql" and not from_environment:
        findings.append(ok("secret key", f"from {path}; every node must use this same key"))
    else:
        findings.append(ok("secret key", f"from {source}"))
    return findings


def secret_decrypts_finding() -> Finding | None:
    """Whether the key decrypts the requesters' stored API secrets (it must be the key they were stored with)."""
    from cryptography.fernet import InvalidToken

    from kempelen.accounts import secrets
    from kempelen.accounts.models import ApiCredential

    if ApiCredential._meta.db_table not in connection.introspection.table_names():
        return None
    credentials = list(ApiCredential.objects.order_by("-created_at")[:20].values_list("access_key_id", "secret_encrypted"))
    if not credentials:
        return None
    failed = []
    for access_key_id, token in credentials:
        try:
            secrets.decrypt(token)
        except InvalidToken:
            failed.append(access_key_id)
    if failed:
        return error("secret key", f"it does not decrypt the stored API secrets (e.g. of {failed[0]}): this is not "
                                   "the key this database was made with, and every API call would be refused. "
                                   "Use the instance's original key (the secret_key file from its data dir or "
                                   "backup, or the same KEMPELEN_SECRET_KEY as the other nodes)")
    return ok("secret key", f"decrypts the stored API secrets ({len(credentials)} checked)")


def _database_findings() -> tuple[list[Finding], bool]:
    """Findings about reaching the database, and whether it was reached."""
    name = settings.DATABASES["default"]["NAME"]
    try:
        if engine() == "postgresql":
            from . import postgres

            postgres.connect_directly().close()  # a clear answer now, not the pool's retries for its timeout
        connection.ensure_connection()
    except Exception as exc:  # every driver's connection error, with its own message
        where = f"{connection.settings_dict.get('HOST') or 'localhost'}:{connection.settings_dict.get('PORT') or 5432}"
        target = f"PostgreSQL database {name!r} at {where}" if engine() == "postgresql" else f"SQLite file {name}"
        return [error("database", f"cannot open the {target}: {str(exc).strip().splitlines()[0]}")], False
    if engine() == "postgresql":
        version = connection.pg_version  # type: ignore[attr-defined]
        text = f"{version // 10000}.{version % 10000}"
        if version < MINIMUM_POSTGRESQL:
            return [error("database", f"PostgreSQL {text} is too old: Kempelen needs 14 or later")], True
        return [ok("database", f"PostgreSQL {text}, database {name!r} reachable")], True
    import sqlite3

    return [ok("database", f"SQLite {sqlite3.sqlite_version}, {name}")], True


def migration_state() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(migrations this code has that the database lacks, migrations the database has that this code lacks)."""
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    graph = executor.loader.graph
    pending = [(m.app_label, m.name) for m, _ in executor.migration_plan(graph.leaf_nodes())]
    applied = executor.loader.applied_migrations or {}
    ours = {label for label in executor.loader.migrated_apps}
    unknown = sorted(key for key in applied if key[0] in ours and key not in graph.nodes)
    return pending, unknown


def _migration_findings() -> list[Finding]:
    pending, unknown = migration_state()
    if unknown:
        names = ", ".join(f"{app}.{name}" for app, name in unknown[:3])
        return [error("migrations", f"the database has migrations this version does not know ({names}): it was "
                                    "upgraded by a newer Kempelen; run that version")]
    if pending:
        return [warning("migrations", f"{len(pending)} pending: run `kempelen migrate` (on several nodes, once, "
                                      "before starting the upgraded nodes)")]
    return [ok("migrations", "all applied")]


def _email_findings() -> list[Finding]:
    from django.utils.module_loading import import_string

    backend = str(settings.EMAIL_BACKEND)
    try:
        import_string(backend)
    except ImportError as exc:
        return [error("email", f"KEMPELEN_EMAIL_BACKEND={backend!r} cannot be imported: {exc}")]
    if backend in _CONSOLE_BACKENDS:
        return [warning("email", "emails (worker notifications, password resets) are written to the log, not sent: "
                                 "set KEMPELEN_EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend and "
                                 "KEMPELEN_EMAIL_HOST")]
    findings = []
    if backend == "django.core.mail.backends.smtp.EmailBackend":
        try:
            socket.create_connection((settings.EMAIL_HOST, settings.EMAIL_PORT), timeout=5).close()
        except OSError as exc:
            findings.append(warning("email", f"no SMTP server answers at {settings.EMAIL_HOST}:{settings.EMAIL_PORT} "
                                             f"({exc.strerror or exc})"))
    if str(settings.DEFAULT_FROM_EMAIL).endswith("@localhost"):
        findings.append(warning("email", f"emails are sent from {settings.DEFAULT_FROM_EMAIL}: set KEMPELEN_EMAIL_FROM "
                                         "to an address of your domain"))
    return findings or [ok("email", f"sent with {backend.rsplit('.', 2)[-2]} from {settings.DEFAULT_FROM_EMAIL}")]


def _is_local(host: str) -> bool:
    return host in {"localhost", "127.0.0.1", "::1"} or host.endswith(".localhost")


def _url_findings() -> list[Finding]:
    public = str(settings.KEMPELEN["PUBLIC_URL"] or "")
    if not public:
        return [warning("public URL", "KEMPELEN_PUBLIC_URL is not set: links in emails and turkSubmitTo use "
                                      "http://<host>:<port>; set it to the address browsers and clients reach")]
    findings = []
    parts = urlsplit(public)
    host = parts.hostname or ""
    if parts.scheme == "http" and not _is_local(host):
        findings.append(warning("public URL", f"{public} is plain HTTP: passwords and API traffic travel unencrypted; "
                                              "serve it behind a TLS proxy (docs/deploy.md)"))
    origin = f"{parts.scheme}://{parts.netloc}"
    proxy_says_https = bool(getattr(settings, "SECURE_PROXY_SSL_HEADER", None))
    if parts.scheme == "https" and origin not in settings.CSRF_TRUSTED_ORIGINS and not proxy_says_https:
        findings.append(error("public URL", f"behind a TLS proxy, forms posted from {origin} are refused unless "
                                            f"KEMPELEN_CSRF_TRUSTED_ORIGINS includes {origin}"))
    if "*" not in settings.ALLOWED_HOSTS and host not in settings.ALLOWED_HOSTS:
        findings.append(error("public URL", f"its host {host} is not in KEMPELEN_ALLOWED_HOSTS"))
    task_content = urlsplit(str(settings.KEMPELEN.get("TASK_CONTENT_URL") or ""))
    if task_content.netloc and task_content.netloc == parts.netloc:
        findings.append(warning("task content", "KEMPELEN_TASK_CONTENT_URL is the instance's own host: use a "
                                                "separate host name, or leave it empty"))
    elif task_content.hostname and not {"*", task_content.hostname} & set(settings.ALLOWED_HOSTS):
        findings.append(error("task content", f"its host {task_content.hostname} is not in KEMPELEN_ALLOWED_HOSTS: "
                                              "task frames would be refused"))
    return findings or [ok("public URL", public)]


def _several_nodes_findings() -> list[Finding]:
    if engine() != "postgresql":
        return []
    if settings.CACHES["default"]["BACKEND"].endswith("LocMemCache"):
        return [warning("cache", "sign-in limits are counted per process: with several processes or nodes set "
                                 "KEMPELEN_CACHE_URL=db")]
    return []


def ledger_finding() -> Finding:
    """The ledger's and escrow's invariants (the ones the test suite checks after every test). Reads every
    ledger entry and HIT: seconds on a large instance."""
    from kempelen.ledger.queries import problems
    from kempelen.marketplace.invariants import escrow_problems

    try:
        found = problems() + escrow_problems()
    except DatabaseError:
        return warning("ledger", "not checked: run `kempelen migrate` first")
    if found:
        return error("ledger", f"{len(found)} problems: " + "; ".join(found[:3]))
    return ok("ledger", "every transaction balances, balances equal their entries, no negative funds, escrow "
                        "equals what the HITs' open slots could cost")


def django_findings(*, deploy: bool) -> list[Finding]:
    """Django's own system checks (and its deployment checks when ``deploy``), one finding each."""
    from django.core import checks

    messages = checks.run_checks(include_deployment_checks=deploy)
    findings = []
    for message in messages:
        if message.is_silenced() or message.id in NOT_REPORTED:
            continue
        text = str(message.msg).split("\n")[0]
        hint = f" ({message.hint})" if message.hint else ""
        if message.id in _KEMPELEN_SETTING:
            hint += f" [set with {_KEMPELEN_SETTING[message.id]}]"
        topic = f"django {message.id}"
        findings.append(error(topic, text + hint) if message.is_serious() else warning(topic, text + hint))
    label = "system and deployment checks" if deploy else "system checks"
    return findings or [ok("django", f"{label} passed")]


def wants_deploy_checks() -> bool:
    """Deployment checks make sense for an instance served over HTTPS, not for a plain-HTTP one on a LAN."""
    return not settings.DEBUG and str(settings.KEMPELEN["PUBLIC_URL"]).startswith("https://")


def check_instance(*, deploy: bool | None = None, ledger: bool = False) -> list[Finding]:
    """Every check that needs the loaded settings, in the order an operator would fix them (the ledger's
    invariants only when asked: they read the whole ledger)."""
    findings = [*_secret_key_findings(), data_dir_finding(Path(settings.DATA_DIR))]
    if settings.DEBUG:
        findings.append(warning("debug", "KEMPELEN_DEBUG is on: error pages show settings and code; never in "
                                         "production"))
    database, reached = _database_findings()
    findings += database
    if reached:
        try:
            findings += _migration_findings()
            decrypts = secret_decrypts_finding()
            if decrypts is not None:
                findings.append(decrypts)
            if ledger:
                findings.append(ledger_finding())
        except DatabaseError as exc:
            findings.append(error("database", f"cannot read the schema: {str(exc).strip().splitlines()[0]}"))
    else:
        findings.append(warning("migrations", "not checked (no database)"))
    findings += _email_findings()
    findings += _url_findings()
    findings += _several_nodes_findings()
    findings += django_findings(deploy=wants_deploy_checks() if deploy is None else deploy)
    return findings
