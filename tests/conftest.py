"""Fixtures shared by the whole suite: a live Kempelen server, real boto3 clients, requesters and workers.

Every test that touches the database ends with the ledger checked: balanced transactions, balance caches
equal to their entries, no negative funds, and escrow equal to what live HITs' open slots could cost.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.config import Config
from django.db.backends.postgresql.base import DatabaseOperations as PostgresOperations
from django.db.backends.sqlite3.base import DatabaseOperations as SQLiteOperations
from django.test.testcases import QuietWSGIRequestHandler

from kempelen.accounts import actions as accounts
from kempelen.accounts import queries as account_queries
from kempelen.accounts.models import Requester, Worker
from kempelen.core import clock
from kempelen.core.actors import Actor
from kempelen.ledger import actions as ledger
from kempelen.marketplace import queries as marketplace_queries

OPERATOR = Actor.operator("tests")

# Tests that need a live server flush the database after each test. Django's flush TRUNCATEs every table on
# PostgreSQL (slow for small tables: ~0.35 s a test) and then re-creates content types and permissions. Deleting
# rows is much faster, and those two tables never change; Django's foreign keys are deferred, so the order of
# the deletions inside the flush's transaction does not matter.
_STATIC_TABLES = {"django_content_type", "auth_permission"}


def _fast_sql_flush(original):  # type: ignore[no-untyped-def]
    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):  # type: ignore[no-untyped-def]
        kept = [t for t in tables if t not in _STATIC_TABLES]
        if self.connection.vendor == "postgresql":
            return [f"DELETE FROM {self.quote_name(t)};" for t in kept]
        return original(self, style, kept, reset_sequences=reset_sequences, allow_cascade=allow_cascade)

    return sql_flush


for _ops in (PostgresOperations, SQLiteOperations):
    _ops.sql_flush = _fast_sql_flush(_ops.sql_flush)

# The live server writes a response's headers and body in separate small writes; with Nagle's algorithm on,
# the body waits for the client's delayed ACK (about 40 ms a call).
QuietWSGIRequestHandler.disable_nagle_algorithm = True
_counter = itertools.count(1)
_botocore_session = botocore.session.get_session()


@pytest.fixture(autouse=True)
def _reset_clock() -> Iterator[None]:
    clock.reset()
    yield
    clock.reset()


@pytest.fixture(autouse=True)
def _forget_cached_requesters() -> Iterator[None]:
    # Each process keeps requester rows by primary key for a few seconds; test databases reuse primary keys.
    account_queries.forget_requesters()
    ledger.forget_known_accounts()
    marketplace_queries.forget_group_aggregates()
    yield


@pytest.fixture(autouse=True)
def _fresh_group_list(settings: Any) -> None:
    # Tests look at the list right after changing HITs; the list's short-lived copy has tests of its own.
    settings.KEMPELEN = {**settings.KEMPELEN, "GROUP_LIST_MAX_AGE": 0}


@pytest.fixture
def move_clock() -> Callable[[float], None]:
    """Move business time forward by some seconds (deadlines, expiry, auto-approval fall due)."""
    return clock.advance


def _ledger_problems() -> list[str]:
    from kempelen.ledger.queries import problems
    from kempelen.marketplace.invariants import escrow_problems

    return problems() + escrow_problems()


_DB_FIXTURES = {"db", "transactional_db", "live_server", "api", "django_db_reset_sequences", "django_db_serialized_rollback"}


@pytest.fixture(autouse=True)
def _ledger_balances_after_each_test(request: pytest.FixtureRequest) -> Iterator[None]:
    """After every test that touched the database, while its data is still there, the ledger must balance."""
    uses_db = request.node.get_closest_marker("django_db") is not None or bool(set(request.fixturenames) & _DB_FIXTURES)
    if uses_db:
        # Set the database up before this fixture, so that this fixture's teardown (the check) runs before the
        # database's (the rollback or flush that would leave nothing to check).
        request.getfixturevalue("_django_db_helper")
    yield
    if not uses_db or (hasattr(request.node, "rep_call") and request.node.rep_call.failed):
        return
    found = _ledger_problems()
    assert not found, "ledger invariants broken:\n" + "\n".join(found)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


def client_for(url: str, access_key_id: str, secret: str, *, environment: str = "live") -> Any:
    """A real boto3 ``mturk`` client pointed at Kempelen, as a requester's script would build it."""
    session = boto3.session.Session(botocore_session=_botocore_session)
    return session.client(
        "mturk",
        region_name="sandbox" if environment == "sandbox" else "us-east-1",
        endpoint_url=url,
        aws_access_key_id=access_key_id,
        aws_secret_access_key=secret,
        config=Config(retries={"mode": "standard", "max_attempts": 1}),
    )


@dataclass
class RequesterHandle:
    requester: Requester
    access_key_id: str
    secret: str
    url: str

    def client(self, environment: str = "live") -> Any:
        return client_for(self.url, self.access_key_id, self.secret, environment=environment)


def make_requester(url: str = "http://testserver", *, funds_cents: int = 100_000) -> RequesterHandle:
    n = next(_counter)
    requester = accounts.create_requester(actor=OPERATOR, username=f"requester{n}", display_name=f"Requester {n}")
    issued = accounts.issue_credential(actor=OPERATOR, requester=requester)
    if funds_cents:
        ledger.deposit(requester=requester, environment="live", cents=funds_cents, key=f"test-deposit:{n}",
                       actor=OPERATOR)
    return RequesterHandle(requester, issued.access_key_id, issued.secret_access_key, url)


def make_worker(**profile: Any) -> Worker:
    n = next(_counter)
    profile.setdefault("country", "US")
    return accounts.create_worker(actor=OPERATOR, username=f"worker{n}", **profile)


@pytest.fixture
def api(live_server: Any) -> Callable[..., RequesterHandle]:
    """Make a requester with an access key (and $1,000 of live funds) whose clients talk to the live server."""

    def factory(funds_cents: int = 100_000) -> RequesterHandle:
        return make_requester(live_server.url, funds_cents=funds_cents)

    return factory


@pytest.fixture
def worker_factory(transactional_db: None) -> Callable[..., Worker]:
    return make_worker
