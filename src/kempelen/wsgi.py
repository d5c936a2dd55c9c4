"""WSGI entry point for the HTTP server.

Requester API calls (``POST /`` with ``X-Amz-Target``) skip the page middleware: they authenticate with SigV4,
carry no session and set no cookies, so sessions, CSRF, auth and messages have nothing to do for them, and
skipping them saves a noticeable share of a GetHIT's CPU. Request-start and request-finish signals (which
manage database connections) still fire as for every request. Health probes and metrics scrapes
(``GET /healthz``, ``/readyz``, ``/metrics``) skip it too, so that no host check, redirect or session stands
between a load balancer and its answer. Requests served directly still get a request id, a log line and their
counts in the metrics (``kempelen.observability.middleware.observe``), as the page middleware's first entry
gives every other request.
"""

import os
from collections.abc import Callable

import django
from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpRequest, HttpResponseBase
from django.urls import set_urlconf

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kempelen.settings")


def _direct_route(request: HttpRequest) -> tuple[str, Callable[[HttpRequest], HttpResponseBase]] | None:
    if request.method == "POST" and request.path_info == "/" and "HTTP_X_AMZ_TARGET" in request.META:
        from kempelen.mturk_api.views import endpoint

        return "mturk-api", endpoint
    from kempelen.observability.views import direct_route

    return direct_route(request)


class KempelenWSGIHandler(WSGIHandler):
    def get_response(self, request: HttpRequest) -> HttpResponseBase:
        direct = _direct_route(request)
        if direct is not None:
            from django.conf import settings

            from kempelen.observability.middleware import observe

            set_urlconf(settings.ROOT_URLCONF)
            route, view = direct
            response = observe(request, view, route=route)
            response._resource_closers.append(request.close)  # type: ignore[attr-defined]
            return response
        return super().get_response(request)


django.setup(set_prefix=False)
application = KempelenWSGIHandler()
