"""Requester-site routes: workers and qualifications (included by ``requester_site.urls`` under ``/requester/``)."""

from django.urls import path

from . import views_qualifications, views_worker_csv, views_workers

urlpatterns: list = [
    # Workers (the file's routes come before ``workers/<worker_id>``)
    path("workers", views_workers.worker_list, name="workers"),
    path("workers/download", views_worker_csv.download, name="workers_download"),
    path("workers/upload", views_worker_csv.upload, name="workers_upload"),
    path("workers/upload/<str:upload_id>", views_worker_csv.upload_plan, name="workers_upload_plan"),
    path("workers/upload/<str:upload_id>/apply", views_worker_csv.upload_apply, name="workers_upload_apply"),
    path("workers/upload/<str:upload_id>/discard", views_worker_csv.upload_discard, name="workers_upload_discard"),
    path("workers/<str:worker_id>", views_workers.worker_detail, name="worker"),
    path("workers/<str:worker_id>/block", views_workers.block, name="worker_block"),
    path("workers/<str:worker_id>/unblock", views_workers.unblock, name="worker_unblock"),
    path("workers/<str:worker_id>/message", views_workers.message, name="worker_message"),
    path("workers/<str:worker_id>/bonus", views_workers.bonus, name="worker_bonus"),
    path("workers/<str:worker_id>/qualifications", views_workers.qualification, name="worker_qualification"),
    # Qualification types
    path("qualifications", views_qualifications.type_list, name="qualifications"),
    path("qualifications/new", views_qualifications.type_create, name="qualification_create"),
    path("qualifications/<str:type_id>", views_qualifications.type_detail, name="qualification"),
    path("qualifications/<str:type_id>/edit", views_qualifications.type_edit, name="qualification_edit"),
    path("qualifications/<str:type_id>/grant", views_qualifications.grant, name="qualification_grant"),
    path("qualifications/<str:type_id>/revoke", views_qualifications.revoke, name="qualification_revoke"),
    path("qualifications/<str:type_id>/requests", views_qualifications.request_queue,
         name="qualification_requests"),
    path("qualifications/<str:type_id>/requests/<str:request_id>", views_qualifications.decide_request,
         name="qualification_request"),
]
