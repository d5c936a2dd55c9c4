"""Input validation against botocore's bundled ``mturk`` service model, with AWS's ValidationException wording."""

from __future__ import annotations

import datetime as dt
import functools
import json
import math
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.model import ServiceModel, Shape

from kempelen.core.errors import ValidationFailed

_UTC = dt.UTC
# The range Python's datetime can represent (years 1-9999), as epoch seconds.
_MIN_EPOCH = -62135596800
_MAX_EPOCH = 253402300799
#: Values Kempelen accepts beyond the model's enums: its own Webhook notification transport.
EXTRA_ENUM_VALUES: dict[str, tuple[str, ...]] = {"NotificationTransport": ("Webhook",)}
_INT_RANGE = {"integer": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}
_TYPE_WORDS = {
    "structure": "a structure (JSON object)",
    "map": "a map (JSON object)",
    "list": "a list (JSON array)",
    "string": "a string",
    "boolean": "a boolean",
    "integer": "a 32-bit integer",
    "long": "a 64-bit integer",
    "float": "a number",
    "double": "a number",
    "timestamp": "a timestamp (epoch seconds, or an ISO-8601 string)",
    "blob": "a base64-encoded string",
}


# --- The model, loaded once ---------------------------------------------------------------------------------


@functools.cache
def service_model() -> ServiceModel:
    """botocore's ``mturk`` model; loading it reads and parses ~100 KB of JSON, so it is done once."""
    import botocore.session

    return botocore.session.get_session().get_service_model("mturk")


@functools.cache
def _operation_set() -> frozenset[str]:
    return frozenset(service_model().operation_names)


def operation_names() -> list[str]:
    """The 39 operation names of the 2017-01-17 API, sorted."""
    return sorted(_operation_set())


def is_operation(name: str) -> bool:
    return name in _operation_set()


def input_shape(operation_name: str) -> Shape | None:
    return service_model().operation_model(operation_name).input_shape


def output_shape(operation_name: str) -> Shape | None:
    return service_model().operation_model(operation_name).output_shape


# --- Compiled constraints -----------------------------------------------------------------------------------


@dataclass(eq=False, slots=True)
class _Spec:
    """One shape's constraints, pulled out of botocore's Shape once so the per-request walk is plain Python."""

    name: str
    type: str
    required: frozenset[str] = frozenset()
    members: dict[str, tuple[str, _Spec]] = field(default_factory=dict)  # wire name → (AWS path name, spec)
    member: _Spec | None = None  # list items; map values
    key: _Spec | None = None  # map keys
    min: int | None = None
    max: int | None = None
    enum: tuple[str, ...] = ()
    pattern: str | None = None
    regex: re.Pattern[str] | None = None


def _aws_name(member: str) -> str:
    # AWS (Coral) lower-cases only the first character: HITId → hITId, SSESpecification → sSESpecification.
    return member[:1].lower() + member[1:]


def _compile(shape: Shape, done: dict[str, _Spec]) -> _Spec:
    if shape.name in done:  # recursive and shared shapes
        return done[shape.name]
    meta = shape.metadata
    spec = _Spec(name=shape.name, type=shape.type_name, min=meta.get("min"), max=meta.get("max"))
    done[shape.name] = spec
    spec.enum = tuple(getattr(shape, "enum", None) or ()) + EXTRA_ENUM_VALUES.get(shape.name, ())
    if meta.get("pattern"):
        spec.pattern = meta["pattern"]
        spec.regex = re.compile(meta["pattern"])
    if spec.type == "structure":
        spec.required = frozenset(meta.get("required", ()))
        spec.members = {name: (_aws_name(name), _compile(m, done)) for name, m in shape.members.items()}
    elif spec.type == "list":
        spec.member = _compile(shape.member, done)
    elif spec.type == "map":
        spec.key = _compile(shape.key, done)
        spec.member = _compile(shape.value, done)
    return spec


_specs: dict[str, _Spec | None] = {}
_specs_lock = threading.Lock()


def _input_spec(operation_name: str) -> _Spec | None:
    try:
        return _specs[operation_name]
    except KeyError:
        pass
    with _specs_lock:
        if operation_name not in _specs:
            shape = input_shape(operation_name)
            _specs[operation_name] = _compile(shape, {}) if shape is not None else None
        return _specs[operation_name]


# --- Timestamps ---------------------------------------------------------------------------------------------


def parse_timestamp(value: Any) -> dt.datetime:
    """A request timestamp (epoch seconds as int or float, or an ISO-8601 string) → an aware UTC datetime.

    botocore's JSON serializer always sends epoch numbers; strings are accepted for hand-written clients.
    Raises ValueError (or TypeError) for anything else.
    """
    if isinstance(value, bool):
        raise TypeError("a boolean is not a timestamp")
    if isinstance(value, int | float):
        # A chained comparison is False for NaN and infinities too, and safe for huge ints.
        if not _MIN_EPOCH <= value <= _MAX_EPOCH:
            raise ValueError(f"timestamp out of range: {value!r}")
        # Exact integer arithmetic avoids fromtimestamp's platform limits for dates before 1970.
        seconds = math.floor(value)
        micros = round((value - seconds) * 1_000_000)
        return dt.datetime(1970, 1, 1, tzinfo=_UTC) + dt.timedelta(seconds=seconds, microseconds=micros)
    if isinstance(value, str):
        parsed = dt.datetime.fromisoformat(value.strip())
        return parsed.replace(tzinfo=_UTC) if parsed.tzinfo is None else parsed.astimezone(_UTC)
    raise TypeError(f"not a timestamp: {type(value).__name__}")


# --- Validation ---------------------------------------------------------------------------------------------


def validate_input(operation_name: str, params: dict[str, Any]) -> None:
    """Check ``params`` against the operation's input shape; raise ValidationFailed listing every problem.

    Checks required members, JSON types, unknown members, min/max (length for strings and lists, value for
    numbers), patterns and enums: botocore checks only types, required and min on the client, so max,
    pattern and enum violations reach the server and are caught here. An unknown operation is a KeyError.
    """
    if not is_operation(operation_name):
        raise KeyError(operation_name)
    spec = _input_spec(operation_name)
    errors: list[str] = []
    if spec is not None:
        _check(params, spec, "", errors)
    if errors:
        noun = "error" if len(errors) == 1 else "errors"
        raise ValidationFailed(f"{len(errors)} validation {noun} detected: " + "; ".join(errors))


def _render(value: Any) -> str:
    """A value as Java's toString would show it in AWS's messages (``[a, b]``, ``true``)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_render(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={_render(v)}" for k, v in value.items()) + "}"
    return json.dumps(value) if isinstance(value, float) else str(value)


def _fail(errors: list[str], value: Any, path: str, constraint: str) -> None:
    shown = "null" if value is None else f"'{_render(value)}'"
    errors.append(f"Value {shown} at '{path}' failed to satisfy constraint: {constraint}")


def _check(value: Any, spec: _Spec, path: str, errors: list[str]) -> None:
    checker = _CHECKERS.get(spec.type)
    if checker is not None:
        checker(value, spec, path, errors)


def _check_structure(value: Any, spec: _Spec, path: str, errors: list[str]) -> None:
    if not isinstance(value, dict):
        _type_error(value, spec, path or "input", errors)
        return
    prefix = f"{path}." if path else ""
    # Walk the model's members in model order, so the message does not depend on the client's key order.
    for name, (aws_name, member_spec) in spec.members.items():
        member_value = value.get(name)
        if member_value is not None:
            _check(member_value, member_spec, prefix + aws_name, errors)
        elif name in spec.required:  # JSON null counts as absent, as in AWS's Java services
            _fail(errors, None, prefix + aws_name, "Member must not be null")
    if not value.keys() <= spec.members.keys():
        known = ", ".join(spec.members)
        for name, member_value in value.items():
            if name not in spec.members:
                _fail(
                    errors, member_value, prefix + name, f"Unknown member; {spec.name} has members [{known}]"
                )


def _check_list(value: Any, spec: _Spec, path: str, errors: list[str]) -> None:
    if not isinstance(value, list):
        _type_error(value, spec, path, errors)
        return
    _check_length(value, len(value), spec, path, errors)
    assert spec.member is not None
    for index, item in enumerate(value, start=1):
        item_path = f"{path}.{index}.member"
        if item is None:
            _fail(errors, None, item_path, "Member must not be null")
        else:
            _check(item, spec.member, item_path, errors)


def _check_map(value: Any, spec: _Spec, path: str, errors: list[str]) -> None:
    if not isinstance(value, dict):
        _type_error(value, spec, path, errors)
        return
    _check_length(value, len(value), spec, path, errors)
    assert spec.key is not None and spec.member is not None
    for key, item in value.items():
        _check(key, spec.key, f"{path}.{key}", errors)
        if item is None:
            _fail(errors, None, f"{path}.{key}", "Member must not be null")
        else:
            _check(item, spec.member, f"{path}.{key}", errors)


def _check_string(value: Any, spec: _Spec, path: str, errors: list[str]) -> None:
    if not isinstance(value, str):
        _type_error(value, spec, path, errors)
        return
    if spec.enum and value not in spec.enum:
        _fail(errors, value, path, f"Member must satisfy enum value set: [{', '.join(spec.enum)}]")
    # fullmatch, as Java's Pattern.matches: with re.match, '$' would let "ABC\n" pass '^[A-Z0-9]+$'.
    if spec.regex is not None and spec.regex.fullmatch(value) is None:
        _fail(errors, value, path, f"Member must satisfy regular expression pattern: {spec.pattern}")
    _check_length(value, len(value), spec, path, errors)


def _check_length(value: Any, length: int, spec: _Spec, path: str, errors: list[str]) -> None:
    if spec.max is not None and length > spec.max:
        _fail(errors, value, path, f"Member must have length less than or equal to {spec.max}")
    if spec.min is not None and length < spec.min:
        _fail(errors, value, path, f"Member must have length greater than or equal to {spec.min}")


def _check_integer(value: Any, spec: _Spec, path: str, errors: list[str]) -> None:
    # bool is a subclass of int in Python, but true/false are not integers on the wire.
    low, high = _INT_RANGE[spec.type]
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        _type_error(value, spec, path, errors)
        return
    _check_value_range(value, spec, path, errors)


def _check_number(value: Any, spec: _Spec, path: str, errors: list[str]) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or (isinstance(value, float) and not math.isfinite(value))
    ):
        _type_error(value, spec, path, errors)
        return
    _check_value_range(value, spec, path, errors)


def _check_value_range(value: float, spec: _Spec, path: str, errors: list[str]) -> None:
    if spec.max is not None and value > spec.max:
        _fail(errors, value, path, f"Member must have value less than or equal to {spec.max}")
    if spec.min is not None and value < spec.min:
        _fail(errors, value, path, f"Member must have value greater than or equal to {spec.min}")


def _check_boolean(value: Any, spec: _Spec, path: str, errors: list[str]) -> None:
    if not isinstance(value, bool):
        _type_error(value, spec, path, errors)


def _check_timestamp(value: Any, spec: _Spec, path: str, errors: list[str]) -> None:
    try:
        parse_timestamp(value)
    except (TypeError, ValueError, OverflowError):
        _type_error(value, spec, path, errors)


def _check_blob(value: Any, spec: _Spec, path: str, errors: list[str]) -> None:
    if not isinstance(value, str):
        _type_error(value, spec, path, errors)


def _type_error(value: Any, spec: _Spec, path: str, errors: list[str]) -> None:
    _fail(errors, value, path, f"Member must be {_TYPE_WORDS.get(spec.type, spec.type)}")


_CHECKERS: dict[str, Callable[[Any, _Spec, str, list[str]], None]] = {
    "structure": _check_structure,
    "list": _check_list,
    "map": _check_map,
    "string": _check_string,
    "integer": _check_integer,
    "long": _check_integer,
    "float": _check_number,
    "double": _check_number,
    "boolean": _check_boolean,
    "timestamp": _check_timestamp,
    "blob": _check_blob,
}
