"""Batch pages: publishing a project's batch from a CSV file (upload, preview, confirm), the list of batches, a
batch's page with its progress and figures, and cancelling, adding assignments to and extending a batch.

Publishing runs where ``batch_publishing`` says (in the request for small files, in the job runner for large ones);
these views only call actions and show what they did or why they refused.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_POST

from kempelen.core import clock
from kempelen.core.actors import Actor
from kempelen.core.errors import KempelenError
from kempelen.ledger.queries import requester_balances
from kempelen.marketplace import actions
from kempelen.marketplace.actions.batches import STALL_TIMEOUT, batch_cost, last_progress, project_problems
from kempelen.marketplace.models import Batch, BatchStatus, HITLayout
from kempelen.questions.hosted_scripts import use_kempelen_scripts
from kempelen.questions.layouts import layout_variables, render_layout
from kempelen.worker_site import views_task

from . import batch_csv, batch_publishing, queries_batches
from .decorators import RequesterContext, requester_required
from .forms_batches import AddAssignmentsForm, ConfirmForm, ExtendForm, UploadForm
from .models import PendingUpload, UploadKind
from .uploads import keep_upload

PAGE_SIZE = 50
#: Rows of a file that can be previewed (as on MTurk).
PREVIEW_ROWS = 200
#: The preview frame's sandbox, on the iframe and in the response's CSP: scripts and forms, never same-origin.
PREVIEW_SANDBOX = "allow-scripts allow-forms"
#: How much of a file is read for its first rows (all of it only when they do not fit).
PREVIEW_BYTES = 4 * 1024 * 1024


def _actor(ctx: RequesterContext) -> Actor:
    return Actor.for_requester(ctx.requester, via="site")


def _project(ctx: RequesterContext, project_id: str) -> HITLayout:
    layout = HITLayout.objects.filter(pk=project_id, requester=ctx.requester, environment=ctx.environment).first()
    if layout is None:
        raise Http404("There is no such project in this environment.")
    return layout


def _upload(ctx: RequesterContext, project_id: str, upload_id: str) -> PendingUpload:
    """The requester's upload for this project, without its content (read as needed)."""
    upload = queries_batches.own_batch_upload(ctx.requester, ctx.environment, project_id, upload_id)
    if upload is None:
        raise Http404("This upload does not exist any more (uploads are kept for a day). Upload the file again.")
    return upload


def _batch(ctx: RequesterContext, batch_id: str) -> Batch:
    batch = queries_batches.own_batch(ctx.requester, ctx.environment, batch_id)
    if batch is None:
        raise Http404("There is no such batch in this environment.")
    return batch


def _available_cents(ctx: RequesterContext) -> int | None:
    """The requester's available funds in the live environment (None in the sandbox, whose money is topped up)."""
    if ctx.sandbox:
        return None
    actions.settle_due_for_requester(ctx.requester, ctx.environment)
    return requester_balances(ctx.requester, ctx.environment)[0]


# --- Upload --------------------------------------------------------------------------------------------------


def _new_page(request: HttpRequest, layout: HITLayout, form: UploadForm, *, problems: Any = None,
              status: int = 200) -> HttpResponse:
    return render(request, "requester_site/batches/new.html", {
        "nav": "batches", "project": layout, "form": form, "variables": layout_variables(layout.html),
        "project_problems": project_problems(layout, layout.environment), "problems": problems,
    }, status=status)


@requester_required
def batch_new(request: HttpRequest, ctx: RequesterContext, project_id: str) -> HttpResponseBase:
    layout = _project(ctx, project_id)
    if request.method != "POST":
        return _new_page(request, layout, UploadForm())
    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _new_page(request, layout, form, status=400)
    if project_problems(layout, ctx.environment):
        return _new_page(request, layout, form, status=400)
    uploaded = form.cleaned_data["file"]
    content = uploaded.read()
    try:
        batch_publishing.check_file(content, layout)
        upload = keep_upload(actor=_actor(ctx), requester=ctx.requester, environment=ctx.environment,
                             kind=UploadKind.BATCH_INPUT, filename=uploaded.name or "batch.csv", content=content,
                             subject_id=layout.pk)
    except batch_csv.BatchFileInvalid as invalid:
        return _new_page(request, layout, form, problems=invalid, status=400)
    except KempelenError as error:
        form.add_error("file", error.message)
        return _new_page(request, layout, form, status=400)
    return redirect("requester:batch_preview", project_id=layout.pk, upload_id=upload.pk)


# --- Preview -------------------------------------------------------------------------------------------------


def _leading_rows(content: bytes, layout: HITLayout, limit: int, *, tolerant: bool) -> tuple[list[str], list[batch_csv.Row]]:
    """The header and up to ``limit`` rows; ``tolerant`` stops quietly at a malformed record (a file's head may
    end in the middle of one)."""
    batch_file = batch_csv.open_batch_file(content, layout_variables(layout.html))
    rows: list[batch_csv.Row] = []
    try:
        for row in batch_file.rows():
            if len(rows) == limit:
                break
            rows.append(row)
    except batch_csv.BatchFileInvalid:
        if not tolerant:
            raise
    return batch_file.columns, rows


def _first_rows(upload: PendingUpload, layout: HITLayout, count: int) -> tuple[list[str], list[batch_csv.Row], bool]:
    """The header, the file's first ``count`` rows, and whether it has more. Only the file's head is read when
    they fit in it."""
    head, whole = queries_batches.upload_head(upload, PREVIEW_BYTES)
    if not whole:
        # The last row read from a head may be cut short: it counts only when another row follows it.
        columns, rows = _leading_rows(head, layout, count + 2, tolerant=True)
        if len(rows) == count + 2:
            return columns, rows[:count], True
        head = bytes(PendingUpload.objects.values_list("content", flat=True).get(pk=upload.pk))
    columns, rows = _leading_rows(head, layout, count + 1, tolerant=False)
    return columns, rows[:count], len(rows) > count


@requester_required
def batch_preview(request: HttpRequest, ctx: RequesterContext, project_id: str, upload_id: str) -> HttpResponseBase:
    layout = _project(ctx, project_id)
    upload = _upload(ctx, project_id, upload_id)
    try:
        columns, rows, more = _first_rows(upload, layout, PREVIEW_ROWS)
    except batch_csv.BatchFileInvalid as invalid:  # the project's template changed since the upload
        return _new_page(request, layout, UploadForm(), problems=invalid, status=400)
    if not rows:
        raise Http404("This file has no rows.")
    try:
        number = int(request.GET.get("row", "1"))
    except ValueError:
        number = 1
    number = min(max(number, 1), len(rows))
    row = rows[number - 1]
    frame = reverse("requester:batch_preview_frame",
                    kwargs={"project_id": layout.pk, "upload_id": upload.pk, "row": number})
    params = {"assignmentId": views_task.PREVIEW_ID, "hitId": "PREVIEW", "turkSubmitTo": views_task.base_url(request)}
    return render(request, "requester_site/batches/preview.html", {
        "nav": "batches", "project": layout, "upload": upload, "number": number, "count": len(rows), "more": more,
        "values": list(zip(columns, row.values, strict=True)), "line": row.line,
        "frame_src": f"{frame}?{urlencode(params)}", "sandbox": PREVIEW_SANDBOX, "frame_height": layout.frame_height,
        "previous": number - 1 if number > 1 else None, "next": number + 1 if number < len(rows) else None,
        "preview_rows": PREVIEW_ROWS,
    })


@xframe_options_sameorigin
@requester_required
def batch_preview_frame(request: HttpRequest, ctx: RequesterContext, project_id: str, upload_id: str,
                        row: int) -> HttpResponseBase:
    """One row rendered as a worker's preview shows it, under a CSP sandbox without same-origin."""
    layout = _project(ctx, project_id)
    upload = _upload(ctx, project_id, upload_id)
    if not 1 <= row <= PREVIEW_ROWS:
        raise Http404("Only the first 200 rows can be previewed.")
    try:
        columns, rows, _ = _first_rows(upload, layout, row)
        values = dict(zip(columns, rows[row - 1].values, strict=True))
        html = use_kempelen_scripts(render_layout(layout.html, values), views_task.base_url(request))
    except (KempelenError, IndexError) as error:
        raise Http404("This row cannot be shown.") from error
    response = HttpResponse(html, content_type="text/html; charset=utf-8")
    response["Content-Security-Policy"] = f"sandbox {PREVIEW_SANDBOX}; frame-ancestors 'self'"
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response


# --- Confirm and publish -------------------------------------------------------------------------------------


def _confirm_page(request: HttpRequest, ctx: RequesterContext, layout: HITLayout, upload: PendingUpload,
                  form: ConfirmForm, *, problems: batch_csv.BatchFileInvalid | None = None,
                  status: int = 200) -> HttpResponse:
    rows = 0
    try:
        # The rows and the header against the template as it is now; each row's task was checked at the upload,
        # and is checked again when the batch starts (``problems``: what that check found).
        _columns, rows = batch_csv.check_batch_file(bytes(upload.content), layout_variables(layout.html))
    except batch_csv.BatchFileInvalid as invalid:
        problems = problems or invalid
    if problems:
        status = 400
    cost = batch_cost(layout, rows)
    available = _available_cents(ctx)
    short = available is not None and cost.total_cents > available
    blocking = project_problems(layout, ctx.environment)
    return render(request, "requester_site/batches/confirm.html", {
        "nav": "batches", "project": layout, "upload": upload, "form": form, "cost": cost, "available": available,
        "short": short, "problems": problems, "project_problems": blocking,
        "can_publish": not (problems or short or blocking), "inline_rows": batch_publishing.INLINE_ROWS,
    }, status=status)


@requester_required
def batch_confirm(request: HttpRequest, ctx: RequesterContext, project_id: str, upload_id: str) -> HttpResponseBase:
    layout = _project(ctx, project_id)
    upload = _upload(ctx, project_id, upload_id)
    if request.method != "POST":
        default = f"{layout.name} {clock.now():%Y-%m-%d %H:%M}"
        return _confirm_page(request, ctx, layout, upload, ConfirmForm(initial={"name": default[:200]}))
    form = ConfirmForm(request.POST)
    if not form.is_valid():
        return _confirm_page(request, ctx, layout, upload, form, status=400)
    try:
        batch = batch_publishing.start_batch(actor=_actor(ctx), requester=ctx.requester, environment=ctx.environment,
                                             layout_id=layout.pk, upload_id=upload.pk, name=form.cleaned_data["name"])
    except batch_csv.BatchFileInvalid as invalid:
        return _confirm_page(request, ctx, layout, upload, form, problems=invalid)
    except KempelenError as error:
        messages.error(request, error.message)
        return _confirm_page(request, ctx, layout, upload, form, status=400)
    if batch.row_count <= batch_publishing.INLINE_ROWS:
        batch = batch_publishing.publish(batch.pk, actor=_actor(ctx))
    if batch.status == BatchStatus.PUBLISHED:
        messages.success(request, f"Published “{batch.name}”: {batch.row_count:,} tasks are open to workers.")
    elif batch.status == BatchStatus.PUBLISHING:
        messages.success(request, f"Publishing “{batch.name}”: its {batch.row_count:,} tasks become visible to "
                                  "workers together, once all of them are written.")
    return redirect("requester:batch", batch_id=batch.pk)


# --- The list and a batch's page -----------------------------------------------------------------------------


@requester_required
def batch_list(request: HttpRequest, ctx: RequesterContext) -> HttpResponse:
    shown = queries_batches.own_batches(ctx.requester, ctx.environment).select_related("layout").order_by("-created_at", "id")
    page = Paginator(shown, PAGE_SIZE).get_page(request.GET.get("page"))
    progress = queries_batches.progress_of([batch.pk for batch in page])
    rows = [(batch, progress.get(batch.pk)) for batch in page]
    return render(request, "requester_site/batches/list.html", {"nav": "batches", "page": page, "rows": rows})


def _detail_page(request: HttpRequest, ctx: RequesterContext, batch: Batch, *, add_form: AddAssignmentsForm | None = None,
                 extend_form: ExtendForm | None = None, status: int = 200) -> HttpResponse:
    figures = None
    if batch.status in (BatchStatus.PUBLISHED, BatchStatus.CANCELLED):
        actions.settle_due_for_requester(ctx.requester, ctx.environment)
        figures = queries_batches.batch_figures(batch)
    idle = clock.now() - last_progress(batch) if batch.status == BatchStatus.PUBLISHING else dt.timedelta(0)
    return render(request, "requester_site/batches/detail.html", {
        "nav": "batches", "batch": batch, "figures": figures,
        "add_form": add_form or AddAssignmentsForm(), "extend_form": extend_form or ExtendForm(),
        "changeable": batch.status == BatchStatus.PUBLISHED,
        "publishing": batch.status == BatchStatus.PUBLISHING,
        "waiting_for_runner": idle > dt.timedelta(minutes=1),
        "stall_minutes": int(STALL_TIMEOUT.total_seconds() // 60),
        "percent": int(100 * batch.rows_published / batch.row_count) if batch.row_count else 0,
    }, status=status)


@requester_required
def batch_detail(request: HttpRequest, ctx: RequesterContext, batch_id: str) -> HttpResponse:
    return _detail_page(request, ctx, _batch(ctx, batch_id))


@requester_required
def batch_progress(request: HttpRequest, ctx: RequesterContext, batch_id: str) -> JsonResponse:
    """A publishing batch's progress, for the batch page's script."""
    batch = _batch(ctx, batch_id)
    return JsonResponse({"status": batch.status, "rows_published": batch.rows_published,
                         "row_count": batch.row_count, "error": batch.error},
                        headers={"Cache-Control": "no-store"})


# --- Changing a published batch ------------------------------------------------------------------------------


@requester_required
def batch_cancel(request: HttpRequest, ctx: RequesterContext, batch_id: str) -> HttpResponseBase:
    batch = _batch(ctx, batch_id)
    if request.method != "POST":
        figures = None
        if batch.status == BatchStatus.PUBLISHED:
            actions.settle_due_for_requester(ctx.requester, ctx.environment)
            figures = queries_batches.batch_figures(batch)
        return render(request, "requester_site/batches/cancel.html", {"nav": "batches", "batch": batch,
                                                                      "figures": figures})
    try:
        change = actions.cancel_batch(actor=_actor(ctx), requester=ctx.requester, environment=ctx.environment,
                                      batch_id=batch.pk)
    except KempelenError as error:
        messages.error(request, error.message)
        return _detail_page(request, ctx, _batch(ctx, batch_id), status=409)
    messages.success(request, f"Cancelled “{batch.name}”: {change.hits:,} tasks expired and "
                              f"${-change.escrow_cents / 100:,.2f} went back to your available balance. Work already "
                              "accepted can still be submitted.")
    return redirect("requester:batch", batch_id=batch.pk)


@require_POST
@requester_required
def batch_add_assignments(request: HttpRequest, ctx: RequesterContext, batch_id: str) -> HttpResponseBase:
    batch = _batch(ctx, batch_id)
    form = AddAssignmentsForm(request.POST)
    if not form.is_valid():
        return _detail_page(request, ctx, batch, add_form=form, status=400)
    count = form.cleaned_data["count"]
    try:
        change = actions.add_batch_assignments(actor=_actor(ctx), requester=ctx.requester,
                                               environment=ctx.environment, batch_id=batch.pk, count=count)
    except KempelenError as error:
        form.add_error("count", error.message)
        return _detail_page(request, ctx, _batch(ctx, batch_id), add_form=form, status=400)
    messages.success(request, f"Added {count:,} assignment{'s' if count != 1 else ''} to each of {change.hits:,} "
                              f"tasks; ${change.escrow_cents / 100:,.2f} is held for them.")
    return redirect("requester:batch", batch_id=batch.pk)


@require_POST
@requester_required
def batch_extend(request: HttpRequest, ctx: RequesterContext, batch_id: str) -> HttpResponseBase:
    batch = _batch(ctx, batch_id)
    form = ExtendForm(request.POST)
    if not form.is_valid():
        return _detail_page(request, ctx, batch, extend_form=form, status=400)
    try:
        change = actions.extend_batch(actor=_actor(ctx), requester=ctx.requester, environment=ctx.environment,
                                      batch_id=batch.pk, seconds=form.cleaned_data["seconds"])
    except KempelenError as error:
        form.add_error(None, error.message)
        return _detail_page(request, ctx, _batch(ctx, batch_id), extend_form=form, status=400)
    until = change.expires_at or clock.now()
    held = f"; ${change.escrow_cents / 100:,.2f} is held again for reopened tasks" if change.escrow_cents else ""
    messages.success(request, f"Extended “{batch.name}”: its {change.hits:,} tasks now expire on "
                              f"{until.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC{held}.")
    return redirect("requester:batch", batch_id=batch.pk)
