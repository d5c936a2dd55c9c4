"""Finding and doing work: the HIT-group list, a group's preview, accepting, the task page, returning, submitting."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from kempelen.accounts.models import Worker
from kempelen.accounts.queries import requester_by_id
from kempelen.core import clock, lookups
from kempelen.core.actors import Actor
from kempelen.core.errors import KempelenError, NoAssignmentAvailable
from kempelen.core.money import parse_amount
from kempelen.marketplace import actions
from kempelen.marketplace.models import HIT, Assignment, HITType
from kempelen.marketplace.queries import described_hit_type, discoverable_groups, hit_for_preview
from kempelen.questions.answers import answers_from_question_form
from kempelen.questions.formats import ExternalQuestion, HTMLQuestion, QuestionForm, parse_question

from . import views_task
from .decorators import worker_required
from .queries_work import group_views, requirement_views

ENVIRONMENT = "live"
PAGE_SIZE = 20
_AUTO_KEY = "kempelen.auto_accept_groups"


@worker_required
def group_list(request: HttpRequest, worker: Worker) -> HttpResponse:
    q = request.GET.get("q", "").strip()[:200]
    sort = request.GET.get("sort", "newest")
    qualified = request.GET.get("qualified") == "1"
    try:
        min_reward = parse_amount(request.GET.get("min_reward") or "0", field="Minimum reward")
    except KempelenError:
        min_reward = 0
        messages.error(request, "The minimum reward must be an amount such as 0.50.")
    try:
        page = max(1, int(request.GET.get("page", "1")))
    except ValueError:
        page = 1
    groups = discoverable_groups(worker, ENVIRONMENT, search=q, min_reward_cents=min_reward,
                                 qualified_only=qualified, sort=sort, offset=(page - 1) * PAGE_SIZE,
                                 limit=PAGE_SIZE + 1)
    more = len(groups) > PAGE_SIZE
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "worker_site/work/group_list.html", {
        "nav": "work", "groups": group_views(groups[:PAGE_SIZE], worker, ENVIRONMENT), "q": q, "sort": sort,
        "qualified": qualified, "min_reward": request.GET.get("min_reward", ""), "page": page, "more": more,
        "query": query.urlencode(),
    })


def _frame(request: HttpRequest, hit: HIT, assignment: Assignment | None) -> dict[str, Any]:
    """How the task page shows a HIT: a sandboxed frame (HTML, layout, external) or Kempelen's own form."""
    question = parse_question(hit.question)
    if isinstance(question, QuestionForm):
        return {"kind": "form", "form": question}
    if isinstance(question, ExternalQuestion):
        return {"kind": "frame", "src": views_task.external_url(request, question.external_url, hit, assignment),
                "sandbox": views_task.EXTERNAL_SANDBOX, "height": question.frame_height}
    assert isinstance(question, HTMLQuestion)
    return {"kind": "frame", "src": views_task.content_url(request, hit, assignment),
            "sandbox": views_task.TASK_SANDBOX, "height": question.frame_height}


def _render_form(form: QuestionForm, **kwargs: Any) -> Any:
    from kempelen.questions.render import render_question_form

    return render_question_form(form, **kwargs)


@worker_required
def group_detail(request: HttpRequest, worker: Worker, group_id: str) -> HttpResponse:
    try:
        hit = hit_for_preview(worker, ENVIRONMENT, group_id)
    except KempelenError as error:
        return render(request, "worker_site/work/unavailable.html", {"nav": "work", "message": error.message},
                      status=404 if isinstance(error, NoAssignmentAvailable) else 403)
    hit_type: HITType = hit.hit_type
    frame = _frame(request, hit, None)
    if frame["kind"] == "form":
        frame["html"] = _render_form(frame["form"], read_only=True)
    return render(request, "worker_site/work/group_detail.html", {
        "nav": "work", "hit": hit, "hit_type": hit_type, "frame": frame, "group_id": group_id,
        "requirements": requirement_views(hit_type, worker),
        "auto": group_id in request.session.get(_AUTO_KEY, []),
    })


def _accept_next(request: HttpRequest, worker: Worker, group_id: str) -> Assignment | None:
    try:
        return actions.accept_assignment(actor=Actor.for_worker(worker), worker=worker, environment=ENVIRONMENT,
                                         group_id=group_id)
    except NoAssignmentAvailable as error:
        messages.error(request, f"{error.message} Here are other HITs you can do.")
    except KempelenError as error:
        messages.error(request, error.message)
    return None


def _remember_auto(request: HttpRequest, before: set[str], after: set[str]) -> None:
    """Save the groups the worker keeps accepting only when they change: a session save is a database write."""
    if after != before:
        request.session[_AUTO_KEY] = sorted(after)


@require_POST
@worker_required
def accept(request: HttpRequest, worker: Worker, group_id: str) -> HttpResponse:
    before = set(request.session.get(_AUTO_KEY, []))
    auto = set(before)
    if request.POST.get("auto") == "1":
        auto.add(group_id)
    elif request.POST.get("auto") == "0":
        auto.discard(group_id)
    _remember_auto(request, before, auto)
    assignment = _accept_next(request, worker, group_id)
    if assignment is None:
        return redirect("worker:groups")
    return redirect("worker:task", assignment_id=assignment.pk)


def _own_assignment(worker: Worker, assignment_id: str) -> Assignment:
    """The worker's assignment with its HIT, the HIT's type and requester (fixed statements: every task page
    and submission reads it)."""
    assignment = lookups.one(Assignment, "id = %s AND worker_id = %s", [assignment_id, worker.pk])
    if assignment is None:
        raise Http404("This is not one of your assignments.")
    hit = lookups.one(HIT, "id = %s", [assignment.hit_id])
    assert hit is not None  # an assignment's HIT is never deleted
    hit.hit_type = described_hit_type(hit.hit_type_id)
    hit.requester = requester_by_id(hit.requester_id)
    assignment.hit = hit
    assignment.worker = worker
    return assignment


def _task_page(request: HttpRequest, worker: Worker, assignment: Assignment, *, values: Any = None,
               errors: dict[str, str] | None = None, status: int = 200) -> HttpResponse:
    hit = assignment.hit
    frame = _frame(request, hit, assignment)
    if frame["kind"] == "form":
        frame["html"] = _render_form(frame["form"], values=values, errors=errors)
    return render(request, "worker_site/work/task.html", {
        "nav": "work", "assignment": assignment, "hit": hit, "hit_type": hit.hit_type, "frame": frame,
        "errors": errors, "group_id": hit.hit_type.group_id,
        "auto": hit.hit_type.group_id in request.session.get(_AUTO_KEY, []),
        "submitted_url": reverse("worker:submitted", kwargs={"assignment_id": assignment.pk}),
        "seconds_left": max(0, int((assignment.deadline - clock.now()).total_seconds())),
    }, status=status)


@worker_required
def task(request: HttpRequest, worker: Worker, assignment_id: str) -> HttpResponse:
    assignment = _own_assignment(worker, assignment_id)
    if actions.settle_if_due(assignment.hit) is not assignment.hit:  # a timer fell due and was applied
        assignment = _own_assignment(worker, assignment_id)
    if assignment.status in ("Submitted", "Approved", "Rejected"):
        return redirect("worker:submitted", assignment_id=assignment.pk)
    if assignment.status != "Accepted":
        reason = ("The time allotted for this assignment ran out, so it went back to the HIT."
                  if assignment.status == "Abandoned" else "You returned this assignment.")
        return render(request, "worker_site/work/unavailable.html", {"nav": "work", "message": reason}, status=410)
    return _task_page(request, worker, assignment)


@require_POST
@worker_required
def return_task(request: HttpRequest, worker: Worker, assignment_id: str) -> HttpResponse:
    assignment = _own_assignment(worker, assignment_id)
    try:
        actions.return_assignment(actor=Actor.for_worker(worker), worker=worker, assignment_id=assignment.pk)
    except KempelenError as error:
        messages.error(request, error.message)
        return redirect("worker:groups")
    before = set(request.session.get(_AUTO_KEY, []))
    _remember_auto(request, before, before - {assignment.hit.hit_type.group_id})
    messages.success(request, f"You returned “{assignment.hit.hit_type.title}”. It is available to others again.")
    return redirect("worker:groups")


@require_POST
@worker_required
def submit_question_form(request: HttpRequest, worker: Worker, assignment_id: str) -> HttpResponse:
    assignment = _own_assignment(worker, assignment_id)
    question = parse_question(assignment.hit.question)
    if not isinstance(question, QuestionForm):
        raise Http404("This HIT is not a Kempelen form.")
    if assignment.status != "Accepted":
        return redirect("worker:task", assignment_id=assignment.pk)
    xml, errors = answers_from_question_form(question, request.POST)
    if errors:
        return _task_page(request, worker, assignment, values=request.POST, errors=errors, status=400)
    try:
        actions.submit_assignment(actor=Actor.for_worker(worker), worker=worker, assignment_id=assignment.pk,
                                  answer_xml=xml)
    except KempelenError as error:
        return render(request, "worker_site/work/unavailable.html", {"nav": "work", "message": error.message},
                      status=409)
    return redirect("worker:submitted", assignment_id=assignment.pk)


@worker_required
def submitted(request: HttpRequest, worker: Worker, assignment_id: str) -> HttpResponse:
    assignment = _own_assignment(worker, assignment_id)
    if assignment.status == "Accepted":
        return redirect("worker:task", assignment_id=assignment.pk)
    group_id = assignment.hit.hit_type.group_id
    if group_id in request.session.get(_AUTO_KEY, []) and assignment.submit_time and (
        clock.now() - assignment.submit_time
    ).total_seconds() < 60:
        following = _accept_next(request, worker, group_id)
        if following is not None:
            messages.success(request, "Submitted. Here is the next HIT of this group.")
            return redirect("worker:task", assignment_id=following.pk)
    return render(request, "worker_site/work/submitted.html", {
        "nav": "work", "assignment": assignment, "hit_type": assignment.hit.hit_type, "group_id": group_id,
    })


def legacy_preview(request: HttpRequest) -> HttpResponse:
    """``/mturk/preview?groupId=…``, the old MTurk preview link (a HITGroupId or a HITTypeId)."""
    group_id = request.GET.get("groupId", "")
    if not group_id:
        raise Http404("A groupId is needed.")
    return redirect("worker:group", group_id=group_id)
