from django.contrib import admin

from kempelen.core.admin_base import ReadOnlyAdmin

from .models import Job


@admin.register(Job)
class JobAdmin(ReadOnlyAdmin):
    list_display = ("kind", "status", "run_at", "attempts", "last_error")
    list_filter = ("status", "kind")
