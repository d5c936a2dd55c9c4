"""Every request gets an id, a line in the access log and its counts in the metrics.

It is the outermost middleware, and the WSGI handler (``kempelen/wsgi.py``) wraps the requests that skip the
page middleware (API calls, health checks, metrics) in the same :func:`observe`, so all are treated alike.
The request id is new for each request, or the ``X-Request-Id`` sent by a trusted proxy
(``KEMPELEN_TRUST_REQUEST_ID``); it is returned as ``X-Request-Id`` on every response, is the API's
``x-amzn-RequestId``, and is on every log line written while the request is served.

Routes are URL pattern names (``requester:batch``, ``task``), never raw paths: paths carry ids and tokens, and
every distinct label value is a new time series.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest
from django.http.response import HttpResponseBase

from . import context
from .metrics import API_DURATION, API_OPERATIONS, HTTP_DURATION, HTTP_REQUESTS

log = logging.getLogger("kempelen.http")

API_ROUTE = "mturk-api"
#: Probes and scrapes: logged at DEBUG, so that a probe every few seconds does not drown the log.
QUIET_ROUTES = frozenset({"healthz", "readyz", "metrics"})
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/[^/,\s]*/([^/,\s]*)/")
_TURK_PREFIX = "AWS.MechanicalTurk."


def observe(request: HttpRequest, view: Callable[[HttpRequest], HttpResponseBase], *,
            route: str | None = None) -> HttpResponseBase:
    """Serve ``request`` with ``view`` under a request id, then count and log it."""
    started = time.perf_counter()
    request_id = _trusted_incoming_id(request) or context.new_request_id()
    token = context.begin(context.RequestContext(request_id))
    try:
        try:
            response = view(request)
        except BaseException:
            _finish(request, route, None, started)
            raise
        response["X-Request-Id"] = request_id
        _finish(request, route, response, started)
        return response
    finally:
        context.end(token)


class RequestObservabilityMiddleware:
    """:func:`observe` as Django middleware (first in ``MIDDLEWARE``)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        return observe(request, self.get_response)


def _trusted_incoming_id(request: HttpRequest) -> str | None:
    if not settings.KEMPELEN.get("TRUST_REQUEST_ID"):
        return None
    return context.acceptable_request_id(request.META.get("HTTP_X_REQUEST_ID"))


def route_of(request: HttpRequest) -> str:
    """The name of the URL pattern that served ``request`` (its view's dotted path when it has no name)."""
    match = getattr(request, "resolver_match", None)
    if match is not None:
        return str(match.view_name or match.route)
    if request.path_info.startswith(str(settings.STATIC_URL)):
        return "static"  # answered by whitenoise before URL resolution
    return "<unmatched>"


@dataclass(frozen=True)
class _ApiCall:
    operation: str
    environment: str
    outcome: str
    access_key_id: str | None


def _api_call(request: HttpRequest, response: HttpResponseBase | None) -> _ApiCall:
    from kempelen.core.errors import KempelenError
    from kempelen.mturk_api import wire

    try:
        operation = wire.parse_target(request.META.get("HTTP_X_AMZ_TARGET"))
    except KempelenError:
        operation = "unknown"
    credential = _CREDENTIAL.search(request.META.get("HTTP_AUTHORIZATION", ""))
    environment = "sandbox" if credential and credential.group(2) == "sandbox" else "live"
    return _ApiCall(operation, environment, _outcome(response), credential.group(1) if credential else None)


def _outcome(response: HttpResponseBase | None) -> str:
    """``Success``, or the error the API answered with: its TurkErrorCode without the prefix, or its type."""
    if response is None:
        return "ServiceFault"
    if response.status_code < 400:
        return "Success"
    try:
        body = json.loads(getattr(response, "content", b""))
        code = str(body.get("TurkErrorCode") or body.get("__type") or "")
    except (ValueError, AttributeError):
        code = ""
    return code.removeprefix(_TURK_PREFIX)[:80] or f"HTTP{response.status_code}"


_customer_ids: dict[str, str] = {}


def customer_id_for(access_key_id: str) -> str | None:
    """The customer id of the requester owning an access key (a key never changes hands: kept per process)."""
    found = _customer_ids.get(access_key_id)
    if found is not None:
        return found
    from kempelen.accounts.models import ApiCredential

    try:
        found = (
            ApiCredential.objects.filter(access_key_id=access_key_id)
            .values_list("requester__customer_id", flat=True).first()
        )
    except DatabaseError:
        return None
    if found is not None:
        if len(_customer_ids) >= 10_000:
            _customer_ids.clear()
        _customer_ids[access_key_id] = found
    return found


def _finish(request: HttpRequest, route: str | None, response: HttpResponseBase | None, started: float) -> None:
    try:
        _count_and_log(request, route or route_of(request), response, time.perf_counter() - started)
    except Exception:  # counting must never cost the client its answer
        log.exception("could not record request metrics")


def _count_and_log(request: HttpRequest, route: str, response: HttpResponseBase | None, seconds: float) -> None:
    status = response.status_code if response is not None else 500
    method = request.method if request.method in _METHODS else "other"
    HTTP_REQUESTS.labels(method, route, str(status)).inc()
    HTTP_DURATION.labels(method, route).observe(seconds)
    level = logging.DEBUG if route in QUIET_ROUTES else logging.INFO
    fields: dict[str, object] = {"method": method, "route": route, "status": status,
                                 "duration_ms": round(seconds * 1000, 2)}
    message = f"{method} {route}"
    if route == API_ROUTE and method == "POST" and "HTTP_X_AMZ_TARGET" in request.META:
        call = _api_call(request, response)
        API_OPERATIONS.labels(call.operation, call.environment, call.outcome).inc()
        API_DURATION.labels(call.operation).observe(seconds)
        fields.update(operation=call.operation, outcome=call.outcome, environment=call.environment)
        message = f"{message} {call.operation}"
        if call.access_key_id and log.isEnabledFor(level):
            fields["customer_id"] = customer_id_for(call.access_key_id)
    if log.isEnabledFor(level):
        log.log(level, "%s %s", message, status, extra=fields)
