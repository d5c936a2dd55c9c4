"""Workers requesting qualifications and taking tests (through the actions the worker pages call), and
requesters deciding requests through a real boto3 client."""

from __future__ import annotations

import datetime as dt

import pytest

from kempelen.core import clock
from kempelen.core.errors import QualificationTypeDoesNotExist
from kempelen.notifications.models import OutboxEmail
from kempelen.qualifications import system
from kempelen.qualifications.actions import (
    QualificationRetryNotAllowed,
    QualificationTestAnswersInvalid,
    QualificationTestExpired,
    QualificationTypeNotRequestable,
    lapse_expired_tests,
    request_qualification,
    submit_qualification_test,
)
from kempelen.qualifications.models import Qualification, QualificationRequest, RequestState
from kempelen.qualifications.queries import unmet_requirements
from kempelen.questions.answers import parse_answers

from .kit import (
    ALL_RIGHT,
    BIRD_KEY,
    BIRD_TEST,
    SHORT_KEY,
    SHORT_TEST,
    TWO_RIGHT,
    is_empty_output,
    refused,
    worker_actor,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def owner(api):
    return api()


def create(handle, name="Bird spotter", **extra):
    params = {"Name": name, "Description": "Workers who can tell common garden birds apart",
              "QualificationTypeStatus": "Active", **extra}
    return handle.client().create_qualification_type(**params)["QualificationType"]["QualificationTypeId"]


def ask(worker, type_id):
    return request_qualification(actor=worker_actor(worker), worker=worker, qualification_type_id=type_id)


def hand_in(worker, request, posted):
    return submit_qualification_test(actor=worker_actor(worker), worker=worker, request_id=request.pk, posted=posted)


# --- auto-granted types ------------------------------------------------------------------------------------------


def test_an_auto_granted_type_grants_its_value_at_once(owner, worker_factory):
    type_id = create(owner, AutoGranted=True, AutoGrantedValue=5)
    worker = worker_factory()
    request = ask(worker, type_id)
    assert request.state == RequestState.GRANTED
    score = owner.client().get_qualification_score(QualificationTypeId=type_id, WorkerId=worker.worker_id)
    assert score["Qualification"]["IntegerValue"] == 5
    assert owner.client().list_qualification_requests()["QualificationRequests"] == []


def test_an_auto_granted_type_without_a_value_grants_one_and_meets_an_exists_requirement(owner, worker_factory):
    type_id = create(owner, AutoGranted=True)
    worker = worker_factory()
    requirement = [{"QualificationTypeId": type_id, "Comparator": "Exists"}]
    assert unmet_requirements(requirement, worker, "live") == requirement
    ask(worker, type_id)
    assert Qualification.objects.get(worker=worker).integer_value == 1
    assert unmet_requirements(requirement, worker, "live") == []


# --- tests with an answer key ------------------------------------------------------------------------------------


def test_a_test_scored_by_its_answer_key_grants_the_percentage_and_the_requester_sees_it(owner, worker_factory):
    type_id = create(owner, Test=BIRD_TEST, TestDurationInSeconds=600, AnswerKey=BIRD_KEY)
    worker = worker_factory()
    started = ask(worker, type_id)
    assert started.state == RequestState.TEST_IN_PROGRESS
    assert started.test == BIRD_TEST
    assert started.test_deadline == started.created_at + dt.timedelta(seconds=600)

    done = hand_in(worker, started, TWO_RIGHT)
    assert done.state == RequestState.GRANTED
    assert done.score == 67  # 2 of 3 right: round(2 / 3 * 100)
    picked = {a.identifier: a.selection_identifiers for a in parse_answers(done.answer)}
    assert picked["bird1"] == ("robin",)

    client = owner.client()
    holders = client.list_workers_with_qualification_type(QualificationTypeId=type_id)["Qualifications"]
    assert [(q["WorkerId"], q["IntegerValue"], q["Status"]) for q in holders] == [(worker.worker_id, 67, "Granted")]
    score = client.get_qualification_score(QualificationTypeId=type_id, WorkerId=worker.worker_id)["Qualification"]
    assert score["IntegerValue"] == 67
    # Scored tests never wait for the requester.
    assert client.list_qualification_requests(QualificationTypeId=type_id)["QualificationRequests"] == []


def test_a_low_score_still_grants_the_computed_value_and_hit_requirements_filter_on_it(owner, worker_factory):
    type_id = create(owner, Test=BIRD_TEST, TestDurationInSeconds=600, AnswerKey=BIRD_KEY)
    worker = worker_factory()
    hand_in(worker, ask(worker, type_id), {"bird1": ["wren"], "bird2": ["robin"], "bird3": ["finch"]})
    assert Qualification.objects.get(worker=worker).integer_value == 33
    at_least_80 = [{"QualificationTypeId": type_id, "Comparator": "GreaterThanOrEqualTo", "IntegerValues": [80]}]
    assert unmet_requirements(at_least_80, worker, "live") == at_least_80


def test_answers_that_do_not_fit_the_questions_are_sent_back_per_question(owner, worker_factory):
    type_id = create(owner, Test=BIRD_TEST, TestDurationInSeconds=600, AnswerKey=BIRD_KEY)
    worker = worker_factory()
    request = ask(worker, type_id)
    with pytest.raises(QualificationTestAnswersInvalid) as refusal:
        hand_in(worker, request, {"bird1": ["robin"], "bird2": ["eagle"], "experience": ["lots"]})
    assert refusal.value.errors == {
        "bird2": "'eagle' is not one of this question's choices.",
        "bird3": "This question requires an answer.",
        "experience": "Enter a number from 0 to 99.",
    }
    # Nothing was recorded: the worker can correct the answers and hand the test in.
    assert QualificationRequest.objects.get(pk=request.pk).state == RequestState.TEST_IN_PROGRESS
    assert hand_in(worker, request, ALL_RIGHT).score == 100


def test_answers_are_not_scored_with_a_key_written_for_a_newer_version_of_the_test(owner, worker_factory):
    type_id = create(owner, Test=BIRD_TEST, TestDurationInSeconds=600, AnswerKey=BIRD_KEY)
    worker = worker_factory()
    request = ask(worker, type_id)
    owner.client().update_qualification_type(QualificationTypeId=type_id, Test=SHORT_TEST,
                                             TestDurationInSeconds=60, AnswerKey=SHORT_KEY)
    done = hand_in(worker, request, ALL_RIGHT)
    assert done.state == RequestState.PENDING
    listed = owner.client().list_qualification_requests()["QualificationRequests"]
    assert [r["Test"] for r in listed] == [BIRD_TEST]


# --- tests without a key: the requester decides ------------------------------------------------------------------


def test_an_unscored_test_waits_for_the_requester_who_accepts_it_with_a_value(owner, worker_factory):
    type_id = create(owner, Test=BIRD_TEST, TestDurationInSeconds=600)
    worker = worker_factory()
    done = hand_in(worker, ask(worker, type_id), TWO_RIGHT)
    assert done.state == RequestState.PENDING

    client = owner.client()
    listed = client.list_qualification_requests(QualificationTypeId=type_id)
    assert listed["NumResults"] == 1
    request = listed["QualificationRequests"][0]
    assert request["QualificationRequestId"] == done.pk
    assert request["QualificationTypeId"] == type_id
    assert request["WorkerId"] == worker.worker_id
    assert request["Test"] == BIRD_TEST
    assert "<SelectionIdentifier>robin</SelectionIdentifier>" in request["Answer"]
    assert "SubmitTime" in request

    response = client.accept_qualification_request(QualificationRequestId=done.pk, IntegerValue=85)
    assert is_empty_output(response)
    score = client.get_qualification_score(QualificationTypeId=type_id, WorkerId=worker.worker_id)["Qualification"]
    assert (score["IntegerValue"], score["Status"]) == (85, "Granted")
    assert client.list_qualification_requests()["QualificationRequests"] == []
    assert OutboxEmail.objects.filter(worker=worker, kind="qualification_granted").exists()


def test_a_request_without_a_test_is_pending_and_a_rejection_tells_the_worker_why(owner, worker_factory):
    type_id = create(owner)
    worker = worker_factory()
    request = ask(worker, type_id)
    assert request.state == RequestState.PENDING
    client = owner.client()
    listed = client.list_qualification_requests()["QualificationRequests"]
    assert [r["QualificationRequestId"] for r in listed] == [request.pk]
    assert "Test" not in listed[0] and "Answer" not in listed[0]

    response = client.reject_qualification_request(QualificationRequestId=request.pk,
                                                   Reason="We need workers with birdwatching experience.")
    assert is_empty_output(response)
    rejected = QualificationRequest.objects.get(pk=request.pk)
    assert rejected.state == RequestState.REJECTED
    assert rejected.reason == "We need workers with birdwatching experience."
    email = OutboxEmail.objects.get(worker=worker, kind="qualification_rejected")
    assert "We need workers with birdwatching experience." in email.body
    assert not Qualification.objects.filter(worker=worker).exists()


def test_accepting_overwrites_a_value_granted_directly(owner, worker_factory):
    type_id = create(owner, RetryDelayInSeconds=0)
    worker = worker_factory()
    client = owner.client()
    client.associate_qualification_with_worker(QualificationTypeId=type_id, WorkerId=worker.worker_id,
                                               IntegerValue=10, SendNotification=False)
    request = ask(worker, type_id)
    client.accept_qualification_request(QualificationRequestId=request.pk, IntegerValue=50)
    assert Qualification.objects.get(worker=worker).integer_value == 50


def test_only_pending_requests_can_be_accepted_or_rejected(owner, worker_factory):
    type_id = create(owner)
    worker = worker_factory()
    request = ask(worker, type_id)
    client = owner.client()
    client.accept_qualification_request(QualificationRequestId=request.pk)
    assert Qualification.objects.get(worker=worker).integer_value == 1
    for call in (client.accept_qualification_request, client.reject_qualification_request):
        refusal = refused(call, QualificationRequestId=request.pk)
        assert refusal.turk_code == "AWS.MechanicalTurk.InvalidQualificationRequestState"
        assert "This operation can be called with a status of: Pending" in refusal.message


def test_another_requesters_request_looks_unknown(api, owner, worker_factory):
    type_id = create(owner)
    worker = worker_factory()
    request = ask(worker, type_id)
    other = api().client()
    assert other.list_qualification_requests()["QualificationRequests"] == []
    for call in (other.accept_qualification_request, other.reject_qualification_request):
        refusal = refused(call, QualificationRequestId=request.pk)
        assert refusal.turk_code == "AWS.MechanicalTurk.QualificationRequestDoesNotExist"
        assert refusal.message == f"QualificationRequest {request.pk} does not exist."
    refusal = refused(other.list_qualification_requests, QualificationTypeId=type_id)
    assert refusal.turk_code == "AWS.MechanicalTurk.QualificationTypeDoesNotExist"
    assert QualificationRequest.objects.get(pk=request.pk).state == RequestState.PENDING


def test_pending_requests_page_with_boto3s_paginator(owner, worker_factory):
    type_id = create(owner)
    workers = [worker_factory() for _ in range(5)]
    asked = [ask(worker, type_id).pk for worker in workers]
    pages = list(owner.client().get_paginator("list_qualification_requests").paginate(
        PaginationConfig={"PageSize": 2}))
    assert [r["QualificationRequestId"] for p in pages for r in p["QualificationRequests"]] == asked
    assert "NextToken" not in pages[-1] and pages[-1]["QualificationRequests"] == []


# --- retries -----------------------------------------------------------------------------------------------------


def test_without_a_retry_delay_a_worker_may_request_only_once_even_after_a_rejection(owner, worker_factory):
    type_id = create(owner)
    worker = worker_factory()
    request = ask(worker, type_id)
    with pytest.raises(QualificationRetryNotAllowed, match="not been decided yet"):
        ask(worker, type_id)
    owner.client().reject_qualification_request(QualificationRequestId=request.pk, Reason="Not this time")
    with pytest.raises(QualificationRetryNotAllowed, match="does not allow another request"):
        ask(worker, type_id)


def test_with_a_retry_delay_a_worker_may_request_again_once_the_delay_has_passed(owner, worker_factory, move_clock):
    type_id = create(owner, RetryDelayInSeconds=3600)
    worker = worker_factory()
    first = ask(worker, type_id)
    owner.client().reject_qualification_request(QualificationRequestId=first.pk)
    move_clock(1800)
    with pytest.raises(QualificationRetryNotAllowed, match="again 1800 seconds from now"):
        ask(worker, type_id)
    move_clock(1801)
    second = ask(worker, type_id)
    assert second.state == RequestState.PENDING and second.pk != first.pk


def test_a_worker_who_passed_a_retryable_test_may_retake_it_after_the_delay(owner, worker_factory, move_clock):
    type_id = create(owner, Test=BIRD_TEST, TestDurationInSeconds=600, AnswerKey=BIRD_KEY, RetryDelayInSeconds=86400)
    worker = worker_factory()
    hand_in(worker, ask(worker, type_id), TWO_RIGHT)
    move_clock(86400)
    hand_in(worker, ask(worker, type_id), ALL_RIGHT)
    assert Qualification.objects.get(worker=worker).integer_value == 100


def test_inactive_system_and_unknown_types_cannot_be_requested(owner, worker_factory):
    worker = worker_factory()
    inactive = create(owner, "Resting", QualificationTypeStatus="Inactive")
    with pytest.raises(QualificationTypeNotRequestable):
        ask(worker, inactive)
    with pytest.raises(QualificationTypeNotRequestable):
        ask(worker, system.PERCENT_APPROVED)
    deleted = create(owner, "Gone")
    owner.client().delete_qualification_type(QualificationTypeId=deleted)
    with pytest.raises(QualificationTypeDoesNotExist):
        ask(worker, deleted)
    with pytest.raises(QualificationTypeDoesNotExist):
        ask(worker, "3X7837UUADRXYCA1K7JAJLKC66DJ60")


# --- deadlines ----------------------------------------------------------------------------------------------------


def test_a_test_not_handed_in_before_its_deadline_lapses(owner, worker_factory, move_clock):
    type_id = create(owner, Test=BIRD_TEST, TestDurationInSeconds=300, AnswerKey=BIRD_KEY)
    worker, punctual = worker_factory(), worker_factory()
    late = ask(worker, type_id)
    on_time = ask(punctual, type_id)
    move_clock(299)
    hand_in(punctual, on_time, ALL_RIGHT)
    assert lapse_expired_tests() == 0
    move_clock(2)
    assert lapse_expired_tests() == 1
    assert lapse_expired_tests() == 0
    assert QualificationRequest.objects.get(pk=late.pk).state == RequestState.LAPSED
    with pytest.raises(QualificationTestExpired):
        hand_in(worker, late, ALL_RIGHT)
    assert not Qualification.objects.filter(worker=worker).exists()
    assert Qualification.objects.get(worker=punctual).integer_value == 100


def test_a_late_hand_in_is_refused_even_before_the_job_runner_lapses_the_test(owner, worker_factory, move_clock):
    type_id = create(owner, Test=BIRD_TEST, TestDurationInSeconds=300)
    worker = worker_factory()
    request = ask(worker, type_id)
    move_clock(301)
    with pytest.raises(QualificationTestExpired, match="time allowed for this qualification test ended"):
        hand_in(worker, request, ALL_RIGHT)
    assert QualificationRequest.objects.get(pk=request.pk).state == RequestState.LAPSED
    assert lapse_expired_tests() == 0
    assert owner.client().list_qualification_requests()["QualificationRequests"] == []


def test_looking_for_lapsed_tests_is_one_query_when_none_are_due(owner, worker_factory, django_assert_num_queries):
    type_id = create(owner, Test=BIRD_TEST, TestDurationInSeconds=300)
    ask(worker_factory(), type_id)
    with django_assert_num_queries(1):
        assert lapse_expired_tests() == 0


def test_a_test_in_progress_blocks_a_new_request_until_it_lapses(owner, worker_factory, move_clock):
    type_id = create(owner, Test=BIRD_TEST, TestDurationInSeconds=300, RetryDelayInSeconds=0)
    worker = worker_factory()
    ask(worker, type_id)
    with pytest.raises(QualificationRetryNotAllowed):
        ask(worker, type_id)
    move_clock(301)
    again = ask(worker, type_id)
    assert again.state == RequestState.TEST_IN_PROGRESS
    assert again.test_deadline > clock.now() + dt.timedelta(seconds=299)
    states = QualificationRequest.objects.filter(worker=worker).order_by("created_at").values_list("state", flat=True)
    assert list(states) == [RequestState.LAPSED, RequestState.TEST_IN_PROGRESS]
