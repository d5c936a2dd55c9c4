"""Pieces shared by the qualification actions: limits, the errors this app adds, checks and lookups."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Final

from kempelen.accounts.models import Requester, Worker
from kempelen.core.actors import Actor
from kempelen.core.errors import (
    InvalidParameter,
    KempelenError,
    PermissionDenied,
    QualificationRequestDoesNotExist,
    WorkerDoesNotExist,
)
from kempelen.core.text import check_range
from kempelen.notifications.actions import queue_email
from kempelen.questions.formats import QuestionForm, parse_test

from ..models import Qualification, QualificationRequest, QualificationType, RequestState

MAX_NAME = 200
MAX_DESCRIPTION = 2000
MAX_KEYWORDS = 1000
MAX_REASON = 4096
MAX_TEST_DURATION = 31_536_000
DEFAULT_VALUE = 1
DELETED_REASON = "The requester deleted this qualification type."
LAPSE_BATCH = 500
RUNNER: Final = Actor.system("job-runner")


class _Unset:
    """Marks an update argument that was not given (``None`` has a meaning of its own there)."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = _Unset()


# --- errors this app adds ----------------------------------------------------------------------------------


class InvalidQualificationRequestState(KempelenError):
    code = "InvalidQualificationRequestState"

    def __init__(self, current: str, allowed: str = "Pending") -> None:
        super().__init__(
            f"This QualificationRequest is currently in the state '{current}'. "
            f"This operation can be called with a status of: {allowed}"
        )


class QualificationTypeNotRequestable(KempelenError):
    code = "QualificationTypeNotRequestable"


class QualificationRetryNotAllowed(KempelenError):
    code = "QualificationRetryNotAllowed"


class QualificationTestExpired(KempelenError):
    code = "QualificationTestExpired"

    def __init__(self, deadline: dt.datetime) -> None:
        super().__init__(
            f"The time allowed for this qualification test ended at {deadline:%Y-%m-%d %H:%M:%S} UTC; "
            "the answers were not accepted."
        )


class QualificationTestAnswersInvalid(KempelenError):
    """Some answers do not fit their questions. ``errors`` maps each QuestionIdentifier to what to change."""

    code = "QualificationTestAnswersInvalid"

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = dict(errors)
        listed = "; ".join(f"{identifier}: {message}" for identifier, message in self.errors.items())
        super().__init__(f"Some answers need changing before the test can be submitted. {listed}")


_STATE_NAMES: dict[str, str] = {
    RequestState.TEST_IN_PROGRESS.value: "TestInProgress",
    RequestState.PENDING.value: "Pending",
    RequestState.GRANTED.value: "Granted",
    RequestState.REJECTED.value: "Rejected",
    RequestState.LAPSED.value: "Lapsed",
}


def state_name(state: str) -> str:
    """A request state as users read it (``Pending``, ``TestInProgress``…)."""
    return _STATE_NAMES.get(str(state), str(state))


# --- checks shared by create and update ------------------------------------------------------------------


def _check_test(test: str, duration: int | None) -> tuple[QuestionForm, int]:
    form = parse_test(test)
    if duration is None:
        raise InvalidParameter("TestDurationInSeconds is required when a Test is given.")
    check_range(duration, "TestDurationInSeconds", 1, MAX_TEST_DURATION)
    return form, duration


def _check_retry_delay(retry_delay: int | None) -> int | None:
    if retry_delay is not None and retry_delay < 0:
        raise InvalidParameter(f"RetryDelayInSeconds must be 0 or more; got {retry_delay}.")
    return retry_delay


def _not_both_test_and_auto_granted() -> InvalidParameter:
    return InvalidParameter(
        "A QualificationType cannot have both a Test and AutoGranted set to true: "
        "workers either take the test or are granted the qualification at once."
    )


def _system_refused(type_id: str, what: str) -> PermissionDenied:
    return PermissionDenied(
        f"QualificationType {type_id} is a system qualification type; its values are computed by Kempelen from "
        f"each worker's record, so they cannot be {what}."
    )


# --- lookups ----------------------------------------------------------------------------------------------


def _locked_request(qs: Any, request_id: str) -> tuple[QualificationType, QualificationRequest]:
    """Lock a request's type, then the request (the lock order every action keeps)."""
    type_id = qs.filter(pk=request_id).values_list("qualification_type_id", flat=True).first()
    if type_id is None:
        raise QualificationRequestDoesNotExist(request_id)
    qt = QualificationType.objects.select_for_update(of=("self",)).select_related("requester").get(pk=type_id)
    request = qs.select_for_update(of=("self",)).select_related("worker").filter(pk=request_id).first()
    if request is None:  # its type was deleted meanwhile
        raise QualificationRequestDoesNotExist(request_id)
    request.qualification_type = qt
    return qt, request


def _owned_request(
    requester: Requester, environment: str, request_id: str
) -> tuple[QualificationType, QualificationRequest]:
    """A request for one of the requester's own non-deleted types; anything else does not exist."""
    return _locked_request(
        QualificationRequest.objects.filter(
            environment=environment, qualification_type__requester=requester,
            qualification_type__environment=environment, qualification_type__deleted_at__isnull=True,
        ),
        request_id,
    )


def _worker(worker_id: str) -> Worker:
    worker = Worker.objects.filter(worker_id=worker_id).first()
    if worker is None:
        raise WorkerDoesNotExist(worker_id)
    return worker


def _grant(qualification_type: QualificationType, worker: Worker, value: int, now: dt.datetime) -> Qualification:
    """Create the worker's grant or re-grant it (Granted, a new GrantTime, the new value)."""
    grant = Qualification.objects.select_for_update().filter(qualification_type=qualification_type, worker=worker).first()
    if grant is None:
        return Qualification.objects.create(
            qualification_type=qualification_type, worker=worker, environment=qualification_type.environment,
            integer_value=value, status="Granted", grant_time=now,
        )
    grant.integer_value = value
    grant.status = "Granted"
    grant.grant_time = now
    grant.reason = ""
    grant.save(update_fields=["integer_value", "status", "grant_time", "reason"])
    return grant


def _email(qualification_type: QualificationType, worker: Worker, kind: str, subject: str, body: str) -> None:
    queue_email(
        worker=worker, environment=qualification_type.environment, kind=kind, requester=qualification_type.requester,
        subject=subject, body=body,
    )


def _granted_email(qualification_type: QualificationType, worker: Worker, value: int) -> None:
    _email(
        qualification_type, worker, "qualification_granted",
        f"You have been granted the qualification \u201c{qualification_type.name}\u201d",
        f"{qualification_type.requester.display_name} granted you the qualification "
        f"\u201c{qualification_type.name}\u201d with the value {value}.",
    )


def auto_granted_value(qualification_type: QualificationType) -> int:
    value = qualification_type.auto_granted_value
    return DEFAULT_VALUE if value is None else value


