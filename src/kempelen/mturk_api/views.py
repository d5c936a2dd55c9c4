"""The MTurk Requester API endpoint: ``POST /`` with ``X-Amz-Target``, AWS JSON 1.1, SigV4.

Order of checks: the target, the body's size (a body over Django's ``DATA_UPLOAD_MAX_MEMORY_SIZE`` is a 413
``RequestEntityTooLargeException``, never a ServiceFault, which botocore would resend twice), the signature,
the JSON, the operation's pre-checks (``dispatch.PRECHECKS``: refusals MTurk worded itself), the service
model's constraints, then the handler. Anything unexpected is a logged 500 ServiceFault.
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from kempelen.accounts.queries import ActiveCredential, active_credential
from kempelen.core import clock
from kempelen.core.errors import KempelenError, ServiceFault
from kempelen.observability.context import current_request_id

from . import sigv4, validation, wire
from .context import Call
from .dispatch import handler_for, precheck_for

log = logging.getLogger("kempelen.api")
CONTENT_TYPE = "application/x-amz-json-1.1"


class _Credentials:
    """Looks up an access key once per call and remembers it for the handler."""

    def __init__(self) -> None:
        self.credential: ActiveCredential | None = None

    def secret_for(self, access_key_id: str) -> str | None:
        self.credential = active_credential(access_key_id)
        return self.credential.secret if self.credential else None


class RequestTooLarge(KempelenError):
    """A body over Django's DATA_UPLOAD_MAX_MEMORY_SIZE: refused before it is read, and not worth a retry."""

    code = wire_type = "RequestEntityTooLargeException"
    http_status = 413


def _body(request: HttpRequest) -> bytes:
    try:
        return request.body
    except RequestDataTooBig:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raise RequestTooLarge(
            f"The request body is larger than the {limit:,} bytes Kempelen accepts in one API call "
            "(a Question may be at most 65,535 bytes)."
        ) from None


@csrf_exempt
def endpoint(request: HttpRequest) -> HttpResponse:
    request_id = current_request_id()  # also the response's X-Request-Id
    started_ms = int(time.time() * 1000)
    operation = "-"
    try:
        if request.method != "POST":
            return HttpResponse(
                "Kempelen speaks MTurk's Requester API here: POST with X-Amz-Target.\n",
                content_type="text/plain", status=405 if request.method not in ("GET", "HEAD") else 200,
                headers={"x-amzn-RequestId": request_id},
            )
        operation = wire.parse_target(request.headers.get("X-Amz-Target"))
        body = _body(request)
        credentials = _Credentials()
        verified = sigv4.verify(
            method=request.method,
            path=request.path,
            query_string=request.META.get("QUERY_STRING", ""),
            headers=request.headers,
            body=body,
            secret_for=credentials.secret_for,
            now=clock.system_now(),
            max_skew_seconds=int(str(settings.KEMPELEN["SIGV4_MAX_SKEW_SECONDS"])),
        )
        assert credentials.credential is not None
        params = wire.parse_body(body)
        precheck = precheck_for(operation)
        if precheck is not None:
            precheck(params)
        validation.validate_input(operation, params)
        call = Call(
            requester=credentials.credential.requester,
            environment="sandbox" if verified.region == "sandbox" else "live",
            access_key_id=verified.access_key_id,
            request_id=request_id,
            base_url=request.build_absolute_uri("/").rstrip("/"),
        )
        result = handler_for(operation)(call, params)
        status, body = 200, wire.encode(wire.to_wire(result))
    except KempelenError as error:
        status, body = wire.error_body(error, started_ms)
    except Exception:
        log.exception("ServiceFault in %s (request %s)", operation, request_id)
        status, body = wire.error_body(
            ServiceFault("Kempelen could not process your request because of a server error. Try again."),
            started_ms,
        )
    response = HttpResponse(body, content_type=CONTENT_TYPE, status=status)
    response["x-amzn-RequestId"] = request_id
    return response
