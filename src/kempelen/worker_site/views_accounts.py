"""Workers' accounts: sign up, sign in and out, the profile, changing and resetting the password.

Sign-in, sign-out and the password pages are the shared account pages (``kempelen.accounts.site_views``) set up for
workers; sign-up is shared too, with the worker's profile fields. State changes go through
``kempelen.accounts.actions_profile``. Sign-up is open or invite-only (``settings.KEMPELEN["WORKER_SIGNUP"]``, see
``kempelen.accounts.invitations``).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from kempelen.accounts import actions_profile, countries, invitations, site_views
from kempelen.accounts.models import Worker
from kempelen.core.actors import Actor
from kempelen.core.errors import KempelenError

from . import forms_accounts as forms
from .decorators import worker_required

_T = "worker_site/accounts/"
_SIGNUP_ACTOR = Actor.system("worker-signup")

SITE = site_views.AccountSite(
    namespace="worker", profile="worker", templates=_T, base_template="worker_site/base.html",
    home="worker:groups", not_a_member_template=_T + "not_a_worker.html", profile_required=worker_required,
    nav="profile", after_password_change="worker:profile",
    password_changed="Your password is changed. Other devices signed in as you are signed out.",
)


class _WorkerSignup(site_views.Signup):
    form_class = forms.SignupForm
    success_url = "worker:profile"

    def initial(self, request: HttpRequest) -> dict[str, Any] | None:
        return {"invitation": request.GET.get("invitation", "")} if invitations.invite_only() else None

    def context(self) -> dict[str, Any]:
        return {"invite_only": invitations.invite_only()}

    def create(self, data: dict[str, Any]) -> Worker:
        return actions_profile.sign_up_worker(
            actor=_SIGNUP_ACTOR, username=data["username"], email=data["email"], password=data["password1"],
            display_name=data["display_name"], country=data["country"], subdivision=data["subdivision"],
            is_adult=data["is_adult"], invitation_code=data.get("invitation", ""),
        )

    def welcome(self, profile: Worker) -> str:
        return (f"Welcome to Kempelen! Your Worker ID is {profile.worker_id}. "
                "Requesters see this ID, never your name or email address.")


(signup, login, logout, password_change, password_reset, password_reset_done, password_reset_confirm,
 password_reset_complete) = site_views.account_views(SITE, _WorkerSignup())


# --- profile ------------------------------------------------------------------------------------------------------

def _profile_initial(worker: Worker) -> dict[str, Any]:
    return {"display_name": worker.display_name, "country": worker.country, "subdivision": worker.subdivision,
            "is_adult": worker.is_adult}


@never_cache
@require_http_methods(["GET", "POST"])
@worker_required
def profile(request: HttpRequest, worker: Worker) -> HttpResponse:
    if request.method == "POST":
        form = forms.ProfileForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                actions_profile.update_worker_profile(
                    actor=Actor.for_worker(worker), worker=worker, display_name=data["display_name"],
                    country=data["country"], subdivision=data["subdivision"], is_adult=data["is_adult"],
                )
            except KempelenError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, "Your profile is saved. HITs that depend on your location or on the "
                                          "adult-content qualification now see the new values.")
                return redirect("worker:profile")
    else:
        form = forms.ProfileForm(initial=_profile_initial(worker))
    return render(request, _T + "profile.html", {
        "nav": "profile", "form": form, "worker": worker, "email": worker.user.email,
        "country_name": countries.name(worker.country) if worker.country else "",
        "locale": "-".join(part for part in (worker.country, worker.subdivision) if part),
    })
