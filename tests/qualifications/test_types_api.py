"""Qualification types through a real boto3 client: create, read, update, list, delete."""

from __future__ import annotations

import pytest

from kempelen.qualifications import system
from kempelen.qualifications.actions import request_qualification
from kempelen.qualifications.models import (
    Qualification,
    QualificationRequest,
    QualificationType,
    RequestState,
)

from .kit import (
    BIRD_KEY,
    BIRD_TEST,
    HTML_TEST,
    KEY_FOR_ANOTHER_TEST,
    SHORT_KEY,
    SHORT_TEST,
    is_empty_output,
    refused,
    worker_actor,
)

pytestmark = pytest.mark.django_db(transaction=True)

DUPLICATE_NAME = (
    "You have already created a QualificationType with this name. A QualificationType's name must be unique "
    "among all of the QualificationTypes created by the same user."
)


def create(client, name="Bird spotter", **extra):
    params = {"Name": name, "Description": "Workers who can tell common garden birds apart",
              "QualificationTypeStatus": "Active", **extra}
    return client.create_qualification_type(**params)["QualificationType"]


# --- create --------------------------------------------------------------------------------------------------------


def test_created_type_is_returned_with_every_field_clients_index_and_can_be_read_back(api):
    client = api().client()
    created = create(client, Keywords="birds, nature", RetryDelayInSeconds=86400, Test=BIRD_TEST,
                     TestDurationInSeconds=600, AnswerKey=BIRD_KEY)
    assert len(created["QualificationTypeId"]) == 30
    assert created["Name"] == "Bird spotter"
    assert created["Description"] == "Workers who can tell common garden birds apart"
    assert created["Keywords"] == "birds, nature"
    assert created["QualificationTypeStatus"] == "Active"
    assert created["IsRequestable"] is True
    assert created["AutoGranted"] is False
    assert created["RetryDelayInSeconds"] == 86400
    assert created["Test"] == BIRD_TEST
    assert created["TestDurationInSeconds"] == 600
    assert created["AnswerKey"] == BIRD_KEY
    assert created["CreationTime"].year >= 2024
    got = client.get_qualification_type(QualificationTypeId=created["QualificationTypeId"])["QualificationType"]
    assert got == created


def test_auto_granted_type_reports_the_default_value_one(api):
    created = create(api().client(), AutoGranted=True)
    assert created["AutoGranted"] is True
    assert created["AutoGrantedValue"] == 1
    assert "Test" not in created and "RetryDelayInSeconds" not in created


def test_a_second_type_with_the_same_name_is_refused_with_mturks_exact_message(api):
    client = api().client()
    create(client)
    refusal = refused(client.create_qualification_type, Name="Bird spotter", Description="again",
                      QualificationTypeStatus="Active")
    assert refusal.code == "RequestError"
    assert refusal.turk_code == "AWS.MechanicalTurk.QualificationTypeAlreadyExists"
    assert refusal.message == DUPLICATE_NAME


def test_the_same_name_is_free_for_another_requester_and_in_the_other_environment(api):
    handle = api()
    create(handle.client())
    create(handle.client("sandbox"))
    create(api().client())
    assert QualificationType.objects.filter(name="Bird spotter").count() == 3


def test_a_test_needs_a_duration(api):
    refusal = refused(api().client().create_qualification_type, Name="Birds", Description="d",
                      QualificationTypeStatus="Active", Test=BIRD_TEST)
    assert refusal.turk_code == "AWS.MechanicalTurk.InvalidParameterValue"
    assert "TestDurationInSeconds is required" in refusal.message


def test_a_test_must_be_a_question_form(api):
    refusal = refused(api().client().create_qualification_type, Name="Birds", Description="d",
                      QualificationTypeStatus="Active", Test=HTML_TEST, TestDurationInSeconds=300)
    assert refusal.turk_code == "AWS.MechanicalTurk.XMLParseError"
    assert "must be a QuestionForm" in refusal.message


def test_a_test_and_auto_granting_exclude_each_other(api):
    refusal = refused(api().client().create_qualification_type, Name="Birds", Description="d",
                      QualificationTypeStatus="Active", Test=BIRD_TEST, TestDurationInSeconds=300, AutoGranted=True)
    assert "cannot have both a Test and AutoGranted" in refusal.message


def test_an_answer_key_needs_a_test_and_must_fit_it(api):
    client = api().client()
    alone = refused(client.create_qualification_type, Name="Birds", Description="d",
                    QualificationTypeStatus="Active", AnswerKey=BIRD_KEY)
    assert "only be given together with a Test" in alone.message
    mismatched = refused(client.create_qualification_type, Name="Birds", Description="d",
                         QualificationTypeStatus="Active", Test=BIRD_TEST, TestDurationInSeconds=300,
                         AnswerKey=KEY_FOR_ANOTHER_TEST)
    assert mismatched.turk_code == "AWS.MechanicalTurk.XMLParseError"
    assert "'bird9', which the Test does not have" in mismatched.message


def test_description_and_keywords_have_mturks_length_limits(api):
    client = api().client()
    long_description = refused(client.create_qualification_type, Name="Birds", Description="x" * 2001,
                               QualificationTypeStatus="Active")
    assert "Description must be at most 2000 characters" in long_description.message
    long_keywords = refused(client.create_qualification_type, Name="Birds", Description="d",
                            QualificationTypeStatus="Active", Keywords="k" * 1001)
    assert "Keywords must be at most 1000 characters" in long_keywords.message
    assert create(client, Description="x" * 2000, Keywords="k" * 1000)["Keywords"] == "k" * 1000


# --- get ---------------------------------------------------------------------------------------------------------


def test_an_unknown_type_does_not_exist(api):
    refusal = refused(api().client().get_qualification_type, QualificationTypeId="3X7837UUADRXYCA1K7JAJLKC66DJ60")
    assert refusal.turk_code == "AWS.MechanicalTurk.QualificationTypeDoesNotExist"
    assert "does not exist" in refusal.message


def test_anyone_can_read_a_type_but_only_its_owner_sees_the_answer_key(api):
    owner = api().client()
    created = create(owner, Test=BIRD_TEST, TestDurationInSeconds=600, AnswerKey=BIRD_KEY)
    seen = api().client().get_qualification_type(QualificationTypeId=created["QualificationTypeId"])
    seen = seen["QualificationType"]
    assert seen["Name"] == "Bird spotter"
    assert seen["Test"] == BIRD_TEST
    assert "AnswerKey" not in seen


def test_system_types_can_be_read_and_are_not_requestable(api):
    client = api().client()
    locale = client.get_qualification_type(QualificationTypeId=system.LOCALE)["QualificationType"]
    assert locale["Name"] == "Worker_Locale"
    assert locale["IsRequestable"] is False
    masters = client.get_qualification_type(QualificationTypeId=system.MASTERS_LIVE)["QualificationType"]
    assert masters["Name"] == "Masters"
    # Each environment has its own Masters id.
    refusal = refused(api().client("sandbox").get_qualification_type, QualificationTypeId=system.MASTERS_LIVE)
    assert "does not exist" in refusal.message


def test_a_type_created_in_the_sandbox_is_unknown_in_live(api):
    handle = api()
    created = create(handle.client("sandbox"))
    type_id = created["QualificationTypeId"]
    assert handle.client("sandbox").get_qualification_type(QualificationTypeId=type_id)["QualificationType"]
    live = handle.client("live")
    assert refused(live.get_qualification_type, QualificationTypeId=type_id).turk_code == (
        "AWS.MechanicalTurk.QualificationTypeDoesNotExist"
    )
    assert "does not exist" in refused(live.delete_qualification_type, QualificationTypeId=type_id).message
    listed = live.list_qualification_types(MustBeRequestable=True, MustBeOwnedByCaller=True)
    assert listed["QualificationTypes"] == []


# --- update ------------------------------------------------------------------------------------------------------


def test_update_changes_description_status_and_retry_delay_but_keeps_name_and_keywords(api):
    client = api().client()
    created = create(client, Keywords="birds")
    updated = client.update_qualification_type(
        QualificationTypeId=created["QualificationTypeId"], Description="Now with owls",
        QualificationTypeStatus="Inactive", RetryDelayInSeconds=3600,
    )["QualificationType"]
    assert updated["Description"] == "Now with owls"
    assert updated["QualificationTypeStatus"] == "Inactive"
    assert updated["RetryDelayInSeconds"] == 3600
    assert (updated["Name"], updated["Keywords"]) == ("Bird spotter", "birds")


def test_a_type_with_a_test_cannot_become_auto_granted(api):
    client = api().client()
    created = create(client, Test=BIRD_TEST, TestDurationInSeconds=600)
    refusal = refused(client.update_qualification_type, QualificationTypeId=created["QualificationTypeId"],
                      AutoGranted=True)
    assert refusal.turk_code == "AWS.MechanicalTurk.InvalidParameterValue"
    assert "with a Test cannot become AutoGranted" in refusal.message


def test_a_test_cannot_be_removed(api):
    client = api().client()
    created = create(client, Test=BIRD_TEST, TestDurationInSeconds=600)
    refusal = refused(client.update_qualification_type, QualificationTypeId=created["QualificationTypeId"], Test="")
    assert "A Test cannot be removed" in refusal.message
    got = client.get_qualification_type(QualificationTypeId=created["QualificationTypeId"])["QualificationType"]
    assert got["Test"] == BIRD_TEST


def test_a_new_test_needs_a_duration_in_the_same_call(api):
    client = api().client()
    created = create(client, Test=BIRD_TEST, TestDurationInSeconds=600)
    refusal = refused(client.update_qualification_type, QualificationTypeId=created["QualificationTypeId"],
                      Test=SHORT_TEST)
    assert "TestDurationInSeconds is required" in refusal.message


def test_a_new_test_without_an_answer_key_removes_the_old_key(api):
    client = api().client()
    type_id = create(client, Test=BIRD_TEST, TestDurationInSeconds=600, AnswerKey=BIRD_KEY)["QualificationTypeId"]
    updated = client.update_qualification_type(QualificationTypeId=type_id, Test=SHORT_TEST,
                                               TestDurationInSeconds=120)["QualificationType"]
    assert updated["Test"] == SHORT_TEST
    assert updated["TestDurationInSeconds"] == 120
    assert "AnswerKey" not in updated
    rekeyed = client.update_qualification_type(QualificationTypeId=type_id, AnswerKey=SHORT_KEY)["QualificationType"]
    assert rekeyed["AnswerKey"] == SHORT_KEY


def test_an_auto_granted_type_cannot_get_a_test_unless_auto_granting_is_switched_off(api):
    client = api().client()
    type_id = create(client, AutoGranted=True)["QualificationTypeId"]
    refusal = refused(client.update_qualification_type, QualificationTypeId=type_id, Test=BIRD_TEST,
                      TestDurationInSeconds=600)
    assert "cannot have both a Test and AutoGranted" in refusal.message
    updated = client.update_qualification_type(QualificationTypeId=type_id, Test=BIRD_TEST,
                                               TestDurationInSeconds=600, AutoGranted=False)["QualificationType"]
    assert updated["AutoGranted"] is False and updated["Test"] == BIRD_TEST


def test_retries_once_switched_on_cannot_be_switched_off(api):
    from kempelen.core.actors import Actor
    from kempelen.core.errors import InvalidParameter
    from kempelen.qualifications.actions import update_qualification_type

    handle = api()
    type_id = create(handle.client(), RetryDelayInSeconds=60)["QualificationTypeId"]
    # The API cannot even express "no retries" (an absent member means "unchanged"); a page could.
    with pytest.raises(InvalidParameter, match="Retries cannot be switched off"):
        update_qualification_type(actor=Actor.for_requester(handle.requester), requester=handle.requester,
                                  environment="live", qualification_type_id=type_id, retry_delay=None)
    shorter = handle.client().update_qualification_type(QualificationTypeId=type_id, RetryDelayInSeconds=0)
    assert shorter["QualificationType"]["RetryDelayInSeconds"] == 0


def test_retry_delay_cannot_be_negative(api):
    client = api().client()
    type_id = create(client, RetryDelayInSeconds=60)["QualificationTypeId"]
    refusal = refused(client.update_qualification_type, QualificationTypeId=type_id, RetryDelayInSeconds=-1)
    assert "RetryDelayInSeconds must be 0 or more" in refusal.message


def test_another_requesters_type_cannot_be_changed_and_looks_unknown(api):
    type_id = create(api().client())["QualificationTypeId"]
    intruder = api().client()
    for call, extra in (
        (intruder.update_qualification_type, {"Description": "mine now"}),
        (intruder.delete_qualification_type, {}),
        (intruder.list_workers_with_qualification_type, {}),
    ):
        refusal = refused(call, QualificationTypeId=type_id, **extra)
        assert refusal.turk_code == "AWS.MechanicalTurk.QualificationTypeDoesNotExist"
        assert refusal.message == f"QualificationType {type_id} does not exist."
    assert QualificationType.objects.get(pk=type_id).description == "Workers who can tell common garden birds apart"


# --- list --------------------------------------------------------------------------------------------------------


def _names(response):
    return [t["Name"] for t in response["QualificationTypes"]]


def test_system_types_are_listed_only_when_requestability_is_not_required(api):
    client = api().client()
    create(client)
    everything = client.list_qualification_types(MustBeRequestable=False, MaxResults=100)
    names = _names(everything)
    assert {"Worker_Locale", "Worker_PercentAssignmentsApproved", "Masters", "Bird spotter"} <= set(names)
    assert everything["NumResults"] == len(names)
    masters = [t for t in everything["QualificationTypes"] if t["Name"] == "Masters"]
    assert [t["QualificationTypeId"] for t in masters] == [system.MASTERS_LIVE]
    requestable = client.list_qualification_types(MustBeRequestable=True, MaxResults=100)
    assert _names(requestable) == ["Bird spotter"]
    assert all(t["IsRequestable"] for t in requestable["QualificationTypes"])


def test_listing_shows_other_requesters_active_types_unless_only_the_callers_are_wanted(api):
    mine, theirs = api().client(), api().client()
    create(mine, "My birds")
    create(theirs, "Their birds")
    create(theirs, "Their hidden birds", QualificationTypeStatus="Inactive")
    deleted = create(theirs, "Their deleted birds")
    theirs.delete_qualification_type(QualificationTypeId=deleted["QualificationTypeId"])
    assert _names(mine.list_qualification_types(MustBeRequestable=True)) == ["My birds", "Their birds"]
    assert _names(mine.list_qualification_types(MustBeRequestable=True, MustBeOwnedByCaller=True)) == ["My birds"]
    assert _names(theirs.list_qualification_types(MustBeRequestable=True, MustBeOwnedByCaller=True)) == [
        "Their birds", "Their hidden birds"
    ]


def test_query_searches_name_description_and_keywords_ignoring_case(api):
    client = api().client()
    create(client, "Bird spotter")
    create(client, "Transcriber", Description="Transcribes handwritten RECEIPTS", Keywords="ocr")
    create(client, "Translator", Description="German to English", Keywords="language, Deutsch")
    assert _names(client.list_qualification_types(MustBeRequestable=True, Query="bird")) == ["Bird spotter"]
    assert _names(client.list_qualification_types(MustBeRequestable=True, Query="receipts")) == ["Transcriber"]
    assert _names(client.list_qualification_types(MustBeRequestable=True, Query="DEUTSCH")) == ["Translator"]
    assert _names(client.list_qualification_types(MustBeRequestable=True, Query="english german")) == ["Translator"]
    assert _names(client.list_qualification_types(MustBeRequestable=False, Query="locale")) == ["Worker_Locale"]
    nothing = client.list_qualification_types(MustBeRequestable=True, Query="astronomy")
    assert nothing["QualificationTypes"] == [] and nothing["NumResults"] == 0 and "NextToken" not in nothing


def test_boto3_paginator_walks_system_and_custom_types_without_repeats(api):
    client = api().client()
    for n in range(7):
        create(client, f"Bird spotter {n}")
    paginator = client.get_paginator("list_qualification_types")
    pages = list(paginator.paginate(MustBeRequestable=False, PaginationConfig={"PageSize": 4}))
    ids = [t["QualificationTypeId"] for p in pages for t in p["QualificationTypes"]]
    expected = len(system.for_environment("live")) + 7
    assert len(ids) == len(set(ids)) == expected
    assert all("NextToken" in p for p in pages if p["QualificationTypes"])
    assert pages[-1]["QualificationTypes"] == [] and "NextToken" not in pages[-1]
    assert all(p["NumResults"] == len(p["QualificationTypes"]) for p in pages)
    custom = [t["Name"] for p in pages for t in p["QualificationTypes"] if t["IsRequestable"]]
    assert custom == [f"Bird spotter {n}" for n in range(7)]


def test_a_page_token_from_another_search_is_refused(api):
    client = api().client()
    for n in range(3):
        create(client, f"Bird spotter {n}")
    first = client.list_qualification_types(MustBeRequestable=True, MaxResults=1)
    refusal = refused(client.list_qualification_types, MustBeRequestable=True, Query="bird",
                      NextToken=first["NextToken"])
    assert "token is invalid" in refusal.message


# --- delete ------------------------------------------------------------------------------------------------------


def test_deleting_a_type_rejects_its_requests_keeps_its_grants_and_frees_its_name_at_once(api, worker_factory):
    client = api().client()
    type_id = create(client)["QualificationTypeId"]
    holder, asker = worker_factory(), worker_factory()
    client.associate_qualification_with_worker(QualificationTypeId=type_id, WorkerId=holder.worker_id,
                                               IntegerValue=90, SendNotification=False)
    pending = request_qualification(actor=worker_actor(asker), worker=asker, qualification_type_id=type_id)
    assert pending.state == RequestState.PENDING

    response = client.delete_qualification_type(QualificationTypeId=type_id)
    assert is_empty_output(response)

    assert "does not exist" in refused(client.get_qualification_type, QualificationTypeId=type_id).message
    assert client.list_qualification_requests()["QualificationRequests"] == []
    request = QualificationRequest.objects.get(pk=pending.pk)
    assert request.state == RequestState.REJECTED and "deleted" in request.reason
    grant = Qualification.objects.get(qualification_type_id=type_id, worker=holder)
    assert (grant.status, grant.integer_value) == ("Granted", 90)
    again = create(client)
    assert again["QualificationTypeId"] != type_id
