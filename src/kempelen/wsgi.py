"""WSGI entry point for the HTTP server.

Requester API calls (``POST /`` with ``X-Amz-Target``) skip the page middleware: they authenticate with SigV4,
carry no session and set no cookies, so sessions, CSRF, auth and messages have nothing to do for them, and
skipping them saves a noticeable share of a GetHIT's CPU. Request-start and request-finish signals (which
manage database connections) still fire as for every request.
"""

import os

import django
from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpRequest, HttpResponseBase
from django.urls import set_urlconf

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kempelen.settings")


class KempelenWSGIHandler(WSGIHandler):
    def get_response(self, request: HttpRequest) -> HttpResponseBase:
        if request.method == "POST" and request.path_info == "/" and "HTTP_X_AMZ_TARGET" in request.META:
            from django.conf import settings

            from kempelen.mturk_api.views import endpoint

            set_urlconf(settings.ROOT_URLCONF)
            response = endpoint(request)
            response._resource_closers.append(request.close)  # type: ignore[attr-defined]
            return response
        return super().get_response(request)


django.setup(set_prefix=False)
application = KempelenWSGIHandler()
