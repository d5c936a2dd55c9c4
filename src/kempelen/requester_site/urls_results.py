"""Requester-site routes: results (included by ``requester_site.urls`` under ``/requester/``)."""

from django.urls import path

from . import views_placeholder

urlpatterns: list = [
    path("batches/<str:batch_id>/results", views_placeholder.page, name="results"),
]
