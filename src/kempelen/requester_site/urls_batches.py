"""Requester-site routes: batches (included by ``requester_site.urls`` under ``/requester/``)."""

from django.urls import path

from . import views_placeholder

urlpatterns: list = [
    path("batches", views_placeholder.page, name="batches"),
]
