"""Worker-site routes. The site lives under ``/worker/``; externalSubmit and task content at the top level
(``/mturk/externalSubmit`` and ``//mturk/externalSubmit``, as MTurk's templates post there)."""

from django.urls import include, path, re_path

from . import views_accounts, views_dashboard, views_quals, views_task, views_work
from .views_submit import external_submit

worker_patterns = [
    # Finding and doing work
    path("", views_work.group_list, name="groups"),
    path("projects/<str:group_id>/tasks", views_work.group_detail, name="group"),
    path("projects/<str:group_id>/tasks/accept", views_work.accept, name="accept"),
    path("tasks/<str:assignment_id>", views_work.task, name="task"),
    path("tasks/<str:assignment_id>/return", views_work.return_task, name="return"),
    path("tasks/<str:assignment_id>/submit", views_work.submit_question_form, name="submit_form"),
    path("tasks/<str:assignment_id>/submitted", views_work.submitted, name="submitted"),
    # Accounts
    path("signup", views_accounts.signup, name="signup"),
    path("login", views_accounts.login, name="login"),
    path("logout", views_accounts.logout, name="logout"),
    path("profile", views_accounts.profile, name="profile"),
    path("password", views_accounts.password_change, name="password_change"),
    path("password/reset", views_accounts.password_reset, name="password_reset"),
    path("password/reset/sent", views_accounts.password_reset_done, name="password_reset_done"),
    path("password/reset/<uidb64>/<token>", views_accounts.password_reset_confirm, name="password_reset_confirm"),
    path("password/reset/complete", views_accounts.password_reset_complete, name="password_reset_complete"),
    # Qualifications
    path("qualifications", views_quals.requestable, name="qualifications"),
    path("qualifications/mine", views_quals.mine, name="my_qualifications"),
    path("qualifications/<str:type_id>/request", views_quals.request_qualification, name="request_qualification"),
    path("qualifications/tests/<str:request_id>", views_quals.take_test, name="qualification_test"),
    # Dashboard
    path("dashboard", views_dashboard.dashboard, name="dashboard"),
    path("dashboard/assignments", views_dashboard.assignments, name="assignments"),
    path("dashboard/earnings", views_dashboard.earnings, name="earnings"),
    path("dashboard/messages", views_dashboard.messages, name="messages"),
]

urlpatterns = [
    path("worker/", include((worker_patterns, "worker"))),
    path("task-content/<str:token>", views_task.content, name="task-content"),
    path("mturk/preview", views_work.legacy_preview, name="legacy-preview"),
    re_path(r"^/?mturk/externalSubmit/?$", external_submit, name="external-submit"),
    re_path(r"^submit/(?P<token>[^/]+)/+mturk/externalSubmit/?$", external_submit, name="external-submit-token"),
]
