"""The MTurk Requester API endpoint: ``POST /`` with ``X-Amz-Target``, AWS JSON 1.1, SigV4."""

from __future__ import annotations

import logging
import time
import uuid

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from kempelen.accounts.models import ApiCredential
from kempelen.accounts.secrets import decrypt
from kempelen.core import clock
from kempelen.core.errors import KempelenError, ServiceFault

from . import sigv4, validation, wire
from .context import Call
from .dispatch import handler_for, precheck_for

log = logging.getLogger("kempelen.api")
CONTENT_TYPE = "application/x-amz-json-1.1"


class _Credentials:
    """Looks up an access key once per call and remembers it for the handler."""

    def __init__(self) -> None:
        self.credential: ApiCredential | None = None

    def secret_for(self, access_key_id: str) -> str | None:
        credential = (
            ApiCredential.objects.select_related("requester")
            .filter(access_key_id=access_key_id, revoked_at__isnull=True)
            .first()
        )
        if credential is None:
            return None
        self.credential = credential
        return decrypt(credential.secret_encrypted)


@csrf_exempt
def endpoint(request: HttpRequest) -> HttpResponse:
    request_id = str(uuid.uuid4())
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
        credentials = _Credentials()
        verified = sigv4.verify(
            method=request.method,
            path=request.path,
            query_string=request.META.get("QUERY_STRING", ""),
            headers=request.headers,
            body=request.body,
            secret_for=credentials.secret_for,
            now=clock.system_now(),
            max_skew_seconds=int(settings.KEMPELEN["SIGV4_MAX_SKEW_SECONDS"]),
        )
        assert credentials.credential is not None
        params = wire.parse_body(request.body)
        precheck = precheck_for(operation)
        if precheck is not None:
            precheck(params)
        validation.validate_input(operation, params)
        call = Call(
            requester=credentials.credential.requester,
            environment="sandbox" if verified.region == "sandbox" else "live",
            access_key_id=verified.access_key_id,
            request_id=request_id,
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
