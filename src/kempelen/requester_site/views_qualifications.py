"""The qualification pages: a requester's qualification types (list, create, edit), who holds each one (grant,
revoke), and the queue of workers' pending requests (read the test answers, accept with a value, reject).

A type is the requester's own, non-deleted, in the environment it works in, or a 404 (``owned_type``); so is a
request of anything else. Every change goes through ``kempelen.qualifications.actions``, which checks tenancy
too; refusals are shown next to the form that caused them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from kempelen.core.errors import (
    KempelenError,
    QualificationRequestDoesNotExist,
    QualificationTypeAlreadyExists,
    QualificationTypeDoesNotExist,
    WorkerDoesNotExist,
)
from kempelen.qualifications import actions
from kempelen.qualifications.models import (
    Qualification,
    QualificationRequest,
    QualificationType,
    RequestState,
)
from kempelen.qualifications.queries import owned_type
from kempelen.questions.answers import parse_answers
from kempelen.questions.formats import QuestionForm, parse_test
from kempelen.questions.questionform import SelectionAnswer, Text

from . import queries_workers
from .decorators import RequesterContext, requester_required
from .forms_qualifications import (
    AcceptRequestForm,
    GrantForm,
    QualificationTypeEditForm,
    QualificationTypeForm,
    RejectRequestForm,
    RevokeGrantForm,
    split_seconds,
)
from .views_workers import actor_for, pager

TYPES_PER_PAGE = 50
HOLDERS_PER_PAGE = 50
REQUESTS_PER_PAGE = 20
HOLDER_FILTERS = (("granted", "Holding it"), ("revoked", "Revoked"), ("all", "All"))


def _owned(ctx: RequesterContext, type_id: str) -> QualificationType:
    try:
        return owned_type(ctx.requester, ctx.environment, type_id)
    except QualificationTypeDoesNotExist:
        raise Http404("No such qualification type.") from None


# --- the list --------------------------------------------------------------------------------------------------


@dataclass
class TypeRow:
    qt: QualificationType
    holders: int
    pending: int


@require_safe
@requester_required
def type_list(request: HttpRequest, ctx: RequesterContext) -> HttpResponse:
    types = queries_workers.own_types(ctx.requester, ctx.environment).order_by("name", "id")
    page = Paginator(types, TYPES_PER_PAGE).get_page(request.GET.get("page"))
    shown: list[QualificationType] = list(page.object_list)
    ids = [qt.pk for qt in shown]
    holders = dict(Qualification.objects.filter(qualification_type_id__in=ids, status="Granted")
                   .values("qualification_type_id").annotate(n=Count("id")).values_list("qualification_type_id", "n"))
    pending = dict(QualificationRequest.objects.filter(qualification_type_id__in=ids, state=RequestState.PENDING)
                   .values("qualification_type_id").annotate(n=Count("id")).values_list("qualification_type_id", "n"))
    rows = [TypeRow(qt, holders.get(qt.pk, 0), pending.get(qt.pk, 0)) for qt in shown]
    return render(request, "requester_site/qualifications/list.html", {
        "nav": "qualifications", "rows": rows, "page": page, "pager": pager(request, page),
    })


# --- create ------------------------------------------------------------------------------------------------------


@require_http_methods(["GET", "HEAD", "POST"])
@requester_required
def type_create(request: HttpRequest, ctx: RequesterContext) -> HttpResponseBase:
    posted = request.method == "POST"
    form = QualificationTypeForm(request.POST if posted else None)
    if posted and form.is_valid():
        data = form.cleaned_data
        granting = data["granting"]
        try:
            qt = actions.create_qualification_type(
                actor=actor_for(ctx), requester=ctx.requester, environment=ctx.environment,
                name=data["name"], description=data["description"], status=data["status"],
                keywords=data["keywords"] or None, retry_delay=data["retry_delay_seconds"],
                test=data["test"] if granting == "test" else None,
                answer_key=data["answer_key"] if granting == "test" else None,
                test_duration=data.get("test_duration_seconds") if granting == "test" else None,
                auto_granted=granting == "auto",
                auto_granted_value=data["auto_value"] if granting == "auto" else None,
            )
        except QualificationTypeAlreadyExists:
            form.add_error("name", "You already have a qualification type with this name here; choose another.")
        except KempelenError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, f"The qualification type \u201c{qt.name}\u201d was created.")
            return redirect("requester:qualification", type_id=qt.pk)
    return render(request, "requester_site/qualifications/create.html", {"nav": "qualifications", "form": form})


# --- one type: properties, edit, holders --------------------------------------------------------------------------


def _edit_initial(qt: QualificationType) -> dict[str, Any]:
    amount, unit = split_seconds(qt.retry_delay)
    return {"description": qt.description, "status": qt.status,
            "retries": "never" if qt.retry_delay is None else "after",
            "retry_delay": amount, "retry_delay_unit": unit}


def _detail(request: HttpRequest, ctx: RequesterContext, qt: QualificationType, *,
            edit: forms.Form | None = None, grant: forms.Form | None = None,
            revoke: forms.Form | None = None, revoke_worker: str = "") -> HttpResponse:
    shown_filter = request.GET.get("holders", "granted")
    if shown_filter not in dict(HOLDER_FILTERS):
        shown_filter = "granted"
    grants = Qualification.objects.filter(qualification_type=qt).select_related("worker").order_by("-grant_time", "-id")
    if shown_filter != "all":
        grants = grants.filter(status="Granted" if shown_filter == "granted" else "Revoked")
    page = Paginator(grants, HOLDERS_PER_PAGE).get_page(request.GET.get("page"))
    holders = []
    for grant_row in page.object_list:
        form = revoke if revoke is not None and revoke_worker == grant_row.worker.worker_id else RevokeGrantForm(
            prefix=f"revoke-{grant_row.pk}", initial={"worker_id": grant_row.worker.worker_id}
        )
        holders.append({"grant": grant_row, "revoke_form": form})
    pending = QualificationRequest.objects.filter(qualification_type=qt, state=RequestState.PENDING).count()
    return render(request, "requester_site/qualifications/detail.html", {
        "nav": "qualifications", "qt": qt, "holders": holders, "page": page, "pager": pager(request, page),
        "holder_filters": HOLDER_FILTERS, "holder_filter": shown_filter, "pending": pending,
        "edit_form": edit or QualificationTypeEditForm(initial=_edit_initial(qt)),
        "grant_form": grant or GrantForm(),
    })


@require_safe
@requester_required
def type_detail(request: HttpRequest, ctx: RequesterContext, type_id: str) -> HttpResponse:
    return _detail(request, ctx, _owned(ctx, type_id))


def _back(qt: QualificationType, anchor: str = "") -> HttpResponseBase:
    return redirect(reverse("requester:qualification", args=[qt.pk]) + (f"#{anchor}" if anchor else ""))


@require_POST
@requester_required
def type_edit(request: HttpRequest, ctx: RequesterContext, type_id: str) -> HttpResponseBase:
    qt = _owned(ctx, type_id)
    form = QualificationTypeEditForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            actions.update_qualification_type(
                actor=actor_for(ctx), requester=ctx.requester, environment=ctx.environment,
                qualification_type_id=qt.pk, description=data["description"], status=data["status"],
                retry_delay=data["retry_delay_seconds"],
            )
        except KempelenError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, f"\u201c{qt.name}\u201d was saved.")
            return _back(qt)
    return _detail(request, ctx, qt, edit=form)


@require_POST
@requester_required
def grant(request: HttpRequest, ctx: RequesterContext, type_id: str) -> HttpResponseBase:
    qt = _owned(ctx, type_id)
    form = GrantForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            actions.associate_qualification_with_worker(
                actor=actor_for(ctx), requester=ctx.requester, environment=ctx.environment,
                qualification_type_id=qt.pk, worker_id=data["worker_id"], integer_value=data["value"],
                send_notification=data["notify"],
            )
        except WorkerDoesNotExist:
            form.add_error("worker_id", f"No worker has the ID {data['worker_id']}.")
        except KempelenError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, f"{data['worker_id']} now has \u201c{qt.name}\u201d with the value {data['value']}.")
            return _back(qt, "holders")
    return _detail(request, ctx, qt, grant=form)


@require_POST
@requester_required
def revoke(request: HttpRequest, ctx: RequesterContext, type_id: str) -> HttpResponseBase:
    qt = _owned(ctx, type_id)
    prefix = next((key.removesuffix("-worker_id") for key in request.POST if key.endswith("-worker_id")), None)
    form = RevokeGrantForm(request.POST, prefix=prefix)
    worker_id = request.POST.get(f"{prefix}-worker_id", "") if prefix else ""
    if form.is_valid():
        try:
            actions.disassociate_qualification_from_worker(
                actor=actor_for(ctx), requester=ctx.requester, environment=ctx.environment,
                qualification_type_id=qt.pk, worker_id=worker_id, reason=form.cleaned_data["reason"],
            )
        except KempelenError as error:
            messages.error(request, f"{worker_id}: {error.message}")
        else:
            messages.success(request, f"\u201c{qt.name}\u201d was revoked from {worker_id}.")
        return _back(qt, "holders")
    return _detail(request, ctx, qt, revoke=form, revoke_worker=worker_id)


# --- the queue of pending requests --------------------------------------------------------------------------------


@dataclass
class AnswerView:
    label: str
    question: str
    answer: str


def _question_text(form: QuestionForm, identifier: str) -> tuple[str, str, dict[str, str]]:
    try:
        question = form.question(identifier)
    except KeyError:
        return identifier, "", {}
    text = " ".join(item.text for item in question.content if isinstance(item, Text))
    labels: dict[str, str] = {}
    if isinstance(question.answer, SelectionAnswer):
        labels = {s.identifier: s.label for s in question.answer.selections if isinstance(s.label, str)}
    return question.display_name or identifier, text, labels


def test_answers(request_row: QualificationRequest, forms_by_test: dict[str, QuestionForm | None]) -> list[AnswerView]:
    """The worker's answers to a test, each with its question, as the requester reads them."""
    if not request_row.answer:
        return []
    if request_row.test not in forms_by_test:
        try:
            forms_by_test[request_row.test] = parse_test(request_row.test)
        except KempelenError:
            forms_by_test[request_row.test] = None
    form = forms_by_test[request_row.test]
    try:
        answers = parse_answers(request_row.answer)
    except KempelenError:
        return [AnswerView("Answers", "", request_row.answer)]
    views = []
    for answer in answers:
        label, question, labels = _question_text(form, answer.identifier) if form else (answer.identifier, "", {})
        if answer.free_text is not None:
            shown = answer.free_text
        else:
            picked = [labels.get(s, s) for s in answer.selection_identifiers]
            if answer.other_selection_text:
                picked.append(f"Other: {answer.other_selection_text}")
            shown = ", ".join(picked)
        views.append(AnswerView(label, question, shown or "(no answer)"))
    return views


def _queue(request: HttpRequest, ctx: RequesterContext, qt: QualificationType, *,
           bound: dict[str, forms.Form] | None = None, bound_request: str = "") -> HttpResponse:
    pending = (QualificationRequest.objects.filter(qualification_type=qt, state=RequestState.PENDING)
               .select_related("worker").order_by("submit_time", "created_at", "id"))
    page = Paginator(pending, REQUESTS_PER_PAGE).get_page(request.GET.get("page"))
    parsed: dict[str, QuestionForm | None] = {}
    rows = []
    for row in page.object_list:
        forms_here = bound if bound is not None and bound_request == row.pk else {}
        rows.append({
            "request": row,
            "answers": test_answers(row, parsed),
            "accept_form": forms_here.get("accept") or AcceptRequestForm(
                prefix=f"accept-{row.pk}", initial={"value": actions.auto_granted_value(qt) if qt.auto_granted else 1}
            ),
            "reject_form": forms_here.get("reject") or RejectRequestForm(prefix=f"reject-{row.pk}"),
        })
    return render(request, "requester_site/qualifications/requests.html", {
        "nav": "qualifications", "qt": qt, "rows": rows, "page": page, "pager": pager(request, page),
    })


@require_safe
@requester_required
def request_queue(request: HttpRequest, ctx: RequesterContext, type_id: str) -> HttpResponse:
    return _queue(request, ctx, _owned(ctx, type_id))


@require_POST
@requester_required
def decide_request(request: HttpRequest, ctx: RequesterContext, type_id: str, request_id: str) -> HttpResponseBase:
    qt = _owned(ctx, type_id)
    pending = QualificationRequest.objects.filter(pk=request_id, qualification_type=qt).select_related("worker").first()
    if pending is None:
        raise Http404("No such qualification request.")
    back = redirect("requester:qualification_requests", type_id=qt.pk)
    if pending.state != RequestState.PENDING:
        messages.info(request, f"The request of {pending.worker.worker_id} was already decided.")
        return back
    decision = request.POST.get("decision")
    form: forms.Form
    if decision == "accept":
        form = AcceptRequestForm(request.POST, prefix=f"accept-{pending.pk}")
    elif decision == "reject":
        form = RejectRequestForm(request.POST, prefix=f"reject-{pending.pk}")
    else:
        messages.error(request, "Choose to accept or reject the request.")
        return back
    if not form.is_valid():
        return _queue(request, ctx, qt, bound={decision: form}, bound_request=pending.pk)
    try:
        if decision == "accept":
            actions.accept_qualification_request(
                actor=actor_for(ctx), requester=ctx.requester, environment=ctx.environment,
                request_id=pending.pk, integer_value=form.cleaned_data["value"],
            )
            messages.success(request, f"{pending.worker.worker_id} now has \u201c{qt.name}\u201d with the value "
                                      f"{form.cleaned_data['value']}.")
        else:
            actions.reject_qualification_request(
                actor=actor_for(ctx), requester=ctx.requester, environment=ctx.environment,
                request_id=pending.pk, reason=form.cleaned_data["reason"],
            )
            messages.success(request, f"The request of {pending.worker.worker_id} was rejected.")
    except QualificationRequestDoesNotExist:
        raise Http404("No such qualification request.") from None
    except actions.InvalidQualificationRequestState:
        messages.info(request, f"The request of {pending.worker.worker_id} was already decided.")
    except KempelenError as error:
        form.add_error(None, error.message)
        return _queue(request, ctx, qt, bound={decision: form}, bound_request=pending.pk)
    return back
