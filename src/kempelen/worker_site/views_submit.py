"""``POST /mturk/externalSubmit``: the form post of HTMLQuestion, ExternalQuestion and layout pages."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.csrf import csrf_exempt

from kempelen.accounts.models import Worker
from kempelen.core import lookups
from kempelen.core.actors import Actor
from kempelen.core.errors import KempelenError
from kempelen.marketplace import actions
from kempelen.marketplace.models import Assignment
from kempelen.questions.answers import answers_from_form_post

from . import submit_tokens

PREVIEW_ID = "ASSIGNMENT_ID_NOT_AVAILABLE"


def _page(request: HttpRequest, context: dict, status: int = 200) -> HttpResponse:
    # The page is usually shown inside the task's frame on Kempelen's task page.
    response = render(request, "worker_site/submit_result.html", context, status=status)
    response["Content-Security-Policy"] = (
        "default-src 'self'; script-src 'self'; style-src 'self'; base-uri 'none'; object-src 'none'; "
        "frame-ancestors 'self'"
    )
    return response


def _refuse(request: HttpRequest, title: str, message: str, status: int) -> HttpResponse:
    return _page(request, {"ok": False, "title": title, "message": message}, status=status)


def _worker_for(request: HttpRequest, token: str | None, assignment_id: str) -> tuple[Worker | None, Assignment | None]:
    """Who is submitting: the worker the token's assignment belongs to (task frames have no cookies), else the
    signed-in worker. Also the assignment, when reading it was needed to tell."""
    if token is not None:
        bound = submit_tokens.read(token)
        if bound is None or bound != assignment_id:
            return None, None
        # The token names the assignment; its worker is the one submitting (fixed statements, as on every submit).
        assignment = lookups.one(Assignment, "id = %s", [assignment_id])
        if assignment is None:
            return None, None
        return lookups.one(Worker, "id = %s", [assignment.worker_id]), assignment
    user = request.user
    return (getattr(user, "worker", None) if user.is_authenticated else None), None


@xframe_options_sameorigin
@csrf_exempt  # cross-origin posts from requesters' pages are the point; see submit_tokens for the authority
def external_submit(request: HttpRequest, token: str | None = None) -> HttpResponse:
    if request.method != "POST":
        return _refuse(request, "Nothing to submit",
                       "Task answers are sent here by the task's form (a POST); there is nothing to show.", 405)
    assignment_id = request.POST.get("assignmentId", "")
    if not assignment_id or assignment_id == PREVIEW_ID:
        return _refuse(request, "This is a preview",
                       "You must ACCEPT the HIT before you can submit the results. Nothing was saved.", 400)
    worker, read = _worker_for(request, token, assignment_id)
    if worker is None:
        return _refuse(request, "Not your assignment",
                       "This submission does not belong to an assignment of yours. Nothing was saved.", 403)
    fields = [(k, v) for k in request.POST for v in request.POST.getlist(k)]
    try:
        assignment = actions.submit_assignment(
            actor=Actor.for_worker(worker), worker=worker, assignment_id=assignment_id,
            answer_xml=answers_from_form_post(fields), read=read,
        )
    except KempelenError as error:
        return _refuse(request, "Your work could not be submitted", error.message, 409 if "state" in error.code.lower() else 400)
    return _page(request, {
        "ok": True, "title": "Submitted", "message": "Thank you: your work was submitted.", "assignment": assignment,
        "submitted_url": reverse("worker:submitted", kwargs={"assignment_id": assignment.pk}),
    })
