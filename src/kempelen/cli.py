"""The ``kempelen`` command: serve, run jobs, manage accounts and money, simulate workers."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from decimal import Decimal, InvalidOperation


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kempelen.settings")
    import django

    django.setup()


def _migrate(verbosity: int = 0) -> None:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=verbosity)
    call_command("createcachetable", verbosity=verbosity)  # only does something with KEMPELEN_CACHE_URL=db


def cmd_serve(args: argparse.Namespace) -> int:
    from .observability.serve import prepare_serve_environment

    prepare_serve_environment(threads=args.threads)  # before Django and prometheus_client load
    _setup()
    from django.conf import settings

    settings.DATA_DIR.mkdir(parents=True, exist_ok=True)
    _migrate()
    base = settings.KEMPELEN["PUBLIC_URL"] or f"http://{args.host}:{args.port}"
    engine = "PostgreSQL" if "postgresql" in settings.DATABASES["default"]["ENGINE"] else "SQLite"
    print(f"""
Kempelen is starting on {engine} ({settings.DATABASES['default']['NAME']}).

  MTurk Requester API   {base}/      (boto3: endpoint_url="{base}", region "us-east-1" live, "sandbox" sandbox)
  Worker site           {base}/worker/
  Requester site        {base}/requester/
  Admin (operators)     {base}/admin/

Credentials: `kempelen create-requester NAME` prints an access key id and secret;
`kempelen add-funds NAME 100.00` adds live funds; `kempelen create-operator NAME` makes an admin.
""", flush=True)
    runner = None
    if not args.no_jobs:
        runner = subprocess.Popen([sys.executable, "-m", "kempelen.cli", "worker"])
    try:
        from .server import run_http

        run_http(host=args.host, port=args.port, workers=args.workers, threads=args.threads)
    finally:
        if runner is not None:
            runner.terminate()
            runner.wait(timeout=10)
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    _setup()
    from kempelen.jobs.runner import run_forever

    run_forever()
    return 0


def cmd_jobs(args: argparse.Namespace) -> int:
    _setup()
    from kempelen.jobs.commands import run

    return run(args)


def cmd_migrate(args: argparse.Namespace) -> int:
    _setup()
    from django.conf import settings

    settings.DATA_DIR.mkdir(parents=True, exist_ok=True)
    _migrate(verbosity=1)
    return 0


def _operator():  # type: ignore[no-untyped-def]
    from kempelen.core.actors import Actor

    return Actor.operator(os.environ.get("USER", "cli"))


def cmd_create_requester(args: argparse.Namespace) -> int:
    _setup()
    _migrate()
    from kempelen.accounts import actions

    requester = actions.create_requester(
        actor=_operator(), username=args.username, email=args.email or "", display_name=args.name or "",
        password=args.password,
    )
    issued = actions.issue_credential(actor=_operator(), requester=requester, label="created with the CLI")
    print(f"Requester {requester.display_name} ({requester.customer_id})")
    print(f"AWS_ACCESS_KEY_ID={issued.access_key_id}")
    print(f"AWS_SECRET_ACCESS_KEY={issued.secret_access_key}")
    print("The secret is shown only now; keep it safe.")
    return 0


def cmd_issue_key(args: argparse.Namespace) -> int:
    _setup()
    from kempelen.accounts import actions
    from kempelen.accounts.models import Requester

    requester = Requester.objects.get(user__username=args.username)
    issued = actions.issue_credential(actor=_operator(), requester=requester, label=args.label or "")
    print(f"AWS_ACCESS_KEY_ID={issued.access_key_id}")
    print(f"AWS_SECRET_ACCESS_KEY={issued.secret_access_key}")
    return 0


def cmd_create_worker(args: argparse.Namespace) -> int:
    _setup()
    _migrate()
    from kempelen.accounts import actions

    worker = actions.create_worker(
        actor=_operator(), username=args.username, email=args.email or "", password=args.password,
        country=args.country or "", subdivision=args.subdivision or "", is_adult=args.adult,
    )
    print(f"Worker {args.username}: WorkerId {worker.worker_id}")
    return 0


def cmd_create_operator(args: argparse.Namespace) -> int:
    _setup()
    _migrate()
    import getpass

    from kempelen.accounts import actions

    password = args.password or getpass.getpass("Password: ")
    actions.create_operator(actor=_operator(), username=args.username, email=args.email or "", password=password)
    print(f"Operator {args.username} created; sign in at /admin/.")
    return 0


def cmd_add_funds(args: argparse.Namespace) -> int:
    _setup()
    import uuid

    from kempelen.accounts.models import Requester
    from kempelen.core.money import parse_amount
    from kempelen.ledger import actions as ledger
    from kempelen.ledger.queries import requester_balances

    try:
        Decimal(args.amount)
    except InvalidOperation:
        print("The amount must look like 100.00", file=sys.stderr)
        return 2
    requester = Requester.objects.get(user__username=args.username)
    environment = "sandbox" if args.sandbox else "live"
    ledger.deposit(requester=requester, environment=environment, cents=parse_amount(args.amount, field="amount"),
                   key=f"deposit:{uuid.uuid4()}", actor=_operator(), memo=args.memo or "Deposit by an operator")
    available, escrow = requester_balances(requester, environment)
    print(f"{args.username} ({environment}): available {available / 100:.2f}, in escrow {escrow / 100:.2f}")
    return 0


def cmd_invite(args: argparse.Namespace) -> int:
    _setup()
    from django.conf import settings

    from kempelen.accounts.actions_profile import create_invitation

    code = create_invitation(actor=_operator(), note=args.note or "")
    base = settings.KEMPELEN["PUBLIC_URL"] or "http://127.0.0.1:8000"
    print(f"Invitation code (single use): {code}")
    print(f"Sign-up link: {base}/worker/signup?invitation={code}")
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    _setup()
    from .simulate import run_simulation

    report = run_simulation(
        environment=args.environment, workers=args.workers, duration=args.duration, max_cycles=args.cycles,
        script=args.script, return_rate=args.return_rate, seed=args.seed,
    )
    print(report)
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from kempelen.ops import findings as report
    from kempelen.ops.environment import check_environment

    # The environment first: a bad value would make loading the settings fail with a bare traceback.
    found = check_environment()
    if report.has_errors(found):
        found.append(report.error("settings", "the other checks need valid settings: fix the above first"))
    else:
        try:
            _setup()
        except OSError as exc:
            found.append(report.error("data dir", f"cannot be used: {exc}"))
        except Exception as exc:  # whatever stops the settings from loading is the finding
            found.append(report.error("settings", f"cannot be loaded: {type(exc).__name__}: {exc}"))
        else:
            from kempelen.ops.check import check_instance

            found += check_instance(deploy=args.deploy, ledger=args.ledger)
    print(report.report(found))
    warned = any(f.level == report.WARNING for f in found)
    return 1 if report.has_errors(found) or (args.strict and warned) else 0


def cmd_backup(args: argparse.Namespace) -> int:
    _setup()
    from pathlib import Path

    from kempelen.core.errors import KempelenError
    from kempelen.ops.backup import create_backup

    try:
        made = create_backup(Path(args.path) if args.path else None)
    except KempelenError as exc:
        print(f"kempelen backup: {exc}", file=sys.stderr)
        return 1
    manifest = made.manifest
    size = made.path.stat().st_size
    print(f"Backup written to {made.path} ({size / 1_000_000:.1f} MB)")
    print(f"  {manifest.database} database: {len(manifest.tables)} tables, {sum(manifest.tables.values())} rows, "
          f"{len(manifest.migrations)} migrations applied, as at {manifest.created_at}")
    print(f"  {made.media.files} uploaded files ({made.media.bytes / 1_000_000:.1f} MB)")
    print("  with the instance secret: keep the file as safe as the secret itself")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    _setup()
    from pathlib import Path

    from kempelen.core.errors import KempelenError
    from kempelen.ops.findings import has_errors, report
    from kempelen.ops.restore import restore_backup

    try:
        restored = restore_backup(Path(args.path), force=args.force)
    except KempelenError as exc:
        print(f"kempelen restore: refused: {exc}", file=sys.stderr)
        return 1
    print(report(restored.findings))
    if has_errors(restored.findings):
        return 1
    print("Restored. Start the instance (on several nodes: restart every node).")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kempelen", description="The open-source Mechanical Turk.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", help="apply migrations and serve the API and sites, with the job runner")
    p.add_argument("--host", default=os.environ.get("KEMPELEN_HOST", "127.0.0.1"))
    p.add_argument("--port", type=int, default=int(os.environ.get("KEMPELEN_PORT", "8000")))
    p.add_argument("--workers", type=int, default=int(os.environ.get("KEMPELEN_HTTP_WORKERS", "2")))
    p.add_argument("--threads", type=int, default=int(os.environ.get("KEMPELEN_HTTP_THREADS", "8")))
    p.add_argument("--no-jobs", action="store_true", help="do not start a job runner (run `kempelen worker`)")
    p.set_defaults(func=cmd_serve)

    sub.add_parser("worker", help="run the job runner").set_defaults(func=cmd_worker)

    from kempelen.jobs.commands import add_arguments as add_jobs_arguments

    p = sub.add_parser("jobs", help="the job runner's queue and dead items; retry them; run one pass")
    add_jobs_arguments(p)
    p.set_defaults(func=cmd_jobs)
    sub.add_parser("migrate", help="create or upgrade the database").set_defaults(func=cmd_migrate)

    p = sub.add_parser("create-requester", help="create a requester and print an access key")
    p.add_argument("username")
    p.add_argument("--name")
    p.add_argument("--email")
    p.add_argument("--password")
    p.set_defaults(func=cmd_create_requester)

    p = sub.add_parser("issue-key", help="issue another access key to a requester")
    p.add_argument("username")
    p.add_argument("--label")
    p.set_defaults(func=cmd_issue_key)

    p = sub.add_parser("create-worker", help="create a worker account")
    p.add_argument("username")
    p.add_argument("--email")
    p.add_argument("--password")
    p.add_argument("--country")
    p.add_argument("--subdivision")
    p.add_argument("--adult", action="store_true")
    p.set_defaults(func=cmd_create_worker)

    p = sub.add_parser("create-operator", help="create an operator (Django admin access)")
    p.add_argument("username")
    p.add_argument("--email")
    p.add_argument("--password")
    p.set_defaults(func=cmd_create_operator)

    p = sub.add_parser("add-funds", help="deposit money into a requester's balance")
    p.add_argument("username")
    p.add_argument("amount", help="dollars, e.g. 100.00")
    p.add_argument("--sandbox", action="store_true")
    p.add_argument("--memo")
    p.set_defaults(func=cmd_add_funds)

    p = sub.add_parser("invite", help="make a single-use invitation code for worker sign-up (invite-only instances)")
    p.add_argument("--note", help="who it is for (kept in the audit log)")
    p.set_defaults(func=cmd_invite)

    p = sub.add_parser("simulate", help="synthetic workers accept and submit open HITs")
    p.add_argument("--environment", choices=("sandbox", "live"), default="sandbox")
    p.add_argument("--workers", type=int, default=5)
    p.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    p.add_argument("--cycles", type=int, default=None, help="stop after this many submissions")
    p.add_argument("--script", help="a Python file defining answer(hit, question, worker) -> list of (name, value)")
    p.add_argument("--return-rate", type=float, default=0.0, help="fraction of accepted HITs returned")
    p.add_argument("--seed", type=int, default=None)
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("check", help="check the configuration before starting: settings, secret, database, email")
    p.add_argument("--strict", action="store_true", help="fail on warnings too")
    p.add_argument("--deploy", action=argparse.BooleanOptionalAction, default=None,
                   help="run Django's deployment checks (default: when KEMPELEN_PUBLIC_URL is https)")
    p.add_argument("--ledger", action="store_true",
                   help="also check the ledger's and escrow's invariants (reads the whole ledger)")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("backup", help="back up the database and the instance secret into one archive (online)")
    p.add_argument("path", nargs="?", help="a .tar.gz or .tar file, or a directory (default: the current one)")
    p.set_defaults(func=cmd_backup)

    p = sub.add_parser("restore", help="restore a backup into the configured database and data directory")
    p.add_argument("path", help="the archive made by `kempelen backup`")
    p.add_argument("--force", action="store_true",
                   help="replace a database that holds data or is open in a running instance")
    p.set_defaults(func=cmd_restore)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
