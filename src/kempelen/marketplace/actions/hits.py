"""Requester actions on HIT types and HITs: create, extend, expire, re-type, review status, delete."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

from django.db import IntegrityError, transaction

from kempelen.accounts.models import Requester
from kempelen.core import audit, clock, idempotency, ids, lookups
from kempelen.core.actors import Actor
from kempelen.core.errors import (
    DuplicateRequest,
    HitAlreadyExists,
    HITLayoutDoesNotExist,
    HITTypeDoesNotExist,
    InvalidHITState,
    InvalidParameter,
    InvalidQuestion,
)
from kempelen.core.money import reward_fee
from kempelen.core.text import check_range, check_text
from kempelen.notifications.actions import emit
from kempelen.qualifications.requirements import uses_masters, validate_requirements
from kempelen.questions.formats import parse_question
from kempelen.questions.layouts import layout_as_html_question, render_layout

from .. import review_policies
from ..files import discard_hit_files
from ..models import HIT, HITLayout, HITStatus, HITType
from ._lifecycle import (
    add_slots,
    bring_forward,
    lock_hit,
    release_cents,
    release_slots,
    reopen_if_assignable,
    reserve_cents,
    reserve_slots,
    settle_expiry,
    settle_first,
    signal_status,
)

MAX_SECONDS = 31_536_000
MAX_QUESTION_BYTES = 65_535
THIRTY_DAYS = 2_592_000


def _fingerprint(**attrs: object) -> str:
    return hashlib.sha256(json.dumps(attrs, sort_keys=True, default=str).encode()).hexdigest()


#: CreateHITType's and CreateHIT's limits (the requester site's project forms check the same).
MAX_TITLE = 128
MAX_DESCRIPTION = 2000
MAX_KEYWORDS = 1000
MAX_ASSIGNMENTS = 1_000_000_000


def check_reward(reward_cents: int) -> None:
    """Refuse a reward below the instance's minimum (``KEMPELEN_MINIMUM_REWARD_CENTS``)."""
    from django.conf import settings

    minimum = int(str(settings.KEMPELEN["MINIMUM_REWARD_CENTS"]))
    if reward_cents < minimum:
        raise InvalidParameter(f"Reward must be at least {minimum / 100:.2f}.")


def create_hit_type(
    *,
    actor: Actor,
    requester: Requester,
    environment: str,
    title: str,
    description: str,
    reward_cents: int,
    assignment_duration: int,
    auto_approval_delay: int | None = None,
    keywords: str | None = None,
    qualification_requirements: list[dict] | None = None,
) -> HITType:
    """Register a HIT type; identical attributes give back the existing type, as MTurk did."""
    title = check_text(title, "Title", max_length=MAX_TITLE, required=True)
    description = check_text(description, "Description", max_length=MAX_DESCRIPTION, required=True)
    keywords = check_text(keywords, "Keywords", max_length=MAX_KEYWORDS)
    check_range(assignment_duration, "AssignmentDurationInSeconds", 30, MAX_SECONDS)
    delay = THIRTY_DAYS if auto_approval_delay is None else auto_approval_delay
    check_range(delay, "AutoApprovalDelayInSeconds", 0, THIRTY_DAYS)
    check_reward(reward_cents)
    with transaction.atomic():
        requirements = validate_requirements(qualification_requirements, environment)
        fingerprint = _fingerprint(
            title=title, description=description, keywords=keywords, reward=reward_cents,
            duration=assignment_duration, delay=delay, requirements=requirements,
        )
        existing = HITType.objects.filter(requester=requester, environment=environment, fingerprint=fingerprint).first()
        if existing:
            return existing
        try:
            with transaction.atomic():
                hit_type = HITType.objects.create(
                    id=ids.entity_id(), group_id=ids.entity_id(), requester=requester, environment=environment,
                    title=title, description=description, keywords=keywords, reward_cents=reward_cents,
                    assignment_duration=assignment_duration, auto_approval_delay=delay,
                    qualification_requirements=requirements, fingerprint=fingerprint, created_at=clock.now(),
                )
        except IntegrityError:  # created concurrently with the same attributes
            return HITType.objects.get(requester=requester, environment=environment, fingerprint=fingerprint)
        audit.record(actor, "create_hit_type", environment=environment, target_type="HITType", target_id=hit_type.pk)
        return hit_type


def get_hit_type(requester: Requester, environment: str, hit_type_id: str) -> HITType:
    hit_type = lookups.one(HITType, "id = %s AND requester_id = %s AND environment = %s",
                           [hit_type_id, requester.pk, environment])
    if hit_type is None:
        raise HITTypeDoesNotExist(hit_type_id)
    return hit_type


def _question_for(
    requester: Requester, environment: str, question: str | None, layout_id: str | None, params: list[dict] | None
) -> tuple[str, HITLayout | None, dict | None]:
    if bool(question) == bool(layout_id):
        raise InvalidParameter("Provide exactly one of Question or HITLayoutId.")
    if question:
        if len(question.encode()) > MAX_QUESTION_BYTES:
            raise InvalidQuestion(f"Question must be at most {MAX_QUESTION_BYTES} bytes; got {len(question.encode())}.")
        parse_question(question)
        if params:
            raise InvalidParameter("HITLayoutParameters can only be used with HITLayoutId.")
        return question, None, None
    layout = HITLayout.objects.filter(pk=layout_id, requester=requester, environment=environment).first()
    if layout is None:
        raise HITLayoutDoesNotExist(str(layout_id))
    values: dict[str, str] = {}
    for p in params or []:
        if p["Name"] in values:
            raise InvalidParameter(f"HITLayoutParameter {p['Name']!r} is given more than once.")
        values[p["Name"]] = p["Value"]
    xml = layout_as_html_question(render_layout(layout.html, values), layout.frame_height)
    if len(xml.encode()) > MAX_QUESTION_BYTES:
        raise InvalidQuestion(f"The HIT's question after substituting HITLayoutParameters is larger than {MAX_QUESTION_BYTES} bytes.")
    return xml, layout, values


def create_hit(
    *,
    actor: Actor,
    requester: Requester,
    environment: str,
    hit_type: HITType,
    lifetime: int,
    max_assignments: int | None = None,
    question: str | None = None,
    layout_id: str | None = None,
    layout_parameters: list[dict] | None = None,
    requester_annotation: str | None = None,
    unique_request_token: str | None = None,
    assignment_review_policy: dict | None = None,
    hit_review_policy: dict | None = None,
) -> HIT:
    """Create a HIT of ``hit_type`` and hold what its slots could cost in escrow."""
    check_range(lifetime, "LifetimeInSeconds", 30, MAX_SECONDS)
    max_assignments = 1 if max_assignments is None else max_assignments
    check_range(max_assignments, "MaxAssignments", 1, MAX_ASSIGNMENTS)
    annotation = check_text(requester_annotation, "RequesterAnnotation", max_length=255)
    xml, layout, values = _question_for(requester, environment, question, layout_id, layout_parameters)
    review_policies.parse_assignment_policy(assignment_review_policy)
    review_policies.parse_hit_policy(hit_review_policy)
    now = clock.now()
    with transaction.atomic():
        if unique_request_token:
            previous = idempotency.previous_result(requester, environment, "hit", unique_request_token)
            if previous is not None:
                raise HitAlreadyExists(unique_request_token, previous)
        reward = hit_type.reward_cents
        unit = reward + reward_fee(reward, max_assignments, masters=uses_masters(hit_type.qualification_requirements))
        hit = HIT(
            id=ids.entity_id(), hit_type=hit_type, requester=requester, environment=environment,
            layout=layout, layout_parameters=values, question=xml, requester_annotation=annotation,
            max_assignments=max_assignments, available=max_assignments, created_at=now,
            expiration=now + dt.timedelta(seconds=lifetime), unit_cost_cents=unit, next_due_at=None,
            assignment_review_policy=assignment_review_policy, hit_review_policy=hit_review_policy,
            last_activity_at=now,
        )
        hit.next_due_at = hit.expiration
        # Escrow first (it may refuse for lack of funds), so the HIT is inserted once with what it holds.
        reserve_slots(hit, max_assignments, actor=actor, why="create")
        hit.save(force_insert=True)
        if unique_request_token and not idempotency.remember(
            requester, environment, "hit", unique_request_token, hit.pk
        ):
            previous = idempotency.previous_result(requester, environment, "hit", unique_request_token)
            raise HitAlreadyExists(unique_request_token, previous or "")
        audit.record(actor, "create_hit", environment=environment, target_type="HIT", target_id=hit.pk,
                     hit_type_id=hit_type.pk, max_assignments=max_assignments, escrow_cents=hit.escrow_cents)
        emit(hit_type, "HITCreated", hit_id=hit.pk, at=now)
    return hit


def update_expiration(*, actor: Actor, requester: Requester, environment: str, hit_id: str, expire_at: dt.datetime) -> HIT:
    """Expire a HIT now (a time at or before now) or extend its lifetime; a future expiry is never shortened."""
    settle_first(hit_id)
    with transaction.atomic():
        hit = lock_hit(hit_id, requester=requester, environment=environment)
        now = clock.now()
        if hit.disposed_at is not None:
            raise InvalidHITState("Disposed", "Assignable, Unassignable, Reviewable, Reviewing")
        if expire_at <= now:
            if not hit.is_expired(now):
                hit.expiration = now
                hit.save(update_fields=["expiration"])
                settle_expiry(hit, actor=actor)
                audit.record(actor, "update_expiration", environment=environment, target_type="HIT",
                             target_id=hit.pk, expire_at=now.isoformat())
            signal_status(hit, actor=actor)
            return hit
        if expire_at > now + dt.timedelta(seconds=MAX_SECONDS):
            raise InvalidParameter("ExpireAt may be at most 365 days in the future.")
        if not hit.is_expired(now) and expire_at < hit.expiration:
            raise InvalidParameter(
                f"The expiration of HIT {hit.pk} can be extended but not shortened: it expires at "
                f"{hit.expiration.isoformat()}; to expire it now, use a time in the past."
            )
        if hit.expiry_settled:
            reserve_slots(hit, hit.available, actor=actor, why="extend")
            hit.expiry_settled = False
        hit.expiration = expire_at
        reopen_if_assignable(hit)
        bring_forward(hit, expire_at)
        hit.last_activity_at = now
        hit.save(update_fields=["expiration", "expiry_settled", "reviewing", "escrow_cents", "next_due_at", "last_activity_at"])
        audit.record(actor, "update_expiration", environment=environment, target_type="HIT", target_id=hit.pk,
                     expire_at=expire_at.isoformat())
        emit(hit.hit_type, "HITExtended", hit_id=hit.pk)
        signal_status(hit, actor=actor)
        return hit


def create_additional_assignments(
    *,
    actor: Actor,
    requester: Requester,
    environment: str,
    hit_id: str,
    count: int,
    unique_request_token: str | None = None,
) -> HIT:
    check_range(count, "NumberOfAdditionalAssignments", 1, MAX_ASSIGNMENTS)
    settle_first(hit_id)
    with transaction.atomic():
        hit = lock_hit(hit_id, requester=requester, environment=environment)
        if unique_request_token:
            # Claimed before anything changes: a concurrent request with the same token waits on the unique
            # index, and fails once this one commits.
            if idempotency.previous_result(requester, environment, "assignments", unique_request_token) is not None:
                raise DuplicateRequest(unique_request_token)
            if not idempotency.remember(requester, environment, "assignments", unique_request_token, hit.pk):
                raise DuplicateRequest(unique_request_token)
        if hit.disposed_at is not None:
            raise InvalidHITState("Disposed", "Assignable, Unassignable, Reviewable, Reviewing")
        add_slots(hit, count, actor=actor, why="add")
        hit.last_activity_at = clock.now()
        hit.save(update_fields=["max_assignments", "available", "reviewing", "escrow_cents", "last_activity_at"])
        audit.record(actor, "create_additional_assignments", environment=environment, target_type="HIT",
                     target_id=hit.pk, count=count)
        emit(hit.hit_type, "HITExtended", hit_id=hit.pk)
        signal_status(hit, actor=actor)
        return hit


def update_review_status(*, actor: Actor, requester: Requester, environment: str, hit_id: str, revert: bool) -> HIT:
    settle_first(hit_id)
    with transaction.atomic():
        hit = lock_hit(hit_id, requester=requester, environment=environment)
        status = hit.status(clock.now())
        wanted = HITStatus.REVIEWING if revert else HITStatus.REVIEWABLE
        if status != wanted:
            raise InvalidHITState(status, wanted)
        hit.reviewing = not revert
        hit.save(update_fields=["reviewing"])
        audit.record(actor, "update_hit_review_status", environment=environment, target_type="HIT",
                     target_id=hit.pk, revert=revert)
        return hit


def update_hit_type_of_hit(
    *, actor: Actor, requester: Requester, environment: str, hit_id: str, hit_type_id: str
) -> HIT:
    """Move a HIT to another of the requester's HIT types; escrow for its unresolved slots is re-priced."""
    settle_first(hit_id)
    with transaction.atomic():
        new_type = get_hit_type(requester, environment, hit_type_id)
        hit = lock_hit(hit_id, requester=requester, environment=environment)
        if hit.disposed_at is not None:
            raise InvalidHITState("Disposed", "Assignable, Unassignable, Reviewable, Reviewing")
        reward = new_type.reward_cents
        new_unit = reward + reward_fee(reward, hit.max_assignments, masters=uses_masters(new_type.qualification_requirements))
        held_slots = hit.pending + hit.submitted + (0 if hit.expiry_settled else hit.available)
        old_type_id = hit.hit_type_id
        difference = held_slots * (new_unit - hit.unit_cost_cents)
        if difference > 0:
            reserve_cents(hit, difference, actor=actor, why=f"retype:{new_type.pk}")
        elif difference < 0:
            release_cents(hit, -difference, actor=actor, why=f"retype:{new_type.pk}")
        hit.hit_type = new_type
        hit.unit_cost_cents = new_unit
        hit.save(update_fields=["hit_type", "unit_cost_cents", "escrow_cents"])
        audit.record(actor, "update_hit_type_of_hit", environment=environment, target_type="HIT", target_id=hit.pk,
                     old_hit_type_id=old_type_id, new_hit_type_id=new_type.pk)
        return hit


def delete_hit(*, actor: Actor, requester: Requester, environment: str, hit_id: str) -> HIT:
    """Dispose of a reviewable HIT whose submitted assignments have all been approved or rejected."""
    settle_first(hit_id)
    with transaction.atomic():
        hit = lock_hit(hit_id, requester=requester, environment=environment)
        status = hit.status(clock.now())
        if status not in (HITStatus.REVIEWABLE, HITStatus.REVIEWING):
            raise InvalidHITState(status, "Reviewing, Reviewable")
        if hit.submitted:
            raise InvalidHITState(
                status,
                "Reviewing, Reviewable, once every submitted assignment has been approved or rejected "
                f"({hit.submitted} still to review)",
            )
        # Nothing is pending or unreviewed; what is still held is for unfilled slots of an unexpired HIT.
        release_slots(hit, 0 if hit.expiry_settled else hit.available, actor=actor, why="dispose")
        hit.disposed_at = clock.now()
        hit.next_due_at = None
        hit.save(update_fields=["disposed_at", "escrow_cents", "next_due_at"])
        discarded = discard_hit_files(hit.pk)
        audit.record(actor, "delete_hit", environment=environment, target_type="HIT", target_id=hit.pk,
                     files_discarded=discarded)
        emit(hit.hit_type, "HITDisposed", hit_id=hit.pk)
        return hit
