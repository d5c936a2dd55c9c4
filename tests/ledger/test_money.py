"""Money as a requester notices it (§11, §4): balances, insufficient funds, bonuses, UniqueRequestToken,
re-pricing on UpdateHITTypeOfHIT, the sandbox's fake money, and live and sandbox kept apart."""

from __future__ import annotations

import datetime as dt

import pytest
from botocore.exceptions import ClientError

from kempelen.core.errors import DuplicateRequest, InsufficientFunds
from kempelen.ledger.models import LedgerTransaction
from kempelen.marketplace import actions
from kempelen.marketplace.models import HIT, BonusPayment
from tests.conftest import make_requester, make_worker
from tests.lifecycle.kit import (
    MASTERS_LIVE,
    accept,
    api_create,
    api_funds,
    api_view,
    approve,
    earnings,
    funds,
    new_hit,
    new_hit_type,
    platform_fees,
    requester_actor,
    submit,
    turk_error,
    view,
)

DAY = 86_400


def bonus(requester, assignment, cents, *, token=None, worker_id=None, environment="live"):
    return actions.send_bonus(
        actor=requester_actor(requester), requester=requester, environment=environment,
        worker_id=worker_id or assignment.worker.worker_id, assignment_id=assignment.pk, amount_cents=cents,
        reason="Great work", unique_request_token=token,
    )


# --- CreateHIT and funds -------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_create_hit_with_insufficient_funds_creates_nothing(api):
    client = api(funds_cents=119).client()
    with pytest.raises(ClientError) as excinfo:
        api_create(client, reward="1.00")
    code, message = turk_error(excinfo)
    assert code == "AWS.MechanicalTurk.InsufficientFunds"
    assert "insufficient funds" in message
    assert client.list_hits()["HITs"] == []
    assert HIT.objects.count() == 0
    assert api_funds(client) == ("1.19", "0.00")
    api_create(client, reward="0.99")  # 0.99 + 0.20 = 1.19 fits exactly
    assert api_funds(client) == ("0.00", "1.19")


@pytest.mark.django_db(transaction=True)
def test_create_hit_token_is_refused_within_24_hours_and_reusable_after(api, move_clock):
    client = api().client()
    first = api_create(client, UniqueRequestToken="batch-7")["HITId"]
    with pytest.raises(ClientError) as excinfo:
        api_create(client, UniqueRequestToken="batch-7")
    code, message = turk_error(excinfo)
    assert code == "AWS.MechanicalTurk.HitAlreadyExists"
    assert first in message
    assert len(client.list_hits()["HITs"]) == 1
    assert api_funds(client) == ("999.40", "0.60")
    move_clock(DAY - 60)
    with pytest.raises(ClientError):
        api_create(client, UniqueRequestToken="batch-7")
    move_clock(61)
    second = api_create(client, UniqueRequestToken="batch-7")["HITId"]
    assert second != first
    # tokens are per requester: another requester may use the same one
    api_create(api().client(), UniqueRequestToken="batch-7")


@pytest.mark.django_db
def test_create_hit_token_is_per_environment():
    r = make_requester().requester
    new_hit(r, token="t-1")
    new_hit(r, token="t-1", environment="sandbox")
    from kempelen.core.errors import HitAlreadyExists

    with pytest.raises(HitAlreadyExists):
        new_hit(r, token="t-1", environment="sandbox")


# --- bonuses -------------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_send_bonus_pays_bonus_and_fee(api):
    handle = api()
    client = handle.client()
    hit_id = api_create(client, reward="1.00")["HITId"]
    w = make_worker()
    a = submit(w, accept(w, hit_id))
    client.approve_assignment(AssignmentId=a.pk)
    fees_before = platform_fees()
    client.send_bonus(WorkerId=w.worker_id, AssignmentId=a.pk, BonusAmount="2.50", Reason="Great work")
    client.send_bonus(WorkerId=w.worker_id, AssignmentId=a.pk, BonusAmount="0.01", Reason="And a cent")
    assert earnings(w) == 100 + 250 + 1
    assert platform_fees() - fees_before == 50 + 1  # 20% of 2.50, and the 1-cent minimum
    assert api_funds(client) == (f"{1000 - 1.20 - 3.00 - 0.02:.2f}", "0.00")
    payments = client.list_bonus_payments(AssignmentId=a.pk)["BonusPayments"]
    assert sorted(p["BonusAmount"] for p in payments) == ["0.01", "2.50"]


@pytest.mark.django_db(transaction=True)
def test_send_bonus_with_insufficient_funds(api):
    client = api(funds_cents=200).client()
    hit_id = api_create(client, reward="1.00")["HITId"]  # 1.20 held, 0.80 left
    w = make_worker()
    a = submit(w, accept(w, hit_id))
    with pytest.raises(ClientError) as excinfo:
        client.send_bonus(WorkerId=w.worker_id, AssignmentId=a.pk, BonusAmount="0.70", Reason="x")  # +0.14
    assert turk_error(excinfo)[0] == "AWS.MechanicalTurk.InsufficientFunds"
    assert earnings(w) == 0
    assert client.list_bonus_payments(AssignmentId=a.pk)["BonusPayments"] == []
    assert api_funds(client) == ("0.80", "1.20")
    client.send_bonus(WorkerId=w.worker_id, AssignmentId=a.pk, BonusAmount="0.67", Reason="x")  # +0.13 = 0.80
    assert api_funds(client) == ("0.00", "1.20")


@pytest.mark.django_db(transaction=True)
def test_send_bonus_token_pays_once_and_is_reusable_after_24_hours(api, move_clock):
    handle = api()
    client = handle.client()
    hit_id = api_create(client, reward="1.00")["HITId"]
    w = make_worker()
    a = submit(w, accept(w, hit_id))
    args = {"WorkerId": w.worker_id, "AssignmentId": a.pk, "BonusAmount": "1.00", "Reason": "Thanks"}
    client.send_bonus(**args, UniqueRequestToken="bonus-1")
    with pytest.raises(ClientError) as excinfo:
        client.send_bonus(**args, UniqueRequestToken="bonus-1")
    assert 'The idempotency token "bonus-1" has already been processed' in turk_error(excinfo)[1]
    assert earnings(w) == 100
    move_clock(DAY + 1)
    client.send_bonus(**args, UniqueRequestToken="bonus-1")
    assert earnings(w) == 200  # two bonuses (the reward waits for approval)
    assert BonusPayment.objects.count() == 2


@pytest.mark.django_db
def test_send_bonus_rules():
    r = make_requester().requester
    hit = new_hit(r, max_assignments=2)
    w, other = make_worker(), make_worker()
    a = accept(w, hit)
    from kempelen.core.errors import AssignmentDoesNotExist, InvalidParameter

    with pytest.raises(AssignmentDoesNotExist):
        bonus(r, a, 100)  # work in progress does not exist for the requester
    submit(w, a)
    with pytest.raises(InvalidParameter, match="not done by worker"):
        bonus(r, a, 100, worker_id=other.worker_id)
    with pytest.raises(InvalidParameter):
        bonus(r, a, 0)
    with pytest.raises(AssignmentDoesNotExist):
        bonus(make_requester().requester, a, 100)
    with pytest.raises(AssignmentDoesNotExist):
        bonus(r, a, 100, environment="sandbox")
    bonus(r, a, 100)  # Submitted is enough
    approve(r, a)
    bonus(r, a, 100)  # and Approved


@pytest.mark.django_db
def test_send_bonus_token_is_per_requester_and_survives_a_refusal():
    handle = make_requester(funds_cents=200)
    r = handle.requester
    hit = new_hit(r, reward_cents=100)
    w = make_worker()
    a = submit(w, accept(w, hit))
    with pytest.raises(InsufficientFunds):
        bonus(r, a, 500, token="tok")
    bonus(r, a, 10, token="tok")  # the refused attempt did not use the token up
    with pytest.raises(DuplicateRequest):
        bonus(r, a, 10, token="tok")
    assert earnings(w) == 10


# --- UpdateHITTypeOfHIT -------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_update_hit_type_of_hit_reprices_escrow(api):
    handle = api()
    client = handle.client()
    hit = api_create(client, reward="0.50", max_assignments=3)
    hit_id = hit["HITId"]
    assert api_funds(client) == ("998.20", "1.80")
    w1, w2 = make_worker(), make_worker()
    a1 = submit(w1, accept(w1, hit_id))
    client.approve_assignment(AssignmentId=a1.pk)  # 0.60 paid; two slots held
    accept(w2, hit_id)
    assert api_funds(client) == ("998.20", "1.20")
    dearer = client.create_hit_type(Title="Label a picture", Description="Say what is in the picture",
                                    Reward="1.00", AssignmentDurationInSeconds=600)["HITTypeId"]
    client.update_hit_type_of_hit(HITId=hit_id, HITTypeId=dearer)
    got = client.get_hit(HITId=hit_id)["HIT"]
    assert (got["Reward"], got["HITTypeId"]) == ("1.00", dearer)
    assert api_funds(client) == ("997.00", "2.40")  # the two open slots now cost 1.20 each
    cheaper = client.create_hit_type(Title="Label a picture", Description="Say what is in the picture",
                                     Reward="0.10", AssignmentDurationInSeconds=600)["HITTypeId"]
    client.update_hit_type_of_hit(HITId=hit_id, HITTypeId=cheaper)
    assert api_funds(client) == ("999.16", "0.24")
    client.update_hit_type_of_hit(HITId=hit_id, HITTypeId=dearer)
    assert api_funds(client) == ("997.00", "2.40")
    # the worker who took the HIT under the old price is paid the HIT's reward now
    a2 = HIT.objects.get(pk=hit_id).assignments.get(worker=w2)
    submit(w2, a2)
    client.approve_assignment(AssignmentId=a2.pk)
    assert earnings(w2) == 100
    assert api_view(client, hit_id)["completed"] == 2


@pytest.mark.django_db
def test_update_hit_type_of_hit_with_masters_and_short_funds():
    r = make_requester(funds_cents=240).requester
    hit = new_hit(r, reward_cents=100, max_assignments=2)
    assert funds(r) == (0, 240)
    masters = new_hit_type(r, reward_cents=100,
                           requirements=[{"QualificationTypeId": MASTERS_LIVE, "Comparator": "Exists"}])
    with pytest.raises(InsufficientFunds):
        actions.update_hit_type_of_hit(actor=requester_actor(r), requester=r, environment="live", hit_id=hit.pk,
                                       hit_type_id=masters.pk)
    assert HIT.objects.get(pk=hit.pk).hit_type_id == hit.hit_type_id
    from kempelen.ledger import actions as ledger
    from tests.conftest import OPERATOR

    ledger.deposit(requester=r, environment="live", cents=10, key="top-up", actor=OPERATOR)
    actions.update_hit_type_of_hit(actor=requester_actor(r), requester=r, environment="live", hit_id=hit.pk,
                                   hit_type_id=masters.pk)
    assert funds(r) == (0, 250)  # 25% with Masters


@pytest.mark.django_db
def test_update_hit_type_of_an_expired_hit_reprices_only_what_is_held(move_clock):
    r = make_requester().requester
    hit = new_hit(r, reward_cents=100, max_assignments=3, lifetime=60)
    w = make_worker()
    accept(w, hit)
    move_clock(61)
    assert view(hit)["status"] == "Unassignable"
    assert funds(r)[1] == 120  # only the slot at work is held
    dearer = new_hit_type(r, reward_cents=200)
    actions.update_hit_type_of_hit(actor=requester_actor(r), requester=r, environment="live", hit_id=hit.pk,
                                   hit_type_id=dearer.pk)
    assert funds(r)[1] == 240


# --- sandbox --------------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_sandbox_balance_is_always_ten_thousand_and_never_short(api):
    handle = api(funds_cents=0)
    sandbox = handle.client("sandbox")
    live = handle.client()
    assert api_funds(sandbox)[0] == "10000.00"
    # 3 x (5000 + 1000) = 18000 of fake money: more than the sandbox balance, still never short
    hit_id = api_create(sandbox, reward="5000.00", max_assignments=3)["HITId"]
    assert api_funds(sandbox)[0] == "10000.00"
    w = make_worker()
    a = submit(w, accept(w, hit_id, environment="sandbox"))
    sandbox.approve_assignment(AssignmentId=a.pk)
    sandbox.send_bonus(WorkerId=w.worker_id, AssignmentId=a.pk, BonusAmount="9999.00", Reason="fake")
    assert api_funds(sandbox)[0] == "10000.00"
    assert earnings(w, "sandbox") == 500_000 + 999_900
    assert earnings(w, "live") == 0
    # live has no money and nothing of the sandbox's
    assert api_funds(live) == ("0.00", "0.00")
    assert live.list_hits()["HITs"] == []
    with pytest.raises(ClientError) as excinfo:
        live.get_hit(HITId=hit_id)
    assert turk_error(excinfo)[0] == "AWS.MechanicalTurk.HITDoesNotExist"
    with pytest.raises(ClientError):
        live.get_assignment(AssignmentId=a.pk)
    with pytest.raises(ClientError):
        api_create(live, reward="0.01")


@pytest.mark.django_db(transaction=True)
def test_live_and_sandbox_never_mix(api):
    handle = api()
    live, sandbox = handle.client(), handle.client("sandbox")
    live_hit = api_create(live, reward="1.00")["HITId"]
    sandbox_hit = api_create(sandbox, reward="1.00")["HITId"]
    assert [h["HITId"] for h in live.list_hits()["HITs"]] == [live_hit]
    assert [h["HITId"] for h in sandbox.list_hits()["HITs"]] == [sandbox_hit]
    w = make_worker()
    from kempelen.core.errors import HITDoesNotExist

    with pytest.raises(HITDoesNotExist):
        accept(w, live_hit, environment="sandbox")
    with pytest.raises(HITDoesNotExist):
        accept(w, sandbox_hit, environment="live")
    a = submit(w, accept(w, sandbox_hit, environment="sandbox"))
    with pytest.raises(ClientError):
        live.approve_assignment(AssignmentId=a.pk)
    with pytest.raises(ClientError):
        live.send_bonus(WorkerId=w.worker_id, AssignmentId=a.pk, BonusAmount="1.00", Reason="x")
    with pytest.raises(ClientError):
        live.update_expiration_for_hit(HITId=sandbox_hit, ExpireAt=0)
    sandbox.approve_assignment(AssignmentId=a.pk)
    assert api_funds(live) == ("998.80", "1.20")
    assert earnings(w, "live") == 0
    assert earnings(w, "sandbox") == 100
    for txn in LedgerTransaction.objects.all():
        envs = {e.account.environment for e in txn.entries.all()}
        assert envs == {txn.environment}


@pytest.mark.django_db
def test_sandbox_block_does_not_block_live():
    r = make_requester().requester
    w = make_worker()
    actions.create_worker_block(actor=requester_actor(r), requester=r, environment="sandbox",
                                worker_id=w.worker_id, reason="x")
    accept(w, new_hit(r))
    from kempelen.core.errors import Blocked

    with pytest.raises(Blocked):
        accept(w, new_hit(r, environment="sandbox"))


def test_token_window_is_24_hours():
    from kempelen.core.idempotency import WINDOW

    assert dt.timedelta(hours=24) == WINDOW
