"""Requester-site routes: projects (included by ``requester_site.urls`` under ``/requester/``)."""

from django.urls import path

from . import views_placeholder

urlpatterns: list = [
    path("projects", views_placeholder.page, name="projects"),
]
