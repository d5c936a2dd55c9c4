"""The request being served: its id and what the logs say about it, kept in a context variable per request."""

from __future__ import annotations

import contextvars
import re
import uuid
from dataclasses import dataclass

# What an incoming X-Request-Id may look like to be kept (a trusted proxy's id); anything else gets a new id.
_ACCEPTABLE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/+=-]{0,127}$")


@dataclass
class RequestContext:
    request_id: str


_current: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar("kempelen_request", default=None)


def new_request_id() -> str:
    return str(uuid.uuid4())


def acceptable_request_id(value: str | None) -> str | None:
    """``value`` if it is a plausible request id to carry on, else None."""
    if value and _ACCEPTABLE_ID.match(value):
        return value
    return None


def begin(context: RequestContext) -> contextvars.Token[RequestContext | None]:
    return _current.set(context)


def end(token: contextvars.Token[RequestContext | None]) -> None:
    _current.reset(token)


def current() -> RequestContext | None:
    return _current.get()


def current_request_id() -> str:
    """The id of the request being served; a fresh one when called outside a request (a direct call in a test)."""
    context = _current.get()
    return context.request_id if context is not None else new_request_id()
