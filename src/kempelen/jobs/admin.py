"""The runner's jobs for operators: claims in hand, retries waiting, dead items with their errors (read only;
"Retry" goes through the audited action, as `kempelen jobs retry` does)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from kempelen.core.actors import Actor
from kempelen.core.admin_base import ReadOnlyAdmin
from kempelen.core.errors import KempelenError

from . import actions
from .models import Job


@admin.action(description="Retry now (on the runner's next pass)")
def retry_now(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Job]) -> None:  # type: ignore[type-arg]
    actor = Actor.operator(request.user.get_username())
    retried, refused = 0, []
    for job_id in queryset.values_list("pk", flat=True):
        try:
            actions.retry_job(actor=actor, job_id=job_id)
        except KempelenError as error:
            refused.append(error.message)
        else:
            retried += 1
    if retried:
        messages.success(request, f"{retried} job(s) will be tried again on the runner's next pass.")
    for message in refused:
        messages.warning(request, message)


@admin.register(Job)
class JobAdmin(ReadOnlyAdmin):
    list_display = ("id", "kind", "key", "status", "attempts", "run_at", "locked_until", "locked_by", "error")
    list_filter = ("status", "kind")
    search_fields = ("key", "last_error")
    ordering = ("-id",)
    actions = [retry_now]

    @admin.display(description="last error")
    def error(self, job: Job) -> str:
        first = job.last_error.strip().splitlines()[0] if job.last_error.strip() else ""
        return first[:200]
