"""Worker-site routes (externalSubmit is reachable as ``/mturk/externalSubmit`` and ``//mturk/externalSubmit``)."""

from django.urls import re_path

from .views_submit import external_submit

urlpatterns = [
    re_path(r"^/?mturk/externalSubmit/?$", external_submit, name="external-submit"),
    re_path(r"^submit/(?P<token>[^/]+)/+mturk/externalSubmit/?$", external_submit, name="external-submit-token"),
]
