from django.contrib import admin

from kempelen.core.admin_base import ReadOnlyAdmin

from .models import Qualification, QualificationRequest, QualificationType


@admin.register(QualificationType)
class QualificationTypeAdmin(ReadOnlyAdmin):
    list_display = ("id", "name", "requester", "environment", "status", "auto_granted", "created_at", "deleted_at")
    list_filter = ("environment", "status")
    search_fields = ("id", "name")


admin.site.register(Qualification, ReadOnlyAdmin)
admin.site.register(QualificationRequest, ReadOnlyAdmin)
