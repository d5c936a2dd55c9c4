from django.contrib import admin

from .admin_base import ReadOnlyAdmin
from .models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("at", "actor", "action", "environment", "target_type", "target_id")
    list_filter = ("action", "environment", "target_type")
    search_fields = ("target_id", "actor")
    date_hierarchy = "at"
