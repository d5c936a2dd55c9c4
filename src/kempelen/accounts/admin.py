from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from kempelen.core.actors import Actor
from kempelen.core.admin_base import ReadOnlyAdmin

from . import actions
from .models import ApiCredential, Requester, Worker


@admin.register(Requester)
class RequesterAdmin(ReadOnlyAdmin):
    list_display = ("display_name", "customer_id", "user", "created_at")
    search_fields = ("display_name", "customer_id", "user__username", "user__email")


def _masters(value: bool, environment: str):  # type: ignore[no-untyped-def]
    def act(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> None:  # type: ignore[type-arg]
        for worker in queryset:
            actions.set_masters(actor=Actor.operator(request.user.get_username()), worker=worker,
                                environment=environment, value=value)
        messages.success(request, f"Updated {queryset.count()} worker(s).")

    verb = "Award" if value else "Withdraw"
    act.short_description = f"{verb} Masters ({environment})"  # type: ignore[attr-defined]
    act.__name__ = f"{verb.lower()}_masters_{environment}"
    return act


@admin.register(Worker)
class WorkerAdmin(ReadOnlyAdmin):
    list_display = ("worker_id", "display_name", "country", "is_master_live", "is_master_sandbox", "synthetic")
    list_filter = ("country", "is_master_live", "is_master_sandbox", "synthetic")
    search_fields = ("worker_id", "display_name", "user__username", "user__email")
    actions = [_masters(True, "live"), _masters(False, "live"), _masters(True, "sandbox"), _masters(False, "sandbox")]


@admin.register(ApiCredential)
class ApiCredentialAdmin(ReadOnlyAdmin):
    list_display = ("access_key_id", "requester", "label", "created_at", "revoked_at")
    exclude = ("secret_encrypted",)
