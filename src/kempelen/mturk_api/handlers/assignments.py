"""Assignments: GetAssignment, ListAssignmentsForHIT, ApproveAssignment, RejectAssignment."""

from __future__ import annotations

from kempelen.core import clock
from kempelen.core.errors import AssignmentDoesNotExist
from kempelen.marketplace import actions
from kempelen.marketplace.models import VISIBLE_STATUSES, Assignment

from .. import serializers
from ..context import Call
from ..pagination import listing, page
from .hits import _own_hit


def get_assignment(call: Call, p: dict) -> dict:
    assignment_id = p["AssignmentId"]
    found = Assignment.objects.filter(
        pk=assignment_id, requester=call.requester, environment=call.environment
    ).values_list("hit_id", flat=True).first()
    if found is None:
        raise AssignmentDoesNotExist(assignment_id)
    hit = _own_hit(call, found)
    assignment = Assignment.objects.select_related("worker").filter(pk=assignment_id, status__in=VISIBLE_STATUSES).first()
    if assignment is None:  # accepted but not submitted: not visible to the requester
        raise AssignmentDoesNotExist(assignment_id)
    return {"Assignment": serializers.assignment(assignment), "HIT": serializers.hit(hit, clock.now())}


def list_assignments_for_hit(call: Call, p: dict) -> dict:
    hit = _own_hit(call, p["HITId"])
    statuses = p.get("AssignmentStatuses") or list(VISIBLE_STATUSES)
    qs = Assignment.objects.filter(hit=hit, status__in=statuses).select_related("worker")
    items, token = page(qs, p, order=("accept_time", "id"), scope=f"assignments:{hit.pk}:{','.join(sorted(statuses))}")
    return listing(items, token, "Assignments", serializers.assignment)


def approve_assignment(call: Call, p: dict) -> dict:
    actions.approve_assignment(
        actor=call.actor, requester=call.requester, environment=call.environment,
        assignment_id=p["AssignmentId"], feedback=p.get("RequesterFeedback"),
        override_rejection=bool(p.get("OverrideRejection", False)),
    )
    return {}


def reject_assignment(call: Call, p: dict) -> dict:
    actions.reject_assignment(
        actor=call.actor, requester=call.requester, environment=call.environment,
        assignment_id=p["AssignmentId"], feedback=p["RequesterFeedback"],
    )
    return {}
