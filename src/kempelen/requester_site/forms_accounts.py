"""Forms of the requester site's account pages: sign-up's requester name, and API keys.

Sign-in and the password forms, and the account part of sign-up, are the shared ones (``kempelen.accounts.forms``).
Forms check input and give each field a clear message; the actions enforce the same rules again when they change
state.
"""

from __future__ import annotations

from django import forms

from kempelen.accounts import forms as account_forms


class SignupForm(account_forms.AccountSignupForm):
    email_help_text = "For resetting your password. Workers never see it."

    display_name = forms.CharField(
        label="Requester name",
        max_length=200,
        required=False,
        help_text="Workers see this name on your HITs, your bonuses and your messages: your lab, team or company. "
                  "Leave it empty to use your username.",
        widget=forms.TextInput(attrs={"autocomplete": "organization"}),
    )


class CredentialForm(forms.Form):
    label = forms.CharField(
        label="Label (optional)",
        max_length=100,
        required=False,
        help_text="What the key is for, such as the script or the machine that uses it. Only you see it.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    # A one-time value of the form (kept in the session), so that a form submitted twice creates one key.
    form_id = forms.CharField(widget=forms.HiddenInput, max_length=64)
