"""Checks of one worker answer against its QuestionForm answer specification, with messages for the worker.

Each function returns ``None`` for an acceptable answer or one sentence saying what to change. Blank answers
(empty or whitespace only) are acceptable exactly when the question is not required; constraints apply only
to answers that were given.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal

from .questionform import FileUploadAnswer, FreeTextAnswer, SelectionAnswer

REQUIRED_MESSAGE = "This question requires an answer."
FORMAT_MESSAGE = "This answer is not in the format the requester asked for."
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")


def parse_number(text: str) -> Decimal | None:
    """A plain decimal number (``42``, ``-3.5``, ``.5``), surrounding spaces allowed; anything else is ``None``."""
    text = text.strip()
    return Decimal(text) if _NUMBER.fullmatch(text) else None


def free_text_error(spec: FreeTextAnswer, text: str, *, required: bool) -> str | None:
    """Why ``text`` does not answer a FreeTextAnswer question, or ``None``."""
    if not text.strip():
        return REQUIRED_MESSAGE if required else None
    return _numeric_error(spec, text) or _length_error(spec, text) or _regex_error(spec, text)


def _numeric_error(spec: FreeTextAnswer, text: str) -> str | None:
    if spec.numeric is None:
        return None
    number = parse_number(text)
    low, high = spec.numeric.min_value, spec.numeric.max_value
    in_range = number is not None and (low is None or number >= low) and (high is None or number <= high)
    if in_range:
        return None
    if low is not None and high is not None:
        return f"Enter a number from {low} to {high}."
    if low is not None:
        return f"Enter a number of at least {low}."
    if high is not None:
        return f"Enter a number of at most {high}."
    return "Enter a number."


def _length_error(spec: FreeTextAnswer, text: str) -> str | None:
    if spec.length is None:
        return None
    low, high = spec.length.min_length, spec.length.max_length
    if low is not None and len(text) < low:
        return f"Enter at least {low} character{'s' if low != 1 else ''}."
    if high is not None and len(text) > high:
        return f"Enter at most {high} character{'s' if high != 1 else ''}."
    return None


def _regex_error(spec: FreeTextAnswer, text: str) -> str | None:
    for regex in spec.regexes:
        if not regex.matches(text):
            return regex.error_text or FORMAT_MESSAGE
    return None


def selection_error(
    spec: SelectionAnswer, selected: Sequence[str], other_text: str | None, *, required: bool
) -> str | None:
    """Why these selections (and typed "other" text) do not answer a SelectionAnswer question, or ``None``."""
    offered = set(spec.selection_identifiers)
    unknown = [identifier for identifier in selected if identifier not in offered]
    if unknown:
        return f"{unknown[0]!r} is not one of this question's choices."
    other_text = other_text or ""
    has_other = bool(other_text.strip())
    if has_other and spec.other_selection is None:
        return "This question does not accept an answer of your own."
    count = len(set(selected)) + (1 if has_other else 0)
    if count == 0:
        return REQUIRED_MESSAGE if required else None
    low, high = spec.min_selection_count, spec.max_selection_count
    if count < low:
        return f"Choose at least {low} option{'s' if low != 1 else ''}."
    if count > high:
        return f"Choose at most {high} option{'s' if high != 1 else ''}."
    if has_other and spec.other_selection is not None:
        return free_text_error(spec.other_selection, other_text, required=True)
    return None


def file_upload_error(spec: FileUploadAnswer, size: int | None, *, required: bool) -> str | None:
    """Why an uploaded file of ``size`` bytes (``None``: no file) does not answer the question, or ``None``."""
    if size is None:
        return REQUIRED_MESSAGE if required else None
    if size < spec.min_file_size_in_bytes:
        return f"The file must be at least {spec.min_file_size_in_bytes:,} bytes."
    if size > spec.max_file_size_in_bytes:
        return f"The file must be at most {spec.max_file_size_in_bytes:,} bytes."
    return None
