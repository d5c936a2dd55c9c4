"""Prometheus metrics: what the HTTP server counts as it answers, and what the database says at scrape time.

Counters and histograms live in each process. Under ``kempelen serve`` (gunicorn, several worker processes)
``PROMETHEUS_MULTIPROC_DIR`` is set before anything imports prometheus_client, every worker writes its values to
files there, and a scrape (answered by any one worker) adds up every worker's files, those of workers that have
since exited included (see ``serve.py``). Without that variable (tests, a single process) the process's own
registry is read.

Gauges about the database (job queue, outbox, ledger totals) are read with a few queries at each scrape, so
they are the same whichever worker answers. See docs/operations.md for the list.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

log = logging.getLogger("kempelen.metrics")

# ``*_created`` series double the output and say little here; multiprocess mode has none either.
disable_created_metrics()

# Request latencies of interest run from a couple of milliseconds (an API read) to seconds (a batch upload).
LATENCY_BUCKETS = (0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

HTTP_REQUESTS = Counter(
    "kempelen_http_requests",
    "HTTP requests answered, by method, route name (the URL pattern's name) and status code.",
    ["method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "kempelen_http_request_duration_seconds",
    "Time from receiving a request to returning its response, by method and route name.",
    ["method", "route"],
    buckets=LATENCY_BUCKETS,
)
API_OPERATIONS = Counter(
    "kempelen_mturk_api_operations",
    "MTurk Requester API calls, by operation, environment and outcome (Success, or the error code returned).",
    ["operation", "environment", "outcome"],
)
API_DURATION = Histogram(
    "kempelen_mturk_api_operation_duration_seconds",
    "Time to answer an MTurk Requester API call, by operation.",
    ["operation"],
    buckets=LATENCY_BUCKETS,
)

ENVIRONMENTS = ("live", "sandbox")
JOB_STATUSES = ("pending", "running", "dead")


def _age_seconds(oldest: object) -> float:
    from kempelen.core import clock

    if oldest is None:
        return 0.0
    return max(0.0, (clock.now() - oldest).total_seconds())  # type: ignore[operator]


def _job_families() -> Iterator[Metric]:
    from django.db.models import Count, Min

    from kempelen.core import clock
    from kempelen.jobs.models import Job

    by_status = dict.fromkeys(JOB_STATUSES, 0)
    by_status.update(
        Job.objects.filter(status__in=JOB_STATUSES).values("status").annotate(n=Count("pk")).values_list("status", "n")
    )
    jobs = GaugeMetricFamily("kempelen_jobs", "Jobs in the job table, by status (done jobs are not counted).",
                             labels=["status"])
    for status, n in by_status.items():
        jobs.add_metric([status], n)
    yield jobs
    due = Job.objects.filter(status="pending", run_at__lte=clock.now()).aggregate(n=Count("pk"), oldest=Min("run_at"))
    yield GaugeMetricFamily("kempelen_jobs_due", "Pending jobs whose time has come: the job queue's depth.",
                            value=due["n"])
    yield GaugeMetricFamily("kempelen_jobs_oldest_due_age_seconds",
                            "How long the longest-waiting due job has waited (0 when none is due).",
                            value=_age_seconds(due["oldest"]))


def _outbox_families() -> Iterator[Metric]:
    from django.db.models import Count, Min

    from kempelen.notifications.models import OutboxEmail, OutboxEvent

    waiting = GaugeMetricFamily("kempelen_outbox_undelivered",
                                "Notification events and worker emails waiting to be delivered.", labels=["kind"])
    oldest = GaugeMetricFamily("kempelen_outbox_oldest_undelivered_age_seconds",
                               "Age of the oldest outbox row waiting to be delivered (0 when none waits).",
                               labels=["kind"])
    dead = GaugeMetricFamily("kempelen_outbox_dead",
                             "Outbox rows whose delivery gave up after its last attempt (they wait for a retry by hand).",
                             labels=["kind"])
    for kind, model in (("event", OutboxEvent), ("email", OutboxEmail)):
        undelivered = model.objects.filter(delivered_at__isnull=True)
        gives_up = any(field.name == "dead_at" for field in model._meta.get_fields())
        # Only some outbox tables give up on a row (``dead_at``); the others wait until they deliver.
        pending = undelivered.filter(**{"dead_at__isnull": True}) if gives_up else undelivered
        row = pending.aggregate(n=Count("pk"), oldest=Min("created_at"))
        waiting.add_metric([kind], row["n"])
        oldest.add_metric([kind], _age_seconds(row["oldest"]))
        dead.add_metric([kind], undelivered.filter(**{"dead_at__isnull": False}).count() if gives_up else 0)
    yield waiting
    yield oldest
    yield dead


def ledger_totals() -> dict[str, dict[str, int]]:
    """Per environment, in cents: deposits ever made, available funds and escrow now, paid to workers (rewards
    and bonuses) ever, platform fees ever."""
    from django.db.models import Sum

    from kempelen.ledger.models import AccountKind, LedgerAccount, LedgerEntry

    totals = {env: dict.fromkeys(("deposits", "available", "escrow", "paid_to_workers", "fees"), 0)
              for env in ENVIRONMENTS}
    names: dict[str, str] = {AccountKind.REQUESTER_AVAILABLE: "available", AccountKind.REQUESTER_ESCROW: "escrow",
             AccountKind.WORKER_EARNINGS: "paid_to_workers", AccountKind.PLATFORM_FEES: "fees"}
    # Requester accounts keep their balance cached (see ledger.models.CACHED_KINDS): one row each to add up.
    cached = (
        LedgerAccount.objects.filter(kind__in=[AccountKind.REQUESTER_AVAILABLE, AccountKind.REQUESTER_ESCROW])
        .values("kind", "environment").annotate(total=Sum("balance_cents")).values_list("kind", "environment", "total")
    )
    # Worker earnings and fees are only ever credited; their totals are sums of their (positive) entries.
    credited = (
        LedgerEntry.objects.filter(account__kind__in=[AccountKind.WORKER_EARNINGS, AccountKind.PLATFORM_FEES],
                                   amount_cents__gt=0)
        .values("account__kind", "account__environment").annotate(total=Sum("amount_cents"))
        .values_list("account__kind", "account__environment", "total")
    )
    for kind, env, total in [*cached, *credited]:
        if env in totals:
            totals[env][names[kind]] = int(total or 0)
    # A deposit takes money from the outside world's account, whose entries are few (deposits, sandbox credit).
    deposited = (
        LedgerEntry.objects.filter(account__kind=AccountKind.EXTERNAL, transaction__kind="deposit")
        .values("account__environment").annotate(total=Sum("amount_cents"))
        .values_list("account__environment", "total")
    )
    for env, total in deposited:
        if env in totals:
            totals[env]["deposits"] = -int(total or 0)
    return totals


def _ledger_families() -> Iterator[Metric]:
    totals = ledger_totals()
    families: dict[str, CounterMetricFamily | GaugeMetricFamily] = {
        "deposits": CounterMetricFamily("kempelen_ledger_deposits_cents", "Money deposited by requesters, ever.",
                                        labels=["environment"]),
        "available": GaugeMetricFamily("kempelen_ledger_available_cents",
                                       "Requesters' available funds now.", labels=["environment"]),
        "escrow": GaugeMetricFamily("kempelen_ledger_escrow_cents",
                                    "Money held in escrow for live HITs' open slots now.", labels=["environment"]),
        "paid_to_workers": CounterMetricFamily("kempelen_ledger_paid_to_workers_cents",
                                               "Rewards and bonuses paid to workers, ever.", labels=["environment"]),
        "fees": CounterMetricFamily("kempelen_ledger_fees_cents", "Fees taken by the platform, ever.",
                                    labels=["environment"]),
    }
    for env, values in totals.items():
        for name, family in families.items():
            family.add_metric([env], values[name])
    yield from families.values()


class DatabaseCollector:
    """Gauges read from the database when Prometheus scrapes (a failed read reports ``kempelen_database_up 0``)."""

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        from django.db import DatabaseError

        up = GaugeMetricFamily("kempelen_database_up", "1 when this scrape could read the database, else 0.")
        try:
            families = [*_job_families(), *_outbox_families(), *_ledger_families()]
        except DatabaseError:
            log.warning("metrics: could not read the database", exc_info=True)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families


DATABASE = DatabaseCollector()
_database_registry = CollectorRegistry()
_database_registry.register(DATABASE)


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def exposition() -> bytes:
    """Every metric in Prometheus's text format: all worker processes' counters when several serve, and the
    database's gauges."""
    if multiprocess_dir():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        registry.register(DATABASE)
        return generate_latest(registry)
    return generate_latest(REGISTRY) + generate_latest(_database_registry)
