"""Requesters' actions on their qualification types: create, update, delete."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction

from kempelen.accounts.models import Requester
from kempelen.core import audit, clock, ids
from kempelen.core.actors import Actor
from kempelen.core.errors import (
    InvalidParameter,
    QualificationTypeAlreadyExists,
)
from kempelen.core.text import check_range, check_text
from kempelen.questions import answer_key as answer_keys
from kempelen.questions.formats import QuestionForm, parse_test

from ..models import QualificationRequest, QualificationType, RequestState
from ..queries import owned_type
from .common import (
    DELETED_REASON,
    MAX_DESCRIPTION,
    MAX_KEYWORDS,
    MAX_NAME,
    MAX_TEST_DURATION,
    UNSET,
    _check_retry_delay,
    _check_test,
    _not_both_test_and_auto_granted,
)


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


