"""Requester-site routes: projects (included by ``requester_site.urls`` under ``/requester/``)."""

from django.urls import path

from . import views_project_layout, views_projects

urlpatterns: list = [
    path("projects", views_projects.project_list, name="projects"),
    path("projects/new", views_projects.project_new, name="project_new"),
    path("projects/gallery/<slug:slug>/preview", views_project_layout.gallery_preview, name="gallery_preview"),
    path("projects/<str:project_id>", views_projects.project_detail, name="project"),
    path("projects/<str:project_id>/edit", views_projects.project_edit, name="project_edit"),
    path("projects/<str:project_id>/layout", views_project_layout.project_layout, name="project_layout"),
    path("projects/<str:project_id>/preview", views_project_layout.project_preview, name="project_preview"),
    path("projects/<str:project_id>/copy", views_projects.project_copy, name="project_copy"),
    path("projects/<str:project_id>/archive", views_projects.project_archive, name="project_archive"),
    path("projects/<str:project_id>/unarchive", views_projects.project_unarchive, name="project_unarchive"),
]
