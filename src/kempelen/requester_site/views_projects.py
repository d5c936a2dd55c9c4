"""Project pages: the list, creating a project (blank or from the gallery), a project's page, editing its
properties and qualification requirements, copying, archiving and unarchiving.

The layout editor and the sandboxed previews are in ``views_project_layout.py``.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_POST

from kempelen.core.actors import Actor
from kempelen.core.errors import KempelenError
from kempelen.core.money import format_cents
from kempelen.marketplace import actions
from kempelen.marketplace.actions.layouts import ProjectProperties
from kempelen.marketplace.models import HITLayout
from kempelen.marketplace.queries import describe_requirement, qualification_name
from kempelen.questions.layouts import layout_variables

from . import gallery
from .decorators import RequesterContext, requester_required
from .forms_projects import PropertiesForm
from .requirements_form import VISIBILITY_CHOICES, RequirementsEditor
from .views_project_layout import frame_src

PAGE_SIZE = 50
_VISIBILITY_WORDS = {
    "Accept": "workers who do not meet it can find and preview the HITs, but not accept them",
    "PreviewAndAccept": "workers who do not meet it can find the HITs, but not preview or accept them",
    "DiscoverPreviewAndAccept": "hidden from workers who do not meet it",
}
assert set(_VISIBILITY_WORDS) == {value for value, _ in VISIBILITY_CHOICES}


def actor_for(ctx: RequesterContext) -> Actor:
    return Actor.for_requester(ctx.requester, via="site")


def own_project(ctx: RequesterContext, project_id: str) -> HITLayout:
    """The requester's project in the current environment; anyone else's (or the other environment's) is a 404."""
    try:
        return actions.get_project(ctx.requester, ctx.environment, project_id)
    except KempelenError as error:
        raise Http404("There is no such project in this environment.") from error


def batch_new_url(project_id: str) -> str:
    try:
        return reverse("requester:batch_new", kwargs={"project_id": project_id})
    except NoReverseMatch:
        return f"/requester/projects/{project_id}/batches/new"


# --- The list -------------------------------------------------------------------------------------------


@requester_required
def project_list(request: HttpRequest, ctx: RequesterContext) -> HttpResponse:
    archived = request.GET.get("archived") == "1"
    mine = HITLayout.objects.filter(requester=ctx.requester, environment=ctx.environment)
    shown = (mine.filter(archived_at__isnull=not archived).defer("html", "sample_row")
             .order_by("-updated_at", "-created_at", "id"))
    page = Paginator(shown, PAGE_SIZE).get_page(request.GET.get("page"))
    for project in page:
        project.batch_new_url = batch_new_url(project.pk)  # type: ignore[attr-defined]
    return render(request, "requester_site/projects/list.html", {
        "nav": "projects", "page": page, "archived": archived,
        "active_count": mine.filter(archived_at__isnull=True).count(),
        "archived_count": mine.filter(archived_at__isnull=False).count(),
    })


# --- Creating and editing properties --------------------------------------------------------------------


@requester_required
def project_new(request: HttpRequest, ctx: RequesterContext) -> HttpResponseBase:
    """Without a template: the gallery to choose from. With one (``?template=<slug>``): its properties form."""
    slug = request.POST.get("template") or request.GET.get("template") or ""
    if not slug:
        cards = [(t, frame_src(request, reverse("requester:gallery_preview", kwargs={"slug": t.slug})))
                 for t in gallery.TEMPLATES]
        return render(request, "requester_site/projects/new.html", {
            "nav": "projects", "cards": cards, "blank": gallery.BLANK,
        })
    template = gallery.get(slug)
    if template is None:
        raise Http404("There is no such template in the gallery.")
    name = template.name if template.slug != "blank" else ""
    return _properties_page(request, ctx, project=None, template=template,
                            initial=PropertiesForm.initial_for(name, template.properties),
                            requirements=template.properties.qualification_requirements)


@requester_required
def project_edit(request: HttpRequest, ctx: RequesterContext, project_id: str) -> HttpResponseBase:
    project = own_project(ctx, project_id)
    props = ProjectProperties.of(project)
    return _properties_page(request, ctx, project=project, template=None,
                            initial=PropertiesForm.initial_for(project.name, props),
                            requirements=props.qualification_requirements)


def _properties_page(request: HttpRequest, ctx: RequesterContext, *, project: HITLayout | None,
                     template: gallery.GalleryTemplate | None, initial: dict[str, Any],
                     requirements: list[dict]) -> HttpResponseBase:
    if request.method == "POST":
        form = PropertiesForm(request.POST)
        editor = RequirementsEditor(ctx.requester, ctx.environment, request.POST, initial=requirements)
        form_ok, editor_ok = form.is_valid(), editor.is_valid()
        if form_ok and editor_ok:
            props = form.properties(editor.requirements)
            problem = form.check_rules(props, ctx.environment)
            if problem:
                editor.errors.append(problem)
            elif not form.errors:
                saved = _save_properties(request, ctx, project, template, form.cleaned_data["name"], props)
                if saved is not None:
                    return saved
    else:
        form = PropertiesForm(initial=initial)
        editor = RequirementsEditor(ctx.requester, ctx.environment, initial=requirements)
    error_forms = [form, editor.common, *editor.rows]
    return render(request, "requester_site/projects/properties.html", {
        "nav": "projects", "form": form, "editor": editor, "project": project, "template": template,
        "error_forms": error_forms, "has_errors": bool(editor.errors) or any(f.errors for f in error_forms),
    })


def _save_properties(request: HttpRequest, ctx: RequesterContext, project: HITLayout | None,
                     template: gallery.GalleryTemplate | None, name: str,
                     props: ProjectProperties) -> HttpResponseBase | None:
    try:
        if project is None:
            assert template is not None
            project = actions.create_project(
                actor=actor_for(ctx), requester=ctx.requester, environment=ctx.environment, name=name,
                html=template.html, frame_height=template.frame_height, sample_row=template.sample_row,
                properties=props, source=template.slug,
            )
            messages.success(request, f"Project “{project.name}” created. Now adjust its layout to your task.")
            return redirect("requester:project_layout", project_id=project.pk)
        actions.update_project(actor=actor_for(ctx), requester=ctx.requester, environment=ctx.environment,
                               project_id=project.pk, name=name, properties=props)
    except KempelenError as error:
        messages.error(request, error.message)
        return None
    messages.success(request, "Properties saved.")
    return redirect("requester:project", project_id=project.pk)


# --- A project's page -----------------------------------------------------------------------------------


def requirement_lines(project: HITLayout) -> list[str]:
    """Each requirement in the requester's words, with who can see the HITs."""
    lines = []
    for req in project.qualification_requirements or []:
        guard = req.get("ActionsGuarded") or ("PreviewAndAccept" if req.get("RequiredToPreview") else "Accept")
        if req["Comparator"] in ("Exists", "DoesNotExist"):
            held = "granted" if req["Comparator"] == "Exists" else "not granted"
            text = f"{qualification_name(req['QualificationTypeId'], project.environment)}: {held}"
        else:
            text = describe_requirement(req, project.environment)
        lines.append(f"{text} — {_VISIBILITY_WORDS.get(guard, guard)}")
    return lines


def api_example(project: HITLayout, variables: list[str]) -> str:
    """A boto3 call that creates a HIT from this project, for requesters who script."""

    def text(value: str) -> str:
        return json.dumps(value, ensure_ascii=False)

    lines = ["client.create_hit(", f"    HITLayoutId={text(project.pk)},"]
    if variables:
        lines.append("    HITLayoutParameters=[")
        lines += [f'        {{"Name": {text(name)}, "Value": "…"}},' for name in variables]
        lines.append("    ],")
    lines += [
        f"    Title={text(project.title)},",
        f"    Description={text(project.description)},",
        f"    Keywords={text(project.keywords)},",
        f"    Reward={text(format_cents(project.reward_cents))},",
        f"    MaxAssignments={project.max_assignments},",
        f"    AssignmentDurationInSeconds={project.assignment_duration},",
        f"    LifetimeInSeconds={project.lifetime},",
        f"    AutoApprovalDelayInSeconds={project.auto_approval_delay},",
    ]
    if project.qualification_requirements:
        lines.append(f"    QualificationRequirements={json.dumps(project.qualification_requirements)},")
    lines.append(")")
    return "\n".join(lines)


@requester_required
def project_detail(request: HttpRequest, ctx: RequesterContext, project_id: str) -> HttpResponse:
    project = own_project(ctx, project_id)
    variables = layout_variables(project.html)
    return render(request, "requester_site/projects/detail.html", {
        "nav": "projects", "project": project, "variables": variables,
        "sample": [(name, (project.sample_row or {}).get(name, "")) for name in variables],
        "requirements": requirement_lines(project), "batch_new_url": batch_new_url(project.pk),
        "frame_src": frame_src(request, reverse("requester:project_preview", kwargs={"project_id": project.pk})),
        "api_example": api_example(project, variables),
    })


# --- Copy, archive, unarchive ---------------------------------------------------------------------------


@require_POST
@requester_required
def project_copy(request: HttpRequest, ctx: RequesterContext, project_id: str) -> HttpResponseBase:
    source = own_project(ctx, project_id)
    try:
        copy = actions.copy_project(actor=actor_for(ctx), requester=ctx.requester, environment=ctx.environment,
                                    project_id=source.pk)
    except KempelenError as error:
        messages.error(request, error.message)
        return redirect("requester:project", project_id=source.pk)
    messages.success(request, f"Copied “{source.name}” as “{copy.name}”.")
    return redirect("requester:project", project_id=copy.pk)


def _archive(request: HttpRequest, ctx: RequesterContext, project_id: str, archive: bool) -> HttpResponseBase:
    project = own_project(ctx, project_id)
    action = actions.archive_project if archive else actions.unarchive_project
    try:
        action(actor=actor_for(ctx), requester=ctx.requester, environment=ctx.environment, project_id=project.pk)
    except KempelenError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Project “{project.name}” {'archived' if archive else 'restored'}.")
    return redirect("requester:project", project_id=project.pk)


@require_POST
@requester_required
def project_archive(request: HttpRequest, ctx: RequesterContext, project_id: str) -> HttpResponseBase:
    return _archive(request, ctx, project_id, True)


@require_POST
@requester_required
def project_unarchive(request: HttpRequest, ctx: RequesterContext, project_id: str) -> HttpResponseBase:
    return _archive(request, ctx, project_id, False)
