from django.contrib import admin

from kempelen.core.admin_base import ReadOnlyAdmin

from .models import OutboxEmail, OutboxEvent


@admin.register(OutboxEvent)
class OutboxEventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "event_type", "environment", "hit_id", "assignment_id", "transport", "delivered_at",
                    "attempts", "dead_at")
    list_filter = ("event_type", "transport", "environment", ("dead_at", admin.EmptyFieldListFilter))


@admin.register(OutboxEmail)
class OutboxEmailAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "kind", "worker", "subject", "delivered_at")
    list_filter = ("kind",)
