"""Keyset pagination as MTurk's clients expect it: a NextToken on every non-empty page, and an empty last
page without one (botocore's paginator, the AWS CLI and hand-written loops all stop on that)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.db.models import Q, QuerySet

from kempelen.core.errors import InvalidParameter

from .wire import decode_token, encode_token

DEFAULT_PAGE_SIZE = 10


def page(
    qs: QuerySet,
    params: dict,
    *,
    order: Sequence[str],
    scope: str,
) -> tuple[list[Any], str | None]:
    """One page of ``qs`` in ``order`` (fields that together are unique), and the token for the next."""
    size = params.get("MaxResults") or DEFAULT_PAGE_SIZE
    token = params.get("NextToken")
    qs = qs.order_by(*order)
    if token:
        position = decode_token(token)
        if position.get("s") != scope:
            raise InvalidParameter("The pagination token is invalid or has expired.")
        qs = qs.filter(_after(order, position["k"]))
    items = list(qs[:size])
    if not items:
        return [], None
    last = items[-1]
    key = [_plain(getattr(last, f)) for f in order]
    return items, encode_token({"s": scope, "k": key})


def _plain(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def _after(order: Sequence[str], key: list[Any]) -> Q:
    """Rows strictly after ``key`` in the lexicographic order of ``order``."""
    condition = Q()
    for i, field in enumerate(order):
        step = Q(**{f"{field}__gt": key[i]})
        for earlier, value in zip(order[:i], key[:i], strict=False):
            step &= Q(**{earlier: value})
        condition |= step
    return condition


def listing(items: list[Any], token: str | None, member: str, render: Callable[[Any], dict], *, counted: bool = True) -> dict:
    out: dict[str, Any] = {member: [render(i) for i in items]}
    if counted:
        out["NumResults"] = len(items)
    if token:
        out["NextToken"] = token
    return out
