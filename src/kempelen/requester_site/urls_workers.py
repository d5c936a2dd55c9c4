"""Requester-site routes: workers (included by ``requester_site.urls`` under ``/requester/``)."""

from django.urls import path

from . import views_placeholder

urlpatterns: list = [
    path("workers", views_placeholder.page, name="workers"),
    path("qualifications", views_placeholder.page, name="qualifications"),
]
