"""SigV4 verification against requests signed by boto3, the AWS CLI and a hand-written signer."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import http.server
import os
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from kempelen.core.clock import system_now
from kempelen.core.errors import KempelenError
from kempelen.mturk_api import sigv4
from kempelen.mturk_api.sigv4 import (
    IncompleteSignature,
    InvalidSignature,
    MissingAuthenticationToken,
    SignatureExpired,
    UnrecognizedClient,
    parse_authorization,
    verify,
)

AKID = "AKIAKEMPELENTEST0001"
SECRET = "kempelen-test-secret-0123456789abcdefghij"
OTHER_AKID = "AKIAKEMPELENTEST0002"
OTHER_SECRET = "another-secret-0123456789abcdefghijklmnop"
KEYS = {AKID: SECRET, OTHER_AKID: OTHER_SECRET}
TARGET = "MTurkRequesterServiceV20170117."


@dataclass(frozen=True)
class Captured:
    method: str
    path: str
    query_string: str
    headers: dict[str, str]
    body: bytes

    @property
    def signed_at(self) -> dt.datetime:
        return sigv4.parse_amz_date({k.lower(): v for k, v in self.headers.items()}["x-amz-date"])

    def with_header(self, name: str, value: str | None) -> Captured:
        headers = {k: v for k, v in self.headers.items() if k.lower() != name.lower()}
        if value is not None:
            headers[name] = value
        return replace(self, headers=headers)


class _Raw:
    def stream(self):  # type: ignore[no-untyped-def]
        yield b"{}"


def boto3_request(
    operation: str = "get_account_balance",
    params: dict[str, Any] | None = None,
    *,
    region: str = "us-east-1",
    akid: str = AKID,
    secret: str = SECRET,
    token: str | None = None,
    endpoint: str = "http://127.0.0.1:8765",
) -> Captured:
    """The request a real boto3 mturk client sends, captured just before it would go on the wire."""
    client = boto3.client(
        "mturk",
        region_name=region,
        endpoint_url=endpoint,
        aws_access_key_id=akid,
        aws_secret_access_key=secret,
        aws_session_token=token,
    )
    captured: list[Any] = []

    def capture(request: Any, **_: Any) -> AWSResponse:
        captured.append(request)
        return AWSResponse(request.url, 200, {"Content-Type": "application/x-amz-json-1.1"}, _Raw())

    client.meta.events.register("before-send.mturk", capture)
    getattr(client, operation)(**(params or {}))
    prepared = captured[0]
    parts = urlsplit(prepared.url)
    headers = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in prepared.headers.items()}
    # urllib3 adds Host on the wire; botocore signed the URL's netloc.
    headers["Host"] = parts.netloc
    body = prepared.body if isinstance(prepared.body, bytes) else (prepared.body or "").encode()
    return Captured(prepared.method, parts.path or "/", parts.query, headers, body)


def check(request: Captured, *, now: dt.datetime | None = None, keys: dict[str, str] | None = None) -> Any:
    table = KEYS if keys is None else keys
    return verify(
        method=request.method,
        path=request.path,
        query_string=request.query_string,
        headers=request.headers,
        body=request.body,
        secret_for=table.get,
        now=request.signed_at if now is None else now,
    )


# --- A hand-written SigV4 signer, independent of botocore, like oTree's and other non-boto clients. ---------


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def handsigned(
    *,
    signed: tuple[str, ...] = ("host", "x-amz-date", "x-amz-target"),
    body: bytes = b"{}",
    amz_date: str = "20240131T120000Z",
    region: str = "us-east-1",
    service: str = "mturk-requester",
    extra: dict[str, str] | None = None,
    separator: str = ", ",
) -> Captured:
    headers = {
        "Host": "kempelen.example:8000",
        "X-Amz-Date": amz_date,
        "X-Amz-Target": TARGET + "GetAccountBalance",
        "Content-Type": "application/x-amz-json-1.1",
        **(extra or {}),
    }
    lowered = {k.lower(): v for k, v in headers.items()}
    canonical_headers = "".join(f"{name}:{lowered[name].strip()}\n" for name in sorted(signed))
    payload_hash = lowered.get("x-amz-content-sha256", hashlib.sha256(body).hexdigest())
    canonical = "\n".join(["POST", "/", "", canonical_headers, ";".join(sorted(signed)), payload_hash])
    scope = f"{amz_date[:8]}/{region}/{service}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = _hmac(_hmac(_hmac(_hmac(f"AWS4{SECRET}".encode(), amz_date[:8]), region), service), "aws4_request")
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["Authorization"] = separator.join(
        [
            f"AWS4-HMAC-SHA256 Credential={AKID}/{scope}",
            f"SignedHeaders={';'.join(sorted(signed))}",
            f"Signature={signature}",
        ]
    )
    return Captured("POST", "/", "", headers, body)


# --- Accepted --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("region", ["us-east-1", "sandbox"])
def test_boto3_requests_verify(region: str) -> None:
    request = boto3_request("list_hits", {"MaxResults": 10}, region=region)
    assert "SignedHeaders=content-type;host;x-amz-date;x-amz-target," in request.headers["Authorization"]
    result = check(request)
    assert (result.access_key_id, result.region) == (AKID, region)


def test_verified_against_the_system_clock() -> None:
    assert check(boto3_request(), now=system_now()).access_key_id == AKID


def test_second_key_and_body_with_unicode() -> None:
    request = boto3_request(
        "notify_workers",
        {"Subject": "Grüße ✓", "MessageText": "naïve café", "WorkerIds": ["A1B2C3D4"]},
        akid=OTHER_AKID,
        secret=OTHER_SECRET,
    )
    assert check(request).access_key_id == OTHER_AKID


def test_session_token_is_signed_and_accepted() -> None:
    request = boto3_request(token="FQoGZXIvYXdzEXAMPLETOKEN")
    assert "x-amz-security-token" in request.headers["Authorization"]
    assert check(request).access_key_id == AKID


def test_headers_are_looked_up_case_insensitively() -> None:
    request = boto3_request()
    lowered = replace(request, headers={k.lower(): v for k, v in request.headers.items()})
    upper = replace(request, headers={k.upper(): v for k, v in request.headers.items()})
    assert check(lowered).region == check(upper).region == "us-east-1"


def test_unsigned_extra_headers_are_ignored() -> None:
    request = boto3_request().with_header("X-Forwarded-For", "10.0.0.1").with_header("User-Agent", "other")
    assert check(request).access_key_id == AKID


@pytest.mark.parametrize("separator", [", ", ",", " , "])
def test_minimal_hand_signed_header_set(separator: str) -> None:
    request = handsigned(separator=separator)
    assert "SignedHeaders=host;x-amz-date;x-amz-target" in request.headers["Authorization"]
    assert check(request).access_key_id == AKID


def test_hand_signed_other_regions_are_accepted() -> None:
    assert check(handsigned(region="eu-west-1")).region == "eu-west-1"


def test_signed_content_sha256_header() -> None:
    body = b'{"MaxResults":5}'
    request = handsigned(
        signed=("host", "x-amz-content-sha256", "x-amz-date", "x-amz-target"),
        body=body,
        extra={"X-Amz-Content-SHA256": hashlib.sha256(body).hexdigest()},
    )
    assert check(request).access_key_id == AKID


@pytest.mark.parametrize("claimed", ["UNSIGNED-PAYLOAD", hashlib.sha256(b"something else").hexdigest()])
def test_content_sha256_must_match_the_body(claimed: str) -> None:
    # The claimed hash is what botocore's canonical request uses; if it were trusted, the signature would
    # cover any body.
    request = handsigned(
        signed=("host", "x-amz-content-sha256", "x-amz-date", "x-amz-target"),
        body=b'{"MaxResults":5}',
        extra={"X-Amz-Content-SHA256": claimed},
    )
    with pytest.raises(InvalidSignature, match="x-amz-content-sha256"):
        check(request)


@pytest.mark.parametrize("minutes", [-14, 14, -15, 15])
def test_clock_skew_up_to_15_minutes_is_accepted(minutes: int) -> None:
    request = boto3_request()
    assert check(request, now=request.signed_at + dt.timedelta(minutes=minutes)).access_key_id == AKID


# --- Refused --------------------------------------------------------------------------------------------------


def test_wrong_secret() -> None:
    request = boto3_request(secret="not-the-secret")
    with pytest.raises(InvalidSignature) as info:
        check(request)
    assert info.value.message.startswith("The request signature we calculated does not match")
    assert (info.value.wire_type, info.value.http_status) == ("InvalidSignatureException", 403)


def test_unknown_or_revoked_key() -> None:
    with pytest.raises(UnrecognizedClient) as info:
        check(boto3_request(akid="AKIAUNKNOWN000000000"))
    assert info.value.message == "The security token included in the request is invalid."
    assert (info.value.wire_type, info.value.code, info.value.http_status) == (
        "UnrecognizedClientException",
        "UnrecognizedClientException",
        400,
    )
    with pytest.raises(UnrecognizedClient):
        check(boto3_request(), keys={})


def test_tampered_body() -> None:
    request = boto3_request("list_hits", {"MaxResults": 10})
    with pytest.raises(InvalidSignature):
        check(replace(request, body=request.body.replace(b"10", b"99")))


def test_tampered_target() -> None:
    request = boto3_request("get_account_balance")
    with pytest.raises(InvalidSignature):
        check(request.with_header("X-Amz-Target", TARGET + "ListHITs"))


def test_tampered_host_path_and_query() -> None:
    request = boto3_request()
    for tampered in (
        request.with_header("Host", "evil.example:8765"),
        replace(request, path="/other"),
        replace(request, query_string="a=1"),
        replace(request, method="PUT"),
    ):
        with pytest.raises(InvalidSignature):
            check(tampered)


def test_missing_authorization() -> None:
    for request in (
        boto3_request().with_header("Authorization", None),
        boto3_request().with_header("Authorization", "  "),
    ):
        with pytest.raises(MissingAuthenticationToken) as info:
            check(request)
        assert (info.value.message, info.value.http_status) == ("Missing Authentication Token", 403)
        assert info.value.wire_type == "MissingAuthenticationTokenException"


@pytest.mark.parametrize(
    ("header", "fragment"),
    [
        ("garbage", "Unsupported AWS 'algorithm': 'garbage'"),
        ("Bearer abc.def", "Unsupported AWS 'algorithm': 'Bearer'"),
        ("AWS4-HMAC-SHA256", "requires 'Credential' parameter"),
        ("AWS4-HMAC-SHA256 Credential", "'Credential' not a valid key=value pair"),
        ("AWS4-HMAC-SHA256 Credential=x, SignedHeaders=host", "requires 'Signature' parameter"),
        (
            "AWS4-HMAC-SHA256 Credential=a/b/c/d, SignedHeaders=host, Signature=00",
            "Credential must have exactly 5 slash-delimited elements",
        ),
    ],
)
def test_garbage_authorization(header: str, fragment: str) -> None:
    with pytest.raises(IncompleteSignature) as info:
        check(boto3_request().with_header("Authorization", header))
    assert fragment in info.value.message
    assert (info.value.wire_type, info.value.http_status) == ("IncompleteSignatureException", 400)


def test_missing_parts_are_all_named() -> None:
    with pytest.raises(IncompleteSignature) as info:
        parse_authorization(
            "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/mturk-requester/aws4_request"
        )
    assert info.value.message.startswith(
        "Authorization header requires 'SignedHeaders' parameter. "
        "Authorization header requires 'Signature' parameter. Authorization=AWS4-HMAC-SHA256 "
    )


def test_missing_date() -> None:
    with pytest.raises(IncompleteSignature, match="'X-Amz-Date'"):
        check(boto3_request().with_header("X-Amz-Date", None), now=system_now())


def test_malformed_date() -> None:
    with pytest.raises(IncompleteSignature) as info:
        check(boto3_request().with_header("X-Amz-Date", "2024-01-31T12:00:00Z"), now=system_now())
    assert info.value.message == (
        "Date must be in ISO-8601 'basic format'. Got '2024-01-31T12:00:00Z'. See http://en.wikipedia.org/wiki/ISO_8601"
    )
    with pytest.raises(IncompleteSignature):
        check(boto3_request().with_header("X-Amz-Date", "20241332T250000Z"), now=system_now())


def test_signature_expired_16_minutes_in_the_past() -> None:
    request = handsigned(amz_date="20240131T120000Z")
    with pytest.raises(SignatureExpired) as info:
        check(request, now=dt.datetime(2024, 1, 31, 12, 16, tzinfo=dt.UTC))
    assert info.value.message == (
        "Signature expired: 20240131T120000Z is now earlier than 20240131T120100Z (20240131T121600Z - 15 min.)"
    )
    assert (info.value.wire_type, info.value.http_status) == ("InvalidSignatureException", 403)


def test_signature_16_minutes_in_the_future() -> None:
    request = handsigned(amz_date="20240131T120000Z")
    with pytest.raises(SignatureExpired) as info:
        check(request, now=dt.datetime(2024, 1, 31, 11, 44, tzinfo=dt.UTC))
    assert info.value.message == (
        "Signature not yet current: 20240131T120000Z is still later than 20240131T115900Z "
        "(20240131T114400Z + 15 min.)"
    )
    assert isinstance(info.value, InvalidSignature)


def test_boto3_request_replayed_later_is_refused() -> None:
    request = boto3_request()
    for minutes in (-16, 16):
        with pytest.raises(SignatureExpired):
            check(request, now=request.signed_at + dt.timedelta(minutes=minutes))


def test_custom_skew() -> None:
    request = handsigned(amz_date="20240131T120000Z")
    with pytest.raises(SignatureExpired, match=r"\(20240131T120200Z - 90 s.\)"):
        verify(
            method="POST", path="/", query_string="", headers=request.headers, body=request.body,
            secret_for=KEYS.get, now=dt.datetime(2024, 1, 31, 12, 2, tzinfo=dt.UTC), max_skew_seconds=90,
        )  # fmt: skip


def test_wrong_service_name() -> None:
    with pytest.raises(InvalidSignature) as info:
        check(handsigned(service="mturk"))
    assert info.value.message == "Credential should be scoped to correct service: 'mturk-requester'."


def test_wrong_terminator() -> None:
    with pytest.raises(InvalidSignature, match="valid terminator: 'aws4_request', not 'aws4'"):
        parse_authorization(
            "AWS4-HMAC-SHA256 Credential=AK/20240101/us-east-1/mturk-requester/aws4, SignedHeaders=host, Signature=00"
        )


def test_scope_date_must_match_x_amz_date() -> None:
    request = handsigned(amz_date="20240131T235959Z")
    request = request.with_header(
        "Authorization", request.headers["Authorization"].replace("/20240131/", "/20240130/")
    )
    with pytest.raises(InvalidSignature) as info:
        check(request)
    assert info.value.message == (
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
        "'20240130' != '20240131', from '20240131T235959Z'."
    )


def test_host_must_be_signed() -> None:
    with pytest.raises(InvalidSignature) as info:
        check(handsigned(signed=("x-amz-date", "x-amz-target")))
    assert info.value.message == "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."


def test_signed_header_missing_from_request() -> None:
    with pytest.raises(IncompleteSignature, match="'x-amz-target' is listed in SignedHeaders but missing"):
        check(handsigned().with_header("X-Amz-Target", None))


def test_garbage_signature_value() -> None:
    request = handsigned()
    auth = request.headers["Authorization"]
    for signature in ("", "zz", "é" * 64, "0" * 64):
        bad = auth[: auth.index("Signature=") + len("Signature=")] + signature
        with pytest.raises(KempelenError):
            check(request.with_header("Authorization", bad))


def test_parse_authorization() -> None:
    parsed = parse_authorization(
        "AWS4-HMAC-SHA256 Credential=AKIAX/20240131/sandbox/mturk-requester/aws4_request, "
        "SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=abc123"
    )
    assert parsed == sigv4.ParsedAuth(
        access_key_id="AKIAX",
        date_stamp="20240131",
        region="sandbox",
        service="mturk-requester",
        signed_headers=("content-type", "host", "x-amz-date", "x-amz-target"),
        signature="abc123",
    )


def test_auth_errors_are_kempelen_errors() -> None:
    for cls in (MissingAuthenticationToken, IncompleteSignature, UnrecognizedClient, InvalidSignature):
        assert issubclass(cls, sigv4.AuthError)
        assert issubclass(cls, KempelenError)
        assert cls.code == cls.wire_type


# --- Real HTTP: boto3 and the AWS CLI through sockets, Host header as urllib3 writes it. -------------------------


@pytest.fixture
def recording_server():  # type: ignore[no-untyped-def]
    received: list[Captured] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            path, _, query = self.path.partition("?")
            received.append(Captured("POST", path, query, dict(self.headers.items()), body))
            payload = b'{"AvailableBalance":"10000.00"}'
            self.send_response(200)
            self.send_header("Content-Type", "application/x-amz-json-1.1")
            self.send_header("x-amzn-RequestId", "test")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("region", ["us-east-1", "sandbox"])
def test_boto3_over_http(recording_server: Any, region: str) -> None:
    endpoint, received = recording_server
    client = boto3.client(
        "mturk",
        region_name=region,
        endpoint_url=endpoint,
        aws_access_key_id=AKID,
        aws_secret_access_key=SECRET,
    )
    assert client.get_account_balance()["AvailableBalance"] == "10000.00"
    assert check(received[0], now=system_now()).region == region


def _aws_cli() -> str | None:
    candidate = Path(sys.executable).with_name("aws")
    return str(candidate) if candidate.exists() else shutil.which("aws")


@pytest.mark.skipif(_aws_cli() is None, reason="AWS CLI not installed")
@pytest.mark.parametrize("region", ["us-east-1", "sandbox"])
def test_aws_cli_over_http(recording_server: Any, region: str, tmp_path: Path) -> None:
    endpoint, received = recording_server
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "AWS_ACCESS_KEY_ID": AKID,
        "AWS_SECRET_ACCESS_KEY": SECRET,
        "AWS_CONFIG_FILE": str(tmp_path / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"),
    }
    command = [
        _aws_cli() or "aws",
        "mturk",
        "get-account-balance",
        "--endpoint-url",
        endpoint,
        "--region",
        region,
    ]
    completed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert completed.returncode == 0, completed.stderr
    assert "10000.00" in completed.stdout
    assert "SignedHeaders=content-type;host;x-amz-date;x-amz-target," in received[0].headers["Authorization"]
    assert check(received[0], now=system_now()).region == region


def test_verify_is_fast() -> None:
    request = boto3_request("list_hits", {"MaxResults": 10})
    now = request.signed_at
    start = time.perf_counter()
    for _ in range(500):
        check(request, now=now)
    per_call = (time.perf_counter() - start) / 500
    # The target is well under 0.3 ms; the bound here is loose so a busy CI machine does not flake.
    assert per_call < 0.003


def test_django_request_headers_work_as_received() -> None:
    from django.test import RequestFactory

    captured = boto3_request("list_hits", {"MaxResults": 10})
    meta: dict[str, Any] = {
        f"HTTP_{name.upper().replace('-', '_')}": value for name, value in captured.headers.items()
    }
    meta.pop("HTTP_CONTENT_TYPE")
    meta.pop("HTTP_CONTENT_LENGTH", None)
    request = RequestFactory().generic(
        "POST", "/", data=captured.body, content_type=captured.headers["Content-Type"], **meta
    )
    result = verify(
        method=request.method or "POST",
        path=request.path,
        query_string=request.META.get("QUERY_STRING", ""),
        headers=request.headers,
        body=request.body,
        secret_for=KEYS.get,
        now=captured.signed_at,
    )
    assert result.access_key_id == AKID
