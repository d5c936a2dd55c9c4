"""Bad input is refused with a helpful message, never a server fault, and changes nothing.

The requests are sent raw, as hand-written clients (oTree's) send them: botocore would catch a few of these
on the client, but the server must not rely on that.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from kempelen.marketplace.models import HIT, Assignment, HITType
from kempelen.qualifications import system

from .helpers import HTML_QUESTION, create_hit, do_work, hit_args, raw_request

pytestmark = pytest.mark.django_db(transaction=True)

LOCALE_US = {"QualificationTypeId": system.LOCALE, "Comparator": "EqualTo", "LocaleValues": [{"Country": "US"}]}
APPROVAL = system.PERCENT_APPROVED


@dataclass
class Context:
    hit_id: str
    hit_type_id: str
    assignment_id: str
    worker_id: str


@dataclass(frozen=True)
class Bad:
    name: str
    operation: str
    params: Callable[[Context], dict]
    needle: str  # what the message must say for the requester to see what is wrong


def create(**overrides: Any) -> Callable[[Context], dict]:
    return lambda c: hit_args(**overrides)


def requirement(**req: Any) -> Callable[[Context], dict]:
    return lambda c: hit_args(QualificationRequirements=[req])


BAD = [
    Bad("missing-title", "CreateHIT", create(Title=None), "Value null at 'title'"),
    Bad("missing-reward", "CreateHIT", create(Reward=None), "Value null at 'reward'"),
    Bad("missing-lifetime", "CreateHIT", create(LifetimeInSeconds=None), "Value null at 'lifetimeInSeconds'"),
    Bad("title-129", "CreateHIT", create(Title="T" * 129), "128"),
    Bad("empty-title", "CreateHIT", create(Title=""), "Title"),
    Bad("description-2001", "CreateHIT", create(Description="D" * 2001), "2000"),
    Bad("keywords-1001", "CreateHIT", create(Keywords="k" * 1001), "1000"),
    Bad("annotation-256", "CreateHIT", create(RequesterAnnotation="a" * 256), "255"),
    Bad("reward-three-decimals", "CreateHIT", create(Reward="0.505"), "reward"),
    Bad("reward-negative", "CreateHIT", create(Reward="-1"), "reward"),
    Bad("reward-words", "CreateHIT", create(Reward="abc"), "reward"),
    Bad("reward-a-number", "CreateHIT", create(Reward=0.5), "reward"),
    Bad("lifetime-29", "CreateHIT", create(LifetimeInSeconds=29), "LifetimeInSeconds"),
    Bad("lifetime-over-a-year", "CreateHIT", create(LifetimeInSeconds=31_536_001), "LifetimeInSeconds"),
    Bad("lifetime-a-string", "CreateHIT", create(LifetimeInSeconds="3600"), "lifetimeInSeconds"),
    Bad("duration-29", "CreateHIT", create(AssignmentDurationInSeconds=29), "AssignmentDurationInSeconds"),
    Bad("auto-approval-over-30-days", "CreateHIT", create(AutoApprovalDelayInSeconds=2_592_001),
        "AutoApprovalDelayInSeconds"),
    Bad("max-assignments-0", "CreateHIT", create(MaxAssignments=0), "MaxAssignments"),
    Bad("max-assignments-negative", "CreateHIT", create(MaxAssignments=-3), "MaxAssignments"),
    Bad("eleven-requirements", "CreateHIT", create(QualificationRequirements=[LOCALE_US] * 11), "10"),
    Bad("in-with-16-integers", "CreateHIT",
        requirement(QualificationTypeId=APPROVAL, Comparator="In", IntegerValues=list(range(16))), "15"),
    Bad("locale-values-on-another-type", "CreateHIT",
        requirement(QualificationTypeId=APPROVAL, Comparator="EqualTo", LocaleValues=[{"Country": "US"}]),
        "Worker_Locale"),
    Bad("exists-with-values", "CreateHIT",
        requirement(QualificationTypeId=APPROVAL, Comparator="Exists", IntegerValues=[1]), "no values"),
    Bad("unknown-qualification-type", "CreateHIT",
        requirement(QualificationTypeId="3NOSUCHQUALIFICATIONTYPE", Comparator="Exists"), "does not exist"),
    Bad("unknown-comparator", "CreateHIT",
        requirement(QualificationTypeId=APPROVAL, Comparator="AtLeast", IntegerValues=[1]), "comparator"),
    Bad("unknown-actions-guarded", "CreateHIT",
        requirement(QualificationTypeId=APPROVAL, Comparator="Exists", ActionsGuarded="Everything"),
        "actionsGuarded"),
    Bad("locale-country-three-letters", "CreateHIT",
        requirement(QualificationTypeId=system.LOCALE, Comparator="EqualTo", LocaleValues=[{"Country": "USA"}]),
        "country"),
    Bad("question-a-number", "CreateHIT", create(Question=42), "question"),
    Bad("lowercase-hit-type-id", "CreateHITWithHITType",
        lambda c: {"HITTypeId": c.hit_type_id.lower(), "LifetimeInSeconds": 600, "Question": HTML_QUESTION},
        "hITTypeId"),
    Bad("hit-type-title-129", "CreateHITType",
        lambda c: {"Title": "T" * 129, "Description": "d", "Reward": "0.10", "AssignmentDurationInSeconds": 60},
        "128"),
    Bad("lowercase-hit-id", "GetHIT", lambda c: {"HITId": c.hit_id.lower()}, "hITId"),
    Bad("hit-id-too-long", "GetHIT", lambda c: {"HITId": "A" * 65}, "hITId"),
    Bad("lowercase-assignment-id", "ApproveAssignment", lambda c: {"AssignmentId": c.assignment_id.lower()},
        "assignmentId"),
    Bad("reject-feedback-control-characters", "RejectAssignment",
        lambda c: {"AssignmentId": c.assignment_id, "RequesterFeedback": "bad\x01value"}, "control characters"),
    Bad("reject-feedback-1025", "RejectAssignment",
        lambda c: {"AssignmentId": c.assignment_id, "RequesterFeedback": "x" * 1025}, "1024"),
    Bad("approve-override-not-boolean", "ApproveAssignment",
        lambda c: {"AssignmentId": c.assignment_id, "OverrideRejection": "yes"}, "overrideRejection"),
    Bad("unknown-assignment-status", "ListAssignmentsForHIT",
        lambda c: {"HITId": c.hit_id, "AssignmentStatuses": ["Accepted"]}, "assignmentStatuses"),
    Bad("unknown-reviewable-status", "ListReviewableHITs", lambda c: {"Status": "Done"}, "status"),
    Bad("max-results-101", "ListHITs", lambda c: {"MaxResults": 101}, "maxResults"),
    Bad("max-results-0", "ListHITs", lambda c: {"MaxResults": 0}, "maxResults"),
    Bad("expire-at-words", "UpdateExpirationForHIT", lambda c: {"HITId": c.hit_id, "ExpireAt": "tomorrow"},
        "expireAt"),
    Bad("expire-at-far-future", "UpdateExpirationForHIT", lambda c: {"HITId": c.hit_id, "ExpireAt": 4102444800},
        "365 days"),
    Bad("zero-additional-assignments", "CreateAdditionalAssignmentsForHIT",
        lambda c: {"HITId": c.hit_id, "NumberOfAdditionalAssignments": 0}, "NumberOfAdditionalAssignments"),
    Bad("bonus-three-decimals", "SendBonus",
        lambda c: {"WorkerId": c.worker_id, "AssignmentId": c.assignment_id, "BonusAmount": "0.505",
                   "Reason": "x"}, "bonusAmount"),
    Bad("bonus-without-reason", "SendBonus",
        lambda c: {"WorkerId": c.worker_id, "AssignmentId": c.assignment_id, "BonusAmount": "1.00"},
        "Value null at 'reason'"),
    Bad("notify-101-workers", "NotifyWorkers",
        lambda c: {"Subject": "Hi", "MessageText": "x", "WorkerIds": [f"A{n:013d}" for n in range(101)]}, "100"),
    Bad("notify-subject-201", "NotifyWorkers",
        lambda c: {"Subject": "S" * 201, "MessageText": "x", "WorkerIds": [c.worker_id]}, "200"),
    Bad("notify-lowercase-worker", "NotifyWorkers",
        lambda c: {"Subject": "Hi", "MessageText": "x", "WorkerIds": [c.worker_id.lower()]}, "workerIds"),
    Bad("block-without-reason", "CreateWorkerBlock", lambda c: {"WorkerId": c.worker_id},
        "Value null at 'reason'"),
    Bad("list-bonus-payments-bad-hit", "ListBonusPayments", lambda c: {"HITId": "not a hit"}, "hITId"),
]


@pytest.fixture
def context(api, worker_factory):
    handle = api()
    client = handle.client()
    hit = create_hit(client, MaxAssignments=2)
    work = do_work(worker_factory(), hit["HITId"])
    return handle, Context(hit["HITId"], hit["HITTypeId"], work.assignment_id, work.worker.worker_id)


def _state(client) -> dict[str, Any]:
    return {
        "hits": sorted((h["HITId"], h["HITStatus"], h["MaxAssignments"], h["Expiration"])
                       for h in client.list_hits()["HITs"]),
        "hit_types": HITType.objects.count(),
        "all_hits": HIT.objects.count(),
        "assignments": sorted(Assignment.objects.values_list("pk", "status", "requester_feedback")),
        "balance": client.get_account_balance(),
        "blocks": client.list_worker_blocks()["WorkerBlocks"],
    }


@pytest.mark.parametrize("bad", BAD, ids=[b.name for b in BAD])
def test_bad_input_is_refused_helpfully_and_changes_nothing(context, bad):
    handle, ctx = context
    client = handle.client()
    before = _state(client)
    for state in (before,):
        state["balance"].pop("ResponseMetadata")
    response = raw_request(handle.url, operation=bad.operation, body=bad.params(ctx),
                           access_key_id=handle.access_key_id, secret=handle.secret)
    assert response.status == 400, (response.status, response.body)
    body = response.json()
    assert body["__type"] in ("ValidationException", "RequestError")
    message = body.get("Message") or body.get("message")
    assert bad.needle in message, message
    if body["__type"] == "RequestError":
        assert body["TurkErrorCode"].startswith("AWS.MechanicalTurk.")
    after = _state(client)
    after["balance"].pop("ResponseMetadata")
    assert after == before


def test_validation_lists_every_problem_at_once(context):
    handle, _ = context
    response = raw_request(handle.url, operation="CreateHIT", body={"Title": "t", "MaxAssignments": "3"},
                           access_key_id=handle.access_key_id, secret=handle.secret)
    body = response.json()
    assert body["__type"] == "ValidationException"
    assert body["message"].startswith("5 validation errors detected: ")
    for member in ("lifetimeInSeconds", "assignmentDurationInSeconds", "reward", "description", "maxAssignments"):
        assert f"'{member}'" in body["message"]


def test_an_iso_timestamp_from_a_hand_written_client_is_accepted(context):
    handle, ctx = context
    response = raw_request(handle.url, operation="UpdateExpirationForHIT",
                           body={"HITId": ctx.hit_id, "ExpireAt": "2015-01-01T00:00:00Z"},
                           access_key_id=handle.access_key_id, secret=handle.secret)
    assert response.status == 200 and response.body == b"{}"
    assert handle.client().get_hit(HITId=ctx.hit_id)["HIT"]["HITStatus"] in ("Reviewable", "Unassignable")
