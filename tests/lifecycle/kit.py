"""Helpers for lifecycle, ledger and concurrency scenarios: HITs made through the actions, the worker side
(accept / return / submit), and what a requester would read back (GetHIT counters, balances, earnings)."""

from __future__ import annotations

from typing import Any

from kempelen.accounts.models import Requester, Worker
from kempelen.core.actors import Actor
from kempelen.ledger.models import AccountKind
from kempelen.ledger.queries import balance, requester_balances
from kempelen.marketplace import actions
from kempelen.marketplace.models import HIT, Assignment, AssignmentStatus, HITType
from kempelen.questions.answers import Answer, answers_xml

QUESTION = """<?xml version="1.0" encoding="UTF-8"?>
<ExternalQuestion xmlns="http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2006-07-14/ExternalQuestion.xsd">
  <ExternalURL>https://tasks.example.org/label?item=1</ExternalURL>
  <FrameHeight>400</FrameHeight>
</ExternalQuestion>"""

ANSWER = answers_xml([Answer(identifier="label", free_text="cat")])

LOCALE = "00000000000000000071"
PERCENT_APPROVED = "000000000000000000L0"
MASTERS_LIVE = "2F1QJWKUDD8XADTFD2Q0G6UTO95ALH"


def requester_actor(requester: Requester) -> Actor:
    return Actor.for_requester(requester, "tests")


def new_hit_type(
    requester: Requester,
    *,
    environment: str = "live",
    reward_cents: int = 50,
    duration: int = 600,
    auto_approval_delay: int | None = None,
    requirements: list[dict] | None = None,
    title: str = "Label a picture",
) -> HITType:
    return actions.create_hit_type(
        actor=requester_actor(requester), requester=requester, environment=environment, title=title,
        description="Say what is in the picture", reward_cents=reward_cents, assignment_duration=duration,
        auto_approval_delay=auto_approval_delay, qualification_requirements=requirements,
    )


def new_hit(
    requester: Requester,
    *,
    environment: str = "live",
    max_assignments: int = 1,
    lifetime: int = 3600,
    hit_type: HITType | None = None,
    token: str | None = None,
    **type_attrs: Any,
) -> HIT:
    hit_type = hit_type or new_hit_type(requester, environment=environment, **type_attrs)
    return actions.create_hit(
        actor=requester_actor(requester), requester=requester, environment=environment, hit_type=hit_type,
        lifetime=lifetime, max_assignments=max_assignments, question=QUESTION, unique_request_token=token,
    )


def accept(worker: Worker, hit: HIT | str, *, environment: str | None = None) -> Assignment:
    hit_id = hit if isinstance(hit, str) else hit.pk
    env = environment or (hit.environment if isinstance(hit, HIT) else "live")
    return actions.accept_assignment(actor=Actor.for_worker(worker), worker=worker, environment=env, hit_id=hit_id)


def accept_from_group(worker: Worker, group_id: str, *, environment: str = "live") -> Assignment:
    return actions.accept_assignment(
        actor=Actor.for_worker(worker), worker=worker, environment=environment, group_id=group_id
    )


def submit(worker: Worker, assignment: Assignment | str, answer: str = ANSWER) -> Assignment:
    assignment_id = assignment if isinstance(assignment, str) else assignment.pk
    return actions.submit_assignment(
        actor=Actor.for_worker(worker), worker=worker, assignment_id=assignment_id, answer_xml=answer
    )


def give_back(worker: Worker, assignment: Assignment | str) -> Assignment:
    assignment_id = assignment if isinstance(assignment, str) else assignment.pk
    return actions.return_assignment(actor=Actor.for_worker(worker), worker=worker, assignment_id=assignment_id)


def approve(requester: Requester, assignment: Assignment | str, *, environment: str = "live",
            feedback: str | None = None, override: bool = False) -> Assignment:
    assignment_id = assignment if isinstance(assignment, str) else assignment.pk
    return actions.approve_assignment(
        actor=requester_actor(requester), requester=requester, environment=environment,
        assignment_id=assignment_id, feedback=feedback, override_rejection=override,
    )


def reject(requester: Requester, assignment: Assignment | str, *, environment: str = "live",
           feedback: str = "") -> Assignment:
    assignment_id = assignment if isinstance(assignment, str) else assignment.pk
    return actions.reject_assignment(
        actor=requester_actor(requester), requester=requester, environment=environment,
        assignment_id=assignment_id, feedback=feedback,
    )


def read_hit(hit: HIT | str) -> HIT:
    """The HIT as a reader (GetHIT) sees it: elapsed timers are settled first."""
    hit_id = hit if isinstance(hit, str) else hit.pk
    return actions.settle_if_due(HIT.objects.select_related("hit_type").get(pk=hit_id))


def view(hit: HIT | str) -> dict[str, Any]:
    """GetHIT's counters and status, read like a requester would, with the counter identity checked."""
    from kempelen.core import clock

    h = read_hit(hit)
    unreviewed = Assignment.objects.filter(hit=h, status=AssignmentStatus.SUBMITTED).count()
    out = {
        "status": h.status(clock.now()),
        "max": h.max_assignments,
        "available": h.available,
        "pending": h.pending,
        "completed": h.completed,
        "unreviewed": unreviewed,
    }
    assert h.max_assignments == h.available + h.pending + h.completed + unreviewed, out
    return out


def status_of(assignment: Assignment | str) -> str:
    assignment_id = assignment if isinstance(assignment, str) else assignment.pk
    return Assignment.objects.get(pk=assignment_id).status


def funds(requester: Requester, environment: str = "live") -> tuple[int, int]:
    """(available, on hold) in cents."""
    return requester_balances(requester, environment)


def earnings(worker: Worker, environment: str = "live") -> int:
    return balance(AccountKind.WORKER_EARNINGS, environment, worker=worker)


def platform_fees(environment: str = "live") -> int:
    return balance(AccountKind.PLATFORM_FEES, environment)


# --- through boto3 -----------------------------------------------------------------------------------------


def api_view(client: Any, hit_id: str) -> dict[str, Any]:
    """GetHIT through the API, with Max = Available + Pending + Completed + submitted-unreviewed checked
    (submitted-unreviewed read with ListAssignmentsForHIT, as psiTurk derives it)."""
    hit = client.get_hit(HITId=hit_id)["HIT"]
    submitted = client.list_assignments_for_hit(HITId=hit_id, AssignmentStatuses=["Submitted"])["Assignments"]
    out = {
        "status": hit["HITStatus"],
        "max": hit["MaxAssignments"],
        "available": hit["NumberOfAssignmentsAvailable"],
        "pending": hit["NumberOfAssignmentsPending"],
        "completed": hit["NumberOfAssignmentsCompleted"],
        "unreviewed": len(submitted),
    }
    assert out["max"] == out["available"] + out["pending"] + out["completed"] + out["unreviewed"], out
    return out


def api_funds(client: Any) -> tuple[str, str]:
    b = client.get_account_balance()
    return b["AvailableBalance"], b.get("OnHoldBalance", "")


def turk_error(excinfo: Any) -> tuple[str, str]:
    """(TurkErrorCode, message) of a botocore ClientError."""
    response = excinfo.value.response
    return response.get("TurkErrorCode") or response["Error"].get("Code", ""), response["Error"].get("Message", "")


def api_create(client: Any, *, reward: str = "0.50", max_assignments: int = 1, lifetime: int = 3600,
               duration: int = 600, **extra: Any) -> dict[str, Any]:
    return client.create_hit(
        Title="Label a picture", Description="Say what is in the picture", Reward=reward,
        LifetimeInSeconds=lifetime, AssignmentDurationInSeconds=duration, MaxAssignments=max_assignments,
        Question=QUESTION, **extra,
    )["HIT"]
