"""A batch's results: the table of submitted assignments (filters, pages, inputs beside answers), one
assignment's page, approving and rejecting (one, selected, all in a filter), reversing rejections, bonuses,
the results CSV download, and reviewing by uploading that CSV (a dry run, then applying it).

Every page works on the requester's own batch in the current environment (another requester's batch, or one
of the other environment, is not found). Changes go through actions: ``review_batch`` (all or nothing) for
approving and rejecting, ``send_bonus`` for bonuses, ``keep_upload``/``discard_upload`` for uploaded files.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST, require_safe

from kempelen.core import clock
from kempelen.core.actors import Actor
from kempelen.core.errors import DuplicateRequest, InsufficientFunds, InvalidParameter, KempelenError
from kempelen.core.money import format_cents
from kempelen.ledger.queries import requester_balances
from kempelen.marketplace import actions
from kempelen.marketplace.actions.review import OVERRIDE_WINDOW
from kempelen.marketplace.actions.review_upload import MAX_CHANGES, Decision, ReviewRefused, ReviewResult
from kempelen.marketplace.models import Assignment, AssignmentStatus, Batch

from . import queries_results as q
from . import results_csv, results_display, review_upload
from .decorators import RequesterContext, requester_required
from .forms_results import BonusForm, FilterForm, ReviewForm, UploadForm
from .models import UploadKind
from .uploads import discard_upload, find_upload, keep_upload

PER_PAGE = 25
TEMPLATES = "requester_site/results/"


def _actor(ctx: RequesterContext) -> Actor:
    return Actor.for_requester(ctx.requester, "site")


def _batch(ctx: RequesterContext, batch_id: str) -> Batch:
    batch = q.batch_of(ctx.requester, ctx.environment, batch_id)
    if batch is None:
        raise Http404("No such batch here.")
    return batch


def dollars(cents: int) -> str:
    return f"${format_cents(cents)}"


def _results_url(batch: Batch, status: str = "", worker: str = "", page: int | str | None = None) -> str:
    query = "&".join(f"{k}={v}" for k, v in (("status", status), ("worker", worker), ("page", page)) if v)
    return reverse("requester:results", args=[batch.pk]) + (f"?{query}" if query else "")


def _safe_next(request: HttpRequest, batch: Batch, fallback: str) -> str:
    target = request.POST.get("next", "")
    prefix = reverse("requester:results", args=[batch.pk])
    if target.startswith(prefix) and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return fallback


# --- Presentation -----------------------------------------------------------------------------------------------


def _row(batch: Batch, a: Assignment, now: dt.datetime, multi_valued: set[str], bonuses: list) -> dict[str, Any]:
    status = getattr(a, "effective", None) or q.effective_status(a, now)
    reversible = (
        status == AssignmentStatus.REJECTED and a.hit.disposed_at is None
        and a.submit_time is not None and now <= a.submit_time + OVERRIDE_WINDOW
    )
    return {
        "a": a,
        "number": (a.hit.batch_row or 0) + 1,
        "status": status,
        "auto_approved": status == AssignmentStatus.APPROVED and a.status == AssignmentStatus.SUBMITTED,
        "approval_time": a.approval_time or (a.auto_approval_time if status != a.status else None),
        "reviewable": status == AssignmentStatus.SUBMITTED,
        "reversible": reversible,
        "work_seconds": results_csv.work_seconds(a.accept_time, a.submit_time),
        "inputs": results_display.input_views(batch, a.hit),
        "answers": results_display.answer_views(a.answer, multi_valued),
        "bonuses": [{"amount": dollars(b.amount_cents), "reason": b.reason, "at": b.grant_time} for b in bonuses],
    }


def _outcome_message(result: ReviewResult) -> str:
    parts = []
    if result.approved:
        parts.append(f"approved {result.approved} {'assignment' if result.approved == 1 else 'assignments'}")
    if result.overridden:
        parts.append(f"reversed {result.overridden} {'rejection' if result.overridden == 1 else 'rejections'} "
                     "(now approved and paid)")
    if result.rejected:
        parts.append(f"rejected {result.rejected} {'assignment' if result.rejected == 1 else 'assignments'}")
    if not parts:
        return ("Nothing changed: " + ("the assignment is" if result.unchanged == 1 else "they are")
                + " already in that state.")
    text = "; ".join(parts)
    if result.unchanged:
        text += f"; {result.unchanged} already in that state, unchanged"
    return text[0].upper() + text[1:] + "."


def _render_results(
    request: HttpRequest, ctx: RequesterContext, batch: Batch, *, review_form: ReviewForm | None = None,
    problems: list | None = None, http_status: int = 200,
) -> HttpResponse:
    now = clock.now()
    source = request.GET if request.method != "POST" else request.POST
    filter_form = FilterForm(source)
    status, worker = filter_form.filters()
    qs = q.filtered(batch, status=status, worker_id=worker, now=now)
    counts = q.status_counts(batch, now)
    paginator = Paginator(q.for_display(qs), PER_PAGE)
    if not worker:  # known already: no second count over a large batch
        paginator.count = counts[status] if status else sum(counts.values())  # type: ignore[misc]
    page = paginator.get_page(source.get("page"))
    assignments = list(page.object_list)
    bonuses = q.bonuses_by_assignment(a.pk for a in assignments)
    multi_valued = results_display.multi_valued_fields(results_display.template_of(batch)) if assignments else set()
    rows = [_row(batch, a, now, multi_valued, bonuses.get(a.pk, [])) for a in assignments]
    if status in ("", AssignmentStatus.SUBMITTED):
        to_review = counts[AssignmentStatus.SUBMITTED] if not worker else qs.filter(
            q.status_filter(AssignmentStatus.SUBMITTED, now)).count()
    else:
        to_review = 0
    selected = set(review_form.selected) if review_form is not None else set()

    def page_url(number: int) -> str:
        return _results_url(batch, status, worker, number)

    return render(request, TEMPLATES + "page.html", {
        "nav": "batches",
        "batch": batch,
        "counts": counts,
        "total": sum(counts.values()),
        "filter_form": filter_form,
        "status": status,
        "worker": worker,
        "page": page,
        "pager": {
            "number": page.number, "pages": page.paginator.num_pages,
            "previous": page_url(page.previous_page_number()) if page.has_previous() else "",
            "next": page_url(page.next_page_number()) if page.has_next() else "",
        },
        "rows": rows,
        "selected": selected,
        "review_form": review_form or ReviewForm(),
        "problems": problems or [],
        "to_review": to_review,
        "max_changes": MAX_CHANGES,
        "as_of": now.isoformat(),
        "here": _results_url(batch, status, worker, page.number if page.number > 1 else None),
    }, status=http_status)


# --- The results page and reviewing from it ------------------------------------------------------------------------


@require_safe
@requester_required
def results(request: HttpRequest, ctx: RequesterContext, batch_id: str) -> HttpResponse:
    return _render_results(request, ctx, _batch(ctx, batch_id))


def _decisions(form: ReviewForm, batch: Batch, now: dt.datetime) -> list[Decision]:
    approve = form.verb == "approve"
    feedback = form.cleaned_data["feedback"]
    if form.scope == "one":
        ids = [form.one]
    elif form.scope == "selected":
        ids = form.selected
    else:
        ids = q.reviewable_ids(batch, status=form.cleaned_data.get("status") or "",
                               worker_id=form.cleaned_data.get("worker") or "", as_of=form.as_of_time(now),
                               now=now, limit=MAX_CHANGES + 1)
    return [Decision(assignment_id, approve=approve, feedback=feedback) for assignment_id in ids]


@require_POST
@requester_required
def review(request: HttpRequest, ctx: RequesterContext, batch_id: str) -> HttpResponseBase:
    """Approve or reject one assignment, the selected ones, or all still to review in a filter: all or nothing."""
    batch = _batch(ctx, batch_id)
    form = ReviewForm(request.POST)
    from_assignment = request.POST.get("origin") == "assignment"

    def refused(problems: list | None = None) -> HttpResponse:
        if from_assignment and form.one:
            return _render_assignment(request, ctx, batch, form.one, review_form=form, problems=problems,
                                      http_status=400)
        return _render_results(request, ctx, batch, review_form=form, problems=problems, http_status=400)

    if not form.is_valid():
        return refused()
    decisions = _decisions(form, batch, clock.now())
    if not decisions:
        messages.info(request, "There is nothing left to review in this view.")
        return redirect(_safe_next(request, batch, _results_url(batch)))
    try:
        result = actions.review_batch(actor=_actor(ctx), requester=ctx.requester, environment=ctx.environment,
                                      batch_id=batch.pk, decisions=decisions)
    except ReviewRefused as error:
        return refused(error.problems)
    messages.success(request, _outcome_message(result))
    return redirect(_safe_next(request, batch, _results_url(batch)))


# --- One assignment ----------------------------------------------------------------------------------------------------


def _render_assignment(
    request: HttpRequest, ctx: RequesterContext, batch: Batch, assignment_id: str, *,
    review_form: ReviewForm | None = None, bonus_form: BonusForm | None = None, problems: list | None = None,
    http_status: int = 200,
) -> HttpResponse:
    a = q.assignment_in_batch(batch, assignment_id)
    if a is None:
        raise Http404("No such assignment in this batch.")
    now = clock.now()
    multi_valued = results_display.multi_valued_fields(results_display.template_of(batch))
    row = _row(batch, a, now, multi_valued, q.bonuses_by_assignment([a.pk]).get(a.pk, []))
    rates = q.worker_rates(ctx.requester, ctx.environment, a.worker, now)
    available, _held = requester_balances(ctx.requester, ctx.environment)
    verb = review_form.verb if review_form is not None else ""
    return render(request, TEMPLATES + "assignment.html", {
        "nav": "batches",
        "batch": batch,
        "row": row,
        "rates": rates,
        "reward": dollars(a.hit.hit_type.reward_cents),
        "approve_form": review_form if verb == "approve" else ReviewForm(),
        "reject_form": review_form if verb == "reject" else ReviewForm(),
        "bonus_form": bonus_form or BonusForm(initial={"token": BonusForm.new_token()}),
        "problems": problems or [],
        "available": dollars(available),
        "sandbox": ctx.sandbox,
        "here": reverse("requester:results_assignment", args=[batch.pk, a.pk]),
    }, status=http_status)


@require_safe
@requester_required
def assignment(request: HttpRequest, ctx: RequesterContext, batch_id: str, assignment_id: str) -> HttpResponse:
    return _render_assignment(request, ctx, _batch(ctx, batch_id), assignment_id)


@require_POST
@requester_required
def bonus(request: HttpRequest, ctx: RequesterContext, batch_id: str, assignment_id: str) -> HttpResponseBase:
    batch = _batch(ctx, batch_id)
    a = q.assignment_in_batch(batch, assignment_id)
    if a is None:
        raise Http404("No such assignment in this batch.")
    form = BonusForm(request.POST)
    if form.is_valid():
        amount = form.cleaned_data["amount"]
        try:
            actions.send_bonus(
                actor=_actor(ctx), requester=ctx.requester, environment=ctx.environment,
                worker_id=a.worker.worker_id, assignment_id=a.pk, amount_cents=amount,
                reason=form.cleaned_data["reason"], unique_request_token=f"site-bonus:{form.cleaned_data['token']}",
            )
        except DuplicateRequest:
            messages.info(request, "This bonus was already sent (the form was submitted twice); nothing more was paid.")
            return redirect("requester:results_assignment", batch.pk, a.pk)
        except InsufficientFunds:
            available, _held = requester_balances(ctx.requester, ctx.environment)
            form.add_error(None, f"Your available balance ({dollars(available)}) does not cover a bonus of "
                                 f"{dollars(amount)} and its fee. Add funds, then send it again. Nothing was paid.")
        except KempelenError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, f"Sent a bonus of {dollars(amount)} to worker {a.worker.worker_id}.")
            return redirect("requester:results_assignment", batch.pk, a.pk)
    return _render_assignment(request, ctx, batch, a.pk, bonus_form=form, http_status=400)


# --- The results CSV ---------------------------------------------------------------------------------------------------


@require_safe
@requester_required
def download(request: HttpRequest, ctx: RequesterContext, batch_id: str) -> StreamingHttpResponse:
    batch = _batch(ctx, batch_id)
    header, lines = q.results_lines(batch)
    response = StreamingHttpResponse(results_csv.encode(header, lines), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{results_csv.filename(batch.pk)}"'
    response["Cache-Control"] = "no-store"
    return response


# --- Reviewing by uploading the CSV ---------------------------------------------------------------------------------


@requester_required
def upload(request: HttpRequest, ctx: RequesterContext, batch_id: str) -> HttpResponseBase:
    batch = _batch(ctx, batch_id)
    if request.method == "POST":
        form = UploadForm(request.POST, request.FILES)
        if form.is_valid():
            file = form.cleaned_data["file"]
            content = file.read()
            try:
                next(iter(review_upload.read_rows(content)), None)  # the header and first row: a quick check
                kept = keep_upload(actor=_actor(ctx), requester=ctx.requester, environment=ctx.environment,
                                   kind=UploadKind.RESULTS_REVIEW, filename=file.name or "results.csv",
                                   content=content, subject_id=batch.pk)
            except InvalidParameter as error:
                form.add_error("file", error.message)
            else:
                return redirect("requester:results_upload_plan", batch.pk, kept.pk)
        status = 400
    elif request.method in ("GET", "HEAD"):
        form, status = UploadForm(), 200
    else:
        return HttpResponse(status=405, headers={"Allow": "GET, HEAD, POST"})
    return render(request, TEMPLATES + "upload.html", {"nav": "batches", "batch": batch, "form": form},
                  status=status)


def _plan_page(request: HttpRequest, batch: Batch, upload: Any, *, plan: Any, file_error: str = "",
               problems: list | None = None, http_status: int = 200) -> HttpResponse:
    return render(request, TEMPLATES + "plan.html", {
        "nav": "batches", "batch": batch, "upload": upload, "plan": plan, "file_error": file_error,
        "problems": problems or [], "shown_limit": review_upload.SHOWN_ROWS, "max_changes": MAX_CHANGES,
    }, status=http_status)


@requester_required
def upload_plan(request: HttpRequest, ctx: RequesterContext, batch_id: str, upload_id: str) -> HttpResponseBase:
    """GET: the dry run of an uploaded file. POST: apply it (all or nothing), then forget the file."""
    batch = _batch(ctx, batch_id)
    if request.method not in ("GET", "HEAD", "POST"):
        return HttpResponse(status=405, headers={"Allow": "GET, HEAD, POST"})
    kept = find_upload(upload_id, requester=ctx.requester, environment=ctx.environment,
                       kind=UploadKind.RESULTS_REVIEW, subject_id=batch.pk)
    if kept is None:
        return render(request, TEMPLATES + "upload_gone.html", {"nav": "batches", "batch": batch}, status=404)
    try:
        plan = review_upload.plan_review(bytes(kept.content), batch=batch, now=clock.now())
    except InvalidParameter as error:
        return _plan_page(request, batch, kept, plan=None, file_error=error.message,
                          http_status=400 if request.method == "POST" else 200)
    if request.method != "POST":
        return _plan_page(request, batch, kept, plan=plan)
    if plan.counts[review_upload.ERROR]:
        return _plan_page(request, batch, kept, plan=plan, http_status=400)
    if plan.changes > MAX_CHANGES:
        return _plan_page(request, batch, kept, plan=plan, http_status=400)
    try:
        result = actions.review_batch(actor=_actor(ctx), requester=ctx.requester, environment=ctx.environment,
                                      batch_id=batch.pk, decisions=plan.decisions)
    except ReviewRefused as error:
        return _plan_page(request, batch, kept, plan=plan, problems=error.problems, http_status=400)
    discard_upload(actor=_actor(ctx), upload=kept)
    if result.changed:
        summary = _outcome_message(result)
        messages.success(request, f"Applied {kept.filename}: {summary[0].lower()}{summary[1:]}")
    else:
        messages.info(request, f"Nothing changed: every row of {kept.filename} is already in the state it asks for.")
    return redirect(_results_url(batch))


@require_POST
@requester_required
def upload_discard(request: HttpRequest, ctx: RequesterContext, batch_id: str, upload_id: str) -> HttpResponseBase:
    batch = _batch(ctx, batch_id)
    kept = find_upload(upload_id, requester=ctx.requester, environment=ctx.environment,
                       kind=UploadKind.RESULTS_REVIEW, subject_id=batch.pk)
    if kept is not None:
        discard_upload(actor=_actor(ctx), upload=kept)
        messages.info(request, f"Discarded {kept.filename}; nothing was applied.")
    return redirect(_results_url(batch))
