"""HITs and HIT types: 12 operations."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q

from kempelen.core import clock, lookups
from kempelen.core.errors import HITDoesNotExist, InvalidParameter, QualificationTypeDoesNotExist
from kempelen.core.money import parse_amount
from kempelen.marketplace import actions
from kempelen.marketplace.models import HIT, HITType
from kempelen.marketplace.queries import described_hit_type
from kempelen.qualifications import system
from kempelen.qualifications.models import QualificationType

from .. import serializers, validation
from ..context import Call
from ..pagination import listing, page

HIT_ORDER = ("created_at", "id")


def _timestamp(value: object, field: str) -> dt.datetime:
    """A request timestamp as validation accepted it: epoch seconds (int or float) or an ISO-8601 string."""
    try:
        return validation.parse_timestamp(value)
    except (TypeError, ValueError, OverflowError) as error:
        raise InvalidParameter(f"{field} must be a timestamp (seconds since the epoch).") from error


def _hit_type_from(call: Call, p: dict) -> HITType:
    return actions.create_hit_type(
        actor=call.actor,
        requester=call.requester,
        environment=call.environment,
        title=p["Title"],
        description=p["Description"],
        reward_cents=parse_amount(p["Reward"]),
        assignment_duration=p["AssignmentDurationInSeconds"],
        auto_approval_delay=p.get("AutoApprovalDelayInSeconds"),
        keywords=p.get("Keywords"),
        qualification_requirements=p.get("QualificationRequirements"),
    )


def _create(call: Call, hit_type: HITType, p: dict) -> dict:
    hit = actions.create_hit(
        actor=call.actor,
        requester=call.requester,
        environment=call.environment,
        hit_type=hit_type,
        lifetime=p["LifetimeInSeconds"],
        max_assignments=p.get("MaxAssignments"),
        question=p.get("Question"),
        layout_id=p.get("HITLayoutId"),
        layout_parameters=p.get("HITLayoutParameters"),
        requester_annotation=p.get("RequesterAnnotation"),
        unique_request_token=p.get("UniqueRequestToken"),
        assignment_review_policy=p.get("AssignmentReviewPolicy"),
        hit_review_policy=p.get("HITReviewPolicy"),
    )
    return {"HIT": serializers.hit(hit, clock.now())}


def create_hit(call: Call, p: dict) -> dict:
    return _create(call, _hit_type_from(call, p), p)


def create_hit_type(call: Call, p: dict) -> dict:
    return {"HITTypeId": _hit_type_from(call, p).pk}


def create_hit_with_hit_type(call: Call, p: dict) -> dict:
    return _create(call, actions.get_hit_type(call.requester, call.environment, p["HITTypeId"]), p)


def _own_hit(call: Call, hit_id: str) -> HIT:
    hit = lookups.one(HIT, "id = %s AND requester_id = %s AND environment = %s",
                      [hit_id, call.requester.pk, call.environment])
    if hit is None:
        raise HITDoesNotExist(hit_id)
    hit.hit_type = described_hit_type(hit.hit_type_id)
    return actions.settle_if_due(hit)


def get_hit(call: Call, p: dict) -> dict:
    return {"HIT": serializers.hit(_own_hit(call, p["HITId"]), clock.now())}


def _hits_page(call: Call, p: dict, qs, scope: str) -> dict:  # type: ignore[no-untyped-def]
    hits, token = page(qs.select_related("hit_type"), p, order=HIT_ORDER, scope=scope)
    hits = [actions.settle_if_due(h) for h in hits]
    now = clock.now()
    return listing(hits, token, "HITs", lambda h: serializers.hit(h, now))


def _own_hits(call: Call):  # type: ignore[no-untyped-def]
    return HIT.objects.filter(requester=call.requester, environment=call.environment)


def list_hits(call: Call, p: dict) -> dict:
    return _hits_page(call, p, _own_hits(call).filter(disposed_at__isnull=True), "hits")


def list_reviewable_hits(call: Call, p: dict) -> dict:
    status = p.get("Status") or "Reviewable"
    # A filter on the counters must see what has already happened (an abandonment, an auto-approval).
    actions.settle_due_for_requester(call.requester, call.environment)
    own = _own_hits(call).filter(disposed_at__isnull=True)
    now = clock.now()
    # Reviewable: nothing pending and either expired or no slot left.
    qs = own.filter(pending=0, reviewing=(status == "Reviewing")).filter(Q(expiration__lte=now) | Q(available=0))
    if p.get("HITTypeId"):
        qs = qs.filter(hit_type_id=p["HITTypeId"])
    return _hits_page(call, p, qs, f"reviewable:{status}:{p.get('HITTypeId', '')}")


def list_hits_for_qualification_type(call: Call, p: dict) -> dict:
    type_id = p["QualificationTypeId"]
    known = (
        system.get(type_id, call.environment) is not None
        or type_id in system.RETIRED_MASTERS
        or QualificationType.objects.filter(pk=type_id, environment=call.environment, deleted_at__isnull=True).exists()
    )
    if not known:
        raise QualificationTypeDoesNotExist(type_id)
    # The text match narrows the HIT types in the database; the exact test on the requirements follows.
    candidates = HITType.objects.filter(
        requester=call.requester, environment=call.environment, qualification_requirements__icontains=type_id
    ).only("id", "qualification_requirements")
    type_ids = [
        t.pk for t in candidates
        if any(r["QualificationTypeId"] == type_id for r in t.qualification_requirements or [])
    ]
    qs = _own_hits(call).filter(disposed_at__isnull=True, hit_type_id__in=type_ids)
    return _hits_page(call, p, qs, f"forqual:{type_id}")


def update_expiration_for_hit(call: Call, p: dict) -> dict:
    actions.update_expiration(
        actor=call.actor, requester=call.requester, environment=call.environment, hit_id=p["HITId"],
        expire_at=_timestamp(p["ExpireAt"], "ExpireAt"),
    )
    return {}


def create_additional_assignments_for_hit(call: Call, p: dict) -> dict:
    actions.create_additional_assignments(
        actor=call.actor, requester=call.requester, environment=call.environment, hit_id=p["HITId"],
        count=p["NumberOfAdditionalAssignments"], unique_request_token=p.get("UniqueRequestToken"),
    )
    return {}


def update_hit_review_status(call: Call, p: dict) -> dict:
    actions.update_review_status(
        actor=call.actor, requester=call.requester, environment=call.environment, hit_id=p["HITId"],
        revert=bool(p.get("Revert", False)),
    )
    return {}


def update_hit_type_of_hit(call: Call, p: dict) -> dict:
    actions.update_hit_type_of_hit(
        actor=call.actor, requester=call.requester, environment=call.environment, hit_id=p["HITId"],
        hit_type_id=p["HITTypeId"],
    )
    return {}


def delete_hit(call: Call, p: dict) -> dict:
    actions.delete_hit(actor=call.actor, requester=call.requester, environment=call.environment, hit_id=p["HITId"])
    return {}
