"""The wire protocol as real clients meet it: SigV4, environments, targets, bodies, request ids, error shapes."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from unittest import mock

import pytest
from botocore.exceptions import ClientError

from kempelen.accounts import actions as accounts
from kempelen.core.actors import Actor
from kempelen.marketplace.models import HIT
from kempelen.mturk_api import views

from .helpers import HTML_QUESTION, TARGET_PREFIX, create_hit, raw_request, refused

pytestmark = pytest.mark.django_db(transaction=True)


def _hit_count() -> int:
    return HIT.objects.count()


# --- Authentication --------------------------------------------------------------------------------------


def test_a_wrong_secret_is_an_invalid_signature_and_creates_nothing(api):
    handle = api()
    handle.secret = handle.secret[:-1] + ("A" if handle.secret[-1] != "A" else "B")
    failure = refused(handle.client().create_hit, Title="t", Description="d", Reward="0.10",
                      LifetimeInSeconds=60, AssignmentDurationInSeconds=60, Question="<x/>")
    assert (failure.code, failure.status) == ("InvalidSignatureException", 403)
    assert "signature we calculated does not match" in failure.message
    assert _hit_count() == 0


def test_an_unknown_access_key_is_an_unrecognized_client(api):
    handle = api()
    handle.access_key_id = "AKIA" + "Z" * 16
    failure = refused(handle.client().get_account_balance)
    assert (failure.code, failure.status) == ("UnrecognizedClientException", 400)
    assert "security token included in the request is invalid" in failure.message


def test_a_revoked_key_stops_working_and_changes_nothing(api):
    handle = api()
    client = handle.client()
    client.get_account_balance()
    accounts.revoke_credential(actor=Actor.operator("tests"), requester=handle.requester,
                               access_key_id=handle.access_key_id)
    failure = refused(client.create_hit, Title="t", Description="d", Reward="0.10", LifetimeInSeconds=60,
                      AssignmentDurationInSeconds=60, Question="<x/>")
    assert (failure.code, failure.status) == ("UnrecognizedClientException", 400)
    assert _hit_count() == 0


def test_a_request_without_authorization_is_missing_its_token(api):
    handle = api()
    response = raw_request(handle.url, operation="GetAccountBalance")
    assert response.status == 403
    assert response.json()["__type"] == "MissingAuthenticationTokenException"
    assert response.headers.get("x-amzn-RequestId")


def test_an_unsigned_create_hit_creates_nothing(api):
    handle = api()
    response = raw_request(handle.url, operation="CreateHIT", body={
        "Title": "t", "Description": "d", "Reward": "0.10", "LifetimeInSeconds": 60,
        "AssignmentDurationInSeconds": 60, "Question": "<x/>"})
    assert response.status == 403
    assert _hit_count() == 0


@pytest.mark.parametrize("minutes", [-16, 16])
def test_a_signature_dated_16_minutes_off_is_refused_and_creates_nothing(api, minutes):
    handle = api()
    skewed = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=minutes)
    with mock.patch("botocore.auth.get_current_datetime", return_value=skewed.replace(tzinfo=None)):
        failure = refused(handle.client().create_hit, Title="t", Description="d", Reward="0.10",
                          LifetimeInSeconds=60, AssignmentDurationInSeconds=60, Question="<x/>")
    assert (failure.code, failure.status) == ("InvalidSignatureException", 403)
    assert "Signature expired" in failure.message or "Signature not yet current" in failure.message
    assert _hit_count() == 0


def test_a_signature_dated_a_few_minutes_off_is_still_accepted(api):
    handle = api()
    skewed = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10)
    response = raw_request(handle.url, operation="GetAccountBalance", access_key_id=handle.access_key_id,
                           secret=handle.secret, signed_at=skewed)
    assert response.status == 200
    assert response.json()["AvailableBalance"] == "1000.00"


def test_a_body_changed_after_signing_is_refused(api):
    handle = api()
    import botocore.auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(method="POST", url=handle.url + "/", data=b'{"HITId": "AAAA"}', headers={
        "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": f"{TARGET_PREFIX}.GetHIT"})
    botocore.auth.SigV4Auth(Credentials(handle.access_key_id, handle.secret), "mturk-requester",
                            "us-east-1").add_auth(request)
    headers = dict(request.headers.items())
    response = raw_request(handle.url, operation=None, body=b'{"HITId": "BBBB"}', extra_headers=headers)
    assert response.status == 403
    assert response.json()["__type"] == "InvalidSignatureException"


def _hand_signed(url: str, access_key_id: str, secret: str, operation: str, body: bytes,
                 region: str = "us-east-1") -> dict[str, str]:
    """Headers as oTree's own urllib client builds them: SigV4 over host, x-amz-date and x-amz-target only,
    computed here without botocore."""
    import hashlib
    import hmac
    from urllib.parse import urlsplit

    host = urlsplit(url).netloc
    now = dt.datetime.now(dt.UTC)
    amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    target = f"{TARGET_PREFIX}.{operation}"
    canonical = "\n".join([
        "POST", "/", "", f"host:{host}", f"x-amz-date:{amz_date}", f"x-amz-target:{target}", "",
        "host;x-amz-date;x-amz-target", hashlib.sha256(body).hexdigest()])
    scope = f"{day}/{region}/mturk-requester/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + secret).encode()
    for part in (day, region, "mturk-requester", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return {
        "X-Amz-Date": amz_date,
        "X-Amz-Target": target,
        "Content-Type": "application/x-amz-json-1.1",
        "Authorization": f"AWS4-HMAC-SHA256 Credential={access_key_id}/{scope},"
                         f"SignedHeaders=host;x-amz-date;x-amz-target,Signature={signature}",
    }


def test_a_hand_written_client_signing_fewer_headers_is_accepted(api):
    handle = api()
    body = json.dumps({"Title": "From oTree", "Description": "d", "Reward": "0.1", "LifetimeInSeconds": 600,
                       "AssignmentDurationInSeconds": 60, "MaxAssignments": 1,
                       "Question": HTML_QUESTION, "UniqueRequestToken": "otree_x1"}).encode()
    headers = _hand_signed(handle.url, handle.access_key_id, handle.secret, "CreateHIT", body)
    response = raw_request(handle.url, operation=None, body=body, extra_headers=headers)
    assert response.status == 200, response.body
    hit = response.json()["HIT"]
    assert isinstance(hit["Expiration"], int | float)  # oTree stores it in a Float column
    assert hit["HITGroupId"]
    assert [h["HITId"] for h in handle.client().list_hits()["HITs"]] == [hit["HITId"]]


def test_a_hand_written_signature_with_a_wrong_secret_is_refused(api):
    handle = api()
    body = b"{}"
    headers = _hand_signed(handle.url, handle.access_key_id, handle.secret + "x", "GetAccountBalance", body)
    response = raw_request(handle.url, operation=None, body=body, extra_headers=headers)
    assert (response.status, response.json()["__type"]) == (403, "InvalidSignatureException")


# --- Environments ----------------------------------------------------------------------------------------


def test_region_sandbox_selects_the_sandbox_environment(api):
    handle = api()
    live, sandbox = handle.client("live"), handle.client("sandbox")
    live_hit = create_hit(live)
    sandbox_hit = create_hit(sandbox)
    assert [h["HITId"] for h in live.list_hits()["HITs"]] == [live_hit["HITId"]]
    assert [h["HITId"] for h in sandbox.list_hits()["HITs"]] == [sandbox_hit["HITId"]]
    assert sandbox.get_account_balance()["AvailableBalance"] == "10000.00"
    # A HIT of the other environment "does not exist", as on MTurk.
    failure = refused(sandbox.get_hit, HITId=live_hit["HITId"])
    assert failure.turk_code == "AWS.MechanicalTurk.HITDoesNotExist"


# --- Targets and bodies ----------------------------------------------------------------------------------


@pytest.mark.parametrize("target", [
    f"{TARGET_PREFIX}.LaunchRockets",
    "MTurkRequesterServiceV20140815.GetHIT",
    "GetHIT",
    "",
])
def test_an_unknown_target_is_an_error(api, target):
    handle = api()
    response = raw_request(handle.url, operation=None, target=target, access_key_id=handle.access_key_id,
                           secret=handle.secret)
    assert response.status == 400
    body = response.json()
    assert body["__type"] == "UnknownOperationException"
    assert body["message"]
    assert response.headers.get("x-amzn-RequestId")


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'{"HITId": ', b'"text"', b"\xff\xfe"])
def test_a_body_that_is_not_a_json_object_is_an_error(api, body):
    handle = api()
    response = raw_request(handle.url, operation="GetAccountBalance", body=body,
                           access_key_id=handle.access_key_id, secret=handle.secret)
    assert response.status == 400
    assert response.json()["__type"] == "SerializationException"


def test_an_empty_body_is_an_empty_input(api):
    handle = api()
    response = raw_request(handle.url, operation="GetAccountBalance", body=b"",
                           access_key_id=handle.access_key_id, secret=handle.secret)
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("application/x-amz-json-1.1")


# --- Request ids -----------------------------------------------------------------------------------------


def test_every_response_carries_a_request_id(api):
    handle = api()
    client = handle.client()
    ok = client.get_account_balance()
    failure_ids = []
    try:
        client.get_hit(HITId="NOSUCHHIT")
    except ClientError as error:
        failure_ids.append(error.response["ResponseMetadata"]["RequestId"])
    assert ok["ResponseMetadata"]["RequestId"]
    assert failure_ids and failure_ids[0]
    assert failure_ids[0] != ok["ResponseMetadata"]["RequestId"]
    unsigned = raw_request(handle.url, operation="GetHIT")
    assert unsigned.headers.get("x-amzn-RequestId")


# --- Endpoint from the environment -----------------------------------------------------------------------


_SUBPROCESS_CLIENT = """
import json, boto3
client = boto3.client("mturk", region_name="us-east-1")
print(json.dumps({"endpoint": client.meta.endpoint_url,
                  "balance": client.get_account_balance()["AvailableBalance"]}))
"""


def test_aws_endpoint_url_mturk_redirects_a_client_built_without_endpoint_url(api, tmp_path):
    handle = api()
    empty = tmp_path / "empty"
    empty.write_text("")
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "AWS_ENDPOINT_URL_MTURK": handle.url,
        "AWS_ACCESS_KEY_ID": handle.access_key_id,
        "AWS_SECRET_ACCESS_KEY": handle.secret,
        "AWS_CONFIG_FILE": str(empty),
        "AWS_SHARED_CREDENTIALS_FILE": str(empty),
        "AWS_MAX_ATTEMPTS": "1",
    }
    done = subprocess.run([sys.executable, "-c", _SUBPROCESS_CLIENT], env=env, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out == {"endpoint": handle.url, "balance": "1000.00"}


# --- Error shapes ----------------------------------------------------------------------------------------


def test_errors_parse_into_request_error_with_turk_error_code_and_timestamped_message(api):
    client = api().client()
    with pytest.raises(client.exceptions.RequestError) as caught:
        client.get_hit(HITId="3X7837UUADRXYCA1K7JAJLKC66DJ60")
    response = caught.value.response
    assert response["Error"]["Code"] == "RequestError"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert response["TurkErrorCode"] == "AWS.MechanicalTurk.HITDoesNotExist"
    assert response["Message"].startswith("Hit 3X7837UUADRXYCA1K7JAJLKC66DJ60 does not exist.")
    ms = int(response["Message"].rsplit("(", 1)[1].rstrip(")"))
    assert abs(ms / 1000 - dt.datetime.now(dt.UTC).timestamp()) < 120


def test_model_violations_are_validation_exceptions(api):
    client = api().client()
    failure = refused(client.list_hits, MaxResults=101)
    assert (failure.code, failure.status) == ("ValidationException", 400)
    assert "Value '101' at 'maxResults' failed to satisfy constraint" in failure.message


@pytest.mark.parametrize("operation, body", [
    ("UpdateExpirationForHIT", None),
    ("DeleteHIT", None),
    ("CreateWorkerBlock", {"WorkerId": "A1B2C3D4E5F6G7", "Reason": "spam"}),
    ("DeleteWorkerBlock", {"WorkerId": "A1B2C3D4E5F6G7"}),
])
def test_operations_without_output_return_exactly_an_empty_object(api, operation, body):
    handle = api()
    client = handle.client()
    if body is None:
        hit = create_hit(client)
        body = {"HITId": hit["HITId"], "ExpireAt": 0}
        if operation == "DeleteHIT":
            client.update_expiration_for_hit(HITId=hit["HITId"], ExpireAt=0)
            body = {"HITId": hit["HITId"]}
    response = raw_request(handle.url, operation=operation, body=body, access_key_id=handle.access_key_id,
                           secret=handle.secret)
    assert response.status == 200, response.body
    assert response.body == b"{}"


def test_boto3_sees_the_raw_empty_object_for_approve(api, worker_factory):
    from .helpers import do_work

    handle = api()
    client = handle.client()
    hit = create_hit(client)
    work = do_work(worker_factory(), hit["HITId"])
    bodies: list[bytes] = []
    client.meta.events.register("before-parse.mturk.ApproveAssignment",
                                lambda response_dict, **kw: bodies.append(response_dict["body"]))
    result = client.approve_assignment(AssignmentId=work.assignment_id)
    assert bodies == [b"{}"]
    assert set(result) == {"ResponseMetadata"}  # Dallinger's _is_ok


def test_an_unexpected_server_exception_is_a_service_fault_5xx(api, monkeypatch):
    client = api().client()
    real = views.handler_for

    def exploding(operation):
        if operation == "GetAccountBalance":
            def handler(call, params):
                raise RuntimeError("the disk caught fire")
            return handler
        return real(operation)

    monkeypatch.setattr(views, "handler_for", exploding)
    with pytest.raises(client.exceptions.ServiceFault) as caught:
        client.get_account_balance()
    response = caught.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] >= 500
    assert response["Error"]["Code"] == "ServiceFault"
    assert "the disk caught fire" not in response["Message"]  # no internals leak to clients
    assert response["ResponseMetadata"]["RequestId"]
    # Other operations are unaffected.
    assert client.list_hits()["NumResults"] == 0


def test_a_body_too_large_to_read_is_refused_without_a_retry(api):
    from botocore.config import Config

    handle = api()
    import boto3

    client = boto3.client("mturk", region_name="us-east-1", endpoint_url=handle.url,
                          aws_access_key_id=handle.access_key_id, aws_secret_access_key=handle.secret,
                          config=Config(retries={"mode": "standard", "max_attempts": 3}))
    attempts = []
    client.meta.events.register("before-send.mturk.CreateHIT", lambda request, **kw: attempts.append(1))
    huge = HTML_QUESTION.replace("<FrameHeight>", "<!--" + "x" * 3_000_000 + "--><FrameHeight>")
    failure = refused(client.create_hit, Title="t", Description="d", Reward="0.10", LifetimeInSeconds=60,
                      AssignmentDurationInSeconds=60, Question=huge)
    assert (failure.code, failure.status) == ("RequestEntityTooLargeException", 413)
    assert "65,535 bytes" in failure.message
    assert len(attempts) == 1  # a 5xx would have been sent three times
    assert _hit_count() == 0


def test_every_operation_of_the_model_has_a_handler():
    from kempelen.mturk_api import dispatch, validation

    assert set(dispatch.OPERATIONS) == set(validation.operation_names())
    for operation in dispatch.OPERATIONS:
        assert callable(dispatch.handler_for(operation)), operation
