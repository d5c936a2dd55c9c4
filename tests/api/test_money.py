"""Bonuses and the balance: SendBonus, ListBonusPayments, GetAccountBalance."""

from __future__ import annotations

import datetime as dt

import pytest

from .helpers import accept, create_hit, do_work, refused

pytestmark = pytest.mark.django_db(transaction=True)

BONUS_FIELDS = {"WorkerId", "BonusAmount", "AssignmentId", "Reason", "GrantTime"}


def _available(client) -> str:
    return client.get_account_balance()["AvailableBalance"]


@pytest.fixture
def worked(api, worker_factory):
    """A requester's client, a HIT (0.50 x 3 reserved: 998.20 available) and one submitted assignment."""
    client = api().client()
    hit = create_hit(client)["HITId"]
    work = do_work(worker_factory(), hit)
    return client, hit, work


# --- GetAccountBalance -----------------------------------------------------------------------------------


def test_get_account_balance_shows_two_decimal_strings(api):
    balance = api().client().get_account_balance()
    assert balance["AvailableBalance"] == "1000.00"
    assert balance["OnHoldBalance"] == "0.00"
    assert float(balance["AvailableBalance"]) == 1000.0  # Dallinger


def test_the_sandbox_balance_is_always_ten_thousand(api):
    client = api(funds_cents=0).client("sandbox")
    assert client.get_account_balance()["AvailableBalance"] == "10000.00"
    create_hit(client, Reward="5.00", MaxAssignments=5)
    assert client.get_account_balance()["AvailableBalance"] == "10000.00"


def test_sandbox_payments_never_touch_live_money(api, worker_factory):
    handle = api()
    sandbox, live = handle.client("sandbox"), handle.client()
    hit = create_hit(sandbox, Reward="5.00", MaxAssignments=2)["HITId"]
    work = do_work(worker_factory(), hit, environment="sandbox")
    sandbox.approve_assignment(AssignmentId=work.assignment_id)
    sandbox.send_bonus(WorkerId=work.worker.worker_id, AssignmentId=work.assignment_id, BonusAmount="20.00",
                       Reason="thanks")
    assert sandbox.list_bonus_payments(HITId=hit)["NumResults"] == 1
    assert sandbox.get_account_balance()["AvailableBalance"] == "10000.00"
    assert live.get_account_balance() | {"ResponseMetadata": None} == {
        "AvailableBalance": "1000.00", "OnHoldBalance": "0.00", "ResponseMetadata": None}
    assert refused(live.get_assignment, AssignmentId=work.assignment_id).turk_code == \
        "AWS.MechanicalTurk.AssignmentDoesNotExist"


def test_a_requester_without_funds_sees_zero(api):
    assert api(funds_cents=0).client().get_account_balance()["AvailableBalance"] == "0.00"


# --- SendBonus -------------------------------------------------------------------------------------------


def test_send_bonus_pays_bonus_plus_fee_and_is_listed(worked):
    client, hit, work = worked
    result = client.send_bonus(WorkerId=work.worker.worker_id, AssignmentId=work.assignment_id,
                               BonusAmount="1.00", Reason="Thanks for the careful work")
    assert set(result) == {"ResponseMetadata"}
    assert _available(client) == "997.00"  # 1.00 + 20% fee
    listed = client.list_bonus_payments(HITId=hit)
    assert listed["NumResults"] == 1
    bonus = listed["BonusPayments"][0]
    assert set(bonus) >= BONUS_FIELDS
    assert (bonus["WorkerId"], bonus["AssignmentId"], bonus["BonusAmount"], bonus["Reason"]) == (
        work.worker.worker_id, work.assignment_id, "1.00", "Thanks for the careful work")
    assert isinstance(bonus["GrantTime"], dt.datetime)
    assert client.list_bonus_payments(AssignmentId=work.assignment_id)["BonusPayments"] == [bonus]


@pytest.mark.parametrize("sent, shown", [("0.5", "0.50"), ("2", "2.00"), ("0.01", "0.01")])
def test_bonus_amounts_are_listed_with_two_decimals(worked, sent, shown):
    client, hit, work = worked
    client.send_bonus(WorkerId=work.worker.worker_id, AssignmentId=work.assignment_id, BonusAmount=sent,
                      Reason="thanks")
    assert client.list_bonus_payments(HITId=hit)["BonusPayments"][0]["BonusAmount"] == shown


@pytest.mark.parametrize("review", [None, "approve", "reject"])
def test_bonuses_may_be_sent_for_submitted_approved_and_rejected_work(worked, review):
    client, _, work = worked
    if review == "approve":
        client.approve_assignment(AssignmentId=work.assignment_id)
    elif review == "reject":
        client.reject_assignment(AssignmentId=work.assignment_id, RequesterFeedback="")
    client.send_bonus(WorkerId=work.worker.worker_id, AssignmentId=work.assignment_id, BonusAmount="0.25",
                      Reason="thanks")
    assert client.list_bonus_payments(AssignmentId=work.assignment_id)["NumResults"] == 1


def test_several_bonuses_for_one_assignment_are_all_listed(worked):
    client, hit, work = worked
    for amount in ("0.10", "0.20", "0.30"):
        client.send_bonus(WorkerId=work.worker.worker_id, AssignmentId=work.assignment_id, BonusAmount=amount,
                          Reason="thanks")
    amounts = sorted(b["BonusAmount"] for b in client.list_bonus_payments(HITId=hit)["BonusPayments"])
    assert amounts == ["0.10", "0.20", "0.30"]


def test_a_bonus_for_an_in_progress_assignment_does_not_exist(api, worker_factory):
    client = api().client()
    worker = worker_factory()
    assignment_id = accept(worker, create_hit(client)["HITId"])
    failure = refused(client.send_bonus, WorkerId=worker.worker_id, AssignmentId=assignment_id,
                      BonusAmount="1.00", Reason="early")
    assert failure.turk_code == "AWS.MechanicalTurk.AssignmentDoesNotExist"
    assert failure.bare_message == f"Assignment {assignment_id} does not exist."
    assert _available(client) == "998.20"


def test_a_bonus_to_a_worker_who_did_not_do_the_assignment_is_refused(worked, worker_factory):
    client, hit, work = worked
    stranger = worker_factory()
    failure = refused(client.send_bonus, WorkerId=stranger.worker_id, AssignmentId=work.assignment_id,
                      BonusAmount="1.00", Reason="wrong person")
    assert failure.code == "RequestError"
    assert stranger.worker_id in failure.message
    assert client.list_bonus_payments(HITId=hit)["BonusPayments"] == []
    assert _available(client) == "998.20"


def test_a_repeated_bonus_token_is_refused_and_pays_once(worked):
    client, hit, work = worked
    args = dict(WorkerId=work.worker.worker_id, AssignmentId=work.assignment_id, BonusAmount="1.00",
                Reason="thanks", UniqueRequestToken=f"{work.worker.worker_id}_{work.assignment_id}")
    client.send_bonus(**args)
    failure = refused(client.send_bonus, **args)
    assert failure.code == "RequestError"
    assert f'The idempotency token "{args["UniqueRequestToken"]}" has already been processed.' in failure.message
    assert client.list_bonus_payments(HITId=hit)["NumResults"] == 1
    assert _available(client) == "997.00"


def test_a_bonus_beyond_the_balance_is_insufficient_funds(api, worker_factory):
    client = api(funds_cents=200).client()
    work = do_work(worker_factory(), create_hit(client, Reward="0.50", MaxAssignments=1)["HITId"])
    failure = refused(client.send_bonus, WorkerId=work.worker.worker_id, AssignmentId=work.assignment_id,
                      BonusAmount="5.00", Reason="too generous")
    assert failure.turk_code == "AWS.MechanicalTurk.InsufficientFunds"
    assert "insufficient funds" in failure.message
    assert _available(client) == "1.40"
    assert client.list_bonus_payments(AssignmentId=work.assignment_id)["BonusPayments"] == []


@pytest.mark.parametrize("amount", ["0.505", "-1", "abc", "1,00"])
def test_malformed_bonus_amounts_are_validation_errors(worked, amount):
    client, _, work = worked
    failure = refused(client.send_bonus, WorkerId=work.worker.worker_id, AssignmentId=work.assignment_id,
                      BonusAmount=amount, Reason="thanks")
    assert failure.code == "ValidationException"
    assert "bonusAmount" in failure.message
    assert _available(client) == "998.20"


def test_a_zero_bonus_is_refused(worked):
    client, hit, work = worked
    failure = refused(client.send_bonus, WorkerId=work.worker.worker_id, AssignmentId=work.assignment_id,
                      BonusAmount="0.00", Reason="nothing")
    assert failure.code == "RequestError"
    assert "BonusAmount" in failure.message
    assert client.list_bonus_payments(HITId=hit)["BonusPayments"] == []


# --- ListBonusPayments -----------------------------------------------------------------------------------


def test_list_bonus_payments_needs_a_hit_or_an_assignment(api):
    failure = refused(api().client().list_bonus_payments)
    assert failure.code == "RequestError"
    assert "HITId or AssignmentId" in failure.message


def test_list_bonus_payments_of_unknown_ids(api):
    client = api().client()
    assert refused(client.list_bonus_payments, HITId="3NOSUCHHIT").turk_code == "AWS.MechanicalTurk.HITDoesNotExist"
    assert refused(client.list_bonus_payments, AssignmentId="3NOSUCH").turk_code == \
        "AWS.MechanicalTurk.AssignmentDoesNotExist"


def test_list_bonus_payments_of_work_in_progress_does_not_exist(api, worker_factory):
    client = api().client()
    assignment_id = accept(worker_factory(), create_hit(client)["HITId"])
    failure = refused(client.list_bonus_payments, AssignmentId=assignment_id)
    assert failure.turk_code == "AWS.MechanicalTurk.AssignmentDoesNotExist"


def test_list_bonus_payments_keeps_hits_apart(api, worker_factory):
    client = api().client()
    first, second = create_hit(client)["HITId"], create_hit(client)["HITId"]
    w1, w2 = do_work(worker_factory(), first), do_work(worker_factory(), second)
    client.send_bonus(WorkerId=w1.worker.worker_id, AssignmentId=w1.assignment_id, BonusAmount="0.10", Reason="a")
    client.send_bonus(WorkerId=w2.worker.worker_id, AssignmentId=w2.assignment_id, BonusAmount="0.20", Reason="b")
    assert [b["AssignmentId"] for b in client.list_bonus_payments(HITId=first)["BonusPayments"]] == [
        w1.assignment_id]
    assert [b["AssignmentId"] for b in client.list_bonus_payments(HITId=second)["BonusPayments"]] == [
        w2.assignment_id]
