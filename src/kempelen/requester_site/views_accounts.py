"""Requesters' accounts: sign up, sign in and out, changing and resetting the password, and API credentials.

State changes go through actions (``kempelen.accounts.actions_requester``, ``actions_profile``, ``actions``);
sign-in attempts and reset emails are throttled by the worker site's ``ratelimit`` (one count per username and
per client address, whichever site the attempt came to). Sign-up is open or closed
(``settings.KEMPELEN["REQUESTER_SIGNUP"]``).

An API key's secret is shown once, in the response to the form that created it, and never again: it is not kept
in the session, the page is not cached, and the key's row holds the secret only encrypted.
"""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.db import IntegrityError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.cache import add_never_cache_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from kempelen.accounts import actions as account_actions
from kempelen.accounts import actions_requester
from kempelen.accounts.models import ApiCredential
from kempelen.core.actors import Actor
from kempelen.core.errors import KempelenError
from kempelen.core.models import Environment
from kempelen.worker_site import ratelimit

from . import forms_accounts as forms
from .decorators import RequesterContext, requester_required

_T = "requester_site/accounts/"
_SIGNUP_ACTOR = Actor.system("requester-signup")
#: The session key of the credential forms handed out and not used yet (at most ``_OPEN_FORMS`` of them).
_FORM_IDS_KEY = "requester_credential_forms"
_OPEN_FORMS = 5


def _actor(ctx: RequesterContext) -> Actor:
    return Actor.for_requester(ctx.requester, "site")


def _next_url(request: HttpRequest) -> str:
    """Where to go after signing in: a ``next`` on this site, or the requester's home page."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(candidate, allowed_hosts={request.get_host()},
                                                     require_https=request.is_secure()):
        return candidate
    return reverse("requester:home")


def _is_requester(user: Any) -> bool:
    return bool(user.is_authenticated and getattr(user, "requester", None) is not None)


def public_base_url(request: HttpRequest) -> str:
    """The instance's base URL as requesters' clients reach it: ``KEMPELEN_PUBLIC_URL``, or this request's host."""
    public = str(settings.KEMPELEN.get("PUBLIC_URL") or "").rstrip("/")
    if public:
        return public
    return request.build_absolute_uri("/").rstrip("/")


# --- sign up ----------------------------------------------------------------------------------------------------

@sensitive_post_parameters("password1", "password2")
@never_cache
@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return render(request, _T + "signup_signed_in.html", status=200 if request.method == "GET" else 403)
    if not actions_requester.signup_open():
        return render(request, _T + "signup_closed.html", status=200 if request.method == "GET" else 403)
    if request.method == "POST":
        form = forms.SignupForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                requester = actions_requester.sign_up_requester(
                    actor=_SIGNUP_ACTOR, username=data["username"], email=data["email"],
                    password=data["password1"], display_name=data["display_name"],
                )
            except KempelenError as error:
                form.add_error(None, error.message)
            except IntegrityError:  # someone took the username between the check and the insert
                form.add_error("username", "That username is taken. Choose another one.")
            else:
                auth_login(request, requester.user, backend=settings.AUTHENTICATION_BACKENDS[0])
                messages.success(request, f"Welcome to Kempelen, {requester.display_name}! You start in the "
                                          "sandbox, where money is fake: try your projects there first.")
                return redirect("requester:home")
    else:
        form = forms.SignupForm()
    return render(request, _T + "signup.html", {"form": form})


# --- sign in and out ----------------------------------------------------------------------------------------------

@sensitive_post_parameters("password")
@never_cache
@require_http_methods(["GET", "POST"])
def login(request: HttpRequest) -> HttpResponse:
    next_url = _next_url(request)
    if request.method == "GET":
        if _is_requester(request.user):
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
        if getattr(user, "requester", None) is None:
            # Not signed in: the requester site has nothing for workers or operators.
            return render(request, _T + "not_a_requester.html", {"account": user.get_username()}, status=403)
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
        return redirect("requester:login")
    if not request.user.is_authenticated:
        return redirect("requester:login")
    return render(request, _T + "logout.html")


# --- password ---------------------------------------------------------------------------------------------------

@sensitive_post_parameters("old_password", "new_password1", "new_password2")
@never_cache
@require_http_methods(["GET", "POST"])
@requester_required
def password_change(request: HttpRequest, ctx: RequesterContext) -> HttpResponse:
    form = forms.PasswordChangeForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = form.save()
        except KempelenError as error:
            form.add_error(None, error.message)
        else:
            update_session_auth_hash(request, user)  # stay signed in here; other sessions end
            messages.success(request, "Your password is changed. Other devices signed in as you are signed out. "
                                      "Your API keys are not affected.")
            return redirect("requester:account")
    return render(request, _T + "password_change.html", {"nav": "account", "form": form})


def _link_base(request: HttpRequest) -> tuple[str, str]:
    """(protocol, host) of the links in emails: the instance's public URL, or the host the request came to."""
    parts = urlsplit(public_base_url(request))
    return parts.scheme or "http", parts.netloc or request.get_host()


@never_cache
@require_http_methods(["GET", "POST"])
def password_reset(request: HttpRequest) -> HttpResponse:
    form = forms.PasswordResetForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        pause = ratelimit.reset_request(form.cleaned_data["email"], ratelimit.client_address(request))
        if pause is not None:
            return render(request, _T + "password_reset.html", {"form": form, "pause": pause}, status=429)
        protocol, host = _link_base(request)
        # The same answer whether or not the address belongs to a requester, so the form reveals no accounts.
        form.save(
            request=request, domain_override=host, use_https=protocol == "https",
            subject_template_name=_T + "password_reset_subject.txt",
            email_template_name=_T + "password_reset_email.txt",
            extra_email_context={"site_name": "Kempelen"},
        )
        return redirect("requester:password_reset_done")
    return render(request, _T + "password_reset.html", {"form": form})


@require_http_methods(["GET"])
def password_reset_done(request: HttpRequest) -> HttpResponse:
    return render(request, _T + "password_reset_done.html")


class _PasswordResetConfirm(auth_views.PasswordResetConfirmView):
    form_class = forms.SetPasswordForm
    template_name = _T + "password_reset_confirm.html"
    success_url = reverse_lazy("requester:password_reset_complete")

    def get_user(self, uidb64: str) -> Any:
        user = super().get_user(uidb64)
        # A link made for another kind of account does not work here (links are only sent to requesters).
        return user if user is not None and getattr(user, "requester", None) is not None else None

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


@require_http_methods(["GET"])
def password_reset_complete(request: HttpRequest) -> HttpResponseBase:
    return render(request, _T + "password_reset_complete.html")


# --- API credentials --------------------------------------------------------------------------------------------

def _new_form_id(request: HttpRequest) -> str:
    form_id = secrets.token_hex(16)
    request.session[_FORM_IDS_KEY] = [*request.session.get(_FORM_IDS_KEY, [])[-(_OPEN_FORMS - 1):], form_id]
    return form_id


def _spend_form_id(request: HttpRequest, form_id: str) -> bool:
    open_ids = list(request.session.get(_FORM_IDS_KEY, []))
    if form_id not in open_ids:
        return False
    open_ids.remove(form_id)
    request.session[_FORM_IDS_KEY] = open_ids
    return True


def connection_settings(request: HttpRequest) -> dict[str, Any]:
    """How a requester's client reaches this instance: the endpoint and the region of each environment."""
    return {
        "endpoint_url": public_base_url(request),
        "regions": {Environment.LIVE: "us-east-1", Environment.SANDBOX: "sandbox"},
    }


def _credentials_page(request: HttpRequest, ctx: RequesterContext, form: forms.CredentialForm | None = None,
                      status: int = 200) -> HttpResponse:
    if form is None:
        form = forms.CredentialForm(initial={"form_id": _new_form_id(request)})
    keys = ApiCredential.objects.filter(requester=ctx.requester).order_by("-created_at", "-pk")
    connection = connection_settings(request)
    context = {"nav": "account", "form": form, "keys": keys, "connection": connection,
               "region": connection["regions"][ctx.environment]}
    return render(request, _T + "credentials.html", context, status=status)


@never_cache
@require_safe
@requester_required
def credentials(request: HttpRequest, ctx: RequesterContext) -> HttpResponse:
    return _credentials_page(request, ctx)


@require_POST
@requester_required
def credential_create(request: HttpRequest, ctx: RequesterContext) -> HttpResponse:
    form = forms.CredentialForm(request.POST)
    if not form.is_valid():  # nothing was created, so the form's id stays open for the corrected form
        return _credentials_page(request, ctx, form, status=400)
    if not _spend_form_id(request, form.cleaned_data["form_id"]):
        messages.error(request, "That form was used already, so no other key was created. A secret is shown only "
                                "once: if you did not copy it, revoke that key and create a new one.")
        return redirect("requester:credentials")
    issued = account_actions.issue_credential(actor=_actor(ctx), requester=ctx.requester,
                                              label=form.cleaned_data["label"])
    connection = connection_settings(request)
    context = {"nav": "account", "issued": issued, "label": form.cleaned_data["label"], "connection": connection,
               "region": connection["regions"][ctx.environment]}
    response = render(request, _T + "credential_created.html", context)
    add_never_cache_headers(response)  # the secret must not be kept by the browser or a proxy
    return response


@never_cache
@require_http_methods(["GET", "POST"])
@requester_required
def credential_revoke(request: HttpRequest, ctx: RequesterContext, access_key_id: str) -> HttpResponse:
    key = ApiCredential.objects.filter(requester=ctx.requester, access_key_id=access_key_id).first()
    if key is None:
        raise Http404("No such access key.")
    if request.method == "POST":
        if key.revoked_at is not None:
            messages.info(request, f"Access key {access_key_id} was revoked already.")
            return redirect("requester:credentials")
        try:
            account_actions.revoke_credential(actor=_actor(ctx), requester=ctx.requester, access_key_id=access_key_id)
        except KempelenError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, f"Access key {access_key_id} is revoked: calls signed with it are refused "
                                      "from now on.")
        return redirect("requester:credentials")
    return render(request, _T + "credential_revoke.html", {"nav": "account", "key": key})
