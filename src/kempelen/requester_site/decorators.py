"""Access to the requester site's pages, and which environment (live or sandbox) a page works in."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import render

from kempelen.accounts.models import Requester
from kempelen.core.models import Environment

#: The session key holding the environment the requester is working in.
ENVIRONMENT_KEY = "requester_environment"
#: New sessions start in the sandbox: fake money, so a first batch costs nothing real.
DEFAULT_ENVIRONMENT = Environment.SANDBOX


@dataclass(frozen=True)
class RequesterContext:
    """Who is asking and in which environment; every requester view receives one."""

    requester: Requester
    environment: str

    @property
    def sandbox(self) -> bool:
        return self.environment == Environment.SANDBOX


def current_environment(request: HttpRequest) -> str:
    value = request.session.get(ENVIRONMENT_KEY, DEFAULT_ENVIRONMENT)
    return value if value in Environment.values else DEFAULT_ENVIRONMENT


def requester_required(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Signed-in requesters only; the view receives a ``RequesterContext`` after the request. Anonymous
    visitors go to the requester sign-in page; a signed-in user who is not a requester gets a clear 403."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), "requester:login")
        requester = getattr(request.user, "requester", None)
        if not isinstance(requester, Requester):
            return render(request, "requester_site/not_a_requester.html", status=403)
        context = RequesterContext(requester, current_environment(request))
        request.requester_context = context  # type: ignore[attr-defined]  # for the base template
        return view(request, context, *args, **kwargs)

    return wrapper
