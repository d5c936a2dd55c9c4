"""A page not built yet (replaced area by area)."""

from django.http import HttpRequest, HttpResponse


def page(request: HttpRequest, **kwargs: object) -> HttpResponse:
    return HttpResponse("Not built yet.", status=501)
