"""The one clock. Business time (deadlines, expiry, auto-approval) comes from ``now()``.

Tests move business time with ``advance()``; nothing else in Kempelen reads the system clock for business
decisions. (SigV4 freshness is checked against ``system_now()``, because the client signs with the real
world's time.)
"""

from __future__ import annotations

import datetime as dt
import threading

UTC = dt.UTC

_lock = threading.Lock()
_offset = dt.timedelta(0)


def system_now() -> dt.datetime:
    return dt.datetime.now(UTC)


def now() -> dt.datetime:
    """The current business time, timezone-aware UTC."""
    return dt.datetime.now(UTC) + _offset


def advance(delta: dt.timedelta | float) -> None:
    """Move business time forward (tests and simulations only)."""
    global _offset
    if not isinstance(delta, dt.timedelta):
        delta = dt.timedelta(seconds=delta)
    with _lock:
        _offset += delta


def reset() -> None:
    global _offset
    with _lock:
        _offset = dt.timedelta(0)


def from_epoch(value: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(value, UTC)


def to_epoch(value: dt.datetime) -> float:
    return value.timestamp()
