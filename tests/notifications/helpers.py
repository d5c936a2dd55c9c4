"""Driving HITs through their lifecycle the way workers and requesters do, for the notification and review tests."""

from __future__ import annotations

from typing import Any

from kempelen.accounts.models import Worker
from kempelen.core.actors import Actor
from kempelen.marketplace import actions
from kempelen.marketplace.models import Assignment
from kempelen.notifications.actions import EVENT_TYPES
from kempelen.notifications.models import OutboxEvent
from kempelen.questions.answers import answers_from_form_post

ALL_EVENTS = list(EVENT_TYPES)
SQS_QUEUE = "https://sqs.us-east-1.amazonaws.com/123456789012/kempelen-events"
SNS_TOPIC = "arn:aws:sns:us-east-1:123456789012:kempelen-events"

HTML_QUESTION = """<?xml version="1.0" encoding="UTF-8"?>
<HTMLQuestion xmlns="http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2011-11-11/HTMLQuestion.xsd">
  <HTMLContent><![CDATA[<!DOCTYPE html><html><body><form name="mturk_form" method="post" id="mturk_form"
  action="https://www.mturk.com/mturk/externalSubmit"><input type="hidden" value="" name="assignmentId" id="assignmentId"/>
  <p>What animal is in the picture?</p><input name="q1" type="text"/><input name="q2" type="text"/>
  <input type="submit" id="submitButton"/></form>
  <script src="https://s3.amazonaws.com/mturk-public/externalHIT_v1.js"></script><script>turkSetAssignmentID();</script>
  </body></html>]]></HTMLContent>
  <FrameHeight>450</FrameHeight>
</HTMLQuestion>"""


def spec(event_types: list[str] | None = None, *, destination: str = SQS_QUEUE, transport: str = "SQS",
         version: str = "2006-05-05") -> dict[str, Any]:
    return {"Destination": destination, "Transport": transport, "Version": version,
            "EventTypes": list(ALL_EVENTS if event_types is None else event_types)}


def hit_type(client: Any, *, reward: str = "0.10", duration: int = 60, auto_approval: int = 86_400,
             title: str = "Name the animal") -> str:
    return client.create_hit_type(
        Title=title, Description="Type the animal you see", Reward=reward,
        AssignmentDurationInSeconds=duration, AutoApprovalDelayInSeconds=auto_approval,
    )["HITTypeId"]


def create_hit(client: Any, hit_type_id: str, *, max_assignments: int = 1, lifetime: int = 3600,
               **extra: Any) -> str:
    return client.create_hit_with_hit_type(
        HITTypeId=hit_type_id, LifetimeInSeconds=lifetime, MaxAssignments=max_assignments,
        Question=HTML_QUESTION, **extra,
    )["HIT"]["HITId"]


def accept(worker: Worker, hit_id: str, environment: str = "live") -> str:
    return actions.accept_assignment(
        actor=Actor.for_worker(worker), worker=worker, environment=environment, hit_id=hit_id
    ).pk


def give_back(worker: Worker, assignment_id: str) -> None:
    actions.return_assignment(actor=Actor.for_worker(worker), worker=worker, assignment_id=assignment_id)


def submit(worker: Worker, assignment_id: str, **answers: str) -> Assignment:
    fields = [("assignmentId", assignment_id), *(answers or {"q1": "cat"}).items()]
    return actions.submit_assignment(
        actor=Actor.for_worker(worker), worker=worker, assignment_id=assignment_id,
        answer_xml=answers_from_form_post(fields),
    )


def work(worker: Worker, hit_id: str, environment: str = "live", **answers: str) -> str:
    """Accept and submit: the assignment id."""
    assignment_id = accept(worker, hit_id, environment)
    submit(worker, assignment_id, **answers)
    return assignment_id


def events(**filters: Any) -> list[tuple[str, str, str]]:
    """(event type, HIT id, assignment id) of the queued events, in the order they were queued."""
    return [(e.event_type, e.hit_id, e.assignment_id)
            for e in OutboxEvent.objects.filter(**filters).order_by("pk")]
