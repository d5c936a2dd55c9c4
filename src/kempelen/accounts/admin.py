"""The operator's admin pages for accounts. Pages show state; changes go through actions: awarding Masters to
workers, and adding funds to a requester's balance (``RequesterAdmin.add_funds_view``)."""

import uuid
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from kempelen.core.actors import Actor
from kempelen.core.admin_base import ReadOnlyAdmin
from kempelen.core.errors import KempelenError
from kempelen.core.models import Environment
from kempelen.core.money import format_cents, parse_amount
from kempelen.ledger.queries import requester_balances

from . import actions, actions_requester
from .models import ApiCredential, Requester, Worker


class AddFundsForm(forms.Form):
    amount = forms.CharField(
        label="Amount (US dollars)", max_length=20,
        help_text="Such as 100 or 25.50: dollars, with at most two decimals.",
    )
    environment = forms.ChoiceField(
        label="Environment", choices=Environment.choices, initial=Environment.LIVE,
        help_text="Live and sandbox keep separate balances. Sandbox money is fake and tops itself up.",
    )
    memo = forms.CharField(
        label="Memo", max_length=1024, required=False,
        help_text="Shown to the requester on their statement, such as the invoice or payment it comes from.",
    )
    # The form's own id: the deposit's ledger key, so that submitting one form twice deposits once.
    request_id = forms.CharField(widget=forms.HiddenInput, max_length=32)

    def clean_amount(self) -> int:
        text = str(self.cleaned_data["amount"]).strip().lstrip("$")
        try:
            cents = parse_amount(text, field="The amount")
        except KempelenError as error:
            raise forms.ValidationError(error.message) from None
        if cents <= 0:
            raise forms.ValidationError("The amount must be more than $0.00.")
        if cents > actions_requester.MAX_DEPOSIT_CENTS:
            raise forms.ValidationError(
                f"One deposit can be at most ${actions_requester.MAX_DEPOSIT_CENTS // 100:,}."
            )
        return cents


@admin.register(Requester)
class RequesterAdmin(ReadOnlyAdmin):
    list_display = ("display_name", "customer_id", "user", "created_at", "add_funds_link")
    search_fields = ("display_name", "customer_id", "user__username", "user__email")
    readonly_fields = ("balances",)

    @admin.display(description="Balances")
    def balances(self, requester: Requester) -> str:
        parts = []
        for environment in (Environment.LIVE, Environment.SANDBOX):
            available, escrow = requester_balances(requester, environment)
            parts.append(f"{environment}: available ${format_cents(available)}, in escrow ${format_cents(escrow)}")
        return "; ".join(parts)

    @admin.display(description="Funds")
    def add_funds_link(self, requester: Requester) -> str:
        return format_html('<a href="{}">Add funds</a>',
                           reverse("admin:accounts_requester_add_funds", args=[requester.pk]))

    def get_urls(self) -> list[URLPattern]:
        own = [path("<int:requester_id>/add-funds/", self.admin_site.admin_view(self.add_funds_view),
                    name="accounts_requester_add_funds")]
        return own + super().get_urls()  # type: ignore[return-value]

    def add_funds_view(self, request: HttpRequest, requester_id: int) -> HttpResponse:
        """Deposit money into a requester's balance (operators only), once per submitted form."""
        if not request.user.is_superuser:
            raise PermissionDenied
        requester = get_object_or_404(Requester, pk=requester_id)
        back = reverse("admin:accounts_requester_change", args=[requester.pk])
        if request.method == "POST":
            form = AddFundsForm(request.POST)
            if form.is_valid():
                data = form.cleaned_data
                try:
                    booked = actions_requester.add_funds(
                        actor=Actor.operator(request.user.get_username()), requester=requester,
                        environment=data["environment"], cents=data["amount"], request_id=data["request_id"],
                        memo=data["memo"],
                    )
                except KempelenError as error:
                    form.add_error(None, error.message)
                else:
                    where = "live" if data["environment"] == Environment.LIVE else "sandbox"
                    if booked:
                        messages.success(request, f"Deposited ${format_cents(data['amount'])} into the {where} "
                                                  f"balance of {requester}.")
                    else:
                        messages.warning(request, "This form had been submitted already: the deposit was made "
                                                  "once and not repeated.")
                    return redirect(back)
        else:
            form = AddFundsForm(initial={"request_id": uuid.uuid4().hex})
        context: dict[str, Any] = {
            **self.admin_site.each_context(request), "title": f"Add funds to {requester}", "form": form,
            "requester": requester, "balances": self.balances(requester), "opts": self.model._meta,
            "back": back,
        }
        return TemplateResponse(request, "admin/accounts/requester/add_funds.html", context)


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
