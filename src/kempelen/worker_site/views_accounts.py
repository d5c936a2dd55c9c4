"""Workers' accounts: sign up, sign in and out, the profile, changing and resetting the password.

State changes go through ``kempelen.accounts.actions_profile``; sign-in attempts and reset emails are throttled
by ``ratelimit``. Sign-up is open or invite-only (``settings.KEMPELEN["WORKER_SIGNUP"]``, see
``kempelen.accounts.invitations``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.db import IntegrityError
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from kempelen.accounts import actions_profile, countries, invitations
from kempelen.accounts.models import Worker
from kempelen.core.actors import Actor
from kempelen.core.errors import KempelenError

from . import forms_accounts as forms
from . import ratelimit
from .decorators import worker_required

_T = "worker_site/accounts/"
_MODEL_BACKEND = "kempelen.accounts.backends.ProfileBackend"
_SIGNUP_ACTOR = Actor.system("worker-signup")


def _next_url(request: HttpRequest) -> str:
    """Where to go after signing in: a ``next`` on this site, or the list of work."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(candidate, allowed_hosts={request.get_host()},
                                                     require_https=request.is_secure()):
        return candidate
    return reverse("worker:groups")


def _is_worker(user: Any) -> bool:
    return bool(user.is_authenticated and getattr(user, "worker", None) is not None)


# --- sign up ----------------------------------------------------------------------------------------------------

@sensitive_post_parameters("password1", "password2")
@never_cache
@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return render(request, _T + "signup_signed_in.html", status=200 if request.method == "GET" else 403)
    invite_only = invitations.invite_only()
    if request.method == "POST":
        form = forms.SignupForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                worker = actions_profile.sign_up_worker(
                    actor=_SIGNUP_ACTOR, username=data["username"], email=data["email"],
                    password=data["password1"], display_name=data["display_name"], country=data["country"],
                    subdivision=data["subdivision"], is_adult=data["is_adult"],
                    invitation_code=data.get("invitation", ""),
                )
            except KempelenError as error:
                form.add_error(None, error.message)
            except IntegrityError:  # someone took the username between the check and the insert
                form.add_error("username", "That username is taken. Choose another one.")
            else:
                auth_login(request, worker.user, backend=_MODEL_BACKEND)
                messages.success(request, f"Welcome to Kempelen! Your Worker ID is {worker.worker_id}. "
                                          "Requesters see this ID, never your name or email address.")
                return redirect("worker:profile")
    else:
        form = forms.SignupForm(initial={"invitation": request.GET.get("invitation", "")} if invite_only else None)
    return render(request, _T + "signup.html", {"form": form, "invite_only": invite_only})


# --- sign in and out ----------------------------------------------------------------------------------------------

@sensitive_post_parameters("password")
@never_cache
@require_http_methods(["GET", "POST"])
def login(request: HttpRequest) -> HttpResponse:
    next_url = _next_url(request)
    if request.method == "GET":
        if _is_worker(request.user):
            return redirect(next_url)
        return render(request, _T + "login.html", {"form": forms.LoginForm(request), "next": next_url})

    username = request.POST.get("username", "")[:150]
    address = ratelimit.client_address(request)
    context: dict[str, Any] = {"next": next_url}
    pause = ratelimit.login_pause(username, address)
    if pause is not None:
        context.update(form=forms.LoginForm(request, initial={"username": username}), pause=pause)
        return render(request, _T + "login.html", context, status=429)

    form = forms.LoginForm(request, data=request.POST)
    if form.is_valid():
        user = form.get_user()
        ratelimit.login_succeeded(username)
        if getattr(user, "worker", None) is None:
            # Not signed in: the worker site has nothing for requesters or operators.
            return render(request, _T + "not_a_worker.html", {"account": user.get_username()}, status=403)
        auth_login(request, user)
        return redirect(next_url)

    context["form"] = form
    if form.has_error("__all__", "invalid_login"):
        pause = ratelimit.login_failed(username, address)
        if pause is not None:
            context["pause"] = pause
            return render(request, _T + "login.html", context, status=429)
        left = ratelimit.login_attempts_left(username)
        if left <= 2:
            context["attempts_left"] = left
    return render(request, _T + "login.html", context)


@require_http_methods(["GET", "POST"])
def logout(request: HttpRequest) -> HttpResponse:
    """Sign out takes a POST (a link or an image must not sign anyone out); GET asks to confirm."""
    if request.method == "POST":
        was_signed_in = request.user.is_authenticated
        auth_logout(request)
        if was_signed_in:
            messages.info(request, "You have signed out.")
        return redirect("worker:login")
    if not request.user.is_authenticated:
        return redirect("worker:login")
    return render(request, _T + "logout.html")


# --- profile and password ---------------------------------------------------------------------------------------

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


@sensitive_post_parameters("old_password", "new_password1", "new_password2")
@never_cache
@require_http_methods(["GET", "POST"])
@worker_required
def password_change(request: HttpRequest, worker: Worker) -> HttpResponse:
    form = forms.PasswordChangeForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = form.save()
        except KempelenError as error:
            form.add_error(None, error.message)
        else:
            update_session_auth_hash(request, user)  # stay signed in here; other sessions end
            messages.success(request, "Your password is changed. Other devices signed in as you are signed out.")
            return redirect("worker:profile")
    return render(request, _T + "password_change.html", {"nav": "profile", "form": form})


# --- password reset by email ------------------------------------------------------------------------------------

def _link_base(request: HttpRequest) -> tuple[str, str]:
    """(protocol, host) of the links in emails: the instance's public URL, or the host the request came to."""
    public = str(settings.KEMPELEN.get("PUBLIC_URL") or "")
    if public:
        parts = urlsplit(public)
        if parts.scheme and parts.netloc:
            return parts.scheme, parts.netloc
    return ("https" if request.is_secure() else "http"), request.get_host()


@never_cache
@require_http_methods(["GET", "POST"])
def password_reset(request: HttpRequest) -> HttpResponse:
    form = forms.PasswordResetForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        pause = ratelimit.reset_request(form.cleaned_data["email"], ratelimit.client_address(request))
        if pause is not None:
            return render(request, _T + "password_reset.html", {"form": form, "pause": pause}, status=429)
        protocol, host = _link_base(request)
        # The same answer whether or not the address belongs to a worker, so the form reveals no accounts.
        form.save(
            request=request, domain_override=host, use_https=protocol == "https",
            subject_template_name=_T + "password_reset_subject.txt",
            email_template_name=_T + "password_reset_email.txt",
            extra_email_context={"site_name": "Kempelen"},
        )
        return redirect("worker:password_reset_done")
    return render(request, _T + "password_reset.html", {"form": form})


@require_http_methods(["GET"])
def password_reset_done(request: HttpRequest) -> HttpResponse:
    return render(request, _T + "password_reset_done.html")


class _PasswordResetConfirm(auth_views.PasswordResetConfirmView):
    form_class = forms.SetPasswordForm
    template_name = _T + "password_reset_confirm.html"
    success_url = reverse_lazy("worker:password_reset_complete")

    def form_valid(self, form: Any) -> HttpResponse:
        try:
            response = super().form_valid(form)
        except KempelenError as error:
            form.add_error(None, error.message)
            return self.form_invalid(form)
        # The owner proved control of the account's email: a sign-in pause on the username lifts.
        if self.user is not None:
            ratelimit.lift_username_pause(self.user.get_username())
        return response


password_reset_confirm = _PasswordResetConfirm.as_view()


def password_reset_complete(request: HttpRequest) -> HttpResponseBase:
    return render(request, _T + "password_reset_complete.html")
