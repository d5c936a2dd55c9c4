"""The JSON edges of the API: X-Amz-Target, request bodies, response encoding, error bodies, page tokens."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
import re
from typing import Any

from kempelen.core.errors import InvalidParameter, KempelenError

from . import validation

TARGET_PREFIX = "MTurkRequesterServiceV20170117"
CONTENT_TYPE = "application/x-amz-json-1.1"
MAX_TOKEN_LENGTH = 255  # the model's PaginationToken max
INVALID_TOKEN_MESSAGE = "The pagination token is invalid or has expired."

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND = dt.timedelta(microseconds=1)
_TURK_WIRE_TYPES = frozenset({"RequestError", "ServiceFault"})
# MTurk ended RequestError messages with " (<epoch-ms>)", sometimes " (<epoch-ms> s)".
_TIME_SUFFIX = re.compile(r"\(\d+(?: s)?\)\s*$")
_TOKEN_MAC_BYTES = 16  # 128-bit tag: unforgeable, and keeps room for the position within 255 characters
_TOKEN_KEY_LABEL = b"kempelen.mturk_api.wire.pagination-token\x00"


class UnknownOperation(KempelenError):
    code = wire_type = "UnknownOperationException"
    http_status = 400


class SerializationError(KempelenError):
    code = wire_type = "SerializationException"
    http_status = 400


# --- Requests -----------------------------------------------------------------------------------------------


def parse_target(header: str | None) -> str:
    """``MTurkRequesterServiceV20170117.GetHIT`` → ``GetHIT``; anything else is an UnknownOperationException."""
    if not header or not header.strip():
        raise UnknownOperation(f"Missing X-Amz-Target header; expected '{TARGET_PREFIX}.<Operation>'.")
    prefix, dot, operation = header.strip().partition(".")
    if not dot or prefix != TARGET_PREFIX or not validation.is_operation(operation):
        # Cap the echo: the header is client-controlled.
        raise UnknownOperation(f"Unknown operation: '{header.strip()[:200]}'.")
    return operation


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_body(body: bytes) -> dict[str, Any]:
    """The request's JSON object; an empty body is ``{}`` (botocore sends ``{}``, some clients nothing)."""
    if not body or not body.strip():
        return {}
    try:
        # parse_constant refuses NaN/Infinity, which Python's json accepts but JSON does not have.
        parsed = json.loads(body, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise SerializationError(f"The request body is not valid JSON: {_short(exc)}") from None
    if not isinstance(parsed, dict):
        raise SerializationError(f"The request body must be a JSON object, not a JSON {_json_kind(parsed)}.")
    return parsed


def _short(exc: BaseException) -> str:
    return str(exc)[:200] or type(exc).__name__


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if value is None:
        return "null"
    return "number"


# --- Responses ----------------------------------------------------------------------------------------------


def epoch_seconds(moment: dt.datetime) -> int | float:
    """Epoch seconds as MTurk sends them: an int for whole seconds, else a float (``1546300800.123``).

    Naive datetimes are taken as UTC. Integer arithmetic, then one decimal parse, keeps the float's shortest
    repr exact ("…800.123", not "…800.12299999").
    """
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    micros = (moment - _EPOCH) // _MICROSECOND
    if micros % 1_000_000 == 0:
        return micros // 1_000_000
    # Split the magnitude, not the signed value: -0.5 s is "-0.500000", not "-1.500000".
    seconds, fraction = divmod(abs(micros), 1_000_000)
    return float(f"{'-' if micros < 0 else ''}{seconds}.{fraction:06d}")


def to_wire(value: Any) -> Any:
    """A JSON-ready copy: datetimes become epoch numbers, dict keys with None values are dropped."""
    if isinstance(value, dict):
        return {key: to_wire(item) for key, item in value.items() if item is not None}
    if isinstance(value, list | tuple):
        return [to_wire(item) for item in value]
    if isinstance(value, dt.datetime):
        return epoch_seconds(value)
    return value


def encode(obj: Any) -> bytes:
    """Compact UTF-8 JSON (pass it :func:`to_wire` output). NaN/Infinity are refused: JSON has neither."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


def error_body(error: KempelenError, request_time_ms: int) -> tuple[int, bytes]:
    """The HTTP status and JSON body for an error, in MTurk's shape or AWS's generic one."""
    if error.wire_type in _TURK_WIRE_TYPES:
        message = error.message
        if not _TIME_SUFFIX.search(message):
            message = f"{message} ({request_time_ms})"
        body: dict[str, str] = {
            "__type": error.wire_type,
            "Message": message,
            "TurkErrorCode": error.turk_error_code,
        }
    else:
        # AWS's generic front-end and validation errors use a lower-case "message"; botocore reads either.
        body = {"__type": error.wire_type, "message": error.message}
    return error.http_status, encode(body)


# --- Pagination tokens --------------------------------------------------------------------------------------


def _token_key() -> bytes:
    # Imported lazily so this module loads without configured settings; a labelled hash keeps the token key
    # distinct from every other use of SECRET_KEY.
    from django.conf import settings

    secret = settings.SECRET_KEY
    secret_bytes = secret.encode("utf-8") if isinstance(secret, str) else bytes(secret)
    return hashlib.sha256(_TOKEN_KEY_LABEL + secret_bytes).digest()


def _mac(payload: bytes, scope: str) -> bytes:
    message = scope.encode("utf-8") + b"\x00" + payload
    return hmac.new(_token_key(), message, hashlib.sha256).digest()[:_TOKEN_MAC_BYTES]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode_token(position: dict[str, Any], *, scope: str = "") -> str:
    """An opaque, URL-safe, HMAC-signed NextToken for ``position`` (a small JSON-able dict).

    ``scope`` (e.g. ``"ListHITs:<requester>"``) is bound into the MAC, so a token only decodes with the same
    scope. Raises ValueError if the position does not fit in MTurk's 255-character token.
    """
    payload = json.dumps(position, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode("utf-8")
    token = f"{_b64(payload)}.{_b64(_mac(payload, scope))}"
    if len(token) > MAX_TOKEN_LENGTH:
        raise ValueError(
            f"pagination position too large for a {MAX_TOKEN_LENGTH}-character token: {position!r}"
        )
    return token


def decode_token(token: str, *, scope: str = "") -> dict[str, Any]:
    """The position inside a token from :func:`encode_token`; InvalidParameter if forged, garbled or foreign."""
    if not isinstance(token, str) or not 0 < len(token) <= MAX_TOKEN_LENGTH or token.count(".") != 1:
        raise InvalidParameter(INVALID_TOKEN_MESSAGE)
    payload_part, mac_part = token.split(".")
    try:
        payload, mac = _unb64(payload_part), _unb64(mac_part)
    except (ValueError, binascii.Error):  # also non-ASCII input
        raise InvalidParameter(INVALID_TOKEN_MESSAGE) from None
    # The decoder skips stray characters and ignores unused trailing bits; only the canonical spelling of a
    # token is accepted, so an edited token never decodes.
    if _b64(payload) != payload_part or _b64(mac) != mac_part:
        raise InvalidParameter(INVALID_TOKEN_MESSAGE)
    if not hmac.compare_digest(mac, _mac(payload, scope)):
        raise InvalidParameter(INVALID_TOKEN_MESSAGE)
    try:
        position = json.loads(payload)
    except ValueError:  # cannot happen for tokens we signed, but never trust a decode
        raise InvalidParameter(INVALID_TOKEN_MESSAGE) from None
    if not isinstance(position, dict):
        raise InvalidParameter(INVALID_TOKEN_MESSAGE)
    return position
