"""Qualification pages: the types a worker may request, requesting one, taking its test, and the worker's own
qualifications (custom grants, system values, requests).

Every change goes through ``kempelen.qualifications.actions``; the status shown next to each type ("you may
request again after …") is a reading of the worker's requests for display only — the action decides, and
its refusal is shown as it words it.

Decisions:

- The pages show the **live** environment, like the rest of the worker site. A test page opens for any of the
  worker's own requests; anyone else's request id, or an unknown one, is a 404.
- **Requestable** means an Active, non-deleted custom type of any requester. Types the worker can no longer
  request stay listed, with the reason, so a worker can see why.
- A **late hand-in** shows the test page again in its lapsed state, with the action's message (when the time
  ended), and nothing is kept. Handing in twice shows where the request stands.
- The **countdown** counts from the seconds left when the page was rendered (``data-seconds-left``), not
  from the browser's clock, which may disagree with the server's; the deadline itself is in a ``<time>``
  element, so the page says when the test ends without JavaScript too.
- File-upload questions cannot be answered in a qualification test (uploads belong to assignments); a test
  that has them says so above the form.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from kempelen.accounts.models import Worker
from kempelen.core import clock
from kempelen.core.actors import Actor
from kempelen.core.errors import (
    KempelenError,
    QualificationRequestDoesNotExist,
    QualificationTypeDoesNotExist,
)
from kempelen.qualifications import actions, system
from kempelen.qualifications.models import (
    Qualification,
    QualificationRequest,
    QualificationType,
    RequestState,
)
from kempelen.qualifications.queries import Value, worker_values
from kempelen.questions.formats import parse_test
from kempelen.questions.render import needs_file_upload, render_question_form

from .decorators import worker_required

ENVIRONMENT = "live"
PAGE_SIZE = 20
RECENT_REQUESTS = 20
MAX_QUERY = 200


def _actor(worker: Worker) -> Actor:
    return Actor.for_worker(worker)


# --- what the worker's requests say about a type ---------------------------------------------------------------


@dataclass
class TypeStatus:
    """Where a worker stands with one qualification type, as the pages show it."""

    qualification_type: QualificationType
    grant: Qualification | None
    latest: QualificationRequest | None
    now: dt.datetime

    @property
    def held(self) -> bool:
        return self.grant is not None and self.grant.status == "Granted"

    @property
    def revoked(self) -> bool:
        return self.grant is not None and self.grant.status == "Revoked"

    @property
    def test_running(self) -> bool:
        latest = self.latest
        return (latest is not None and latest.state == RequestState.TEST_IN_PROGRESS
                and latest.test_deadline is not None and latest.test_deadline > self.now)

    @property
    def state(self) -> str:
        """The latest request's state as it stands now: a test past its deadline has lapsed."""
        latest = self.latest
        if latest is None:
            return ""
        if latest.state == RequestState.TEST_IN_PROGRESS and not self.test_running:
            return RequestState.LAPSED.value
        return str(latest.state)

    @property
    def retry_at(self) -> dt.datetime | None:
        delay = self.qualification_type.retry_delay
        if delay is None or self.latest is None:
            return None
        return self.latest.created_at + dt.timedelta(seconds=delay)

    @property
    def may_request(self) -> bool:
        if self.state in (RequestState.PENDING, RequestState.TEST_IN_PROGRESS):
            return False
        if self.qualification_type.retry_delay is None:
            return self.latest is None and not self.held
        retry_at = self.retry_at
        return retry_at is None or retry_at <= self.now

    @property
    def never_again(self) -> bool:
        """The type allows one request, and the worker has made it (or holds the qualification already)."""
        return self.qualification_type.retry_delay is None and (self.latest is not None or self.held)


def _statuses(worker: Worker, types: Iterable[QualificationType]) -> list[TypeStatus]:
    types = list(types)
    ids = [qt.pk for qt in types]
    grants = {g.qualification_type_id: g for g in Qualification.objects.filter(worker=worker, qualification_type_id__in=ids)}
    latest: dict[str, QualificationRequest] = {}
    for qr in QualificationRequest.objects.filter(worker=worker, qualification_type_id__in=ids).order_by(
        "qualification_type_id", "-created_at", "-id"
    ):
        latest.setdefault(qr.qualification_type_id, qr)
    now = clock.now()
    return [TypeStatus(qt, grants.get(qt.pk), latest.get(qt.pk), now) for qt in types]


# --- requestable types ------------------------------------------------------------------------------------------


@worker_required
def requestable(request: HttpRequest, worker: Worker) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:MAX_QUERY]
    types = QualificationType.objects.filter(
        environment=ENVIRONMENT, deleted_at__isnull=True, status="Active"
    ).select_related("requester")
    for term in query.split():
        types = types.filter(Q(name__icontains=term) | Q(description__icontains=term) | Q(keywords__icontains=term))
    page = Paginator(types.order_by("name", "id"), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "worker_site/qualifications/requestable.html", {
        "nav": "qualifications", "section": "requestable", "q": query, "page": page,
        "rows": _statuses(worker, page.object_list), "here": request.get_full_path(),
    })


def _back(request: HttpRequest) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return reverse("worker:qualifications")


@worker_required
@require_POST
def request_qualification(request: HttpRequest, worker: Worker, type_id: str) -> HttpResponse:
    try:
        made = actions.request_qualification(
            actor=_actor(worker), worker=worker, qualification_type_id=type_id, environment=ENVIRONMENT
        )
    except QualificationTypeDoesNotExist:
        raise Http404("No such qualification type.") from None
    except KempelenError as error:
        messages.error(request, error.message)
        return redirect(_back(request))
    qt = made.qualification_type
    if made.state == RequestState.TEST_IN_PROGRESS:
        return redirect("worker:qualification_test", request_id=made.pk)
    if made.state == RequestState.GRANTED:
        messages.success(request, f"You now have the qualification \u201c{qt.name}\u201d with the value {made.score}.")
    else:
        messages.success(
            request,
            f"Your request for \u201c{qt.name}\u201d was sent to {qt.requester.display_name}. "
            "It is pending until they decide; we will email you when they do.",
        )
    return redirect(_back(request))


# --- taking a test -----------------------------------------------------------------------------------------------


@worker_required
def take_test(request: HttpRequest, worker: Worker, request_id: str) -> HttpResponse:
    own = QualificationRequest.objects.select_related("qualification_type__requester", "worker").filter(
        pk=request_id, worker=worker
    ).first()
    if own is None or not own.test:
        raise Http404("No such qualification test.")
    if request.method == "POST":
        return _hand_in(request, worker, own)
    return _test_page(request, own)


def _hand_in(request: HttpRequest, worker: Worker, own: QualificationRequest) -> HttpResponse:
    try:
        done = actions.submit_qualification_test(
            actor=_actor(worker), worker=worker, request_id=own.pk, posted=request.POST
        )
    except actions.QualificationTestAnswersInvalid as invalid:
        return _test_page(request, own, values=request.POST, errors=invalid.errors)
    except actions.QualificationTestExpired as expired:
        own.refresh_from_db()
        return _test_page(request, own, problem=expired.message)
    except actions.InvalidQualificationRequestState:
        messages.info(request, "This test can no longer be handed in (it was handed in already, or the request was decided); here is where your request stands.")
        return redirect("worker:qualification_test", request_id=own.pk)
    except QualificationRequestDoesNotExist:
        raise Http404("No such qualification test.") from None
    except KempelenError as error:
        own.refresh_from_db()
        return _test_page(request, own, problem=error.message)
    qt = done.qualification_type
    if done.state == RequestState.GRANTED:
        messages.success(request, f"Test handed in and scored: you now have \u201c{qt.name}\u201d with the value {done.score}.")
    else:
        messages.success(request, f"Test handed in. {qt.requester.display_name} will review your answers.")
    return redirect("worker:qualification_test", request_id=own.pk)


def _test_page(
    request: HttpRequest,
    own: QualificationRequest,
    *,
    values: Any = None,
    errors: dict[str, str] | None = None,
    problem: str = "",
) -> HttpResponse:
    qt = own.qualification_type
    status = TypeStatus(qt, None, own, clock.now())
    overall = _statuses(own.worker, [qt])[0]  # the grant, and whether a new request is possible
    context: dict[str, Any] = {
        "nav": "qualifications", "qt": qt, "qr": own, "state": status.state, "status": status, "overall": overall,
        "problem": problem, "here": request.path,
    }
    if status.state == RequestState.TEST_IN_PROGRESS:
        form = parse_test(own.test)
        assert own.test_deadline is not None
        context.update(
            form_html=render_question_form(form, values=values, errors=errors),
            multipart=needs_file_upload(form),
            errors=errors or {},
            seconds_left=max(0, int((own.test_deadline - status.now).total_seconds())),
        )
    return render(request, "worker_site/qualifications/test.html", context)


# --- the worker's own qualifications ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SystemRow:
    name: str
    type_id: str
    value: str
    note: str


def _system_rows(worker: Worker) -> list[SystemRow]:
    masters = system.masters_id(ENVIRONMENT)
    wanted = [system.LOCALE, system.ADULT, system.NUMBER_HITS_APPROVED, system.PERCENT_APPROVED, masters]
    values = worker_values(worker, ENVIRONMENT, wanted)

    def integer(type_id: str) -> int | None:
        value: Value | None = values.get(type_id)
        return None if value is None else value.integer

    locale = values.get(system.LOCALE)
    percent = integer(system.PERCENT_APPROVED)
    return [
        SystemRow(
            "Location (Worker_Locale)", system.LOCALE,
            (f"{locale.country}-{locale.subdivision}" if locale.subdivision else locale.country) if locale else "Not set",
            "From the country and subdivision in your profile." if locale
            else "Add your country in your profile: many HITs require a location.",
        ),
        SystemRow(
            "Adult content (Worker_Adult)", system.ADULT, str(integer(system.ADULT) or 0),
            "1: you agreed to see potentially offensive content (set in your profile); 0: you did not.",
        ),
        SystemRow(
            "Approved HITs (Worker_NumberHITsApproved)", system.NUMBER_HITS_APPROVED,
            str(integer(system.NUMBER_HITS_APPROVED) or 0), "How many of your assignments requesters approved.",
        ),
        SystemRow(
            "Approval rate (Worker_PercentAssignmentsApproved)", system.PERCENT_APPROVED,
            f"{percent if percent is not None else 100}%",
            f"Approved out of submitted assignments; it reads 100% until you have submitted "
            f"{system.PERCENT_APPROVED_MIN_SUBMITTED} assignments.",
        ),
        SystemRow(
            "Masters", masters, "Yes" if masters in values else "No",
            "Awarded by the operator of this Kempelen instance.",
        ),
    ]


@worker_required
def mine(request: HttpRequest, worker: Worker) -> HttpResponse:
    grants = list(
        Qualification.objects.filter(worker=worker, environment=ENVIRONMENT)
        .select_related("qualification_type__requester")
        .order_by("status", "qualification_type__name", "id")
    )
    requests = list(
        QualificationRequest.objects.filter(worker=worker, environment=ENVIRONMENT)
        .select_related("qualification_type__requester")
        .order_by("-created_at", "-id")
    )
    now = clock.now()
    open_requests = [
        TypeStatus(qr.qualification_type, None, qr, now) for qr in requests
        if qr.state == RequestState.PENDING
        or (qr.state == RequestState.TEST_IN_PROGRESS and qr.test_deadline is not None and qr.test_deadline > now)
    ]
    open_ids = {status.latest.pk for status in open_requests if status.latest is not None}
    earlier = [
        TypeStatus(qr.qualification_type, None, qr, now) for qr in requests if qr.pk not in open_ids
    ][:RECENT_REQUESTS]
    return render(request, "worker_site/qualifications/mine.html", {
        "nav": "qualifications", "section": "mine", "grants": grants, "system_rows": _system_rows(worker),
        "open_requests": open_requests, "earlier": earlier,
    })
