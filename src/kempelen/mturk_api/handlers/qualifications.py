"""Qualifications: 12 operations. Business rules live in ``qualifications.actions`` and ``.queries``.

Wire shapes follow the service model: every member optional, ``None`` values left out. A type's AnswerKey is
shown only to its owner (anyone may read a type, but the key would give away the test's answers).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from kempelen.accounts.models import Requester
from kempelen.core.errors import InvalidParameter, QualificationTypeDoesNotExist
from kempelen.qualifications import actions, queries, system
from kempelen.qualifications.models import (
    Qualification,
    QualificationRequest,
    QualificationType,
    RequestState,
)

from ..context import Call
from ..pagination import DEFAULT_PAGE_SIZE, listing, page
from ..wire import INVALID_TOKEN_MESSAGE, decode_token, encode_token

TYPE_ORDER = ("created_at", "id")
REQUEST_ORDER = ("created_at", "id")
GRANT_ORDER = ("id",)


# --- wire shapes ----------------------------------------------------------------------------------------------


def qualification_type(qt: QualificationType, viewer: Requester) -> dict:
    out: dict[str, Any] = {
        "QualificationTypeId": qt.pk,
        "CreationTime": qt.created_at,
        "Name": qt.name,
        "Description": qt.description,
        "Keywords": qt.keywords or "",
        "QualificationTypeStatus": qt.status,
        "RetryDelayInSeconds": qt.retry_delay,
        "IsRequestable": True,
        "AutoGranted": qt.auto_granted,
        "AutoGrantedValue": actions.auto_granted_value(qt) if qt.auto_granted else qt.auto_granted_value,
    }
    if qt.test:
        out["Test"] = qt.test
        out["TestDurationInSeconds"] = qt.test_duration
    if qt.answer_key and qt.requester_id == viewer.pk:
        out["AnswerKey"] = qt.answer_key
    return out


def qualification(grant: Qualification) -> dict:
    out: dict[str, Any] = {
        "QualificationTypeId": grant.qualification_type_id,
        "WorkerId": grant.worker.worker_id,
        "GrantTime": grant.grant_time,
        "Status": grant.status,
    }
    if grant.locale_country:
        out["LocaleValue"] = {"Country": grant.locale_country, "Subdivision": grant.locale_subdivision or None}
    else:
        out["IntegerValue"] = grant.integer_value
    return out


def qualification_request(request: QualificationRequest) -> dict:
    return {
        "QualificationRequestId": request.pk,
        "QualificationTypeId": request.qualification_type_id,
        "WorkerId": request.worker.worker_id,
        "Test": request.test or None,
        "Answer": request.answer or None,
        "SubmitTime": request.submit_time,
    }


# --- types -------------------------------------------------------------------------------------------------------


def create_qualification_type(call: Call, p: dict) -> dict:
    qt = actions.create_qualification_type(
        actor=call.actor,
        requester=call.requester,
        environment=call.environment,
        name=p["Name"],
        description=p["Description"],
        status=p["QualificationTypeStatus"],
        keywords=p.get("Keywords"),
        retry_delay=p.get("RetryDelayInSeconds"),
        test=p.get("Test"),
        answer_key=p.get("AnswerKey"),
        test_duration=p.get("TestDurationInSeconds"),
        auto_granted=bool(p.get("AutoGranted", False)),
        auto_granted_value=p.get("AutoGrantedValue"),
    )
    return {"QualificationType": qualification_type(qt, call.requester)}


def get_qualification_type(call: Call, p: dict) -> dict:
    type_id = p["QualificationTypeId"]
    builtin = system.get(type_id, call.environment)
    if builtin is not None:
        return {"QualificationType": builtin.as_wire()}
    qt = queries.visible_type(call.environment, type_id)
    if qt is None:
        raise QualificationTypeDoesNotExist(type_id)
    return {"QualificationType": qualification_type(qt, call.requester)}


_UPDATABLE = {
    "Description": "description",
    "QualificationTypeStatus": "status",
    "Test": "test",
    "AnswerKey": "answer_key",
    "TestDurationInSeconds": "test_duration",
    "RetryDelayInSeconds": "retry_delay",
    "AutoGranted": "auto_granted",
    "AutoGrantedValue": "auto_granted_value",
}


def update_qualification_type(call: Call, p: dict) -> dict:
    changes = {argument: p[member] for member, argument in _UPDATABLE.items() if member in p}
    qt = actions.update_qualification_type(
        actor=call.actor, requester=call.requester, environment=call.environment,
        qualification_type_id=p["QualificationTypeId"], **changes,
    )
    return {"QualificationType": qualification_type(qt, call.requester)}


def _search_scope(call: Call, must_be_requestable: bool, must_be_owned: bool, query: str | None) -> str:
    # Short (the scope travels inside a 255-character token) yet specific to this search.
    digest = hashlib.sha256(
        json.dumps([call.requester.pk, call.environment, must_be_requestable, must_be_owned, query or ""]).encode()
    ).hexdigest()[:16]
    return f"qtypes:{digest}"


def list_qualification_types(call: Call, p: dict) -> dict:
    """System types (when included) come first, then custom types oldest first; one token walks both."""
    must_be_requestable = bool(p["MustBeRequestable"])
    must_be_owned = bool(p.get("MustBeOwnedByCaller", False))
    builtins, qs = queries.type_search(
        call.requester, call.environment, must_be_requestable=must_be_requestable, must_be_owned=must_be_owned,
        query=p.get("Query"),
    )
    scope = _search_scope(call, must_be_requestable, must_be_owned, p.get("Query"))
    size = p.get("MaxResults") or DEFAULT_PAGE_SIZE
    start = 0
    custom_params: dict[str, Any] = {}
    if p.get("NextToken"):
        position = decode_token(p["NextToken"])
        if position.get("s") != scope:
            raise InvalidParameter(INVALID_TOKEN_MESSAGE)
        if "sys" in position:
            start = int(position["sys"])
        else:
            start = len(builtins)
            custom_params["NextToken"] = p["NextToken"]
    shown = builtins[start:start + size]
    items: list[dict] = [t.as_wire() for t in shown]
    token: str | None = None
    if len(shown) < size:
        custom_params["MaxResults"] = size - len(shown)
        rows, token = page(qs, custom_params, order=TYPE_ORDER, scope=scope)
        items += [qualification_type(qt, call.requester) for qt in rows]
    if items and token is None:
        token = encode_token({"s": scope, "sys": start + len(shown)})
    return listing(items, token, "QualificationTypes", lambda item: item)


def delete_qualification_type(call: Call, p: dict) -> dict:
    actions.delete_qualification_type(
        actor=call.actor, requester=call.requester, environment=call.environment,
        qualification_type_id=p["QualificationTypeId"],
    )
    return {}


# --- grants ------------------------------------------------------------------------------------------------------


def associate_qualification_with_worker(call: Call, p: dict) -> dict:
    actions.associate_qualification_with_worker(
        actor=call.actor, requester=call.requester, environment=call.environment,
        qualification_type_id=p["QualificationTypeId"], worker_id=p["WorkerId"],
        integer_value=p.get("IntegerValue"), send_notification=bool(p.get("SendNotification", True)),
    )
    return {}


def disassociate_qualification_from_worker(call: Call, p: dict) -> dict:
    actions.disassociate_qualification_from_worker(
        actor=call.actor, requester=call.requester, environment=call.environment,
        qualification_type_id=p["QualificationTypeId"], worker_id=p["WorkerId"], reason=p.get("Reason"),
    )
    return {}


def get_qualification_score(call: Call, p: dict) -> dict:
    grant = queries.granted_qualification(call.requester, call.environment, p["QualificationTypeId"], p["WorkerId"])
    return {"Qualification": qualification(grant)}


def list_workers_with_qualification_type(call: Call, p: dict) -> dict:
    qt = queries.owned_type(call.requester, call.environment, p["QualificationTypeId"])
    qs = Qualification.objects.filter(qualification_type=qt).select_related("worker")
    status = p.get("Status")
    if status:
        qs = qs.filter(status=status)
    grants, token = page(qs, p, order=GRANT_ORDER, scope=f"quals:{qt.pk}:{status or ''}")
    return listing(grants, token, "Qualifications", qualification)


# --- requests ----------------------------------------------------------------------------------------------------


def list_qualification_requests(call: Call, p: dict) -> dict:
    qs = QualificationRequest.objects.filter(
        environment=call.environment, state=RequestState.PENDING, qualification_type__requester=call.requester,
        qualification_type__environment=call.environment, qualification_type__deleted_at__isnull=True,
    ).select_related("worker")
    type_id = p.get("QualificationTypeId")
    if type_id:
        qs = qs.filter(qualification_type=queries.owned_type(call.requester, call.environment, type_id))
    requests, token = page(qs, p, order=REQUEST_ORDER, scope=f"qrequests:{type_id or ''}")
    return listing(requests, token, "QualificationRequests", qualification_request)


def accept_qualification_request(call: Call, p: dict) -> dict:
    actions.accept_qualification_request(
        actor=call.actor, requester=call.requester, environment=call.environment,
        request_id=p["QualificationRequestId"], integer_value=p.get("IntegerValue"),
    )
    return {}


def reject_qualification_request(call: Call, p: dict) -> dict:
    actions.reject_qualification_request(
        actor=call.actor, requester=call.requester, environment=call.environment,
        request_id=p["QualificationRequestId"], reason=p.get("Reason"),
    )
    return {}
