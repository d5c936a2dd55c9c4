"""Requesters' accounts: sign up, sign in and out, changing and resetting the password, and API credentials.

Sign-up, sign-in, sign-out and the password pages are the shared account pages (``kempelen.accounts.site_views``)
set up for requesters. State changes go through actions (``kempelen.accounts.actions_requester``,
``actions_profile``, ``actions``). Sign-up is open or closed (``settings.KEMPELEN["REQUESTER_SIGNUP"]``).

An API key's secret is shown once, in the response to the form that created it, and never again: it is not kept
in the session, the page is not cached, and the key's row holds the secret only encrypted.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import add_never_cache_headers
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from kempelen.accounts import actions as account_actions
from kempelen.accounts import actions_requester, site_views
from kempelen.accounts.models import ApiCredential, Requester
from kempelen.accounts.site_views import public_base_url
from kempelen.core.actors import Actor
from kempelen.core.errors import KempelenError
from kempelen.core.models import Environment

from . import forms_accounts as forms
from .decorators import RequesterContext, requester_required

_T = "requester_site/accounts/"
_SIGNUP_ACTOR = Actor.system("requester-signup")
#: The session key of the credential forms handed out and not used yet (at most ``_OPEN_FORMS`` of them).
_FORM_IDS_KEY = "requester_credential_forms"
_OPEN_FORMS = 5

SITE = site_views.AccountSite(
    namespace="requester", profile="requester", templates=_T, base_template="requester_site/base.html",
    home="requester:home", not_a_member_template=_T + "not_a_requester.html", profile_required=requester_required,
    nav="account", after_password_change="requester:account",
    password_changed="Your password is changed. Other devices signed in as you are signed out. "
                     "Your API keys are not affected.",
)


class _RequesterSignup(site_views.Signup):
    form_class = forms.SignupForm
    success_url = "requester:home"

    def closed(self) -> bool:
        return not actions_requester.signup_open()

    def create(self, data: dict[str, Any]) -> Requester:
        return actions_requester.sign_up_requester(
            actor=_SIGNUP_ACTOR, username=data["username"], email=data["email"], password=data["password1"],
            display_name=data["display_name"],
        )

    def welcome(self, profile: Requester) -> str:
        return (f"Welcome to Kempelen, {profile.display_name}! You start in the sandbox, where money is fake: try "
                "your projects there first.")


(signup, login, logout, password_change, password_reset, password_reset_done, password_reset_confirm,
 password_reset_complete) = site_views.account_views(SITE, _RequesterSignup())


def _actor(ctx: RequesterContext) -> Actor:
    return Actor.for_requester(ctx.requester, "site")


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
