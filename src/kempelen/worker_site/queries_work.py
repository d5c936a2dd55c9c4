"""Reads for the pages where workers find and do work."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Avg, Count, DurationField, ExpressionWrapper, F, Q

from kempelen.accounts.models import Requester, Worker
from kempelen.marketplace.models import Assignment, HITType
from kempelen.marketplace.queries import HITGroup, describe_requirement
from kempelen.qualifications.queries import requirement_met, worker_values


@dataclass(frozen=True)
class RequesterRecord:
    reviewed: int
    approved: int
    average_time_to_approve: dt.timedelta | None

    @property
    def approval_rate(self) -> int | None:
        return round(100 * self.approved / self.reviewed) if self.reviewed else None


@dataclass(frozen=True)
class RequirementView:
    text: str
    met: bool


@dataclass(frozen=True)
class GroupView:
    group: HITGroup
    requester: Requester
    record: RequesterRecord
    requirements: list[RequirementView]

    @property
    def hit_type(self) -> HITType:
        return self.group.hit_type

    @property
    def qualified(self) -> bool:
        return all(r.met for r in self.requirements)


def requester_records(requester_ids: set[int], environment: str) -> dict[int, RequesterRecord]:
    """Each requester's record with workers: share of reviewed work approved, and how long approval takes."""
    waited = ExpressionWrapper(F("approval_time") - F("submit_time"), output_field=DurationField())
    rows = (
        Assignment.objects.filter(requester_id__in=requester_ids, environment=environment,
                                  status__in=("Approved", "Rejected"))
        .values("requester_id")
        .annotate(
            reviewed=Count("id"),
            approved=Count("id", filter=Q(status="Approved")),
            wait=Avg(waited, filter=Q(status="Approved")),
        )
    )
    records = {r["requester_id"]: RequesterRecord(r["reviewed"], r["approved"], r["wait"]) for r in rows}
    return {rid: records.get(rid, RequesterRecord(0, 0, None)) for rid in requester_ids}


def requirement_views(hit_type: HITType, worker: Worker) -> list[RequirementView]:
    requirements = hit_type.qualification_requirements or []
    if not requirements:
        return []
    values = worker_values(worker, hit_type.environment, {r["QualificationTypeId"] for r in requirements})
    return [
        RequirementView(describe_requirement(r, hit_type.environment),
                        requirement_met(r, values.get(r["QualificationTypeId"])))
        for r in requirements
    ]


def group_views(groups: list[HITGroup], worker: Worker, environment: str) -> list[GroupView]:
    requester_ids = {g.hit_type.requester_id for g in groups}
    requesters = Requester.objects.in_bulk(requester_ids)
    records = requester_records(requester_ids, environment)
    return [
        GroupView(g, requesters[g.hit_type.requester_id], records[g.hit_type.requester_id],
                  requirement_views(g.hit_type, worker))
        for g in groups
    ]
