"""Workers' actions: request a qualification, take its test; and lapsing tests past their deadline."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.db import transaction

from kempelen.accounts.models import Worker
from kempelen.core import audit, clock, ids
from kempelen.core.actors import Actor
from kempelen.core.errors import (
    QualificationTypeDoesNotExist,
)
from kempelen.questions import answer_key as answer_keys
from kempelen.questions.answers import answers_as_mapping, answers_from_question_form
from kempelen.questions.formats import parse_test

from .. import system
from ..models import Qualification, QualificationRequest, QualificationType, RequestState
from .common import (
    LAPSE_BATCH,
    RUNNER,
    InvalidQualificationRequestState,
    QualificationRetryNotAllowed,
    QualificationTestAnswersInvalid,
    QualificationTestExpired,
    QualificationTypeNotRequestable,
    _grant,
    _locked_request,
    auto_granted_value,
    state_name,
)


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
