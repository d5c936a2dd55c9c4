"""The layout editor and the previews of requesters' layouts.

A preview is the requester's own HTML, so it never runs in Kempelen's origin: the preview endpoints answer with
``Content-Security-Policy: sandbox allow-scripts allow-forms`` (no ``allow-same-origin``: the document gets an
opaque origin even when opened directly) and the pages frame them in ``<iframe sandbox="allow-scripts
allow-forms">``. The HTML is prepared as the worker site's task frame prepares a layout HIT before a worker
accepts it: values substituted HTML-escaped, Amazon-hosted script URLs pointed at Kempelen's own copies
(``questions.hosted_scripts``), and MTurk's preview parameters in the frame's URL
(``assignmentId=ASSIGNMENT_ID_NOT_AVAILABLE``), so the submit button is disabled as in a worker's preview.

Previewing never needs saving. With JavaScript, the editor posts the textarea and the sample row straight into
the frame (``POST …/preview``, nothing stored). Without it, the Preview button posts the editor page, which
keeps the draft in the session and frames ``GET …/preview?draft=1``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.clickjacking import xframe_options_sameorigin

from kempelen.core.actors import Actor
from kempelen.core.errors import KempelenError
from kempelen.marketplace import actions
from kempelen.marketplace.models import HITLayout
from kempelen.questions.hosted_scripts import use_kempelen_scripts
from kempelen.questions.layouts import layout_variables, render_layout
from kempelen.worker_site import views_task

from . import gallery
from .decorators import RequesterContext, requester_required
from .forms_projects import SAMPLE_PREFIX, LayoutForm

#: The preview frame's sandbox, on the iframe and in the response's CSP: scripts and forms, never same-origin.
PREVIEW_SANDBOX = "allow-scripts allow-forms"
_DRAFT_KEY = "requester_project_draft:"


def frame_src(request: HttpRequest, path: str, **extra: str) -> str:
    """A preview URL with the parameters MTurk gave a task frame before the worker accepted."""
    params = {"assignmentId": views_task.PREVIEW_ID, "hitId": "PREVIEW",
              "turkSubmitTo": views_task.base_url(request), **extra}
    return f"{path}?{urlencode(params)}"


def sandboxed_preview(request: HttpRequest, html: str, sample: dict[str, str]) -> HttpResponse:
    """The layout with the sample's values, as a worker's preview frame would get it, under a CSP sandbox."""
    values = {name: sample.get(name, "") for name in layout_variables(html)}
    rendered = use_kempelen_scripts(render_layout(html, values), views_task.base_url(request))
    response = HttpResponse(rendered, content_type="text/html; charset=utf-8")
    response["Content-Security-Policy"] = f"sandbox {PREVIEW_SANDBOX}; frame-ancestors 'self'"
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response


def _own(ctx: RequesterContext, project_id: str) -> HITLayout:
    try:
        return actions.get_project(ctx.requester, ctx.environment, project_id)
    except KempelenError as error:
        raise Http404("There is no such project in this environment.") from error


def _posted_sample(data: Any) -> dict[str, str]:
    return {key[len(SAMPLE_PREFIX):]: str(value) for key, value in data.items() if key.startswith(SAMPLE_PREFIX)}


@xframe_options_sameorigin
@requester_required
def project_preview(request: HttpRequest, ctx: RequesterContext, project_id: str) -> HttpResponse:
    """GET: the saved layout with its sample row (or, with ``draft=1``, the draft the editor kept). POST: the
    layout and sample row in the request, unsaved."""
    project = _own(ctx, project_id)
    if request.method == "POST":
        html = request.POST.get("html", "")
        sample = _posted_sample(request.POST)
    else:
        draft = request.session.get(_DRAFT_KEY + project.pk) if request.GET.get("draft") == "1" else None
        html, sample = (draft["html"], draft["sample"]) if draft else (project.html, project.sample_row or {})
    return sandboxed_preview(request, html, sample)


@xframe_options_sameorigin
@requester_required
def gallery_preview(request: HttpRequest, ctx: RequesterContext, slug: str) -> HttpResponse:
    template = gallery.get(slug)
    if template is None:
        raise Http404("There is no such template in the gallery.")
    return sandboxed_preview(request, template.html, template.sample_row)


@requester_required
def project_layout(request: HttpRequest, ctx: RequesterContext, project_id: str) -> HttpResponseBase:
    """Edit the layout HTML, the frame height and the sample row; preview without saving; save."""
    project = _own(ctx, project_id)
    preview_path = reverse("requester:project_preview", kwargs={"project_id": project.pk})
    src = frame_src(request, preview_path)
    if request.method == "POST":
        form = LayoutForm(request.POST)
        if form.is_valid():
            if request.POST.get("action") == "save":
                try:
                    actions.update_project(
                        actor=Actor.for_requester(ctx.requester, via="site"), requester=ctx.requester,
                        environment=ctx.environment, project_id=project.pk, html=form.cleaned_data["html"],
                        frame_height=form.cleaned_data["frame_height"], sample_row=form.sample_row(),
                    )
                except KempelenError as error:
                    form.add_error(None, error.message)
                else:
                    request.session.pop(_DRAFT_KEY + project.pk, None)
                    messages.success(request, "Layout saved.")
                    return redirect("requester:project", project_id=project.pk)
            else:
                request.session[_DRAFT_KEY + project.pk] = {
                    "html": form.cleaned_data["html"], "sample": form.sample_row()}
                src = frame_src(request, preview_path, draft="1")
    else:
        form = LayoutForm(initial={"html": project.html, "frame_height": project.frame_height},
                          sample_row=project.sample_row or {})
    height = form.cleaned_data.get("frame_height") if form.is_bound else None
    return render(request, "requester_site/projects/layout.html", {
        "nav": "projects", "project": project, "form": form, "frame_src": src, "error_forms": [form],
        "preview_action": frame_src(request, preview_path), "sandbox": PREVIEW_SANDBOX,
        "frame_height": height if height is not None else project.frame_height,
        "saved": not form.is_bound,
    })
