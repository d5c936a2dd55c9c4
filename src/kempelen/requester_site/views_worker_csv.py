"""The worker file: download it, upload it back with UPDATE columns filled in, check what it would do (a dry run
that lists every change and every problem), then apply it all at once.

Steps: the upload is read and planned at once. A file with problems is shown with them and not kept. A file
that changes something is kept (``uploads.keep_upload``, kind WORKERS) and its plan shown again at
``workers/upload/<id>``, planned afresh against the current state; applying plans it once more and hands the
changes to ``marketplace.actions.worker_csv.apply_worker_file`` (one transaction), then forgets the upload. The
format is described in ``worker_csv``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from kempelen.core import clock
from kempelen.core.errors import KempelenError
from kempelen.marketplace.actions.worker_csv import apply_worker_file

from . import queries_workers as queries
from . import worker_csv
from .decorators import RequesterContext, requester_required
from .forms_workers import WorkerFileForm
from .models import PendingUpload, UploadKind
from .uploads import discard_upload, find_upload, keep_upload
from .views_workers import actor_for

_CHUNK = 500
#: At most this many rows of each kind (errors, changes) are listed on the plan page; counts are always whole.
SHOWN_ROWS = 1000


def _types(ctx: RequesterContext) -> list[tuple[str, str]]:
    """The requester's types here as (id, name), by name."""
    return list(queries.own_types(ctx.requester, ctx.environment).order_by("name").values_list("id", "name"))


# --- download --------------------------------------------------------------------------------------------------


def _lines(ctx: RequesterContext, types: list[tuple[str, str]]) -> Iterator[list[str]]:
    yield worker_csv.header([name for _, name in types])
    rows = queries.figure_rows(ctx.requester, ctx.environment, clock.now(), windows=worker_csv.RATE_WINDOWS)
    chunk: list[queries.Figures] = []
    for row in rows.order_by("code").iterator(chunk_size=_CHUNK):
        chunk.append(queries.Figures.from_row(row, worker_csv.RATE_WINDOWS))
        if len(chunk) == _CHUNK:
            yield from _chunk_lines(ctx, types, chunk)
            chunk = []
    if chunk:
        yield from _chunk_lines(ctx, types, chunk)


def _chunk_lines(ctx: RequesterContext, types: list[tuple[str, str]], chunk: list[queries.Figures]
                 ) -> Iterator[list[str]]:
    held = queries.held_qualifications(ctx.requester, ctx.environment, [f.worker_pk for f in chunk])
    blocked = queries.blocks(ctx.requester, ctx.environment, [f.worker_id for f in chunk])
    for f in chunk:
        values = {h.type_id: h.value for h in held.get(f.worker_pk, [])}
        rates = [worker_csv.rate(f.approved, f.reviewed),
                 *(worker_csv.rate(*f.windows[days]) for days in worker_csv.RATE_WINDOWS)]
        pairs = [cell for type_id, _ in types
                 for cell in ("" if values.get(type_id) is None else str(values[type_id]), "")]
        status = worker_csv.BLOCKED if f.worker_id in blocked else worker_csv.UNBLOCKED
        yield [f.worker_id, *rates, *pairs, "", "", status]


@require_safe
@requester_required
def download(request: HttpRequest, ctx: RequesterContext) -> HttpResponse:
    out = io.StringIO()
    writer = csv.writer(out)
    for line in _lines(ctx, _types(ctx)):
        writer.writerow(line)
    response = HttpResponse(out.getvalue().encode(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="Workers_{ctx.environment}_{clock.now():%Y%m%d}.csv"'
    return response


# --- upload, dry run, apply ------------------------------------------------------------------------------------


def _plan_page(request: HttpRequest, ctx: RequesterContext, plan: worker_csv.Plan, *, filename: str,
               upload: PendingUpload | None = None, status: int = 200) -> HttpResponse:
    return render(request, "requester_site/workers/upload_plan.html", {
        "nav": "workers", "plan": plan, "filename": filename, "upload": upload,
        "error_rows": plan.error_rows[:SHOWN_ROWS], "change_rows": plan.change_rows[:SHOWN_ROWS],
        "shown_rows": SHOWN_ROWS,
    }, status=status)


def _plan(ctx: RequesterContext, content: bytes) -> worker_csv.Plan:
    return worker_csv.plan_upload(ctx.requester, ctx.environment, content,
                                  worker_csv.type_names(_types(ctx)))


@require_http_methods(["GET", "HEAD", "POST"])
@requester_required
def upload(request: HttpRequest, ctx: RequesterContext) -> HttpResponseBase:
    posted = request.method == "POST"
    form = WorkerFileForm(request.POST if posted else None, request.FILES if posted else None)
    if posted and form.is_valid():
        file = form.cleaned_data["file"]
        content = file.read()
        plan = _plan(ctx, content)
        if not plan.ok or not plan.total:
            return _plan_page(request, ctx, plan, filename=file.name)
        try:
            kept = keep_upload(actor=actor_for(ctx), requester=ctx.requester, environment=ctx.environment,
                               kind=UploadKind.WORKERS, filename=file.name, content=content)
        except KempelenError as error:
            form.add_error("file", error.message)
        else:
            return redirect("requester:workers_upload_plan", upload_id=kept.pk)
    return render(request, "requester_site/workers/upload.html", {
        "nav": "workers", "form": form, "types": [name for _, name in _types(ctx)],
    })


def _kept(request: HttpRequest, ctx: RequesterContext, upload_id: str) -> PendingUpload | None:
    kept = find_upload(upload_id, requester=ctx.requester, environment=ctx.environment, kind=UploadKind.WORKERS)
    if kept is None:
        messages.error(request, "That upload is no longer waiting to be applied (it was applied or discarded, "
                                "or it is more than a day old). Upload the file again to see what it would change.")
    return kept


@require_safe
@requester_required
def upload_plan(request: HttpRequest, ctx: RequesterContext, upload_id: str) -> HttpResponseBase:
    kept = _kept(request, ctx, upload_id)
    if kept is None:
        return redirect("requester:workers_upload")
    return _plan_page(request, ctx, _plan(ctx, bytes(kept.content)), filename=kept.filename, upload=kept)


@require_POST
@requester_required
def upload_apply(request: HttpRequest, ctx: RequesterContext, upload_id: str) -> HttpResponseBase:
    kept = _kept(request, ctx, upload_id)
    if kept is None:
        return redirect("requester:workers_upload")
    plan = _plan(ctx, bytes(kept.content))
    if not plan.ok:
        discard_upload(actor=actor_for(ctx), upload=kept)
        return _plan_page(request, ctx, plan, filename=kept.filename)
    try:
        outcome = apply_worker_file(
            actor=actor_for(ctx), requester=ctx.requester, environment=ctx.environment, rows=plan.updates,
            notify=request.POST.get("notify") == "on", filename=kept.filename,
        )
    except KempelenError as error:
        plan.errors.append(f"Nothing was changed: {error.message}")
        discard_upload(actor=actor_for(ctx), upload=kept)
        return _plan_page(request, ctx, plan, filename=kept.filename)
    discard_upload(actor=actor_for(ctx), upload=kept)
    if outcome.total:
        done = ", ".join(f"{n} {label}" for n, label in (
            (outcome.granted, "granted"), (outcome.changed, "changed"), (outcome.revoked, "revoked"),
            (outcome.blocked, "blocked"), (outcome.unblocked, "unblocked"),
        ) if n)
        messages.success(request, f"The worker file {kept.filename} was applied: {done}.")
    else:
        messages.info(request, f"The worker file {kept.filename} changed nothing: everything was already as it asks.")
    return redirect("requester:workers")


@require_POST
@requester_required
def upload_discard(request: HttpRequest, ctx: RequesterContext, upload_id: str) -> HttpResponseBase:
    kept = find_upload(upload_id, requester=ctx.requester, environment=ctx.environment, kind=UploadKind.WORKERS)
    if kept is not None:
        discard_upload(actor=actor_for(ctx), upload=kept)
        messages.info(request, f"The worker file {kept.filename} was discarded; nothing was changed.")
    return redirect("requester:workers_upload")
