"""Placeholder until this area's pages land (being written now)."""

from django.http import HttpResponse


def signup(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    return HttpResponse('not yet', status=501)

def login(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    return HttpResponse('not yet', status=501)

def logout(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    return HttpResponse('not yet', status=501)

def profile(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    return HttpResponse('not yet', status=501)

def password_change(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    return HttpResponse('not yet', status=501)

def password_reset(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    return HttpResponse('not yet', status=501)

def password_reset_done(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    return HttpResponse('not yet', status=501)

def password_reset_confirm(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    return HttpResponse('not yet', status=501)

def password_reset_complete(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    return HttpResponse('not yet', status=501)
