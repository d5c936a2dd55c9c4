"""URL routes: the API at ``/``, externalSubmit, the worker and requester sites, the admin."""

from django.contrib import admin
from django.urls import include, path

from kempelen.mturk_api.views import endpoint

urlpatterns = [
    path("", endpoint, name="mturk-api"),
    path("admin/", admin.site.urls),
    path("", include("kempelen.worker_site.urls")),
    path("", include("kempelen.requester_site.urls")),
    path("", include("kempelen.marketplace.urls")),
]
