"""Builders shared by the API conformance tests: questions, HITs, worker-side steps, raw signed requests."""

from __future__ import annotations

import datetime as dt
import json
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from kempelen.accounts.models import Worker
from kempelen.core.actors import Actor
from kempelen.marketplace import actions
from kempelen.marketplace.models import Assignment
from kempelen.questions.answers import answers_from_form_post

TARGET_PREFIX = "MTurkRequesterServiceV20170117"
TIME_SUFFIX = re.compile(r" \(\d+( s)?\)$")

HTML_QUESTION = """<?xml version="1.0" encoding="UTF-8"?>
<HTMLQuestion xmlns="http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2011-11-11/HTMLQuestion.xsd">
  <HTMLContent><![CDATA[<!DOCTYPE html><html><body><form name="mturk_form" method="post" id="mturk_form"
  action="https://www.mturk.com/mturk/externalSubmit"><input type="hidden" value="" name="assignmentId" id="assignmentId"/>
  <input name="label" type="text"/><input type="submit" id="submitButton"/></form>
  <script src="https://s3.amazonaws.com/mturk-public/externalHIT_v1.js"></script><script>turkSetAssignmentID();</script>
  </body></html>]]></HTMLContent>
  <FrameHeight>450</FrameHeight>
</HTMLQuestion>"""

# Mephisto escapes & as &amp; in the URL.
EXTERNAL_QUESTION = (
    '<ExternalQuestion xmlns="http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2006-07-14/'
    'ExternalQuestion.xsd"><ExternalURL>https://tasks.example.org/run?study=7&amp;mode=live</ExternalURL>'
    "<FrameHeight>600</FrameHeight></ExternalQuestion>"
)

QUESTION_FORM = """<QuestionForm xmlns="http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2017-11-06/QuestionForm.xsd">
  <Question>
    <QuestionIdentifier>colour</QuestionIdentifier>
    <IsRequired>true</IsRequired>
    <QuestionContent><Text>What colour is the sky?</Text></QuestionContent>
    <AnswerSpecification><FreeTextAnswer/></AnswerSpecification>
  </Question>
</QuestionForm>"""


def hit_args(**overrides: Any) -> dict[str, Any]:
    """CreateHIT arguments a typical client sends; ``None`` in overrides removes a key."""
    args: dict[str, Any] = {
        "Title": "Label a picture",
        "Description": "Say what is in the picture",
        "Reward": "0.50",
        "LifetimeInSeconds": 3600,
        "AssignmentDurationInSeconds": 600,
        "MaxAssignments": 3,
        "Question": HTML_QUESTION,
    }
    args.update(overrides)
    return {k: v for k, v in args.items() if v is not None}


def hit_type_args(**overrides: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "Title": "Label a picture",
        "Description": "Say what is in the picture",
        "Reward": "0.50",
        "AssignmentDurationInSeconds": 600,
        "AutoApprovalDelayInSeconds": 86400,
        "Keywords": "image, label",
    }
    args.update(overrides)
    return {k: v for k, v in args.items() if v is not None}


def create_hit(client: Any, **overrides: Any) -> dict[str, Any]:
    return client.create_hit(**hit_args(**overrides))["HIT"]


# --- The worker side -----------------------------------------------------------------------------------


def accept(worker: Worker, hit_id: str, environment: str = "live") -> str:
    assignment = actions.accept_assignment(
        actor=Actor.for_worker(worker), worker=worker, environment=environment, hit_id=hit_id
    )
    return assignment.pk


def submit(worker: Worker, assignment_id: str, label: str = "cat") -> None:
    actions.submit_assignment(
        actor=Actor.for_worker(worker), worker=worker, assignment_id=assignment_id,
        answer_xml=answers_from_form_post([("label", label)]),
    )


@dataclass
class Work:
    worker: Worker
    assignment_id: str


def do_work(worker: Worker, hit_id: str, label: str = "cat", environment: str = "live") -> Work:
    """A worker accepts the HIT and submits an answer."""
    assignment_id = accept(worker, hit_id, environment)
    submit(worker, assignment_id, label)
    return Work(worker, assignment_id)


def assignment_status(assignment_id: str) -> str:
    return Assignment.objects.get(pk=assignment_id).status


# --- Errors ----------------------------------------------------------------------------------------------


@dataclass
class Refusal:
    code: str  # Error.Code (the __type)
    turk_code: str | None
    message: str
    status: int

    @property
    def bare_message(self) -> str:
        """The message without MTurk's trailing ``(<epoch-ms>)``."""
        return TIME_SUFFIX.sub("", self.message)


def refusal(error: ClientError) -> Refusal:
    response = error.response
    return Refusal(
        code=response["Error"]["Code"],
        turk_code=response.get("TurkErrorCode"),
        message=response["Error"].get("Message", ""),
        status=response["ResponseMetadata"]["HTTPStatusCode"],
    )


def refused(call: Any, *args: Any, **kwargs: Any) -> Refusal:
    """Call a client method that must fail, and return how it failed."""
    try:
        call(*args, **kwargs)
    except ClientError as error:
        return refusal(error)
    raise AssertionError(f"{getattr(call, '__name__', call)} succeeded but should have been refused")


# --- Raw signed requests -------------------------------------------------------------------------------


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def raw_request(
    url: str,
    *,
    operation: str | None,
    body: bytes | dict | None = None,
    access_key_id: str | None = None,
    secret: str | None = None,
    region: str = "us-east-1",
    target: str | None = None,
    extra_headers: dict[str, str] | None = None,
    signed_at: dt.datetime | None = None,
) -> RawResponse:
    """POST to the API as a hand-written client would; signed with botocore's SigV4 when a key is given."""
    data = json.dumps(body).encode() if isinstance(body, dict) else (body if body is not None else b"{}")
    headers = {"Content-Type": "application/x-amz-json-1.1"}
    if target is not None:
        headers["X-Amz-Target"] = target
    elif operation is not None:
        headers["X-Amz-Target"] = f"{TARGET_PREFIX}.{operation}"
    headers.update(extra_headers or {})
    endpoint = url.rstrip("/") + "/"
    if access_key_id is not None:
        request = AWSRequest(method="POST", url=endpoint, data=data, headers=headers)
        signer = SigV4Auth(Credentials(access_key_id, secret or ""), "mturk-requester", region)
        if signed_at is not None:
            _sign_at(signer, request, signed_at)
        else:
            signer.add_auth(request)
        headers = dict(request.headers.items())
    sent = urllib.request.Request(endpoint, data=data, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(sent, timeout=30) as response:
            return RawResponse(response.status, dict(response.headers.items()), response.read())
    except urllib.error.HTTPError as error:
        return RawResponse(error.code, dict(error.headers.items()), error.read())


def _sign_at(signer: SigV4Auth, request: AWSRequest, moment: dt.datetime) -> None:
    """Sign as if the client's clock read ``moment``."""
    from unittest import mock

    naive = moment.astimezone(dt.UTC).replace(tzinfo=None)
    with mock.patch("botocore.auth.get_current_datetime", return_value=naive):
        signer.add_auth(request)
