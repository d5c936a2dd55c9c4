"""Requesters' actions on grants and requests: associate, disassociate, accept, reject."""

from __future__ import annotations

from django.db import transaction

from kempelen.accounts.models import Requester
from kempelen.core import audit, clock
from kempelen.core.actors import Actor
from kempelen.core.errors import (
    QualificationDoesNotExist,
)
from kempelen.core.text import check_text

from .. import system
from ..models import Qualification, RequestState
from ..queries import owned_type
from .common import (
    DEFAULT_VALUE,
    MAX_REASON,
    InvalidQualificationRequestState,
    _email,
    _grant,
    _granted_email,
    _owned_request,
    _system_refused,
    _worker,
    state_name,
)


def associate_qualification_with_worker(
    *,
    actor: Actor,
    requester: Requester,
    environment: str,
    qualification_type_id: str,
    worker_id: str,
    integer_value: int | None = None,
    send_notification: bool = True,
) -> Qualification:
    """Grant (or re-grant, with a new GrantTime) the requester's own type to a worker. Requests are untouched."""
    if system.is_system(qualification_type_id):
        raise _system_refused(qualification_type_id, "granted")
    value = DEFAULT_VALUE if integer_value is None else integer_value
    with transaction.atomic():
        qt = owned_type(requester, environment, qualification_type_id, lock=True)
        worker = _worker(worker_id)
        grant = _grant(qt, worker, value, clock.now())
        audit.record(actor, "associate_qualification", environment=environment, target_type="QualificationType",
                     target_id=qt.pk, worker_id=worker_id, value=value, notified=bool(send_notification))
        if send_notification:
            _granted_email(qt, worker, value)
        return grant


def disassociate_qualification_from_worker(
    *,
    actor: Actor,
    requester: Requester,
    environment: str,
    qualification_type_id: str,
    worker_id: str,
    reason: str | None = None,
) -> None:
    """Revoke a worker's grant of the requester's own type; the reason is shown to the worker."""
    if system.is_system(qualification_type_id):
        raise _system_refused(qualification_type_id, "revoked")
    reason = check_text(reason, "Reason", max_length=MAX_REASON)
    with transaction.atomic():
        qt = owned_type(requester, environment, qualification_type_id, lock=True)
        grant = (
            Qualification.objects.select_for_update(of=("self",)).select_related("worker")
            .filter(qualification_type=qt, worker__worker_id=worker_id).first()
        )
        if grant is None:
            raise QualificationDoesNotExist()
        if grant.status == "Revoked":
            return
        grant.status = "Revoked"
        grant.reason = reason
        grant.save(update_fields=["status", "reason"])
        audit.record(actor, "disassociate_qualification", environment=environment, target_type="QualificationType",
                     target_id=qt.pk, worker_id=worker_id, reason=reason)
        _email(
            qt, grant.worker, "qualification_revoked",
            f"Your qualification \u201c{qt.name}\u201d was revoked",
            f"{requester.display_name} revoked your qualification \u201c{qt.name}\u201d."
            + (f"\n\nReason: {reason}" if reason else ""),
        )


def accept_qualification_request(
    *, actor: Actor, requester: Requester, environment: str, request_id: str, integer_value: int | None = None
) -> Qualification:
    """Grant a pending request; the value (1 if omitted) overwrites any value the worker already has."""
    value = DEFAULT_VALUE if integer_value is None else integer_value
    with transaction.atomic():
        qt, request = _owned_request(requester, environment, request_id)
        if request.state != RequestState.PENDING:
            raise InvalidQualificationRequestState(state_name(request.state))
        now = clock.now()
        grant = _grant(qt, request.worker, value, now)
        request.state = RequestState.GRANTED
        request.resolved_at = now
        request.save(update_fields=["state", "resolved_at"])
        audit.record(actor, "accept_qualification_request", environment=environment,
                     target_type="QualificationRequest", target_id=request.pk, qualification_type_id=qt.pk,
                     worker_id=request.worker.worker_id, value=value)
        _granted_email(qt, request.worker, value)
        return grant


def reject_qualification_request(
    *, actor: Actor, requester: Requester, environment: str, request_id: str, reason: str | None = None
) -> None:
    """Deny a pending request; the reason is shown to the worker."""
    reason = check_text(reason, "Reason", max_length=MAX_REASON)
    with transaction.atomic():
        qt, request = _owned_request(requester, environment, request_id)
        if request.state != RequestState.PENDING:
            raise InvalidQualificationRequestState(state_name(request.state))
        request.state = RequestState.REJECTED
        request.reason = reason
        request.resolved_at = clock.now()
        request.save(update_fields=["state", "reason", "resolved_at"])
        audit.record(actor, "reject_qualification_request", environment=environment,
                     target_type="QualificationRequest", target_id=request.pk, qualification_type_id=qt.pk,
                     worker_id=request.worker.worker_id, reason=reason)
        _email(
            qt, request.worker, "qualification_rejected",
            f"Your request for the qualification \u201c{qt.name}\u201d was not granted",
            f"{requester.display_name} did not grant your request for the qualification \u201c{qt.name}\u201d."
            + (f"\n\nReason: {reason}" if reason else ""),
        )


