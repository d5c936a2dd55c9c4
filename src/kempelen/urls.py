"""URL routes: the API at ``/``, externalSubmit, the worker and requester sites, the admin, health and metrics."""

from django.contrib import admin
from django.urls import include, path

from kempelen.mturk_api.views import endpoint
from kempelen.observability import views as observability

urlpatterns = [
    path("", endpoint, name="mturk-api"),
    path("healthz", observability.healthz, name="healthz"),
    path("readyz", observability.readyz, name="readyz"),
    path("metrics", observability.metrics, name="metrics"),
    path("admin/", admin.site.urls),
    path("", include("kempelen.worker_site.urls")),
    path("", include("kempelen.requester_site.urls")),
    path("", include("kempelen.marketplace.urls")),
]
