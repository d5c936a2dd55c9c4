"""Forms of the requester site's account and money pages: sign up, sign in, passwords, API keys.

Sign-in and the password forms are the worker site's, with the requester as the actor of a password change and
reset links sent only to requester accounts. Forms check input and give each field a clear message; the actions
enforce the same rules again when they change state.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError

from kempelen.accounts import actions_profile
from kempelen.core.actors import Actor
from kempelen.worker_site import forms_accounts as worker_forms

LoginForm = worker_forms.LoginForm


class SignupForm(forms.Form):
    username = forms.CharField(
        label="Username",
        max_length=150,
        validators=[UnicodeUsernameValidator()],
        help_text="What you sign in with: letters, digits and @ . + - _ only, up to 150 characters.",
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none"}),
    )
    email = forms.EmailField(
        label="Email address",
        max_length=254,
        help_text="For resetting your password. Workers never see it.",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    password1 = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=" ".join(password_validation.password_validators_help_texts()),
    )
    password2 = forms.CharField(
        label="Password again",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="The same password, to make sure it is typed as you meant.",
    )
    display_name = forms.CharField(
        label="Requester name",
        max_length=200,
        required=False,
        help_text="Workers see this name on your HITs, your bonuses and your messages: your lab, team or company. "
                  "Leave it empty to use your username.",
        widget=forms.TextInput(attrs={"autocomplete": "organization"}),
    )

    def clean_username(self) -> str:
        username = str(self.cleaned_data["username"]).strip()
        if actions_profile.username_in_use(username):
            raise ValidationError("That username is taken. Choose another one.", code="taken")
        return username

    def clean_email(self) -> str:
        email = str(self.cleaned_data["email"]).strip()
        if actions_profile.email_in_use(email):
            raise ValidationError(
                "An account with this email address already exists. Sign in, or reset your password if you "
                "forgot it.", code="taken",
            )
        return email

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        password1, password2 = cleaned.get("password1"), cleaned.get("password2")
        if password1 and password2 and password1 != password2:
            self.add_error("password2", ValidationError("The two passwords differ. Type the same one twice.",
                                                        code="password_mismatch"))
        elif password1:
            candidate = get_user_model()(username=cleaned.get("username", ""), email=cleaned.get("email", ""))
            try:
                password_validation.validate_password(password1, candidate)
            except ValidationError as error:
                self.add_error("password1", error)
        return cleaned


class _RequesterPassword:
    """Set the password with the account action, as the requester whose password it is."""

    user: Any
    cleaned_data: dict[str, Any]
    reason = ""

    def save(self, commit: bool = True) -> Any:
        requester = getattr(self.user, "requester", None)
        actions_profile.set_password(
            actor=Actor.for_requester(requester, "site") if requester is not None else Actor.system("accounts"),
            user=self.user, password=self.cleaned_data["new_password1"], reason=self.reason,
        )
        return self.user


class PasswordChangeForm(_RequesterPassword, worker_forms.PasswordChangeForm):
    reason = "change"


class SetPasswordForm(_RequesterPassword, worker_forms.SetPasswordForm):
    reason = "reset"


class PasswordResetForm(worker_forms.PasswordResetForm):
    """Reset links go only to requesters (this is the requester site) with a usable password."""

    def get_users(self, email: str) -> Any:
        users = auth_forms.PasswordResetForm.get_users(self, email)
        return (user for user in users if getattr(user, "requester", None) is not None)


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
