"""/metrics: requests by route and status, API operations by outcome, and gauges that match the database."""

from __future__ import annotations

import datetime as dt

import pytest
from botocore.exceptions import ClientError

from kempelen.core import clock
from kempelen.jobs.models import Job
from kempelen.ledger.models import AccountKind
from kempelen.ledger.queries import balance, requester_balances
from tests.api.helpers import create_hit, do_work, hit_type_args
from tests.conftest import make_requester

from .helpers import samples, scrape, value

pytestmark = pytest.mark.django_db(transaction=True)


def test_requests_are_counted_by_route_name_and_status(api, client):
    before = scrape(client)
    mturk = api().client()
    hit = create_hit(mturk)
    mturk.get_hit(HITId=hit["HITId"])
    with pytest.raises(ClientError):
        mturk.get_hit(HITId="3NOSUCHHIT0000000000000000000")
    assert client.get("/worker/login").status_code == 200
    assert client.get("/requester/login").status_code == 200
    assert client.get("/worker/no/such/page/secret-token").status_code == 404
    response = client.get("/metrics")
    after = samples(response.content.decode())

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    requests = "kempelen_http_requests_total"
    assert grew(requests, method="POST", route="mturk-api", status="200") == 2
    assert grew(requests, method="POST", route="mturk-api", status="400") == 1
    assert grew(requests, method="GET", route="worker:login", status="200") == 1
    assert grew(requests, method="GET", route="requester:login", status="200") == 1
    assert grew(requests, method="GET", route="<unmatched>", status="404") == 1
    assert grew("kempelen_http_request_duration_seconds_count", method="POST", route="mturk-api") == 3
    operations = "kempelen_mturk_api_operations_total"
    assert grew(operations, operation="CreateHIT", environment="live", outcome="Success") == 1
    assert grew(operations, operation="GetHIT", environment="live", outcome="Success") == 1
    assert grew(operations, operation="GetHIT", environment="live", outcome="HITDoesNotExist") == 1
    assert grew("kempelen_mturk_api_operation_duration_seconds_count", operation="GetHIT") == 2
    # Labels are route names, never the paths that carry ids and tokens.
    assert "secret-token" not in response.content.decode()
    assert hit["HITId"] not in response.content.decode()


def test_gauges_report_the_job_queue_the_outbox_and_the_ledger(api, client, worker_factory, move_clock):
    handle = api()
    mturk = handle.client()
    worker = worker_factory()
    hit = create_hit(mturk, MaxAssignments=2)
    work = do_work(worker, hit["HITId"])
    mturk.approve_assignment(AssignmentId=work.assignment_id)
    mturk.notify_workers(Subject="Thanks", MessageText="Thank you for your work.", WorkerIds=[worker.worker_id])
    hit_type = mturk.create_hit_type(**hit_type_args())["HITTypeId"]
    mturk.update_notification_settings(
        HITTypeId=hit_type, Active=True,
        Notification={"Destination": "ops@example.org", "Transport": "Email", "Version": "2006-05-05",
                      "EventTypes": ["HITCreated"]},
    )
    mturk.create_hit_with_hit_type(HITTypeId=hit_type, LifetimeInSeconds=3600, MaxAssignments=1,
                                   Question=hit["Question"])
    sandbox = handle.client("sandbox")
    create_hit(sandbox)  # sandbox money is credited, never deposited
    make_requester(funds_cents=25_000)  # a second requester's deposit
    now = clock.now()
    Job.objects.create(kind="example", run_at=now - dt.timedelta(seconds=30), created_at=now)
    Job.objects.create(kind="example", run_at=now - dt.timedelta(seconds=10), created_at=now)
    Job.objects.create(kind="example", run_at=now + dt.timedelta(hours=1), created_at=now)
    Job.objects.create(kind="example", run_at=now, status="dead", created_at=now)
    Job.objects.create(kind="example", run_at=now, status="done", created_at=now)
    move_clock(120)

    metrics = scrape(client)

    assert value(metrics, "kempelen_database_up") == 1
    assert value(metrics, "kempelen_jobs", status="pending") == 3
    assert value(metrics, "kempelen_jobs", status="dead") == 1
    assert value(metrics, "kempelen_jobs_due") == 2
    assert value(metrics, "kempelen_jobs_oldest_due_age_seconds") == pytest.approx(150, abs=5)
    assert value(metrics, "kempelen_outbox_undelivered", kind="email") == 1
    assert value(metrics, "kempelen_outbox_oldest_undelivered_age_seconds", kind="email") == pytest.approx(120, abs=5)
    assert value(metrics, "kempelen_outbox_undelivered", kind="event") == 1
    assert value(metrics, "kempelen_outbox_oldest_undelivered_age_seconds", kind="event") == pytest.approx(120, abs=5)

    available, escrow = requester_balances(handle.requester, "live")
    assert escrow > 0
    assert value(metrics, "kempelen_ledger_deposits_cents_total", environment="live") == 100_000 + 25_000
    assert value(metrics, "kempelen_ledger_available_cents", environment="live") == available + 25_000
    assert value(metrics, "kempelen_ledger_escrow_cents", environment="live") == escrow
    assert value(metrics, "kempelen_ledger_paid_to_workers_cents_total", environment="live") == 50
    assert value(metrics, "kempelen_ledger_fees_cents_total", environment="live") == 10
    assert balance(AccountKind.PLATFORM_FEES, "live") == 10
    sandbox_available, _ = requester_balances(handle.requester, "sandbox")
    assert value(metrics, "kempelen_ledger_deposits_cents_total", environment="sandbox") == 0
    assert value(metrics, "kempelen_ledger_available_cents", environment="sandbox") == sandbox_available > 0
