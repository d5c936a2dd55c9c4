"""``/healthz`` (the process answers), ``/readyz`` (it can serve: database and migrations) and ``/metrics``.

They are served without the page middleware (see ``kempelen/wsgi.py``): no session, cookie, CSRF or host
redirect stands between a load balancer's probe and its answer. ``/healthz`` never touches the database.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe
from prometheus_client import CONTENT_TYPE_LATEST

from .access import may_read_metrics
from .health import readiness_problems
from .metrics import exposition


def _json(status: int, payload: dict[str, object]) -> HttpResponse:
    return HttpResponse(json.dumps(payload), content_type="application/json", status=status,
                        headers={"Cache-Control": "no-store"})


@require_safe
def healthz(request: HttpRequest) -> HttpResponse:
    return _json(200, {"status": "ok"})


@require_safe
def readyz(request: HttpRequest) -> HttpResponse:
    problems = readiness_problems()
    if problems:
        return _json(503, {"status": "not ready", "problems": problems})
    return _json(200, {"status": "ready"})


@require_safe
def metrics(request: HttpRequest) -> HttpResponse:
    if not may_read_metrics(request):
        return HttpResponse("Metrics are not available to this client.\n", content_type="text/plain", status=403,
                            headers={"Cache-Control": "no-store"})
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})


View = Callable[[HttpRequest], HttpResponse]
#: Path → (route name, view); the same names as in ``kempelen/urls.py``.
ROUTES: dict[str, tuple[str, View]] = {
    "/healthz": ("healthz", healthz),
    "/readyz": ("readyz", readyz),
    "/metrics": ("metrics", metrics),
}


def direct_route(request: HttpRequest) -> tuple[str, View] | None:
    """The route and view of a probe or scrape that the WSGI handler serves without the page middleware."""
    if request.method in ("GET", "HEAD"):
        return ROUTES.get(request.path_info)
    return None
