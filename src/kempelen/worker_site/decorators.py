"""Access to the worker site's pages."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import render

from kempelen.accounts.models import Worker


def worker_required(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Signed-in workers only; the view receives the ``Worker`` after the request. Anonymous visitors go to
    sign in; a signed-in user who is not a worker (a requester, an operator) gets a clear 403 page."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        worker = getattr(request.user, "worker", None)
        if not isinstance(worker, Worker):
            return render(request, "worker_site/not_a_worker.html", status=403)
        return view(request, worker, *args, **kwargs)

    return wrapper
