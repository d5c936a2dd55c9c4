"""CPU per call of the hot-path lookups as written today and of cheaper spellings, to size the suggestions in
docs/performance.md. Read-only queries on a throwaway database; nothing in src/ changes.

    .venv/bin/python benchmarks/orm_variants.py --database sqlite|postgresql [--calls 3000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from profile_api import configure


def cpu_us(fn: Any, calls: int) -> float:
    for _ in range(50):
        fn()
    started = time.thread_time()
    for _ in range(calls):
        fn()
    return 1e6 * (time.thread_time() - started) / calls


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--calls", type=int, default=3000)
    args = parser.parse_args()
    data_dir, pg_name = configure(args.database)
    try:
        run(args)
    finally:
        import shutil

        from django.db import connections

        connections.close_all()
        if pg_name:
            from api_bench import _pg_admin

            _pg_admin(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
        shutil.rmtree(data_dir, ignore_errors=True)
    return 0


def run(args: argparse.Namespace) -> None:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    from api_bench import HIT_TYPE, HTML_QUESTION
    from django.db import connection, transaction

    from kempelen.accounts import actions as accounts
    from kempelen.accounts.models import ApiCredential
    from kempelen.core.actors import Actor
    from kempelen.core.money import parse_amount
    from kempelen.ledger import actions as ledger
    from kempelen.ledger.models import AccountKind, LedgerAccount
    from kempelen.marketplace import actions
    from kempelen.marketplace.models import HIT, HITType
    from kempelen.mturk_api import serializers, wire
    from kempelen.questions.formats import parse_question

    op = Actor.operator("variants")
    requester = accounts.create_requester(actor=op, username="v", display_name="V")
    key = accounts.issue_credential(actor=op, requester=requester).access_key_id
    ledger.deposit(requester=requester, environment="live", cents=10**9, key="d", actor=op)
    hit_type = actions.create_hit_type(
        actor=op, requester=requester, environment="live", title=HIT_TYPE["Title"],
        description=HIT_TYPE["Description"], reward_cents=parse_amount(HIT_TYPE["Reward"]),
        assignment_duration=HIT_TYPE["AssignmentDurationInSeconds"],
    )
    hit = actions.create_hit(actor=op, requester=requester, environment="live", hit_type=hit_type, lifetime=3600,
                             max_assignments=3, question=HTML_QUESTION)
    n = args.calls
    cred_qs = lambda: ApiCredential.objects.select_related("requester").filter(  # noqa: E731
        access_key_id=key, revoked_at__isnull=True)
    hit_qs = lambda: HIT.objects.select_related("hit_type").filter(  # noqa: E731
        pk=hit.pk, requester=requester, environment="live")
    sql = (
        'SELECT c.id, c.secret_encrypted, r.id, r.customer_id FROM accounts_apicredential c '
        'JOIN accounts_requester r ON r.id = c.requester_id WHERE c.access_key_id = %s AND c.revoked_at IS NULL'
    )

    # The SQL Django would build for the lookup, built once (what a compiled-query cache would keep).
    table = HIT._meta.db_table
    hit_sql = (str(HIT.objects.filter(pk="x").query).split(" WHERE ")[0]
               + f' WHERE "{table}"."id" = %s AND "{table}"."requester_id" = %s AND "{table}"."environment" = %s')

    def raw() -> Any:
        with connection.cursor() as cursor:
            cursor.execute(sql, [key])
            return cursor.fetchone()

    cache = {key: cred_qs().first()}
    loaded = hit_qs().first()
    rows = [
        ("credential: select_related().filter().first()  [today]", lambda: cred_qs().first()),
        ("credential: same with [:1] (no ORDER BY)", lambda: next(iter(cred_qs()[:1]), None)),
        ("credential: raw SQL through connection.cursor()", raw),
        ("credential: per-process dict hit", lambda: cache.get(key)),
        ("HIT: select_related('hit_type').filter().first()  [GetHIT today]", lambda: hit_qs().first()),
        ("HIT: same with [:1] (no ORDER BY)", lambda: next(iter(hit_qs()[:1]), None)),
        ("HIT without join: HIT.objects.filter().first()", lambda: HIT.objects.filter(
            pk=hit.pk, requester=requester, environment="live").first()),
        ("HIT without join, SQL compiled once: HIT.objects.raw(sql, params)", lambda: next(iter(HIT.objects.raw(
            hit_sql, [hit.pk, requester.pk, "live"])), None)),
        ("HITType: get_hit_type() .first()  [Create today]", lambda: actions.get_hit_type(requester, "live", hit_type.pk)),
        ("ledger account_for() (filter(key).first())", lambda: ledger.account_for(
            AccountKind.REQUESTER_ESCROW, "live", requester=requester)),
        ("ledger: LedgerAccount select_for_update().get()", lambda: _in_tx(
            lambda: LedgerAccount.objects.select_for_update().get(pk=cache_account.pk))),
        ("empty transaction.atomic() (BEGIN/COMMIT)", lambda: _in_tx(lambda: None)),
        ("serializers.hit + wire.to_wire + wire.encode", lambda: wire.encode(wire.to_wire(
            {"HIT": serializers.hit(loaded, loaded.created_at)}))),
        ("parse_question(HTMLQuestion)", lambda: parse_question(HTML_QUESTION)),
    ]
    cache_account = ledger.account_for(AccountKind.REQUESTER_ESCROW, "live", requester=requester)

    def _in_tx(fn: Any) -> Any:
        with transaction.atomic():
            return fn()

    print(f"CPU per call in this process ({args.database}; PostgreSQL's own CPU is not included), {n} calls")
    for name, fn in rows:
        print(f"  {name:<66}{cpu_us(fn, n):>8.0f} µs")
    _ = HITType  # imported for readers exploring variants in a shell


if __name__ == "__main__":
    sys.exit(main())
