"""Checks on free text that the API stores and shows to people."""

from __future__ import annotations

import re

from .errors import InvalidParameter

# MTurk refused ASCII 0-8, 11, 12 and 14-31 in RequesterFeedback.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def check_text(value: str | None, field: str, *, max_length: int, required: bool = False) -> str:
    value = value or ""
    if required and not value.strip():
        raise InvalidParameter(f"{field} is required and must not be empty.")
    if len(value) > max_length:
        raise InvalidParameter(f"{field} must be at most {max_length} characters; got {len(value)}.")
    if _CONTROL.search(value):
        raise InvalidParameter(f"{field} contains control characters that are not allowed.")
    return value


def check_range(value: int | None, field: str, low: int, high: int) -> int | None:
    if value is None:
        return None
    if not low <= value <= high:
        raise InvalidParameter(f"{field} must be between {low} and {high}; got {value}.")
    return value
