"""What clients see when they retry or parallelise: each effect happens once, every loser gets a clear error."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from .helpers import create_hit, do_work, hit_args

pytestmark = pytest.mark.django_db(transaction=True)


def race(handle, n: int, call: Callable[[Any], Any]) -> list[tuple[str, Any]]:
    """Run ``call(client)`` from ``n`` threads at once, one boto3 client each; return the outcomes."""
    clients = [handle.client() for _ in range(n)]
    barrier = threading.Barrier(n)
    outcomes: list[tuple[str, Any]] = []
    lock = threading.Lock()

    def run(client: Any) -> None:
        barrier.wait()
        try:
            outcome: tuple[str, Any] = ("ok", call(client))
        except ClientError as error:
            outcome = ("refused", error.response.get("TurkErrorCode") or error.response["Error"]["Code"])
        except Exception as error:  # a client-side crash is a failure of the test, reported below
            outcome = ("crashed", repr(error))
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=run, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return outcomes


def test_parallel_approvals_of_one_assignment_pay_once(api, worker_factory):
    handle = api()
    client = handle.client()
    work = do_work(worker_factory(), create_hit(client)["HITId"])
    outcomes = race(handle, 6, lambda c: c.approve_assignment(AssignmentId=work.assignment_id))
    assert len([o for o in outcomes if o[0] == "ok"]) == 1
    assert sorted(o for o in outcomes if o[0] != "ok") == [
        ("refused", "AWS.MechanicalTurk.InvalidAssignmentState")] * 5
    assert client.get_account_balance()["OnHoldBalance"] == "1.20"


def test_parallel_create_hit_with_one_token_creates_one_hit(api):
    handle = api()
    outcomes = race(handle, 6, lambda c: c.create_hit(**hit_args(UniqueRequestToken="otree_session_1"))["HIT"])
    created = [o[1]["HITId"] for o in outcomes if o[0] == "ok"]
    assert len(created) == 1
    assert sorted(o for o in outcomes if o[0] != "ok") == [("refused", "AWS.MechanicalTurk.HitAlreadyExists")] * 5
    assert [h["HITId"] for h in handle.client().list_hits()["HITs"]] == created
    assert handle.client().get_account_balance()["AvailableBalance"] == "998.20"


def test_parallel_bonuses_with_one_token_pay_once(api, worker_factory):
    handle = api()
    client = handle.client()
    hit = create_hit(client)["HITId"]
    work = do_work(worker_factory(), hit)
    outcomes = race(handle, 5, lambda c: c.send_bonus(
        WorkerId=work.worker.worker_id, AssignmentId=work.assignment_id, BonusAmount="1.00", Reason="thanks",
        UniqueRequestToken="bonus-once"))
    assert len([o for o in outcomes if o[0] == "ok"]) == 1
    assert all(o == ("refused", "AWS.MechanicalTurk.DuplicateRequest") for o in outcomes if o[0] != "ok")
    assert client.list_bonus_payments(HITId=hit)["NumResults"] == 1
    assert client.get_account_balance()["AvailableBalance"] == "997.00"
