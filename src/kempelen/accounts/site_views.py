"""The account pages the worker site and the requester site share: signing up, in and out, changing the password
and resetting it by email.

A site describes itself once in an ``AccountSite`` (its URL namespace, the profile an account needs to sign in
there, its templates) and a ``Signup`` (what its sign-up form creates), and builds its views from them with
``account_views(site, signup)``.

Templates: a page is the site's own template when it has one (``site.templates + name``, which usually extends the
shared one to fill in its blocks), else the shared ``accounts/<name>``, which extends ``site.base_template``. Every
page gets the site as ``account_site``: shared templates link with ``{% url account_site.urls.login %}``.

Sign-in attempts and reset emails are throttled by ``kempelen.worker_site.ratelimit``: one count per username and
per client address, whichever site the attempt came to.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from django import forms as django_forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.db import IntegrityError
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from kempelen.accounts import forms
from kempelen.core.errors import KempelenError
from kempelen.worker_site import ratelimit

View = Callable[..., HttpResponseBase]

#: The route names every site that uses these pages defines in its namespace.
URL_NAMES = ("signup", "login", "logout", "password_change", "password_reset", "password_reset_done",
             "password_reset_confirm", "password_reset_complete")


@dataclass(frozen=True)
class AccountSite:
    """What differs between the sites that share the account pages."""

    namespace: str  # the site's URL namespace: "worker" or "requester"
    profile: str  # the user's profile an account needs to sign in here: "worker" or "requester"
    templates: str  # the site's own account templates, such as "worker_site/accounts/"
    base_template: str  # what the shared templates extend
    home: str  # the URL name to go to after signing in, when there is no ``next``
    not_a_member_template: str  # the page shown when the password is right but the account lacks the profile
    #: Signed-in users of this profile only; the view gets the profile (or the site's context) after the request.
    profile_required: Callable[[View], View]
    nav: str  # the header tab of the password page
    after_password_change: str  # the URL name to go to after changing the password
    password_changed: str  # the message then

    @cached_property
    def urls(self) -> Mapping[str, str]:
        """The full URL names of this site's account routes, by route name (``urls["login"]``: "worker:login")."""
        return {name: f"{self.namespace}:{name}" for name in URL_NAMES}

    def has_profile(self, user: Any) -> bool:
        return bool(user.is_authenticated and getattr(user, self.profile, None) is not None)


def render_page(request: HttpRequest, site: AccountSite, name: str, context: dict[str, Any] | None = None,
                status: int = 200) -> HttpResponse:
    """An account page: the site's own template ``name`` if it has one, else the shared one."""
    return render(request, [site.templates + name, "accounts/" + name], {"account_site": site, **(context or {})},
                  status=status)


def public_base_url(request: HttpRequest) -> str:
    """The instance's base URL as users and clients reach it: ``KEMPELEN_PUBLIC_URL``, or this request's host."""
    public = str(settings.KEMPELEN.get("PUBLIC_URL") or "").rstrip("/")
    if public:
        return public
    return request.build_absolute_uri("/").rstrip("/")


def _link_base(request: HttpRequest) -> tuple[str, str]:
    """(protocol, host) of the links in emails: the instance's public URL, or the host the request came to."""
    parts = urlsplit(public_base_url(request))
    if parts.scheme and parts.netloc:
        return parts.scheme, parts.netloc
    return ("https" if request.is_secure() else "http"), request.get_host()


def _next_url(request: HttpRequest, site: AccountSite) -> str:
    """Where to go after signing in: a ``next`` on this site, or the site's home page."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(candidate, allowed_hosts={request.get_host()},
                                                     require_https=request.is_secure()):
        return candidate
    return reverse(site.home)


# --- sign up ----------------------------------------------------------------------------------------------------

class Signup(ABC):
    """What a site's sign-up form creates. Subclasses give the form and the action; the page does the rest."""

    form_class: type[django_forms.Form]
    success_url: str  # the URL name to go to once signed up

    def closed(self) -> bool:
        """Whether sign-up is closed (the page says so and refuses the form)."""
        return False

    def initial(self, request: HttpRequest) -> dict[str, Any] | None:
        """The empty form's first values, such as a code from the link that was followed."""
        return None

    def context(self) -> dict[str, Any]:
        """More for the sign-up page's template."""
        return {}

    @abstractmethod
    def create(self, data: dict[str, Any]) -> Any:
        """Create the account from the form's cleaned data (an action); the new profile, whose ``.user`` signs in."""

    @abstractmethod
    def welcome(self, profile: Any) -> str:
        """The message on the first page after signing up."""


def signup_view(site: AccountSite, spec: Signup) -> View:
    @sensitive_post_parameters("password1", "password2")
    @never_cache
    @require_http_methods(["GET", "POST"])
    def signup(request: HttpRequest) -> HttpResponse:
        refused = 200 if request.method == "GET" else 403
        if request.user.is_authenticated:
            return render_page(request, site, "signup_signed_in.html", status=refused)
        if spec.closed():
            return render_page(request, site, "signup_closed.html", status=refused)
        if request.method == "POST":
            form = spec.form_class(request.POST)
            if form.is_valid():
                try:
                    profile = spec.create(form.cleaned_data)
                except KempelenError as error:
                    form.add_error(None, error.message)
                except IntegrityError:  # someone took the username between the check and the insert
                    form.add_error("username", "That username is taken. Choose another one.")
                else:
                    auth_login(request, profile.user, backend=settings.AUTHENTICATION_BACKENDS[0])
                    messages.success(request, spec.welcome(profile))
                    return redirect(spec.success_url)
        else:
            form = spec.form_class(initial=spec.initial(request))
        return render_page(request, site, "signup.html", {"form": form, **spec.context()})

    return signup


# --- sign in and out ----------------------------------------------------------------------------------------------

def login_view(site: AccountSite) -> View:
    @sensitive_post_parameters("password")
    @never_cache
    @require_http_methods(["GET", "POST"])
    def login(request: HttpRequest) -> HttpResponse:
        next_url = _next_url(request, site)
        if request.method == "GET":
            if site.has_profile(request.user):
                return redirect(next_url)
            return render_page(request, site, "login.html", {"form": forms.LoginForm(request), "next": next_url})

        username = request.POST.get("username", "")[:150]
        address = ratelimit.client_address(request)
        context: dict[str, Any] = {"next": next_url}
        pause = ratelimit.login_pause(username, address)
        if pause is not None:
            context.update(form=forms.LoginForm(request, initial={"username": username}), pause=pause)
            return render_page(request, site, "login.html", context, status=429)

        form = forms.LoginForm(request, data=request.POST)
        if form.is_valid():
            user = form.get_user()
            ratelimit.login_succeeded(username)
            if getattr(user, site.profile, None) is None:
                # Not signed in: a site has nothing for the other kind of account or for operators.
                return render(request, site.not_a_member_template,
                              {"account_site": site, "account": user.get_username()}, status=403)
            auth_login(request, user)
            return redirect(next_url)

        context["form"] = form
        if form.has_error("__all__", "invalid_login"):
            pause = ratelimit.login_failed(username, address)
            if pause is not None:
                context["pause"] = pause
                return render_page(request, site, "login.html", context, status=429)
            left = ratelimit.login_attempts_left(username)
            if left <= 2:
                context["attempts_left"] = left
        return render_page(request, site, "login.html", context)

    return login


def logout_view(site: AccountSite) -> View:
    @require_http_methods(["GET", "POST"])
    def logout(request: HttpRequest) -> HttpResponse:
        """Sign out takes a POST (a link or an image must not sign anyone out); GET asks to confirm."""
        if request.method == "POST":
            was_signed_in = request.user.is_authenticated
            auth_logout(request)
            if was_signed_in:
                messages.info(request, "You have signed out.")
            return redirect(site.urls["login"])
        if not request.user.is_authenticated:
            return redirect(site.urls["login"])
        return render_page(request, site, "logout.html")

    return logout


# --- password ---------------------------------------------------------------------------------------------------

def password_change_view(site: AccountSite) -> View:
    @sensitive_post_parameters("old_password", "new_password1", "new_password2")
    @never_cache
    @require_http_methods(["GET", "POST"])
    @site.profile_required
    def password_change(request: HttpRequest, _profile: Any) -> HttpResponse:
        form = forms.PasswordChangeForm(request.user, request.POST or None, profile=site.profile)
        if request.method == "POST" and form.is_valid():
            try:
                user = form.save()
            except KempelenError as error:
                form.add_error(None, error.message)
            else:
                update_session_auth_hash(request, user)  # stay signed in here; other sessions end
                messages.success(request, site.password_changed)
                return redirect(site.after_password_change)
        return render_page(request, site, "password_change.html", {"nav": site.nav, "form": form})

    return password_change


# --- password reset by email ------------------------------------------------------------------------------------

def password_reset_view(site: AccountSite) -> View:
    @never_cache
    @require_http_methods(["GET", "POST"])
    def password_reset(request: HttpRequest) -> HttpResponse:
        form = forms.PasswordResetForm(request.POST or None, profile=site.profile)
        if request.method == "POST" and form.is_valid():
            pause = ratelimit.reset_request(form.cleaned_data["email"], ratelimit.client_address(request))
            if pause is not None:
                return render_page(request, site, "password_reset.html", {"form": form, "pause": pause}, status=429)
            protocol, host = _link_base(request)
            # The same answer whether or not the address belongs to an account here, so the form reveals none.
            form.save(
                request=request, domain_override=host, use_https=protocol == "https",
                subject_template_name=site.templates + "password_reset_subject.txt",
                email_template_name=site.templates + "password_reset_email.txt",
                extra_email_context={"site_name": "Kempelen"},
            )
            return redirect(site.urls["password_reset_done"])
        return render_page(request, site, "password_reset.html", {"form": form})

    return password_reset


def read_only_page(site: AccountSite, name: str) -> View:
    """A page that only tells something, such as "check your email"."""
    @require_http_methods(["GET"])
    def page(request: HttpRequest) -> HttpResponse:
        return render_page(request, site, name)

    return page


class PasswordResetConfirm(auth_views.PasswordResetConfirmView):
    """Django's check of the emailed link, with the password set by the account action."""

    form_class = forms.SetPasswordForm
    site: AccountSite | None = None

    def _site(self) -> AccountSite:
        assert self.site is not None, "give the view its site: PasswordResetConfirm.as_view(site=...)"
        return self.site

    def get_template_names(self) -> list[str]:
        return [self._site().templates + "password_reset_confirm.html", "accounts/password_reset_confirm.html"]

    def get_success_url(self) -> str:
        return reverse(self._site().urls["password_reset_complete"])

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {**super().get_context_data(**kwargs), "account_site": self._site()}

    def get_form_kwargs(self) -> dict[str, Any]:
        return {**super().get_form_kwargs(), "profile": self._site().profile}

    def get_user(self, uidb64: str) -> Any:
        user = super().get_user(uidb64)
        # A link made for another kind of account does not work here (each site sends links only to its own kind).
        return user if getattr(user, self._site().profile, None) is not None else None

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


class AccountViews(NamedTuple):
    """A site's account views."""

    signup: View
    login: View
    logout: View
    password_change: View
    password_reset: View
    password_reset_done: View
    password_reset_confirm: View
    password_reset_complete: View


def account_views(site: AccountSite, signup: Signup) -> AccountViews:
    return AccountViews(
        signup=signup_view(site, signup),
        login=login_view(site),
        logout=logout_view(site),
        password_change=password_change_view(site),
        password_reset=password_reset_view(site),
        password_reset_done=read_only_page(site, "password_reset_done.html"),
        password_reset_confirm=PasswordResetConfirm.as_view(site=site),
        password_reset_complete=read_only_page(site, "password_reset_complete.html"),
    )
