"""Tenancy: requester B naming requester A's ids learns nothing and changes nothing.

For every operation that takes an id (HIT, HIT type, assignment, qualification type, qualification request),
B's call with A's id must be answered exactly as the same call with an id that does not exist (the id itself
aside), and A's data must be unchanged afterwards. The cases are checked against the dispatch table and the
service model, so a new operation cannot be forgotten.
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import pytest

from kempelen.core import ids
from kempelen.ledger.queries import requester_balances
from kempelen.marketplace.models import (
    HIT,
    Assignment,
    BonusPayment,
    HITType,
    ReviewAction,
    ReviewResult,
    WorkerBlock,
)
from kempelen.mturk_api import dispatch, validation
from kempelen.notifications.models import OutboxEmail, OutboxEvent
from kempelen.qualifications.models import Qualification, QualificationRequest, QualificationType

from .helpers import HTML_QUESTION, accept, create_hit, do_work, hit_type_args, raw_request, refused

pytestmark = pytest.mark.django_db(transaction=True)

#: Input members that name something a requester owns.
OWNED_IDS = ("HITId", "HITTypeId", "AssignmentId", "QualificationTypeId", "QualificationRequestId")

#: (operation, member) pairs where another requester's id is deliberately not secret, with why.
PUBLIC_BY_DESIGN = {
    ("GetQualificationType", "QualificationTypeId"):
        "qualification types are public on MTurk (ListQualificationTypes finds other requesters' types and "
        "workers request them); only the owner sees the AnswerKey",
    ("ListHITsForQualificationType", "QualificationTypeId"):
        "a HIT may require another requester's qualification type; the listing holds only the caller's HITs",
}

NOTIFICATION = {"Destination": "https://sqs.us-east-1.amazonaws.com/123456789012/kempelen-b",
                "Transport": "SQS", "Version": "2006-05-05", "EventTypes": ["AssignmentSubmitted"]}


@dataclass(frozen=True)
class Targets:
    """The ids a case may aim at: A's real ones, or fresh ones that exist nowhere."""

    hit: str  # Assignable, no work
    reviewable_hit: str  # expired without work: Reviewable
    done_hit: str  # one submitted and one approved (and bonused) assignment
    hit_type: str
    submitted: str  # a Submitted assignment
    approved: str  # an Approved assignment with a bonus
    qualification_type: str
    qualification_request: str  # pending
    # Not owned ids: the same in both runs.
    submitter: str = ""  # the worker of ``submitted``
    approved_worker: str = ""
    granted_worker: str = ""  # holds A's qualification

    def fake(self) -> Targets:
        return replace(self, **{name: ids.entity_id() for name in (
            "hit", "reviewable_hit", "done_hit", "hit_type", "submitted", "approved", "qualification_type",
            "qualification_request")})

    def owned(self) -> list[str]:
        return [self.hit, self.reviewable_hit, self.done_hit, self.hit_type, self.submitted, self.approved,
                self.qualification_type, self.qualification_request]


@dataclass(frozen=True)
class Mine:
    """B's own things, for operations that take two ids."""

    hit: str
    hit_type: str
    worker: str


@dataclass(frozen=True)
class Case:
    operation: str
    targets: frozenset[str]  # the members that carry A's id
    params: Callable[[Targets, Mine], dict]
    label: str = ""

    @property
    def id(self) -> str:
        return f"{self.operation}{'-' + self.label if self.label else ''}"


def case(operation: str, targets: str, params: Callable[[Targets, Mine], dict], label: str = "") -> Case:
    return Case(operation, frozenset(targets.split(",")), params, label)


CASES = [
    # HITs and HIT types
    case("GetHIT", "HITId", lambda t, b: {"HITId": t.hit}),
    case("UpdateExpirationForHIT", "HITId", lambda t, b: {"HITId": t.hit, "ExpireAt": 0}, "expire"),
    case("UpdateExpirationForHIT", "HITId", lambda t, b: {"HITId": t.hit, "ExpireAt": 4102444800}, "extend"),
    case("CreateAdditionalAssignmentsForHIT", "HITId",
         lambda t, b: {"HITId": t.hit, "NumberOfAdditionalAssignments": 1}),
    case("UpdateHITReviewStatus", "HITId", lambda t, b: {"HITId": t.reviewable_hit, "Revert": False}),
    case("UpdateHITTypeOfHIT", "HITId", lambda t, b: {"HITId": t.hit, "HITTypeId": b.hit_type}, "As-HIT"),
    case("UpdateHITTypeOfHIT", "HITTypeId", lambda t, b: {"HITId": b.hit, "HITTypeId": t.hit_type}, "As-type"),
    case("DeleteHIT", "HITId", lambda t, b: {"HITId": t.reviewable_hit}),
    case("CreateHITWithHITType", "HITTypeId",
         lambda t, b: {"HITTypeId": t.hit_type, "LifetimeInSeconds": 600, "Question": HTML_QUESTION}),
    case("ListReviewableHITs", "HITTypeId", lambda t, b: {"HITTypeId": t.hit_type}),
    # Assignments
    case("GetAssignment", "AssignmentId", lambda t, b: {"AssignmentId": t.submitted}),
    case("ListAssignmentsForHIT", "HITId", lambda t, b: {"HITId": t.done_hit}),
    case("ApproveAssignment", "AssignmentId", lambda t, b: {"AssignmentId": t.submitted}),
    case("RejectAssignment", "AssignmentId", lambda t, b: {"AssignmentId": t.submitted, "RequesterFeedback": ""}),
    # Money
    case("SendBonus", "AssignmentId", lambda t, b: {"AssignmentId": t.approved, "WorkerId": t.approved_worker,
                                                    "BonusAmount": "1.00", "Reason": "from B"}),
    case("ListBonusPayments", "HITId", lambda t, b: {"HITId": t.done_hit}, "by-HIT"),
    case("ListBonusPayments", "AssignmentId", lambda t, b: {"AssignmentId": t.approved}, "by-assignment"),
    # Qualifications
    case("UpdateQualificationType", "QualificationTypeId",
         lambda t, b: {"QualificationTypeId": t.qualification_type, "Description": "taken over",
                       "QualificationTypeStatus": "Inactive"}),
    case("DeleteQualificationType", "QualificationTypeId",
         lambda t, b: {"QualificationTypeId": t.qualification_type}),
    case("AssociateQualificationWithWorker", "QualificationTypeId",
         lambda t, b: {"QualificationTypeId": t.qualification_type, "WorkerId": b.worker, "IntegerValue": 100,
                       "SendNotification": False}),
    case("DisassociateQualificationFromWorker", "QualificationTypeId",
         lambda t, b: {"QualificationTypeId": t.qualification_type, "WorkerId": t.granted_worker}),
    case("GetQualificationScore", "QualificationTypeId",
         lambda t, b: {"QualificationTypeId": t.qualification_type, "WorkerId": t.granted_worker}),
    case("ListWorkersWithQualificationType", "QualificationTypeId",
         lambda t, b: {"QualificationTypeId": t.qualification_type}),
    case("ListQualificationRequests", "QualificationTypeId",
         lambda t, b: {"QualificationTypeId": t.qualification_type}),
    case("AcceptQualificationRequest", "QualificationRequestId",
         lambda t, b: {"QualificationRequestId": t.qualification_request, "IntegerValue": 5}),
    case("RejectQualificationRequest", "QualificationRequestId",
         lambda t, b: {"QualificationRequestId": t.qualification_request, "Reason": "no"}),
    # Notifications
    case("UpdateNotificationSettings", "HITTypeId",
         lambda t, b: {"HITTypeId": t.hit_type, "Notification": NOTIFICATION, "Active": True}, "replace"),
    case("UpdateNotificationSettings", "HITTypeId", lambda t, b: {"HITTypeId": t.hit_type, "Active": False},
         "deactivate"),
    # Review results and files
    case("ListReviewPolicyResultsForHIT", "HITId",
         lambda t, b: {"HITId": t.done_hit, "RetrieveResults": True, "RetrieveActions": True}),
    case("GetFileUploadURL", "AssignmentId",
         lambda t, b: {"AssignmentId": t.submitted, "QuestionIdentifier": "label"}),
]


def _implemented(operation: str) -> bool:
    module_name, function = dispatch.OPERATIONS[operation].split(":")
    try:
        module = importlib.import_module(f"kempelen.mturk_api.handlers.{module_name}")
    except ImportError:
        return False
    return callable(getattr(module, function, None))


def _params(cases: list[Case]) -> list[Any]:
    return [
        pytest.param(c, id=c.id, marks=() if _implemented(c.operation) else
                     pytest.mark.xfail(strict=False, reason="not yet implemented"))
        for c in cases
    ]


# --- The two requesters ----------------------------------------------------------------------------------


@dataclass
class World:
    a: Any
    b: Any
    targets: Targets
    mine: Mine


@pytest.fixture
def world(api, worker_factory) -> World:
    a, b = api(), api()
    client = a.client()
    hit_type = client.create_hit_type(**hit_type_args())["HITTypeId"]
    hit = client.create_hit_with_hit_type(HITTypeId=hit_type, LifetimeInSeconds=3600, MaxAssignments=3,
                                          Question=HTML_QUESTION)["HIT"]["HITId"]
    reviewable = create_hit(client)["HITId"]
    client.update_expiration_for_hit(HITId=reviewable, ExpireAt=0)
    done = create_hit(client, MaxAssignments=3)["HITId"]
    submitted = do_work(worker_factory(), done)
    approved = do_work(worker_factory(), done)
    accept(worker_factory(), done)  # one in progress too
    client.approve_assignment(AssignmentId=approved.assignment_id, RequesterFeedback="thanks")
    client.send_bonus(WorkerId=approved.worker.worker_id, AssignmentId=approved.assignment_id,
                      BonusAmount="0.25", Reason="good")
    client.create_worker_block(WorkerId=worker_factory().worker_id, Reason="spam")

    qualification_type = request_id = ""
    granted_worker = worker_factory()
    if _implemented("CreateQualificationType"):
        qualification_type = client.create_qualification_type(
            Name="A's skill", Description="Only for A's workers", QualificationTypeStatus="Active",
        )["QualificationType"]["QualificationTypeId"]
        client.associate_qualification_with_worker(QualificationTypeId=qualification_type,
                                                   WorkerId=granted_worker.worker_id, IntegerValue=80,
                                                   SendNotification=False)
        from kempelen.core.actors import Actor
        from kempelen.qualifications import actions as qualifications

        asker = worker_factory()
        request_id = qualifications.request_qualification(
            actor=Actor.for_worker(asker), worker=asker, qualification_type_id=qualification_type,
            environment="live").pk
    if _implemented("UpdateNotificationSettings"):
        client.update_notification_settings(HITTypeId=hit_type, Active=True, Notification={
            **NOTIFICATION, "Destination": "https://sqs.us-east-1.amazonaws.com/123456789012/kempelen-a"})

    b_client = b.client()
    b_type = b_client.create_hit_type(**hit_type_args(Title="B's task"))["HITTypeId"]
    b_hit = b_client.create_hit_with_hit_type(HITTypeId=b_type, LifetimeInSeconds=3600,
                                              Question=HTML_QUESTION)["HIT"]["HITId"]
    targets = Targets(
        hit=hit, reviewable_hit=reviewable, done_hit=done, hit_type=hit_type, submitted=submitted.assignment_id,
        approved=approved.assignment_id, qualification_type=qualification_type or ids.entity_id(),
        qualification_request=request_id or ids.entity_id(), submitter=submitted.worker.worker_id,
        approved_worker=approved.worker.worker_id, granted_worker=granted_worker.worker_id,
    )
    return World(a, b, targets, Mine(b_hit, b_type, worker_factory().worker_id))


def _rows(qs) -> list[dict]:  # type: ignore[no-untyped-def]
    return list(qs.order_by("pk").values())


def snapshot(requester) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Everything of A's that B might disturb."""
    return {
        "hit_types": _rows(HITType.objects.filter(requester=requester)),
        "hits": _rows(HIT.objects.filter(requester=requester)),
        "assignments": _rows(Assignment.objects.filter(requester=requester)),
        "bonuses": _rows(BonusPayment.objects.filter(requester=requester)),
        "blocks": _rows(WorkerBlock.objects.filter(requester=requester)),
        "qualification_types": _rows(QualificationType.objects.filter(requester=requester)),
        "grants": _rows(Qualification.objects.filter(qualification_type__requester=requester)),
        "requests": _rows(QualificationRequest.objects.filter(qualification_type__requester=requester)),
        "review_results": _rows(ReviewResult.objects.filter(hit__requester=requester)),
        "review_actions": _rows(ReviewAction.objects.filter(hit__requester=requester)),
        "events": _rows(OutboxEvent.objects.filter(requester=requester)),
        "emails": OutboxEmail.objects.filter(requester=requester).count(),
        "balances": requester_balances(requester, "live"),
    }


_TIME = re.compile(r" \(\d+( s)?\)")


def outcome(handle, operation: str, params: dict, hidden: list[str]) -> tuple[int, str]:
    """How the API answered, with the ids in question and MTurk's time suffix blanked out."""
    response = raw_request(handle.url, operation=operation, body=params, access_key_id=handle.access_key_id,
                           secret=handle.secret)
    text = json.dumps(json.loads(response.body or b"{}"), sort_keys=True)
    for value in hidden:
        if value:
            text = text.replace(value, "<ID>")
    return response.status, _TIME.sub("", text)


# --- The rule, for every case ----------------------------------------------------------------------------


@pytest.mark.parametrize("case", _params(CASES))
def test_another_requesters_id_is_answered_as_a_nonexistent_one_and_changes_nothing(world, case):
    real, fake = world.targets, world.targets.fake()
    before = snapshot(world.a.requester)
    b_before = snapshot(world.b.requester)
    nonexistent = outcome(world.b, case.operation, case.params(fake, world.mine), fake.owned())
    foreign = outcome(world.b, case.operation, case.params(real, world.mine), real.owned())
    assert foreign[0] < 500, foreign
    assert foreign == nonexistent
    assert snapshot(world.a.requester) == before
    assert snapshot(world.b.requester) == b_before


def test_every_operation_that_takes_an_owned_id_is_covered():
    model = validation.service_model()
    covered = {(c.operation, member) for c in CASES for member in c.targets}
    missing = []
    for operation in dispatch.OPERATIONS:
        shape = model.operation_model(operation).input_shape
        for member in (shape.members if shape else {}):
            if member in OWNED_IDS and (operation, member) not in covered | set(PUBLIC_BY_DESIGN):
                missing.append(f"{operation}.{member}")
    assert not missing, f"tenancy cases missing for: {', '.join(missing)}"
    assert {c.operation for c in CASES} <= set(dispatch.OPERATIONS)


# --- Public by design ------------------------------------------------------------------------------------


QUESTION_FORM_TEST = """<QuestionForm xmlns="http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2005-10-01/QuestionForm.xsd">
  <Question><QuestionIdentifier>q1</QuestionIdentifier><QuestionContent><Text>2+2?</Text></QuestionContent>
    <AnswerSpecification><SelectionAnswer><Selections>
      <Selection><SelectionIdentifier>four</SelectionIdentifier><Text>4</Text></Selection>
      <Selection><SelectionIdentifier>five</SelectionIdentifier><Text>5</Text></Selection>
    </Selections></SelectionAnswer></AnswerSpecification></Question>
</QuestionForm>"""
ANSWER_KEY = """<AnswerKey xmlns="http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2005-10-01/AnswerKey.xsd">
  <Question><QuestionIdentifier>q1</QuestionIdentifier>
    <AnswerOption><SelectionIdentifier>four</SelectionIdentifier><AnswerScore>1</AnswerScore></AnswerOption>
  </Question>
</AnswerKey>"""


@pytest.mark.skipif(not _implemented("CreateQualificationType"), reason="not yet implemented")
def test_a_foreign_qualification_type_never_reveals_its_answer_key(api):
    a, b = api().client(), api().client()
    type_id = a.create_qualification_type(
        Name="Arithmetic", Description="A small test", QualificationTypeStatus="Active", Test=QUESTION_FORM_TEST,
        AnswerKey=ANSWER_KEY, TestDurationInSeconds=300)["QualificationType"]["QualificationTypeId"]
    assert "AnswerKey" in a.get_qualification_type(QualificationTypeId=type_id)["QualificationType"]
    try:
        seen = b.get_qualification_type(QualificationTypeId=type_id)["QualificationType"]
    except b.exceptions.RequestError as error:
        assert "does not exist" in error.response["Message"]
        return
    assert seen["QualificationTypeId"] == type_id
    assert "AnswerKey" not in seen


def test_hits_for_a_foreign_qualification_type_are_only_the_callers_own(world):
    a_client, b_client = world.a.client(), world.b.client()
    if not _implemented("CreateQualificationType"):
        pytest.skip("not yet implemented")
    requirement = {"QualificationTypeId": world.targets.qualification_type, "Comparator": "Exists"}
    a_hit = create_hit(a_client, QualificationRequirements=[requirement])["HITId"]
    listed = b_client.list_hits_for_qualification_type(QualificationTypeId=world.targets.qualification_type)
    assert a_hit not in [h["HITId"] for h in listed["HITs"]]
    assert listed["HITs"] == []


# --- Things without an owned id --------------------------------------------------------------------------


def test_lists_without_ids_show_only_the_callers_own(world):
    b = world.b.client()
    assert [h["HITId"] for h in b.list_hits()["HITs"]] == [world.mine.hit]
    assert b.list_reviewable_hits()["HITs"] == []
    assert b.list_worker_blocks()["WorkerBlocks"] == []
    assert b.get_account_balance()["AvailableBalance"] == "999.40"


def test_unblocking_a_worker_that_a_blocked_leaves_as_block_alone(world):
    a_client = world.a.client()
    blocked = a_client.list_worker_blocks()["WorkerBlocks"][0]["WorkerId"]
    world.b.client().delete_worker_block(WorkerId=blocked, Reason="not mine")
    assert [w["WorkerId"] for w in a_client.list_worker_blocks()["WorkerBlocks"]] == [blocked]


def test_a_bonus_for_as_assignment_paid_through_bs_key_is_refused(world):
    b = world.b.client()
    failure = refused(b.send_bonus, WorkerId=world.targets.approved_worker, AssignmentId=world.targets.approved,
                      BonusAmount="1.00", Reason="x")
    assert failure.turk_code == "AWS.MechanicalTurk.AssignmentDoesNotExist"
    assert b.get_account_balance()["AvailableBalance"] == "999.40"
