"""Review results and files: ListReviewPolicyResultsForHIT, GetFileUploadURL.

ListReviewPolicyResultsForHIT decisions:

- **What is returned.** ``RetrieveResults`` and ``RetrieveActions`` default to false: the model marks both
  optional and gives no default, the 2017 reference describes each as "Specify if the operation should
  retrieve …", and the one client seen using the 2017 API (pyMTurkR) always sends both as true. Without them
  the answer carries the HITId and the policies only.
- **Policies.** ``AssignmentReviewPolicy`` / ``HITReviewPolicy`` echo the HIT's policy in canonical form
  (PolicyName and Parameters, as :func:`review_policies.policy_to_wire` writes them), for the requested levels,
  when the HIT has one. MTurk's documentation says these "contain only the PolicyName"; the Parameters are
  added because there is no other way to read a HIT's policy back (GetHIT does not return it), and clients
  that only read PolicyName are unaffected.
- **Pagination.** ``MaxResults`` (default 10) bounds the number of ReviewResults plus ReviewActions on one
  page, taken in a fixed order: Assignment-level results, Assignment-level actions, HIT-level results,
  HIT-level actions (each in the order they were recorded). As for every Kempelen listing, a non-empty page
  carries a ``NextToken`` and the page after the last item is empty and carries none; there is no
  ``NumResults`` (the model has none for this operation). The requested reports are always present (with
  empty lists when there is nothing) except on that final empty page reached with a token, which has no
  reports at all: pyMTurkR stops paging only when a page has no reports.
"""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.db.models import QuerySet

from kempelen.core.errors import AssignmentDoesNotExist, DoesNotExist, InvalidParameter, InvalidQuestion
from kempelen.marketplace import files, review_policies
from kempelen.marketplace.models import (
    HIT,
    VISIBLE_STATUSES,
    Assignment,
    ReviewAction,
    ReviewResult,
    UploadedFile,
)
from kempelen.questions.answers import parse_answers
from kempelen.questions.formats import FileUploadAnswer, QuestionForm, parse_question

from ..context import Call
from ..pagination import DEFAULT_PAGE_SIZE
from ..wire import decode_token, encode_token
from .hits import _own_hit

LEVELS = ("Assignment", "HIT")
_REPORT = {"Assignment": "AssignmentReviewReport", "HIT": "HITReviewReport"}
_POLICY = {"Assignment": "AssignmentReviewPolicy", "HIT": "HITReviewPolicy"}


# --- ListReviewPolicyResultsForHIT ---------------------------------------------------------------------------


def _policy_wire(hit: HIT, level: str) -> dict | None:
    stored = hit.assignment_review_policy if level == "Assignment" else hit.hit_review_policy
    if not stored:
        return None
    try:
        parsed = (review_policies.parse_assignment_policy(stored) if level == "Assignment"
                  else review_policies.parse_hit_policy(stored))
    except InvalidParameter:  # validated at creation; never let an old row break the listing
        return {"PolicyName": stored.get("PolicyName", "")}
    return review_policies.policy_to_wire(parsed) if parsed is not None else None


def _result_wire(row: ReviewResult) -> dict:
    out = {"SubjectId": row.subject_id, "SubjectType": row.subject_type}
    if row.action_id:
        out["ActionId"] = row.action_id
    if row.question_id:
        out["QuestionId"] = row.question_id
    out["Key"] = row.key
    out["Value"] = row.value
    return out


def _action_wire(row: ReviewAction) -> dict:
    out: dict[str, Any] = {
        "ActionId": row.action_id,
        "ActionName": row.action_name,
        "TargetId": row.target_id,
        "TargetType": row.target_type,
        "Status": row.status,
    }
    if row.complete_time:
        out["CompleteTime"] = row.complete_time
    if row.result:
        out["Result"] = row.result
    if row.error_code:
        out["ErrorCode"] = row.error_code
    return out


def _streams(hit: HIT, levels: list[str], results: bool, actions: bool) -> list[tuple[str, str, QuerySet]]:
    streams: list[tuple[str, str, QuerySet]] = []
    for level in levels:
        if results:
            streams.append((level, "ReviewResults", ReviewResult.objects.filter(hit=hit, level=level)))
        if actions:
            streams.append((level, "ReviewActions", ReviewAction.objects.filter(hit=hit, level=level)))
    return streams


def list_review_policy_results_for_hit(call: Call, p: dict) -> dict:
    hit = _own_hit(call, p["HITId"])
    requested = p.get("PolicyLevels") or list(LEVELS)
    unknown = [level for level in requested if level not in LEVELS]
    if unknown:
        raise InvalidParameter(f"PolicyLevels may contain Assignment and HIT; got {unknown[0]!r}.")
    levels = [level for level in LEVELS if level in requested]
    want_results = bool(p.get("RetrieveResults", False))
    want_actions = bool(p.get("RetrieveActions", False))
    size = p.get("MaxResults") or DEFAULT_PAGE_SIZE
    if not 1 <= size <= 100:
        raise InvalidParameter(f"MaxResults must be between 1 and 100; got {size}.")
    scope = f"reviewresults:{hit.pk}:{','.join(levels)}:{int(want_results)}{int(want_actions)}"

    streams = _streams(hit, levels, want_results, want_actions)
    start_stream, after_pk = 0, 0
    token = p.get("NextToken")
    if token:
        position = decode_token(token, scope=scope)
        start_stream, after_pk = int(position.get("i", 0)), int(position.get("k", 0))

    out: dict[str, Any] = {"HITId": hit.pk}
    for level in levels:
        policy = _policy_wire(hit, level)
        if policy is not None:
            out[_POLICY[level]] = policy

    reports: dict[str, dict[str, list]] = {
        _REPORT[level]: {
            **({"ReviewResults": []} if want_results else {}),
            **({"ReviewActions": []} if want_actions else {}),
        }
        for level in levels
    }
    taken = 0
    last: tuple[int, int] | None = None
    for index, (level, member, qs) in enumerate(streams):
        if index < start_stream or taken >= size:
            continue
        if index == start_stream and after_pk:
            qs = qs.filter(pk__gt=after_pk)
        rows = list(qs.order_by("pk")[: size - taken])
        render = _result_wire if member == "ReviewResults" else _action_wire
        reports[_REPORT[level]][member].extend(render(row) for row in rows)
        taken += len(rows)
        if rows:
            last = (index, rows[-1].pk)

    if last is not None:
        out["NextToken"] = encode_token({"i": last[0], "k": last[1]}, scope=scope)
    if streams and not (token and taken == 0):
        out.update(reports)
    return out


# --- GetFileUploadURL -----------------------------------------------------------------------------------------


def _base_url(call: Call) -> str:
    """Where links point: PUBLIC_URL when the operator set it, else the address the API call came to."""
    public = settings.KEMPELEN.get("PUBLIC_URL") or ""
    if public:
        return str(public).rstrip("/")
    from_request = call.base_url
    if from_request:
        return str(from_request).rstrip("/")
    host = os.environ.get("KEMPELEN_HOST", "127.0.0.1")
    port = os.environ.get("KEMPELEN_PORT", "8000")
    return f"http://{host}:{port}"


def _submitted_key(assignment: Assignment, question_identifier: str) -> str | None:
    """The UploadedFileKey the worker's submitted answer gives for the question, if any."""
    try:
        answers = parse_answers(assignment.answer) if assignment.answer else []
    except InvalidQuestion:
        return None
    for answer in answers:
        if answer.identifier == question_identifier and answer.uploaded_file_key:
            return answer.uploaded_file_key
    return None


def _no_file(hit: HIT, assignment_id: str, question_identifier: str) -> Exception:
    """The clearest reason why there is no file to link to."""
    try:
        form = parse_question(hit.question)
    except InvalidQuestion:
        form = None
    if not isinstance(form, QuestionForm):
        return InvalidParameter(
            f"HIT {hit.pk} does not use a QuestionForm, so its assignments have no uploaded files; "
            "GetFileUploadURL is for QuestionForm questions with a FileUploadAnswer."
        )
    try:
        question = form.question(question_identifier)
    except KeyError:
        return InvalidParameter(f"HIT {hit.pk} has no question with the QuestionIdentifier {question_identifier!r}.")
    if not isinstance(question.answer, FileUploadAnswer):
        return InvalidParameter(
            f"Question {question_identifier!r} of HIT {hit.pk} is not a FileUploadAnswer question, so it has no "
            "uploaded file."
        )
    return DoesNotExist(
        f"Assignment {assignment_id} has no uploaded file for the question {question_identifier!r}: the worker "
        "did not upload one.",
        code="UploadedFileDoesNotExist",
    )


def get_file_upload_url(call: Call, p: dict) -> dict:
    assignment_id, question_identifier = p["AssignmentId"], p["QuestionIdentifier"]
    found = Assignment.objects.filter(
        pk=assignment_id, requester=call.requester, environment=call.environment
    ).values_list("hit_id", flat=True).first()
    if found is None:
        raise AssignmentDoesNotExist(assignment_id)
    hit = _own_hit(call, found)
    assignment = Assignment.objects.filter(pk=assignment_id, status__in=VISIBLE_STATUSES).first()
    if assignment is None:  # in progress (or returned/abandoned): not visible to the requester
        raise AssignmentDoesNotExist(assignment_id)
    if hit.disposed_at is not None:
        raise DoesNotExist(
            f"The files of assignment {assignment_id} are no longer available: HIT {hit.pk} has been deleted.",
            code="UploadedFileDoesNotExist",
        )
    uploads = UploadedFile.objects.filter(assignment=assignment, question_identifier=question_identifier)
    key = _submitted_key(assignment, question_identifier)
    uploaded = (uploads.filter(key=key).first() if key else None) or uploads.order_by("-pk").first()
    if uploaded is None:
        raise _no_file(hit, assignment_id, question_identifier)
    return {"FileUploadURL": files.signed_url(_base_url(call), uploaded)}
