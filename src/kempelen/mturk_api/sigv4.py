"""Verify AWS Signature Version 4 on incoming Requester API calls, using botocore's own signer."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from kempelen.core.errors import KempelenError

ALGORITHM = "AWS4-HMAC-SHA256"
SERVICE = "mturk-requester"
TERMINATOR = "aws4_request"
DEFAULT_MAX_SKEW_SECONDS = 900

_UTC = dt.UTC
_AUTH_PARTS = ("Credential", "SignedHeaders", "Signature")
_HOST_NOT_SIGNED = "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
_CONTENT_SHA256_MISMATCH = "The provided 'x-amz-content-sha256' header does not match what was computed."


# --- Errors: the generic AWS front-end errors, with the __type and status AWS used for them. ---------------


class AuthError(KempelenError):
    """A request whose SigV4 authentication is missing, malformed or wrong."""

    code = "AccessDeniedException"
    wire_type = "AccessDeniedException"
    http_status = 403


class MissingAuthenticationToken(AuthError):
    code = wire_type = "MissingAuthenticationTokenException"
    http_status = 403

    def __init__(self, message: str = "Missing Authentication Token") -> None:
        super().__init__(message)


class IncompleteSignature(AuthError):
    code = wire_type = "IncompleteSignatureException"
    http_status = 400


class UnrecognizedClient(AuthError):
    code = wire_type = "UnrecognizedClientException"
    http_status = 400

    def __init__(self, message: str = "The security token included in the request is invalid.") -> None:
        super().__init__(message)


class InvalidSignature(AuthError):
    code = wire_type = "InvalidSignatureException"
    http_status = 403

    def __init__(
        self,
        message: str = (
            "The request signature we calculated does not match the signature you provided. Check your AWS "
            "Secret Access Key and signing method. Consult the service documentation for details."
        ),
    ) -> None:
        super().__init__(message)


class SignatureExpired(InvalidSignature):
    """X-Amz-Date outside the allowed clock skew; on the wire it is an InvalidSignatureException."""


# --- Parsing -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ParsedAuth:
    access_key_id: str
    date_stamp: str
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str


@dataclass(frozen=True, slots=True)
class VerifiedRequest:
    access_key_id: str
    #: The credential-scope region (``us-east-1``, ``sandbox``, …); the caller maps it to an environment.
    region: str


def parse_authorization(header: str) -> ParsedAuth:
    """Split an ``AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`` header into its parts."""
    if not header or not header.strip():
        raise MissingAuthenticationToken()
    algorithm, _, rest = header.strip().partition(" ")
    if algorithm != ALGORITHM:
        # Only the scheme is echoed: other schemes (Basic, Bearer) may carry secrets after it.
        raise IncompleteSignature(
            f"Unsupported AWS 'algorithm': '{algorithm[:40]}' (only {ALGORITHM} for now)."
        )
    parts = _auth_parameters(rest, header)
    missing = [name for name in _AUTH_PARTS if not parts.get(name)]
    if missing:
        raise IncompleteSignature(
            " ".join(f"Authorization header requires '{name}' parameter." for name in missing)
            + f" Authorization={header}"
        )
    access_key_id, date_stamp, region, service = _credential_scope(parts["Credential"])
    signed_headers = tuple(name.strip().lower() for name in parts["SignedHeaders"].split(";") if name.strip())
    return ParsedAuth(access_key_id, date_stamp, region, service, signed_headers, parts["Signature"])


def _auth_parameters(rest: str, header: str) -> dict[str, str]:
    # Clients differ in separators ("a=1, b=2" from botocore, "a=1,b=2" from some hand-written ones).
    parts: dict[str, str] = {}
    for item in rest.split(","):
        item = item.strip()
        if not item:
            continue
        key, eq, value = item.partition("=")
        if not eq:
            raise IncompleteSignature(
                f"'{key}' not a valid key=value pair (missing equal-sign) in Authorization header: '{header}'."
            )
        parts[key.strip()] = value.strip()
    return parts


def _credential_scope(credential: str) -> tuple[str, str, str, str]:
    pieces = credential.split("/")
    if len(pieces) != 5:
        raise IncompleteSignature(
            "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, "
            f"got '{credential}'"
        )
    access_key_id, date_stamp, region, service, terminator = pieces
    problems = []
    if not region:
        problems.append("Credential should be scoped to a valid region, not ''.")
    if service != SERVICE:
        problems.append(f"Credential should be scoped to correct service: '{SERVICE}'.")
    if terminator != TERMINATOR:
        problems.append(
            f"Credential should be scoped with a valid terminator: '{TERMINATOR}', not '{terminator}'."
        )
    if problems:
        raise InvalidSignature(" ".join(problems))
    return access_key_id, date_stamp, region, service


def parse_amz_date(value: str) -> dt.datetime:
    """``20240131T235959Z`` → an aware UTC datetime; anything else is an IncompleteSignatureException."""
    # Slicing beats strptime by ~10x, and this runs on every call.
    if len(value) != 16 or value[8] != "T" or value[15] != "Z" or not (value[:8] + value[9:15]).isdigit():
        raise _bad_date(value)
    try:
        return dt.datetime(
            int(value[0:4]), int(value[4:6]), int(value[6:8]),
            int(value[9:11]), int(value[11:13]), int(value[13:15]), tzinfo=_UTC,
        )  # fmt: skip
    except ValueError:
        raise _bad_date(value) from None


def _bad_date(value: str) -> IncompleteSignature:
    return IncompleteSignature(
        f"Date must be in ISO-8601 'basic format'. Got '{value}'. See http://en.wikipedia.org/wiki/ISO_8601"
    )


def _format_amz_date(moment: dt.datetime) -> str:
    return moment.astimezone(_UTC).strftime("%Y%m%dT%H%M%SZ")


def _check_freshness(amz_date: str, signed_at: dt.datetime, now: dt.datetime, max_skew_seconds: int) -> None:
    if now.tzinfo is None:
        now = now.replace(tzinfo=_UTC)
    skew = dt.timedelta(seconds=max_skew_seconds)
    span = f"{max_skew_seconds // 60} min." if max_skew_seconds % 60 == 0 else f"{max_skew_seconds} s."
    if signed_at < now - skew:
        raise SignatureExpired(
            f"Signature expired: {amz_date} is now earlier than {_format_amz_date(now - skew)} "
            f"({_format_amz_date(now)} - {span})"
        )
    if signed_at > now + skew:
        # AWS's wording for a date in the future.
        raise SignatureExpired(
            f"Signature not yet current: {amz_date} is still later than {_format_amz_date(now + skew)} "
            f"({_format_amz_date(now)} + {span})"
        )


# --- Signature check ---------------------------------------------------------------------------------------


class _ReceivedRequestSigner(SigV4Auth):
    """botocore's SigV4 signer, told exactly which headers the client signed.

    botocore's own ``headers_to_sign`` picks every header of an outgoing request except a blacklist (user-agent,
    expect, …) and invents ``host`` from the URL. On the receiving side the client's SignedHeaders list is the
    truth, so only that method changes; canonicalisation, hashing and key derivation stay botocore's.
    """

    def __init__(self, credentials: Credentials, region: str, signed: list[tuple[str, str]]) -> None:
        super().__init__(credentials, SERVICE, region)
        self._signed = signed

    def headers_to_sign(self, request: AWSRequest) -> _SignedHeaders:  # type: ignore[override]
        return _SignedHeaders(self._signed)


class _SignedHeaders:
    """The tiny part of HTTPHeaders that ``SigV4Auth.canonical_headers``/``signed_headers`` use."""

    __slots__ = ("_values",)

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._values = dict(pairs)

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def get_all(self, name: str) -> list[str]:
        return [self._values[name]]


def verify(
    *,
    method: str,
    path: str,
    query_string: str,
    headers: Mapping[str, str],
    body: bytes,
    secret_for: Callable[[str], str | None],
    now: dt.datetime,
    max_skew_seconds: int = DEFAULT_MAX_SKEW_SECONDS,
) -> VerifiedRequest:
    """Check the request's SigV4 signature; return who signed it, or raise an :class:`AuthError`.

    ``path`` and ``query_string`` must be as the client sent them (still percent-encoded), ``headers`` as
    received (any case); ``secret_for`` maps an access key id to its secret, or None when unknown or revoked.
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    header = lowered.get("authorization")
    if not header or not header.strip():
        raise MissingAuthenticationToken()
    auth = parse_authorization(header)

    amz_date = (lowered.get("x-amz-date") or "").strip()
    if not amz_date:
        raise IncompleteSignature(
            f"Authorization header requires existence of a 'X-Amz-Date' header. Authorization={header}"
        )
    signed_at = parse_amz_date(amz_date)
    _check_freshness(amz_date, signed_at, now, max_skew_seconds)
    if "host" not in auth.signed_headers:
        raise InvalidSignature(_HOST_NOT_SIGNED)
    if auth.date_stamp != amz_date[:8]:
        raise InvalidSignature(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
            f"'{auth.date_stamp}' != '{amz_date[:8]}', from '{amz_date}'."
        )
    signed = _signed_header_values(auth.signed_headers, lowered)
    body_hash = hashlib.sha256(body).hexdigest()
    _check_content_sha256(lowered.get("x-amz-content-sha256"), body_hash)

    secret = secret_for(auth.access_key_id) if auth.access_key_id else None
    if secret is None:
        raise UnrecognizedClient()
    expected = _expected_signature(
        method, path, query_string, body, body_hash, amz_date, auth, secret, signed
    )
    provided = auth.signature.encode("utf-8", "surrogatepass")
    if not hmac.compare_digest(expected.encode("ascii"), provided):
        raise InvalidSignature()
    # X-Amz-Security-Token needs no check of its own: Kempelen issues no session tokens, and when the client
    # signed the header it is already covered by the signature verified above.
    return VerifiedRequest(auth.access_key_id, auth.region)


def _signed_header_values(names: tuple[str, ...], lowered: Mapping[str, str]) -> list[tuple[str, str]]:
    signed = []
    for name in names:
        value = lowered.get(name)
        if value is None:
            raise IncompleteSignature(
                f"Header '{name}' is listed in SignedHeaders but missing from the request."
            )
        signed.append((name, value))
    return signed


def _check_content_sha256(claimed: str | None, body_hash: str) -> None:
    # botocore's canonical request trusts X-Amz-Content-SHA256 instead of hashing the body, so a claimed hash
    # (or UNSIGNED-PAYLOAD) must match the body, or a captured signature would cover any body at all.
    if claimed is not None and claimed.strip().lower() != body_hash:
        raise InvalidSignature(_CONTENT_SHA256_MISMATCH)


def _expected_signature(
    method: str,
    path: str,
    query_string: str,
    body: bytes,
    body_hash: str,
    amz_date: str,
    auth: ParsedAuth,
    secret: str,
    signed: list[tuple[str, str]],
) -> str:
    # Only the URL's path and query matter: the signed headers (host included) come from the request itself.
    url = "http://kempelen" + (path or "/") + (f"?{query_string}" if query_string else "")
    headers = dict(signed)
    if "x-amz-content-sha256" not in headers:
        # botocore takes the payload hash from this header when present; handing it the hash computed above
        # spares a second hash and an AWSRequest.prepare(). The header is signed only if the client listed it.
        headers["X-Amz-Content-SHA256"] = body_hash
    request = AWSRequest(method=method.upper(), url=url, headers=headers, data=body)
    request.context["timestamp"] = amz_date
    signer = _ReceivedRequestSigner(Credentials(auth.access_key_id, secret), auth.region, signed)
    canonical_request = signer.canonical_request(request)
    string_to_sign = signer.string_to_sign(request, canonical_request)
    return signer.signature(string_to_sign, request)
