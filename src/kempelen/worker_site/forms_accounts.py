"""Forms of the worker site's account pages: sign-up's profile fields and the profile.

Sign-in and the password forms, and the account part of sign-up, are the shared ones (``kempelen.accounts.forms``).
Forms check input and give each field a clear message; the account actions (``kempelen.accounts.actions_profile``)
enforce the same rules again when they change state.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator

from kempelen.accounts import countries, invitations
from kempelen.accounts import forms as account_forms

COUNTRY_CHOICES = [("", "Choose your country"), *countries.CHOICES]

_subdivision_validator = RegexValidator(
    r"^[A-Za-z]{2}$", "A subdivision is two letters, such as CA for California or BY for Bavaria."
)


def _country_field() -> forms.ChoiceField:
    return forms.ChoiceField(
        label="Country",
        choices=COUNTRY_CHOICES,
        help_text="Where you live. Requesters may offer HITs only to workers in some countries (the Locale "
                  "qualification).",
        error_messages={"required": "Choose your country.",
                        "invalid_choice": "Choose your country from the list."},
        widget=forms.Select(attrs={"autocomplete": "country"}),
    )


def _subdivision_field() -> forms.CharField:
    return forms.CharField(
        label="State or region (optional)",
        required=False,
        max_length=2,
        validators=[_subdivision_validator],
        help_text="The two-letter ISO 3166-2 code of your state, province or region, such as CA for California. "
                  "Some HITs are offered only in one.",
        widget=forms.TextInput(attrs={"maxlength": 2, "size": 3, "autocomplete": "off",
                                      "autocapitalize": "characters"}),
    )


def _adult_field() -> forms.BooleanField:
    return forms.BooleanField(
        label="I am 18 or older and willing to work on HITs that may contain adult content",
        required=False,
        help_text="This is the Adult Content qualification; leave it unticked to be kept away from such HITs.",
    )


def _display_name_field() -> forms.CharField:
    return forms.CharField(
        label="Display name (optional)",
        required=False,
        max_length=200,
        help_text="How Kempelen greets you. Requesters see only your Worker ID.",
        widget=forms.TextInput(attrs={"autocomplete": "nickname"}),
    )


class SignupForm(account_forms.AccountSignupForm):
    email_help_text = "For resetting your password and for messages from requesters."

    display_name = _display_name_field()
    country = _country_field()
    subdivision = _subdivision_field()
    is_adult = _adult_field()
    invitation = forms.CharField(
        label="Invitation code",
        max_length=200,
        help_text="This Kempelen is invite-only: paste the code you were given.",
        error_messages={"required": "This Kempelen is invite-only: enter the invitation code you were given."},
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not invitations.invite_only():
            del self.fields["invitation"]

    def clean_subdivision(self) -> str:
        return str(self.cleaned_data.get("subdivision") or "").upper()

    def clean_invitation(self) -> str:
        code = str(self.cleaned_data.get("invitation") or "").strip()
        try:
            invitations.usable(code)
        except invitations.InvitationInvalid as error:
            raise ValidationError(error.message, code="invitation") from None
        return code


class ProfileForm(forms.Form):
    display_name = _display_name_field()
    country = _country_field()
    subdivision = _subdivision_field()
    is_adult = _adult_field()

    def clean_subdivision(self) -> str:
        return str(self.cleaned_data.get("subdivision") or "").upper()
