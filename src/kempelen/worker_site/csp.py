"""A restrictive Content-Security-Policy on Kempelen's own pages.

Kempelen's pages load scripts and styles only from Kempelen itself (no inline script), may frame task pages
(Kempelen's sandboxed task content and requesters' https pages), and cannot be framed by anyone else. Task
content — requesters' HTML — gets its own policy (``views_task.py``): a CSP ``sandbox`` without
``allow-same-origin``, so it never runs in Kempelen's origin even when opened directly.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; media-src 'self' https:; "
    "frame-src 'self' https: http://127.0.0.1:* http://localhost:*; form-action 'self'; base-uri 'none'; "
    "object-src 'none'; frame-ancestors 'none'"
)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "Content-Security-Policy" not in response and response.get("Content-Type", "").startswith("text/html"):
            response["Content-Security-Policy"] = PAGE_POLICY
        response.setdefault("Referrer-Policy", "same-origin")
        response.setdefault("X-Content-Type-Options", "nosniff")
        return response
