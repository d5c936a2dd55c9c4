"""Arithmetic shared by the review policies: percentages, answer normalisation, judgements."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any, Literal

from .definitions import LARGE_HIT_ASSIGNMENTS, MULTI_VALUE_SEPARATOR, AnswerValue, IntendedAction


def percentage(part: int, whole: int) -> int:
    """``100 * part / whole`` as an integer, rounded half up: 2/3 → 67, 1/8 → 13 (12.5 rounds up).

    Integer arithmetic, so no float ever decides a threshold. MTurk's own worked example truncates (2/3 → "66%");
    rounding was chosen because the score is a reported percentage and half-up is how Kempelen rounds money too.
    """
    if whole <= 0 or not 0 <= part <= whole:
        raise ValueError(f"percentage({part}, {whole}) needs 0 <= part <= whole and whole > 0")
    return (200 * part + whole) // (2 * whole)


def extension_allowed(current_max_assignments: int, extend_maximum_assignments: int) -> bool:
    """Whether a policy may add one assignment to a HIT that currently has ``current_max_assignments``.

    Never beyond ExtendMaximumAssignments (the HIT's total), and never from fewer than 10 to 10 or more:
    MTurk's CreateAdditionalAssignmentsForHIT refuses that crossing, and the 10+ tier costs a higher fee.
    """
    new_total = current_max_assignments + 1
    if new_total > extend_maximum_assignments:
        return False
    return not current_max_assignments < LARGE_HIT_ASSIGNMENTS <= new_total


def normalise_answer(value: AnswerValue) -> frozenset[str]:
    """An answer as the set of its trimmed, non-blank values: ``" A "`` → {A}; ``{"A", "B "}`` → {A, B}; ``""`` → ∅.

    A string is one value (the caller splits multi-selects before calling); any other collection of strings is
    a multi-value answer. Case and punctuation are kept, as MTurk's matching is exact.
    """
    items: Collection[Any] = (value,) if isinstance(value, str) else value
    if isinstance(value, bytes | Mapping) or not isinstance(items, Collection):
        raise TypeError(f"an answer is a string or a collection of strings; got {value!r}")
    out = set()
    for item in items:
        if not isinstance(item, str):
            raise TypeError(f"an answer's values must be strings; got {item!r}")
        trimmed = item.strip()
        if trimmed:
            out.add(trimmed)
    return frozenset(out)


def format_answer(values: Collection[str]) -> str:
    """A (multi-value) answer as one result Value: sorted and ``|``-joined, so equal sets print equally."""
    return MULTI_VALUE_SEPARATOR.join(sorted(values))


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _judge(
    score: int, approve_at_least: int | None, reject_below: int | None
) -> Literal["Approve", "Reject"] | None:
    # When both thresholds fire (e.g. approve at ≥50, reject below 80, score 60) approval wins: the requester
    # explicitly said this score is good enough to pay, and a wrongful rejection (it hurts the worker's approval
    # rate and cannot be fixed after 30 days) costs more than a wrongful approval.
    if approve_at_least is not None and score >= approve_at_least:
        return "Approve"
    if reject_below is not None and score < reject_below:
        return "Reject"
    return None


def extension(hit_id: str, score: int, extend_below: int | None, current_max_assignments: int,
              extend_maximum_assignments: int) -> IntendedAction | None:
    """The one-assignment extension a policy asks for when ``score`` falls below its threshold, if allowed."""
    if extend_below is None or score >= extend_below:
        return None
    if not extension_allowed(current_max_assignments, extend_maximum_assignments):
        return None
    return IntendedAction("Extend", hit_id, "HIT")
