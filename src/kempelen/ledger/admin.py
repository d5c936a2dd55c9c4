from django.contrib import admin

from kempelen.core.admin_base import ReadOnlyAdmin

from .models import LedgerAccount, LedgerEntry, LedgerTransaction


@admin.register(LedgerAccount)
class LedgerAccountAdmin(ReadOnlyAdmin):
    list_display = ("key", "kind", "environment", "balance_cents")
    list_filter = ("kind", "environment")
    search_fields = ("key",)


class EntryInline(admin.TabularInline):  # type: ignore[type-arg]
    model = LedgerEntry
    extra = 0
    can_delete = False
    readonly_fields = ("account", "amount_cents")


@admin.register(LedgerTransaction)
class LedgerTransactionAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "kind", "environment", "requester", "worker", "hit_id", "assignment_id", "memo")
    list_filter = ("kind", "environment")
    search_fields = ("idempotency_key", "hit_id", "assignment_id")
    inlines = [EntryInline]
