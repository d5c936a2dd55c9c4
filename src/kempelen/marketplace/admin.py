from django.contrib import admin

from kempelen.core.admin_base import ReadOnlyAdmin

from .models import HIT, Assignment, BonusPayment, HITLayout, HITType, WorkerBlock


@admin.register(HITType)
class HITTypeAdmin(ReadOnlyAdmin):
    list_display = ("id", "title", "requester", "environment", "reward_cents", "created_at")
    list_filter = ("environment",)
    search_fields = ("id", "group_id", "title")


@admin.register(HIT)
class HITAdmin(ReadOnlyAdmin):
    list_display = ("id", "hit_type", "environment", "max_assignments", "available", "pending", "submitted",
                    "completed", "expiration", "disposed_at")
    list_filter = ("environment",)
    search_fields = ("id", "hit_type__title")


@admin.register(Assignment)
class AssignmentAdmin(ReadOnlyAdmin):
    list_display = ("id", "hit", "worker", "environment", "status", "accept_time", "submit_time")
    list_filter = ("status", "environment")
    search_fields = ("id", "hit__id", "worker__worker_id")


admin.site.register(HITLayout, ReadOnlyAdmin)
admin.site.register(BonusPayment, ReadOnlyAdmin)
admin.site.register(WorkerBlock, ReadOnlyAdmin)
