"""Requester-site routes: batches (included by ``requester_site.urls`` under ``/requester/``)."""

from django.urls import path

from . import views_batches

urlpatterns: list = [
    path("batches", views_batches.batch_list, name="batches"),
    path("batches/<str:batch_id>", views_batches.batch_detail, name="batch"),
    path("batches/<str:batch_id>/progress", views_batches.batch_progress, name="batch_progress"),
    path("batches/<str:batch_id>/cancel", views_batches.batch_cancel, name="batch_cancel"),
    path("batches/<str:batch_id>/assignments", views_batches.batch_add_assignments, name="batch_add_assignments"),
    path("batches/<str:batch_id>/extend", views_batches.batch_extend, name="batch_extend"),
    path("projects/<str:project_id>/batches/new", views_batches.batch_new, name="batch_new"),
    path("projects/<str:project_id>/batches/new/<str:upload_id>", views_batches.batch_preview, name="batch_preview"),
    path("projects/<str:project_id>/batches/new/<str:upload_id>/rows/<int:row>", views_batches.batch_preview_frame,
         name="batch_preview_frame"),
    path("projects/<str:project_id>/batches/new/<str:upload_id>/confirm", views_batches.batch_confirm,
         name="batch_confirm"),
]
