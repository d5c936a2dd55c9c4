"""The only code that changes qualification state: custom types, grants, and workers' requests and tests.

Every action is one transaction, locks the rows it checks (``select_for_update``; on SQLite the database write
lock serialises writers), writes an audit row, and queues emails to workers in the same transaction. Locks are
taken in one order everywhere: qualification type, then worker grant or request rows.

Tenancy: a requester only touches its own, non-deleted types in the environment it calls from, and the grants
and requests of those types. Another requester's id, an id from the other environment and a deleted type's id
all give exactly the error an unknown id gives (``QualificationTypeDoesNotExist``,
``QualificationRequestDoesNotExist``). A worker only touches its own requests.

Decisions where MTurk's record is silent (each visible to users):

- **Deleting a type** marks it deleted at once; its name is reusable **immediately** (MTurk took up to 48 hours;
  Kempelen is consistent at once). Pending requests *and* tests in progress are rejected with the reason
  :data:`DELETED_REASON` (no email: the worker's pages show it). Grants are kept, so HITs and HIT types that
  already require the type keep filtering exactly as before; new HITs cannot require it. HIT types are not
  deleted. For every API operation the deleted type behaves as an unknown one.
- **Values.** ``AssociateQualificationWithWorker`` and ``AcceptQualificationRequest`` without ``IntegerValue``
  grant the value 1 (oTree reports that MTurk refused a missing IntegerValue; 1 is MTurk's AutoGrantedValue
  default and what "has the qualification" requirements need). An auto-granted type without
  ``AutoGrantedValue`` grants 1.
- **Notifications.** A grant by Associate emails the worker unless ``SendNotification`` is false; accepting or
  rejecting a request and revoking a grant always email the worker (the reason, if any, included).
- **Revoking a revoked grant** succeeds and changes nothing (clients revoke in loops); revoking a grant that
  never existed is ``QualificationDoesNotExist``.
- **TestDurationInSeconds** is 1 to 31,536,000 (a year, the longest duration MTurk allowed anywhere). Given
  without any Test it is ignored, as is ``AnswerKey=""`` without a test. ``RetryDelayInSeconds`` must be 0 or
  more (0: retry at once).
- **Name** is 1 to 200 characters, compared exactly (case matters), unique per requester and environment among
  non-deleted types.
- **Requests.** With no ``RetryDelayInSeconds`` a worker may request a type once ever: a rejected, lapsed or
  granted request all count. With it, a new request is allowed once that many seconds have passed since the last
  request, even to retake a test the worker already passed (as MTurk allowed), but never while a request of the
  worker's is still pending or its test still running. A worker who already holds the qualification (granted
  directly) may not request a type that allows no retries. Inactive, deleted and system types cannot be
  requested.
- **Tests.** A request with a test stores the test as it was when the worker started; if the requester changes
  the Test meanwhile, the submitted answers are not scored with the new AnswerKey but wait for the requester
  (pending). A test submitted after its deadline is refused and the request lapses (even before the job runner
  gets to it). Scoring with an AnswerKey grants the computed value whatever it is, even a low one: HIT
  requirements filter on the value, as on MTurk.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Final

from django.db import IntegrityError, transaction

from kempelen.accounts.models import Requester, Worker
from kempelen.core import audit, clock, ids
from kempelen.core.actors import Actor
from kempelen.core.errors import (
    InvalidParameter,
    KempelenError,
    PermissionDenied,
    QualificationDoesNotExist,
    QualificationRequestDoesNotExist,
    QualificationTypeAlreadyExists,
    QualificationTypeDoesNotExist,
    WorkerDoesNotExist,
)
from kempelen.core.text import check_range, check_text
from kempelen.notifications.actions import queue_email
from kempelen.questions import answer_key as answer_keys
from kempelen.questions.answers import answers_as_mapping, answers_from_question_form
from kempelen.questions.formats import QuestionForm, parse_test

from . import system
from .models import Qualification, QualificationRequest, QualificationType, RequestState
from .queries import owned_type

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


# --- requester actions ----------------------------------------------------------------------------------


def create_qualification_type(
    *,
    actor: Actor,
    requester: Requester,
    environment: str,
    name: str,
    description: str,
    status: str = "Active",
    keywords: str | None = None,
    retry_delay: int | None = None,
    test: str | None = None,
    answer_key: str | None = None,
    test_duration: int | None = None,
    auto_granted: bool = False,
    auto_granted_value: int | None = None,
) -> QualificationType:
    """CreateQualificationType. The name must be new among the requester's non-deleted types."""
    name = check_text(name, "Name", max_length=MAX_NAME, required=True)
    description = check_text(description, "Description", max_length=MAX_DESCRIPTION, required=True)
    keywords = check_text(keywords, "Keywords", max_length=MAX_KEYWORDS)
    if status not in ("Active", "Inactive"):
        raise InvalidParameter("QualificationTypeStatus must be Active or Inactive.")
    retry_delay = _check_retry_delay(retry_delay)
    test = test if test and test.strip() else None
    answer_key = answer_key if answer_key and answer_key.strip() else None
    if test is None:
        if answer_key is not None:
            raise InvalidParameter("An AnswerKey can only be given together with a Test.")
        test_duration = None
    else:
        if auto_granted:
            raise _not_both_test_and_auto_granted()
        form, test_duration = _check_test(test, test_duration)
        if answer_key is not None:
            answer_keys.parse_answer_key(answer_key, form=form)
    with transaction.atomic():
        if QualificationType.objects.filter(
            requester=requester, environment=environment, name=name, deleted_at__isnull=True
        ).exists():
            raise QualificationTypeAlreadyExists()
        try:
            with transaction.atomic():
                qualification_type = QualificationType.objects.create(
                    id=ids.entity_id(), requester=requester, environment=environment, name=name,
                    description=description, keywords=keywords, status=status, test=test or "",
                    test_duration=test_duration, answer_key=answer_key or "", retry_delay=retry_delay,
                    auto_granted=bool(auto_granted), auto_granted_value=auto_granted_value, created_at=clock.now(),
                )
        except IntegrityError:  # the same name created concurrently
            raise QualificationTypeAlreadyExists() from None
        audit.record(actor, "create_qualification_type", environment=environment, target_type="QualificationType",
                     target_id=qualification_type.pk, name=name, status=status, has_test=bool(test),
                     auto_granted=bool(auto_granted))
        return qualification_type


def update_qualification_type(
    *,
    actor: Actor,
    requester: Requester,
    environment: str,
    qualification_type_id: str,
    description: Any = UNSET,
    status: Any = UNSET,
    test: Any = UNSET,
    answer_key: Any = UNSET,
    test_duration: Any = UNSET,
    retry_delay: Any = UNSET,
    auto_granted: Any = UNSET,
    auto_granted_value: Any = UNSET,
) -> QualificationType:
    """UpdateQualificationType. Arguments left ``UNSET`` keep their value; Name and Keywords never change.

    ``test`` of ``None`` or ``""`` asks to remove the test (refused if there is one); ``answer_key`` of ``None`` or
    ``""`` removes the key; ``retry_delay=None`` asks to switch retries off (refused once they are on). A new Test
    needs ``test_duration`` in the same call and drops the old AnswerKey unless a new one is given.
    """
    with transaction.atomic():
        qt = owned_type(requester, environment, qualification_type_id, lock=True)
        changed: dict[str, Any] = {}
        if description is not UNSET:
            qt.description = check_text(description, "Description", max_length=MAX_DESCRIPTION, required=True)
            changed["description"] = True
        if status is not UNSET:
            if status not in ("Active", "Inactive"):
                raise InvalidParameter("QualificationTypeStatus must be Active or Inactive.")
            qt.status = status
            changed["status"] = status
        if retry_delay is not UNSET:
            if retry_delay is None:
                if qt.retry_delay is not None:
                    raise InvalidParameter(
                        "Retries cannot be switched off once they are on. To stop retries, delete this "
                        "QualificationType and create a new one without RetryDelayInSeconds."
                    )
            else:
                qt.retry_delay = _check_retry_delay(retry_delay)
                changed["retry_delay"] = retry_delay
        new_test = test is not UNSET and bool(test and test.strip())
        if test is not UNSET and not new_test and qt.test:
            raise InvalidParameter("A Test cannot be removed from a QualificationType; give a new Test to change it.")
        wants_auto = qt.auto_granted if auto_granted is UNSET else bool(auto_granted)
        form: QuestionForm | None = None
        if new_test:
            if wants_auto:
                raise _not_both_test_and_auto_granted()
            form, qt.test_duration = _check_test(test, None if test_duration is UNSET else test_duration)
            qt.test = test
            changed["test"] = True
            if answer_key is UNSET:
                if qt.answer_key:
                    changed["answer_key"] = "removed"
                qt.answer_key = ""
        elif test_duration is not UNSET and qt.test:
            check_range(test_duration, "TestDurationInSeconds", 1, MAX_TEST_DURATION)
            qt.test_duration = test_duration
            changed["test_duration"] = test_duration
        if answer_key is not UNSET:
            if answer_key and answer_key.strip():
                if not qt.test:
                    raise InvalidParameter("An AnswerKey can only be given for a QualificationType with a Test.")
                answer_keys.parse_answer_key(answer_key, form=form or parse_test(qt.test))
                qt.answer_key = answer_key
                changed["answer_key"] = "set"
            elif qt.answer_key:
                qt.answer_key = ""
                changed["answer_key"] = "removed"
        if auto_granted is not UNSET:
            if wants_auto and qt.test:
                raise InvalidParameter("A QualificationType with a Test cannot become AutoGranted.")
            qt.auto_granted = wants_auto
            changed["auto_granted"] = wants_auto
        if auto_granted_value is not UNSET:
            qt.auto_granted_value = auto_granted_value
            changed["auto_granted_value"] = auto_granted_value
        qt.save()
        audit.record(actor, "update_qualification_type", environment=environment, target_type="QualificationType",
                     target_id=qt.pk, **changed)
        return qt


def delete_qualification_type(*, actor: Actor, requester: Requester, environment: str, qualification_type_id: str) -> None:
    """DeleteQualificationType: see the module docstring for what happens to grants, requests and the name."""
    with transaction.atomic():
        qt = owned_type(requester, environment, qualification_type_id, lock=True)
        now = clock.now()
        qt.deleted_at = now
        qt.save(update_fields=["deleted_at"])
        rejected = QualificationRequest.objects.filter(
            qualification_type=qt, state__in=(RequestState.PENDING, RequestState.TEST_IN_PROGRESS)
        ).update(state=RequestState.REJECTED, reason=DELETED_REASON, resolved_at=now)
        audit.record(actor, "delete_qualification_type", environment=environment, target_type="QualificationType",
                     target_id=qt.pk, name=qt.name, requests_rejected=rejected)


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


# --- worker actions -----------------------------------------------------------------------------------------


def _expired(request: QualificationRequest, now: dt.datetime) -> bool:
    return (
        request.state == RequestState.TEST_IN_PROGRESS
        and request.test_deadline is not None
        and request.test_deadline <= now
    )


def _lapse(request: QualificationRequest, now: dt.datetime, actor: Actor) -> None:
    request.state = RequestState.LAPSED
    request.resolved_at = now
    request.save(update_fields=["state", "resolved_at"])
    audit.record(actor, "lapse_qualification_test", environment=request.environment,
                 target_type="QualificationRequest", target_id=request.pk,
                 qualification_type_id=request.qualification_type_id)


def _check_may_request(
    qt: QualificationType, worker: Worker, now: dt.datetime, actor: Actor
) -> None:
    previous = list(
        QualificationRequest.objects.select_for_update()
        .filter(qualification_type=qt, worker=worker)
        .order_by("-created_at", "-id")
    )
    for request in previous:
        if _expired(request, now):
            _lapse(request, now, actor)
    if any(r.state in (RequestState.PENDING, RequestState.TEST_IN_PROGRESS) for r in previous):
        raise QualificationRetryNotAllowed(
            "You already have a request for this qualification that has not been decided yet."
        )
    if qt.retry_delay is None:
        if previous:
            raise QualificationRetryNotAllowed(
                "You have already requested this qualification, and it does not allow another request."
            )
        if Qualification.objects.filter(qualification_type=qt, worker=worker, status="Granted").exists():
            raise QualificationRetryNotAllowed("You already have this qualification.")
        return
    if previous:
        waited = (now - previous[0].created_at).total_seconds()
        if waited < qt.retry_delay:
            remaining = int(qt.retry_delay - waited + 0.999)
            raise QualificationRetryNotAllowed(
                f"You can request this qualification again {remaining} seconds from now "
                f"(it allows a new request {qt.retry_delay} seconds after the last one)."
            )


def request_qualification(
    *, actor: Actor, worker: Worker, qualification_type_id: str, environment: str | None = None
) -> QualificationRequest:
    """A worker asks for a qualification. Returns the request, whose ``state`` says what happened:

    - ``granted``: the type is auto-granted; the worker now holds it with the AutoGrantedValue (default 1);
    - ``test``: the type has a test; answer it with :func:`submit_qualification_test` before ``test_deadline``;
    - ``pending``: the requester decides (AcceptQualificationRequest or RejectQualificationRequest).

    ``environment``, when given, limits the lookup to that environment.
    """
    if system.is_system(qualification_type_id):
        raise QualificationTypeNotRequestable(
            "System qualifications cannot be requested: Kempelen computes them from your work history."
        )
    with transaction.atomic():
        qs = QualificationType.objects.select_for_update(of=("self",)).select_related("requester").filter(
            pk=qualification_type_id, deleted_at__isnull=True
        )
        if environment is not None:
            qs = qs.filter(environment=environment)
        qt = qs.first()
        if qt is None:
            raise QualificationTypeDoesNotExist(qualification_type_id)
        if qt.status != "Active":
            raise QualificationTypeNotRequestable("This qualification is not accepting requests at the moment.")
        now = clock.now()
        _check_may_request(qt, worker, now, actor)
        request = QualificationRequest(
            id=ids.entity_id(), qualification_type=qt, worker=worker, environment=qt.environment, created_at=now,
        )
        if qt.auto_granted:
            value = auto_granted_value(qt)
            request.state = RequestState.GRANTED
            request.submit_time = request.resolved_at = now
            request.score = value
            _grant(qt, worker, value, now)
        elif qt.test:
            assert qt.test_duration is not None
            request.state = RequestState.TEST_IN_PROGRESS
            request.test = qt.test
            request.test_deadline = now + dt.timedelta(seconds=qt.test_duration)
        else:
            request.state = RequestState.PENDING
            request.submit_time = now
        request.save(force_insert=True)
        audit.record(actor, "request_qualification", environment=qt.environment, target_type="QualificationRequest",
                     target_id=request.pk, qualification_type_id=qt.pk, worker_id=worker.worker_id,
                     state=state_name(request.state))
        return request


def submit_qualification_test(
    *,
    actor: Actor,
    worker: Worker,
    request_id: str,
    posted: Mapping[str, Any],
    files: Mapping[str, tuple[int, str]] | None = None,
) -> QualificationRequest:
    """A worker hands in a test. ``posted`` maps field names to lists of values (a QueryDict works).

    Raises :class:`QualificationTestAnswersInvalid` (its ``errors`` per QuestionIdentifier) when answers do not
    fit their questions, with nothing changed, so a page can show the test again. With an AnswerKey the answers
    are scored and the computed value granted (state ``granted``, ``score`` set); without one the request waits
    for the requester (state ``pending``).
    """
    expired_at: dt.datetime | None = None
    with transaction.atomic():
        qt, request = _locked_request(QualificationRequest.objects.filter(worker=worker), request_id)
        now = clock.now()
        if _expired(request, now):
            _lapse(request, now, actor)
            expired_at = request.test_deadline
        elif request.state == RequestState.LAPSED and request.test_deadline is not None:
            raise QualificationTestExpired(request.test_deadline)
        elif request.state != RequestState.TEST_IN_PROGRESS:
            raise InvalidQualificationRequestState(state_name(request.state), allowed="TestInProgress")
        else:
            form = parse_test(request.test)
            answer_xml, errors = answers_from_question_form(form, posted, files)
            if errors:
                raise QualificationTestAnswersInvalid(errors)
            request.answer = answer_xml
            request.submit_time = now
            scored = qt.answer_key and qt.test == request.test and qt.deleted_at is None
            if scored:
                key = answer_keys.parse_answer_key(qt.answer_key, form=form)
                value = answer_keys.score(key, answers_as_mapping(answer_xml))
                request.score = value
                request.state = RequestState.GRANTED
                request.resolved_at = now
                _grant(qt, worker, value, now)
            else:
                request.state = RequestState.PENDING
            request.save(update_fields=["answer", "submit_time", "score", "state", "resolved_at"])
            audit.record(actor, "submit_qualification_test", environment=request.environment,
                         target_type="QualificationRequest", target_id=request.pk, qualification_type_id=qt.pk,
                         worker_id=worker.worker_id, state=state_name(request.state), score=request.score)
            return request
    # The lapse is committed; only then refuse.
    assert expired_at is not None
    raise QualificationTestExpired(expired_at)


def lapse_expired_tests(*, actor: Actor = RUNNER, limit: int = LAPSE_BATCH) -> int:
    """Tests in progress past their deadline become lapsed. The job runner calls this on every pass.

    When nothing is due this is one read and nothing else. (The model has no index on ``(state, test_deadline)``
    yet, so that read scans the requests table; with one it becomes an index probe.) Each lapse is a
    conditional update, so several runners, or a worker handing in at the same moment, never lapse one request
    twice.
    """
    now = clock.now()
    due = list(
        QualificationRequest.objects.filter(state=RequestState.TEST_IN_PROGRESS, test_deadline__lte=now)
        .order_by("test_deadline")
        .values_list("pk", "environment", "qualification_type_id")[:limit]
    )
    if not due:
        return 0
    lapsed = 0
    with transaction.atomic():
        for pk, environment, type_id in due:
            if QualificationRequest.objects.filter(pk=pk, state=RequestState.TEST_IN_PROGRESS).update(
                state=RequestState.LAPSED, resolved_at=now
            ):
                lapsed += 1
                audit.record(actor, "lapse_qualification_test", environment=environment,
                             target_type="QualificationRequest", target_id=pk, qualification_type_id=type_id)
    return lapsed
