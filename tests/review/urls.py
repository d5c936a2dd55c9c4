"""The instance's routes plus the file-download route (until ``kempelen.urls`` includes it)."""

from django.urls import include, path

urlpatterns = [
    path("", include("kempelen.marketplace.urls")),
    path("", include("kempelen.urls")),
]
