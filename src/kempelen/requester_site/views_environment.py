"""Switching between the live marketplace and the sandbox (remembered in the session)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from kempelen.core.models import Environment

from .decorators import ENVIRONMENT_KEY, RequesterContext, requester_required


@require_POST
@requester_required
def switch_environment(request: HttpRequest, ctx: RequesterContext) -> HttpResponseBase:
    chosen = request.POST.get("environment", "")
    if chosen in Environment.values and chosen != ctx.environment:
        request.session[ENVIRONMENT_KEY] = chosen
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return redirect("requester:home")
    return redirect(target)
