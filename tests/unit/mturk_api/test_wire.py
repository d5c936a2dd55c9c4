"""The JSON edges: targets, bodies, timestamps, error bodies and pagination tokens, read back by botocore."""

from __future__ import annotations

import datetime as dt
import json
import re
import string
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError
from botocore.parsers import create_parser
from django.test import override_settings
from hypothesis import given
from hypothesis import strategies as st

from kempelen.core.errors import (
    HITDoesNotExist,
    InvalidAssignmentState,
    InvalidParameter,
    KempelenError,
    ServiceFault,
    ValidationFailed,
)
from kempelen.mturk_api import sigv4, wire
from kempelen.mturk_api.validation import output_shape
from kempelen.mturk_api.wire import (
    SerializationError,
    UnknownOperation,
    decode_token,
    encode,
    encode_token,
    error_body,
    parse_body,
    parse_target,
    to_wire,
)

UTC = dt.UTC
INVALID_TOKEN = "The pagination token is invalid or has expired."


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self):  # type: ignore[no-untyped-def]
        yield self._body


def boto3_answered_with(status: int, body: bytes, calls: list[Any] | None = None) -> Any:
    """A real boto3 mturk client whose every request is answered with ``status`` and ``body``."""
    client = boto3.client(
        "mturk", region_name="us-east-1", endpoint_url="http://127.0.0.1:9",
        aws_access_key_id="AKIAEXAMPLE", aws_secret_access_key="secret",
    )  # fmt: skip

    def answer(request: Any, **_: Any) -> AWSResponse:
        if calls is not None:
            calls.append(request)
        return AWSResponse(request.url, status, {"Content-Type": wire.CONTENT_TYPE}, _Raw(body))

    client.meta.events.register("before-send.mturk", answer)
    return client


def botocore_reads(body: bytes, operation: str, status: int = 200) -> dict[str, Any]:
    """What a boto3 client makes of a response body."""
    response = {"body": body, "headers": {"x-amzn-requestid": "r1"}, "status_code": status}
    return create_parser("json").parse(response, output_shape(operation))


# --- X-Amz-Target ---------------------------------------------------------------------------------------------


def test_parse_target() -> None:
    assert parse_target("MTurkRequesterServiceV20170117.CreateHITWithHITType") == "CreateHITWithHITType"


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "MTurkRequesterServiceV20170117",
        "MTurkRequesterServiceV20170117.",
        "MTurkRequesterServiceV20170117.DeleteEverything",
        "MTurkRequesterServiceV20170117.listhits",
        "DynamoDB_20120810.ListHITs",
        "MTurkRequesterServiceV20140815.ListHITs",
    ],
)
def test_unknown_targets(header: str | None) -> None:
    with pytest.raises(UnknownOperation) as info:
        parse_target(header)
    assert (info.value.wire_type, info.value.http_status) == ("UnknownOperationException", 400)
    assert isinstance(info.value, KempelenError)


# --- Request bodies -------------------------------------------------------------------------------------------


def test_parse_body() -> None:
    assert parse_body(b"") == {}
    assert parse_body(b"  \n") == {}
    assert parse_body(b"{}") == {}
    assert parse_body('{"Subject":"Grüße","MaxResults":5}'.encode()) == {"Subject": "Grüße", "MaxResults": 5}


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"not json", "is not valid JSON"),
        (b'{"a":', "is not valid JSON"),
        (b"\xff\xfe\x00", "is not valid JSON"),
        (b'{"a": NaN}', "is not valid JSON"),
        (b"[1, 2]", "must be a JSON object, not a JSON array"),
        (b'"text"', "not a JSON string"),
        (b"null", "not a JSON null"),
        (b"[" * 100_000 + b"]" * 100_000, "is not valid JSON"),
    ],
)
def test_bad_bodies_are_serialization_errors(body: bytes, fragment: str) -> None:
    with pytest.raises(SerializationError) as info:
        parse_body(body)
    assert fragment in info.value.message
    assert (info.value.wire_type, info.value.http_status) == ("SerializationException", 400)


# --- Responses ------------------------------------------------------------------------------------------------


def test_datetimes_become_epoch_numbers() -> None:
    assert to_wire(dt.datetime(2019, 1, 1, tzinfo=UTC)) == 1546300800
    assert (
        encode(to_wire({"At": dt.datetime(2019, 1, 1, 0, 0, 0, 123000, tzinfo=UTC)}))
        == b'{"At":1546300800.123}'
    )
    assert to_wire(dt.datetime(2019, 1, 1, 1, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))) == 1546300800
    assert to_wire(dt.datetime(2019, 1, 1)) == 1546300800  # naive is UTC
    assert to_wire(dt.datetime(1969, 12, 31, 23, 59, 59, 500000, tzinfo=UTC)) == -0.5


def test_none_is_dropped_recursively() -> None:
    value = {
        "HIT": {"HITId": "ABC", "Expiration": dt.datetime(2019, 1, 1, tzinfo=UTC), "HITLayoutId": None},
        "Items": [{"A": None, "B": 1}, (dt.datetime(2019, 1, 1, tzinfo=UTC),)],
        "NextToken": None,
    }
    assert to_wire(value) == {
        "HIT": {"HITId": "ABC", "Expiration": 1546300800},
        "Items": [{"B": 1}, [1546300800]],
    }


def test_encode_is_compact_utf8() -> None:
    assert encode({"a": [1, "é"], "b": True}) == '{"a":[1,"é"],"b":true}'.encode()
    with pytest.raises(ValueError):
        encode({"a": float("nan")})


def test_botocore_reads_our_timestamps_back() -> None:
    moment = dt.datetime(2019, 1, 1, 0, 0, 0, 123000, tzinfo=UTC)
    body = encode(
        to_wire(
            {"HIT": {"HITId": "ABC", "CreationTime": moment, "Expiration": moment.replace(microsecond=0)}}
        )
    )
    hit = botocore_reads(body, "GetHIT")["HIT"]
    assert hit["CreationTime"] == moment
    assert hit["Expiration"] == moment.replace(microsecond=0)


# A double holds epoch seconds to the microsecond until early 2106; HIT timestamps stay well inside that.
@given(st.datetimes(min_value=dt.datetime(1970, 1, 1), max_value=dt.datetime(2106, 1, 1)))
def test_epoch_seconds_are_exact_to_the_microsecond(moment: dt.datetime) -> None:
    value = json.loads(encode(to_wire(moment)))
    assert dt.datetime(1970, 1, 1, tzinfo=UTC) + dt.timedelta(
        microseconds=round(value * 1_000_000)
    ) == moment.replace(tzinfo=UTC)


# --- Error bodies ---------------------------------------------------------------------------------------------


def test_request_error_body() -> None:
    status, body = error_body(HITDoesNotExist("3X7837UUADRXYCA1K7JAJLKC66DJ60"), 1700000000123)
    assert status == 400
    assert json.loads(body) == {
        "__type": "RequestError",
        "Message": "Hit 3X7837UUADRXYCA1K7JAJLKC66DJ60 does not exist. (1700000000123)",
        "TurkErrorCode": "AWS.MechanicalTurk.HITDoesNotExist",
    }


@pytest.mark.parametrize("message", ["Already timed. (1699999999999)", "Already timed. (1699999999999 s)"])
def test_request_error_suffix_is_added_once(message: str) -> None:
    _, body = error_body(KempelenError(message), 1700000000123)
    assert json.loads(body)["Message"] == message


def test_boto3_sees_request_errors_as_mturk_clients_expect() -> None:
    status, body = error_body(InvalidAssignmentState("Submitted"), 1700000000123)
    client = boto3_answered_with(status, body)
    with pytest.raises(client.exceptions.RequestError) as info:
        client.approve_assignment(AssignmentId="3V76OXST9SAE3THKN85FUPK7730050")
    response = info.value.response
    assert response["Error"]["Code"] == "RequestError"
    assert (
        response["Error"]["Message"]
        == "This operation can be called with a status of: Submitted (1700000000123)"
    )
    assert response["Message"] == response["Error"]["Message"]
    assert response["TurkErrorCode"] == "AWS.MechanicalTurk.InvalidAssignmentState"


def test_boto3_does_not_retry_request_errors_and_sees_validation_exceptions() -> None:
    message = "1 validation error detected: Value '101' at 'maxResults' failed to satisfy constraint: x"
    status, body = error_body(ValidationFailed(message), 1)
    calls: list[Any] = []
    client = boto3_answered_with(status, body, calls)
    with pytest.raises(ClientError) as info:
        client.list_hits(MaxResults=100)
    assert info.value.response["Error"] == {"Code": "ValidationException", "Message": message}
    assert len(calls) == 1


def test_service_fault_is_a_5xx() -> None:
    status, body = error_body(ServiceFault("Something broke."), 5)
    assert status == 500
    assert json.loads(body) == {
        "__type": "ServiceFault",
        "Message": "Something broke. (5)",
        "TurkErrorCode": "AWS.MechanicalTurk.ServiceFault",
    }


def test_validation_exception_body() -> None:
    message = "1 validation error detected: Value '101' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 100"
    status, body = error_body(ValidationFailed(message), 1700000000123)
    assert status == 400
    assert json.loads(body) == {"__type": "ValidationException", "message": message}
    parsed = botocore_reads(body, "ListHITs", status)
    assert parsed["Error"] == {"Code": "ValidationException", "Message": message}


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (sigv4.MissingAuthenticationToken(), 403),
        (sigv4.IncompleteSignature("Authorization header requires 'Signature' parameter."), 400),
        (sigv4.UnrecognizedClient(), 400),
        (sigv4.InvalidSignature(), 403),
        (UnknownOperation("Unknown operation: 'X'."), 400),
        (SerializationError("The request body is not valid JSON."), 400),
    ],
)
def test_generic_aws_error_bodies(error: KempelenError, status: int) -> None:
    got_status, body = error_body(error, 1700000000123)
    assert got_status == status
    assert json.loads(body) == {"__type": error.wire_type, "message": error.message}
    parsed = botocore_reads(body, "GetAccountBalance", status)
    assert parsed["Error"]["Code"] == error.wire_type


# --- Pagination tokens ----------------------------------------------------------------------------------------


def test_token_round_trip() -> None:
    position = {"after": "3X7837UUADRXYCA1K7JAJLKC66DJ60", "created": 1546300800.123, "n": 10}
    token = encode_token(position)
    assert decode_token(token) == position
    assert re.fullmatch(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+", token)
    assert len(token) <= 255


# Positions are a listing's sort key (a timestamp and an id): small, printable values.
_KEY_TEXT = st.text(alphabet=string.ascii_letters + string.digits + ":-.+ ", max_size=20)


@given(st.dictionaries(st.text(string.ascii_letters, max_size=8),
                       st.integers(-(10**15), 10**15) | _KEY_TEXT | st.booleans(), max_size=4))
def test_tokens_round_trip_any_small_position(position: dict[str, Any]) -> None:
    assert decode_token(encode_token(position)) == position


def test_tampered_tokens_are_refused() -> None:
    token = encode_token({"offset": 10})
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    for index, char in enumerate(token):
        if char == ".":
            continue
        replacement = alphabet[(alphabet.index(char) + 1) % len(alphabet)]
        tampered = token[:index] + replacement + token[index + 1 :]
        with pytest.raises(InvalidParameter, match=re.escape(INVALID_TOKEN)):
            decode_token(tampered)
    with pytest.raises(InvalidParameter):
        decode_token(token + "A")
    with pytest.raises(InvalidParameter):
        decode_token(token.replace(".", "!."))


def test_forged_position_is_refused() -> None:
    payload, mac = encode_token({"offset": 10}).split(".")
    forged = encode_token({"offset": 0}).split(".")[0]
    with pytest.raises(InvalidParameter):
        decode_token(f"{forged}.{mac}")
    assert payload != forged


@pytest.mark.parametrize(
    "token", ["", "garbage", "a.b", "a.b.c", ".", "é.é", "A" * 300, "A" * 100 + "." + "B" * 22]
)
def test_garbage_tokens_are_refused(token: str) -> None:
    with pytest.raises(InvalidParameter) as info:
        decode_token(token)
    assert info.value.message == INVALID_TOKEN
    _, body = error_body(info.value, 7)
    assert json.loads(body)["TurkErrorCode"] == "AWS.MechanicalTurk.InvalidParameterValue"


def test_token_from_another_scope_or_instance_is_refused() -> None:
    token = encode_token({"offset": 10}, scope="ListHITs:AKIA1")
    assert decode_token(token, scope="ListHITs:AKIA1") == {"offset": 10}
    with pytest.raises(InvalidParameter):
        decode_token(token, scope="ListHITs:AKIA2")
    with pytest.raises(InvalidParameter):
        decode_token(token)
    with (
        override_settings(SECRET_KEY="a-different-instance-secret-key-0123456789"),
        pytest.raises(InvalidParameter),
    ):
        decode_token(token, scope="ListHITs:AKIA1")


def test_oversized_position_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        encode_token({"ids": ["3X7837UUADRXYCA1K7JAJLKC66DJ60"] * 10})


def test_content_type() -> None:
    assert wire.CONTENT_TYPE == "application/x-amz-json-1.1"
