"""Template filters for amounts and durations as people read them."""

from __future__ import annotations

import datetime as dt

from django import template

from kempelen.core.money import format_cents

register = template.Library()


@register.filter
def dollars(cents: int | None) -> str:
    return "$" + format_cents(int(cents or 0))


def _words(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    parts = []
    for size, name in ((86400, "day"), (3600, "hour"), (60, "minute")):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count} {name}{'s' if count != 1 else ''}")
    return " ".join(parts[:2])


@register.filter
def duration(seconds: int | None) -> str:
    """3600 → "1 hour"; 5400 → "1 hour 30 minutes"."""
    return _words(int(seconds or 0))


@register.filter
def timedelta_words(value: dt.timedelta | None) -> str:
    return _words(int(value.total_seconds())) if value else ""


@register.filter
def keywords(text: str | None) -> list[str]:
    return [k.strip() for k in (text or "").split(",") if k.strip()]
