"""The workers pages: every worker a requester may see (list, search, sort) and one worker's page, where the
requester blocks or unblocks, grants, changes or revokes its qualifications, sends a message or a bonus.

Which workers a requester may see is decided in ``queries_workers``; any other Worker ID (another
environment's worker included) is a 404. Every change goes through the existing actions (``marketplace.actions``
for blocks, messages and bonuses, ``qualifications.actions`` for grants), which check tenancy themselves; their
refusals are shown as they word them, next to the form that caused them.

Decisions:

- A bonus form carries a fresh token, passed to the bonus action as its UniqueRequestToken: submitting the same
  form twice pays once.
- Messages go through NotifyWorkers, so the API's rule holds: only workers whose work the requester approved or
  rejected can be messaged. The form says so, and shows the refusal.
- Qualification values set on these pages are whole numbers from 0 to 100, as on MTurk's site (the API accepts
  any integer).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.paginator import Page, Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe

from kempelen.accounts.models import Worker
from kempelen.core import clock, ids
from kempelen.core.actors import Actor
from kempelen.core.errors import DuplicateRequest, KempelenError
from kempelen.core.money import format_cents
from kempelen.marketplace import actions as marketplace
from kempelen.marketplace.models import Assignment, AssignmentStatus
from kempelen.qualifications import actions as quals

from . import queries_workers as queries
from .decorators import RequesterContext, requester_required
from .forms_workers import BlockForm, BonusForm, MessageForm, QualificationValueForm, RevokeForm, UnblockForm

PAGE_SIZE = 50
ASSIGNMENTS_PER_PAGE = 25
#: How many of a worker's latest assignments the bonus form offers (a row's "Bonus" link adds any other).
BONUS_CHOICES = 200
MAX_QUERY = 64

#: The list's columns that sort, with the direction a first click sorts in.
SORT_COLUMNS = (
    ("worker", "Worker ID", ""),
    ("submitted", "Submitted", "-"),
    ("approved", "Approved", "-"),
    ("rejected", "Rejected", "-"),
    ("pending", "Awaiting review", "-"),
    ("rate", "Approval rate", "-"),
    ("last", "Last submitted", "-"),
)


def actor_for(ctx: RequesterContext) -> Actor:
    return Actor.for_requester(ctx.requester, "site")


def dollars(cents: int) -> str:
    return f"${format_cents(cents)}"


def seconds_words(seconds: float | None) -> str:
    """12.4 → "12 s"; 125 → "2 min 5 s"; 4000 → "1 h 6 min"."""
    if seconds is None:
        return "\u2014"
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def percent(value: float | None) -> str:
    return "\u2014" if value is None else f"{round(value)}%"


def pager(request: HttpRequest, page: Page, param: str = "page") -> dict[str, Any]:
    """Links to the previous and next pages that keep the other query parameters (search, sort)."""

    def url(number: int) -> str:
        query = request.GET.copy()
        query[param] = str(number)
        return f"?{query.urlencode()}"

    return {
        "number": page.number,
        "pages": page.paginator.num_pages,
        "previous": url(page.previous_page_number()) if page.has_previous() else "",
        "next": url(page.next_page_number()) if page.has_next() else "",
    }


# --- the list ----------------------------------------------------------------------------------------------------


class CountedPaginator(Paginator):
    """A paginator told its count: counting the workers needs no figures, so it skips the aggregate."""

    def __init__(self, object_list: Any, per_page: int, count: int) -> None:
        super().__init__(object_list, per_page)
        self._known_count = count

    @property
    def count(self) -> int:  # type: ignore[override]
        return self._known_count


@dataclass
class WorkerRow:
    worker: queries.Figures
    median: str
    rate: str
    held: list[queries.Held]
    blocked: bool


def _sort_links(current: str, query: str) -> list[dict[str, str]]:
    links = []
    for key, label, first in SORT_COLUMNS:
        if current.lstrip("-") == key:
            direction = "descending" if current.startswith("-") else "ascending"
            target = key if current.startswith("-") else f"-{key}"
        else:
            direction, target = "", f"{first}{key}"
        href = "?" + urlencode({"sort": target, **({"q": query} if query else {})})
        links.append({"key": key, "label": label, "href": href, "aria_sort": direction})
    return links


@require_safe
@requester_required
def worker_list(request: HttpRequest, ctx: RequesterContext) -> HttpResponse:
    query = "".join(request.GET.get("q", "").split())[:MAX_QUERY].upper()
    now = clock.now()
    known = queries.known_workers(ctx.requester, ctx.environment)
    if query:
        known = known.filter(worker_id__contains=query)
    rows_qs, sort = queries.ordered(
        queries.figure_rows(ctx.requester, ctx.environment, now, search=query), request.GET.get("sort", "")
    )
    page = CountedPaginator(rows_qs, PAGE_SIZE, known.count()).get_page(request.GET.get("page"))
    shown = [queries.Figures.from_row(row) for row in page.object_list]
    pks = [f.worker_pk for f in shown]
    medians = queries.median_seconds(ctx.requester, ctx.environment, pks)
    held = queries.held_qualifications(ctx.requester, ctx.environment, pks)
    blocked = queries.blocks(ctx.requester, ctx.environment, [f.worker_id for f in shown])
    rows = [
        WorkerRow(f, seconds_words(medians.get(f.worker_pk)), percent(f.approval_rate), held.get(f.worker_pk, []),
                  f.worker_id in blocked)
        for f in shown
    ]
    return render(request, "requester_site/workers/list.html", {
        "nav": "workers", "rows": rows, "page": page, "pager": pager(request, page), "q": query, "sort": sort,
        "columns": _sort_links(sort, query), "total": page.paginator.count,
    })


# --- one worker ------------------------------------------------------------------------------------------------------


def known_worker(ctx: RequesterContext, worker_id: str) -> Worker:
    """The worker, if the requester may see it here; otherwise a 404."""
    found = queries.known_worker(ctx.requester, ctx.environment, worker_id).first()
    if found is None:
        raise Http404("No such worker.")
    return found


def _status(assignment: Assignment, now: dt.datetime) -> str:
    if (assignment.status == AssignmentStatus.SUBMITTED and assignment.auto_approval_time is not None
            and assignment.auto_approval_time <= now):
        return "Approved (automatically)"
    if assignment.status == AssignmentStatus.SUBMITTED:
        return "Awaiting review"
    return str(assignment.status)


@dataclass
class AssignmentRow:
    assignment: Assignment
    title: str
    status: str
    reward: str
    bonus: str
    work_time: str
    batch_id: str


@dataclass
class QualificationRow:
    type_id: str
    name: str
    status: str  # "Active" / "Inactive" (the type's)
    held: queries.Held | None
    revoked: bool = False
    value_form: Any = None
    revoke_form: Any = None


def _bonus_choices(ctx: RequesterContext, worker: Worker, wanted: str = "") -> list[tuple[str, str]]:
    recent = list(queries.worker_assignments(ctx.requester, ctx.environment, worker)[:BONUS_CHOICES])
    if wanted and all(a.pk != wanted for a in recent):
        extra = queries.worker_assignments(ctx.requester, ctx.environment, worker).filter(pk=wanted).first()
        if extra is not None:
            recent.insert(0, extra)

    def label(a: Assignment) -> str:
        when = a.submit_time.strftime("%Y-%m-%d") if a.submit_time else ""
        return f"{when} \u00b7 {a.hit.hit_type.title[:60]} \u00b7 {a.pk}"

    return [(a.pk, label(a)) for a in recent]


@dataclass
class DetailForms:
    block: forms.Form | None = None
    unblock: forms.Form | None = None
    message: forms.Form | None = None
    bonus: forms.Form | None = None
    grant: forms.Form | None = None
    revoke: forms.Form | None = None
    revoke_type: str = ""
    grant_type: str = ""


def _qualification_rows(ctx: RequesterContext, worker: Worker, bound: DetailForms) -> list[QualificationRow]:
    grants = {h.type_id: h for h in queries.held_qualifications(
        ctx.requester, ctx.environment, [worker.pk], granted_only=False
    ).get(worker.pk, [])}
    rows = []
    for type_id, name, status in queries.own_types(ctx.requester, ctx.environment).order_by("name").values_list(
        "id", "name", "status"
    ):
        grant = grants.get(type_id)
        held = grant if grant is not None and grant.status == "Granted" else None
        row = QualificationRow(type_id, name, status, held, revoked=grant is not None and held is None)
        if bound.grant is not None and bound.grant_type == type_id:
            row.value_form = bound.grant
        else:
            row.value_form = QualificationValueForm(
                prefix=f"q-{type_id}", initial={"value": held.value if held else 1, "notify": True},
            )
        if bound.revoke is not None and bound.revoke_type == type_id:
            row.revoke_form = bound.revoke
        else:
            row.revoke_form = RevokeForm(prefix=f"r-{type_id}")
        rows.append(row)
    return rows


def _detail(request: HttpRequest, ctx: RequesterContext, worker: Worker, bound: DetailForms | None = None
            ) -> HttpResponse:
    bound = bound or DetailForms()
    now = clock.now()
    page = Paginator(queries.worker_assignments(ctx.requester, ctx.environment, worker),
                     ASSIGNMENTS_PER_PAGE).get_page(request.GET.get("page"))
    shown: list[Assignment] = list(page.object_list)
    bonuses = queries.bonus_totals([a.pk for a in shown])
    assignments = [
        AssignmentRow(
            a, a.hit.hit_type.title, _status(a, now), dollars(a.hit.hit_type.reward_cents),
            dollars(bonuses[a.pk]) if a.pk in bonuses else "",
            seconds_words((a.submit_time - a.accept_time).total_seconds()) if a.submit_time else "\u2014",
            a.hit.batch_id or "",
        )
        for a in shown
    ]
    block_reason = queries.blocks(ctx.requester, ctx.environment, [worker.worker_id]).get(worker.worker_id)
    wanted = request.GET.get("bonus", "") or request.POST.get("bonus-assignment", "")
    bonus_form = bound.bonus or BonusForm(
        prefix="bonus", assignments=_bonus_choices(ctx, worker, wanted),
        initial={"assignment": wanted, "token": ids.short_id(32)},
    )
    medians = queries.median_seconds(ctx.requester, ctx.environment, [worker.pk])
    figures = queries.worker_figures(ctx.requester, ctx.environment, worker, now)
    return render(request, "requester_site/workers/detail.html", {
        "nav": "workers",
        "worker": worker,
        "figures": figures,
        "rate": percent(figures.approval_rate),
        "median": seconds_words(medians.get(worker.pk)),
        "bonuses_paid": dollars(queries.bonuses_paid(ctx.requester, ctx.environment, worker)),
        "blocked": block_reason is not None,
        "block_reason": block_reason or "",
        "block_form": bound.block or BlockForm(prefix="block"),
        "unblock_form": bound.unblock or UnblockForm(prefix="unblock"),
        "message_form": bound.message or MessageForm(prefix="message"),
        "bonus_form": bonus_form,
        "qualifications": _qualification_rows(ctx, worker, bound),
        "assignments": assignments,
        "page": page,
        "pager": pager(request, page),
    })


@require_safe
@requester_required
def worker_detail(request: HttpRequest, ctx: RequesterContext, worker_id: str) -> HttpResponse:
    return _detail(request, ctx, known_worker(ctx, worker_id))


def _back(worker: Worker, anchor: str = "") -> HttpResponseBase:
    return redirect(reverse("requester:worker", args=[worker.worker_id]) + (f"#{anchor}" if anchor else ""))


def _refused(form: forms.Form, error: KempelenError) -> None:
    form.add_error(None, error.message)


@require_POST
@requester_required
def block(request: HttpRequest, ctx: RequesterContext, worker_id: str) -> HttpResponseBase:
    worker = known_worker(ctx, worker_id)
    form = BlockForm(request.POST, prefix="block")
    if form.is_valid():
        try:
            marketplace.create_worker_block(actor=actor_for(ctx), requester=ctx.requester,
                                            environment=ctx.environment, worker_id=worker.worker_id,
                                            reason=form.cleaned_data["reason"])
        except KempelenError as error:
            _refused(form, error)
        else:
            messages.success(request, f"Worker {worker.worker_id} is blocked: they can no longer find or accept "
                                      "your HITs in this environment.")
            return _back(worker, "block")
    return _detail(request, ctx, worker, DetailForms(block=form))


@require_POST
@requester_required
def unblock(request: HttpRequest, ctx: RequesterContext, worker_id: str) -> HttpResponseBase:
    worker = known_worker(ctx, worker_id)
    form = UnblockForm(request.POST, prefix="unblock")
    if form.is_valid():
        try:
            marketplace.delete_worker_block(actor=actor_for(ctx), requester=ctx.requester,
                                            environment=ctx.environment, worker_id=worker.worker_id,
                                            reason=form.cleaned_data["reason"] or None)
        except KempelenError as error:
            _refused(form, error)
        else:
            messages.success(request, f"Worker {worker.worker_id} is no longer blocked.")
            still_known = queries.known_worker(ctx.requester, ctx.environment, worker.worker_id).exists()
            return _back(worker, "block") if still_known else redirect("requester:workers")
    return _detail(request, ctx, worker, DetailForms(unblock=form))


@require_POST
@requester_required
def message(request: HttpRequest, ctx: RequesterContext, worker_id: str) -> HttpResponseBase:
    worker = known_worker(ctx, worker_id)
    form = MessageForm(request.POST, prefix="message")
    if form.is_valid():
        try:
            failures = marketplace.notify_workers(
                actor=actor_for(ctx), requester=ctx.requester, environment=ctx.environment,
                subject=form.cleaned_data["subject"], message=form.cleaned_data["message"],
                worker_ids=[worker.worker_id],
            )
        except KempelenError as error:
            _refused(form, error)
        else:
            if not failures:
                messages.success(request, f"Message sent to {worker.worker_id}: they will receive it by email.")
                return _back(worker, "message")
            for failure in failures:
                form.add_error(None, failure["NotifyWorkersFailureMessage"])
    return _detail(request, ctx, worker, DetailForms(message=form))


@require_POST
@requester_required
def bonus(request: HttpRequest, ctx: RequesterContext, worker_id: str) -> HttpResponseBase:
    worker = known_worker(ctx, worker_id)
    form = BonusForm(request.POST, prefix="bonus",
                     assignments=_bonus_choices(ctx, worker, request.POST.get("bonus-assignment", "")))
    if form.is_valid():
        data = form.cleaned_data
        try:
            marketplace.send_bonus(
                actor=actor_for(ctx), requester=ctx.requester, environment=ctx.environment,
                worker_id=worker.worker_id, assignment_id=data["assignment"], amount_cents=data["amount"],
                reason=data["reason"], unique_request_token=data["token"],
            )
        except DuplicateRequest:
            messages.info(request, "This bonus was already sent (the form was submitted twice); it was paid once.")
            return _back(worker, "bonus")
        except KempelenError as error:
            _refused(form, error)
        else:
            messages.success(request, f"Bonus of {dollars(data['amount'])} sent to {worker.worker_id}.")
            return _back(worker, "bonus")
    return _detail(request, ctx, worker, DetailForms(bonus=form))


@require_POST
@requester_required
def qualification(request: HttpRequest, ctx: RequesterContext, worker_id: str) -> HttpResponseBase:
    """Grant, change or revoke one of the requester's types for the worker (``action`` = grant or revoke)."""
    worker = known_worker(ctx, worker_id)
    type_id = request.POST.get("type", "")
    names = dict(queries.own_types(ctx.requester, ctx.environment).filter(pk=type_id).values_list("id", "name"))
    if not names:
        raise Http404("No such qualification type.")
    if request.POST.get("action") == "revoke":
        return _revoke(request, ctx, worker, type_id, names[type_id])
    form = QualificationValueForm(request.POST, prefix=f"q-{type_id}")
    if form.is_valid():
        try:
            quals.associate_qualification_with_worker(
                actor=actor_for(ctx), requester=ctx.requester, environment=ctx.environment,
                qualification_type_id=type_id, worker_id=worker.worker_id,
                integer_value=form.cleaned_data["value"], send_notification=form.cleaned_data["notify"],
            )
        except KempelenError as error:
            _refused(form, error)
        else:
            messages.success(request, f"{worker.worker_id} now has \u201c{names[type_id]}\u201d with the value "
                                      f"{form.cleaned_data['value']}.")
            return _back(worker, "qualifications")
    return _detail(request, ctx, worker, DetailForms(grant=form, grant_type=type_id))


def _revoke(request: HttpRequest, ctx: RequesterContext, worker: Worker, type_id: str, name: str
            ) -> HttpResponseBase:
    form = RevokeForm(request.POST, prefix=f"r-{type_id}")
    if form.is_valid():
        try:
            quals.disassociate_qualification_from_worker(
                actor=actor_for(ctx), requester=ctx.requester, environment=ctx.environment,
                qualification_type_id=type_id, worker_id=worker.worker_id, reason=form.cleaned_data["reason"],
            )
        except KempelenError as error:
            _refused(form, error)
        else:
            messages.success(request, f"\u201c{name}\u201d was revoked from {worker.worker_id}.")
            return _back(worker, "qualifications")
    return _detail(request, ctx, worker, DetailForms(revoke=form, revoke_type=type_id))

