"""Placeholder until this area's pages land (being written now)."""

from django.http import HttpResponse


def requestable(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    return HttpResponse('not yet', status=501)

def mine(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    return HttpResponse('not yet', status=501)

def request_qualification(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    return HttpResponse('not yet', status=501)

def take_test(request, *args, **kwargs):  # type: ignore[no-untyped-def]
    return HttpResponse('not yet', status=501)
