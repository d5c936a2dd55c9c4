"""Requester-site routes: results (included by ``requester_site.urls`` under ``/requester/``)."""

from django.urls import path

from . import views_results

urlpatterns: list = [
    path("batches/<str:batch_id>/results", views_results.results, name="results"),
    path("batches/<str:batch_id>/results/review", views_results.review, name="results_review"),
    path("batches/<str:batch_id>/results/download", views_results.download, name="results_download"),
    path("batches/<str:batch_id>/results/upload", views_results.upload, name="results_upload"),
    path("batches/<str:batch_id>/results/upload/<str:upload_id>", views_results.upload_plan,
         name="results_upload_plan"),
    path("batches/<str:batch_id>/results/upload/<str:upload_id>/discard", views_results.upload_discard,
         name="results_upload_discard"),
    path("batches/<str:batch_id>/results/<str:assignment_id>", views_results.assignment, name="results_assignment"),
    path("batches/<str:batch_id>/results/<str:assignment_id>/bonus", views_results.bonus, name="results_bonus"),
]
