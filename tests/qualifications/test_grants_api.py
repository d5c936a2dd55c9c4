"""Granting, revoking and reading workers' qualifications through a real boto3 client."""

from __future__ import annotations

import pytest

from kempelen.notifications.models import OutboxEmail
from kempelen.qualifications import system
from kempelen.qualifications.models import Qualification

from .kit import is_empty_output, refused

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def owner(api):
    return api()


@pytest.fixture
def type_id(owner):
    created = owner.client().create_qualification_type(
        Name="Careful transcriber", Description="Transcribed receipts accurately", QualificationTypeStatus="Active"
    )
    return created["QualificationType"]["QualificationTypeId"]


def test_associating_grants_value_one_by_default_and_emails_the_worker(owner, type_id, worker_factory):
    client, worker = owner.client(), worker_factory()
    response = client.associate_qualification_with_worker(QualificationTypeId=type_id, WorkerId=worker.worker_id)
    assert is_empty_output(response)
    score = client.get_qualification_score(QualificationTypeId=type_id, WorkerId=worker.worker_id)["Qualification"]
    assert score["QualificationTypeId"] == type_id
    assert score["WorkerId"] == worker.worker_id
    assert score["IntegerValue"] == 1
    assert score["Status"] == "Granted"
    assert "GrantTime" in score
    email = OutboxEmail.objects.get(worker=worker)
    assert "Careful transcriber" in email.subject and "value 1" in email.body


def test_send_notification_false_grants_silently(owner, type_id, worker_factory):
    worker = worker_factory()
    owner.client().associate_qualification_with_worker(QualificationTypeId=type_id, WorkerId=worker.worker_id,
                                                       IntegerValue=75, SendNotification=False)
    assert not OutboxEmail.objects.filter(worker=worker).exists()
    assert Qualification.objects.get(worker=worker).integer_value == 75


def test_revoking_shows_the_reason_and_score_then_asks_for_granted_status(owner, type_id, worker_factory):
    client, worker = owner.client(), worker_factory()
    client.associate_qualification_with_worker(QualificationTypeId=type_id, WorkerId=worker.worker_id,
                                               IntegerValue=80, SendNotification=False)
    response = client.disassociate_qualification_from_worker(
        QualificationTypeId=type_id, WorkerId=worker.worker_id, Reason="Too many typos in batch 12"
    )
    assert is_empty_output(response)
    grant = Qualification.objects.get(worker=worker)
    assert (grant.status, grant.reason) == ("Revoked", "Too many typos in batch 12")
    assert "Too many typos in batch 12" in OutboxEmail.objects.get(worker=worker, kind="qualification_revoked").body
    refusal = refused(client.get_qualification_score, QualificationTypeId=type_id, WorkerId=worker.worker_id)
    assert refusal.code == "RequestError"
    assert "This operation can be called with a status of: Granted" in refusal.message
    # Dallinger checks "does not exist" first: a revoked grant must not read as a missing one.
    assert "does not exist" not in refusal.message


def test_re_associating_a_revoked_grant_grants_it_again_with_a_new_grant_time(owner, type_id, worker_factory,
                                                                              move_clock):
    client, worker = owner.client(), worker_factory()
    client.associate_qualification_with_worker(QualificationTypeId=type_id, WorkerId=worker.worker_id,
                                               IntegerValue=10)
    first = client.get_qualification_score(QualificationTypeId=type_id, WorkerId=worker.worker_id)["Qualification"]
    client.disassociate_qualification_from_worker(QualificationTypeId=type_id, WorkerId=worker.worker_id)
    move_clock(3600)
    client.associate_qualification_with_worker(QualificationTypeId=type_id, WorkerId=worker.worker_id,
                                               IntegerValue=20)
    second = client.get_qualification_score(QualificationTypeId=type_id, WorkerId=worker.worker_id)["Qualification"]
    assert (second["Status"], second["IntegerValue"]) == ("Granted", 20)
    assert (second["GrantTime"] - first["GrantTime"]).total_seconds() >= 3600


def test_a_worker_without_the_qualification_gets_mturks_does_not_exist_error(owner, type_id, worker_factory):
    client, worker = owner.client(), worker_factory()
    for call in (client.get_qualification_score, client.disassociate_qualification_from_worker):
        refusal = refused(call, QualificationTypeId=type_id, WorkerId=worker.worker_id)
        assert refusal.turk_code == "AWS.MechanicalTurk.QualificationDoesNotExist"
        assert refusal.message == "You requested a Qualification that does not exist."


def test_an_unknown_worker_cannot_be_granted_anything(owner, type_id):
    refusal = refused(owner.client().associate_qualification_with_worker, QualificationTypeId=type_id,
                      WorkerId="A1NOSUCHWORKER99")
    assert refusal.turk_code == "AWS.MechanicalTurk.WorkerDoesNotExist"
    assert "does not exist" in refusal.message


def test_system_qualifications_cannot_be_granted_revoked_or_read(owner, worker_factory):
    client, worker = owner.client(), worker_factory()
    for call in (client.associate_qualification_with_worker, client.disassociate_qualification_from_worker):
        refusal = refused(call, QualificationTypeId=system.NUMBER_HITS_APPROVED, WorkerId=worker.worker_id)
        assert refusal.turk_code == "AWS.MechanicalTurk.PermissionDenied"
        assert "system qualification type" in refusal.message
    refusal = refused(client.get_qualification_score, QualificationTypeId=system.LOCALE, WorkerId=worker.worker_id)
    assert refusal.turk_code == "AWS.MechanicalTurk.QualificationDoesNotExist"


def test_another_requesters_type_cannot_be_granted_revoked_or_scored(api, owner, type_id, worker_factory):
    worker = worker_factory()
    owner.client().associate_qualification_with_worker(QualificationTypeId=type_id, WorkerId=worker.worker_id)
    other = api().client()
    for call in (other.associate_qualification_with_worker, other.disassociate_qualification_from_worker,
                 other.get_qualification_score):
        refusal = refused(call, QualificationTypeId=type_id, WorkerId=worker.worker_id)
        assert refusal.message == f"QualificationType {type_id} does not exist."
    assert Qualification.objects.get(worker=worker).status == "Granted"


def test_listing_holders_filters_by_status_and_pages_with_boto3s_paginator(owner, type_id, worker_factory):
    client = owner.client()
    workers = [worker_factory() for _ in range(7)]
    for n, worker in enumerate(workers):
        client.associate_qualification_with_worker(QualificationTypeId=type_id, WorkerId=worker.worker_id,
                                                   IntegerValue=n, SendNotification=False)
    for worker in workers[:2]:
        client.disassociate_qualification_from_worker(QualificationTypeId=type_id, WorkerId=worker.worker_id)

    paginator = client.get_paginator("list_workers_with_qualification_type")
    pages = list(paginator.paginate(QualificationTypeId=type_id, PaginationConfig={"PageSize": 3}))
    everyone = [q for p in pages for q in p["Qualifications"]]
    assert [q["WorkerId"] for q in everyone] == [w.worker_id for w in workers]
    assert [q["IntegerValue"] for q in everyone] == list(range(7))
    assert [p["NumResults"] for p in pages] == [3, 3, 1, 0]
    assert "NextToken" not in pages[-1]

    granted = list(paginator.paginate(QualificationTypeId=type_id, Status="Granted",
                                      PaginationConfig={"PageSize": 3}))
    assert [q["WorkerId"] for p in granted for q in p["Qualifications"]] == [w.worker_id for w in workers[2:]]
    revoked = client.list_workers_with_qualification_type(QualificationTypeId=type_id, Status="Revoked")
    assert {q["WorkerId"] for q in revoked["Qualifications"]} == {w.worker_id for w in workers[:2]}
    assert all(q["Status"] == "Revoked" for q in revoked["Qualifications"])


def test_grants_in_the_sandbox_stay_in_the_sandbox(owner, worker_factory):
    sandbox, live = owner.client("sandbox"), owner.client("live")
    type_id = sandbox.create_qualification_type(
        Name="Sandbox only", Description="Practice qualification", QualificationTypeStatus="Active"
    )["QualificationType"]["QualificationTypeId"]
    worker = worker_factory()
    sandbox.associate_qualification_with_worker(QualificationTypeId=type_id, WorkerId=worker.worker_id)
    assert sandbox.get_qualification_score(QualificationTypeId=type_id, WorkerId=worker.worker_id)
    refusal = refused(live.associate_qualification_with_worker, QualificationTypeId=type_id, WorkerId=worker.worker_id)
    assert refusal.turk_code == "AWS.MechanicalTurk.QualificationTypeDoesNotExist"
    assert Qualification.objects.get(worker=worker).environment == "sandbox"


def test_every_change_is_in_the_audit_log_with_the_access_key_that_made_it(owner, type_id, worker_factory):
    from kempelen.core.models import AuditEvent

    client, worker = owner.client(), worker_factory()
    client.associate_qualification_with_worker(QualificationTypeId=type_id, WorkerId=worker.worker_id)
    client.disassociate_qualification_from_worker(QualificationTypeId=type_id, WorkerId=worker.worker_id)
    client.update_qualification_type(QualificationTypeId=type_id, QualificationTypeStatus="Inactive")
    client.delete_qualification_type(QualificationTypeId=type_id)
    events = AuditEvent.objects.filter(target_type="QualificationType", target_id=type_id).order_by("id")
    assert [e.action for e in events] == [
        "create_qualification_type", "associate_qualification", "disassociate_qualification",
        "update_qualification_type", "delete_qualification_type",
    ]
    assert {e.actor for e in events} == {f"requester:{owner.requester.customer_id}/{owner.access_key_id}"}
