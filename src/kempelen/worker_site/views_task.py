"""Task content: requesters' HTML (HTMLQuestion and layout HITs), served so that it never runs in Kempelen's origin.

The worker's task page frames ``/task-content/<token>``. The response carries a CSP ``sandbox`` without
``allow-same-origin``, so the document gets an opaque origin even if someone opens the URL directly: its
scripts cannot read Kempelen's cookies or storage, and its requests to Kempelen are cross-site, so the worker's
session cookie (SameSite) does not travel with them. The iframe adds the same sandbox. The token names the HIT
(and the assignment, when the worker accepted it); it grants reading the task, nothing else. Submissions go to
the ``turkSubmitTo`` capability of ``submit_tokens``.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.clickjacking import xframe_options_sameorigin

from kempelen.marketplace.models import HIT, Assignment
from kempelen.questions.formats import HTMLQuestion, parse_question
from kempelen.questions.hosted_scripts import use_kempelen_scripts

from . import submit_tokens

_SALT = "kempelen.task-content"
_MAX_AGE = 7 * 24 * 3600
PREVIEW_ID = "ASSIGNMENT_ID_NOT_AVAILABLE"

#: Sandbox flags for requesters' HTML: scripts and forms run, popups open (unsandboxed, for links to a survey),
#: dialogs work; never allow-same-origin, and never navigating the worker's tab away (a task could otherwise
#: replace Kempelen's page with a look-alike once the worker clicked inside it).
TASK_SANDBOX = ("allow-scripts allow-forms allow-popups allow-popups-to-escape-sandbox allow-modals "
                "allow-downloads")
#: ExternalQuestion pages live on the requester's own origin, so they keep it (cookies, storage of their site).
EXTERNAL_SANDBOX = TASK_SANDBOX + " allow-same-origin"

_MTURK_SUBMIT = re.compile(r"https?://(?:www|workersandbox)\.mturk\.com/mturk/externalSubmit")


def content_token(hit_id: str, assignment_id: str | None) -> str:
    return signing.dumps([hit_id, assignment_id or ""], salt=_SALT, compress=False)


def base_url(request: HttpRequest) -> str:
    """The address workers and task frames reach Kempelen at (KEMPELEN_PUBLIC_URL, else this request's host)."""
    return str(settings.KEMPELEN["PUBLIC_URL"] or request.build_absolute_uri("/").rstrip("/"))


def frame_params(request: HttpRequest, hit: HIT, assignment: Assignment | None) -> dict[str, str]:
    """The parameters MTurk passed to a task frame: assignmentId, hitId, turkSubmitTo and, once accepted, workerId."""
    params = {"assignmentId": assignment.pk if assignment else PREVIEW_ID, "hitId": hit.pk}
    base = base_url(request)
    params["turkSubmitTo"] = submit_tokens.turk_submit_to(base, assignment.pk) if assignment else base
    if assignment is not None:
        params["workerId"] = assignment.worker.worker_id
    return params


def content_url(request: HttpRequest, hit: HIT, assignment: Assignment | None) -> str:
    origin = settings.KEMPELEN["TASK_CONTENT_URL"] or base_url(request)
    token = content_token(hit.pk, assignment.pk if assignment else None)
    return f"{origin}/task-content/{token}?{urlencode(frame_params(request, hit, assignment))}"


def external_url(request: HttpRequest, url: str, hit: HIT, assignment: Assignment | None) -> str:
    """The requester's page with MTurk's parameters appended CGI-style (existing query parameters kept)."""
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}{urlencode(frame_params(request, hit, assignment))}"


@xframe_options_sameorigin
def content(request: HttpRequest, token: str) -> HttpResponse:
    try:
        hit_id, assignment_id = signing.loads(token, salt=_SALT, max_age=_MAX_AGE)
    except signing.BadSignature as error:
        raise Http404("This task link is not valid (any more).") from error
    hit = HIT.objects.filter(pk=hit_id).only("id", "question").first()
    if hit is None:
        raise Http404("This HIT does not exist.")
    question = parse_question(hit.question)
    if not isinstance(question, HTMLQuestion):
        raise Http404("This HIT is not an HTML task.")
    html = use_kempelen_scripts(question.html_content, base_url(request))
    if assignment_id:
        html = _MTURK_SUBMIT.sub(submit_tokens.turk_submit_to(base_url(request), assignment_id) + "/mturk/externalSubmit",
                                 html)
    response = HttpResponse(html, content_type="text/html; charset=utf-8")
    # Framed by Kempelen's task page: the same host, or the public host when content has a host of its own.
    ancestors = "'self'" + (f" {settings.KEMPELEN['PUBLIC_URL']}" if settings.KEMPELEN["TASK_CONTENT_URL"] else "")
    response["Content-Security-Policy"] = f"sandbox {TASK_SANDBOX}; frame-ancestors {ancestors}"
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response
