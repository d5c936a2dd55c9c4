"""Requester-site routes. The site lives under ``/requester/`` (namespace ``requester``); each area has its own
route module."""

from django.urls import include, path

from . import urls_accounts, urls_batches, urls_projects, urls_results, urls_workers
from .views_environment import switch_environment

requester_patterns = [
    path("environment", switch_environment, name="switch_environment"),
    *urls_accounts.urlpatterns,
    *urls_projects.urlpatterns,
    *urls_batches.urlpatterns,
    *urls_results.urlpatterns,
    *urls_workers.urlpatterns,
]

urlpatterns = [
    path("requester/", include((requester_patterns, "requester"))),
]
