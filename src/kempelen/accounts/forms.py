"""Account forms both sites share: the account part of sign-up, sign-in, and the password forms.

A form that acts for one kind of account takes ``profile``: ``"worker"`` or ``"requester"``, the user's profile a
site is for. A password is set by the account action, as that worker or requester; reset links go only to users
with that profile. Forms check input and give each field a clear message; the actions enforce the same rules
again when they change state. Password fields are never echoed back into a page.
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


def password_actor(user: Any, profile: str) -> Actor:
    """Who sets ``user``'s password: the worker or requester whose account it is, else the system."""
    owner = getattr(user, profile, None)
    if owner is None:
        return Actor.system("accounts")
    return Actor.for_worker(owner) if profile == "worker" else Actor.for_requester(owner, "site")


class AccountSignupForm(forms.Form):
    """The account part of signing up: username, email address and password. Sites add their own fields."""

    #: What the email address is used for, shown under its field.
    email_help_text = "For resetting your password."

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

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["email"].help_text = self.email_help_text

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


class LoginForm(auth_forms.AuthenticationForm):
    error_messages = {
        "invalid_login": "The username or password is not right. Both are case-sensitive.",
        "inactive": "This account is disabled. Ask the operator of this Kempelen to enable it.",
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["username"].label = "Username"
        self.fields["username"].widget.attrs.update({"autocomplete": "username", "autocapitalize": "none"})


class _PasswordThroughAction:
    """Set the password with the account action (one transaction, an audit row) instead of saving the user."""

    user: Any
    cleaned_data: dict[str, Any]
    profile = ""
    reason = ""

    def save(self, commit: bool = True) -> Any:
        actions_profile.set_password(
            actor=password_actor(self.user, self.profile), user=self.user,
            password=self.cleaned_data["new_password1"], reason=self.reason,
        )
        return self.user


class PasswordChangeForm(_PasswordThroughAction, auth_forms.PasswordChangeForm):
    reason = "change"
    error_messages = {
        **auth_forms.PasswordChangeForm.error_messages,
        "password_mismatch": "The two new passwords differ. Type the same one twice.",
        "password_incorrect": "Your current password is not right. Type it again.",
    }

    def __init__(self, user: Any, *args: Any, profile: str, **kwargs: Any) -> None:
        super().__init__(user, *args, **kwargs)
        self.profile = profile
        self.fields["old_password"].label = "Current password"
        self.fields["new_password2"].label = "New password again"


class SetPasswordForm(_PasswordThroughAction, auth_forms.SetPasswordForm):
    reason = "reset"
    error_messages = {
        **auth_forms.SetPasswordForm.error_messages,
        "password_mismatch": "The two new passwords differ. Type the same one twice.",
    }

    def __init__(self, user: Any, *args: Any, profile: str, **kwargs: Any) -> None:
        super().__init__(user, *args, **kwargs)
        self.profile = profile
        self.fields["new_password2"].label = "New password again"


class PasswordResetForm(auth_forms.PasswordResetForm):
    """Reset links go only to users with the site's profile and a usable password."""

    def __init__(self, *args: Any, profile: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.profile = profile
        self.fields["email"].label = "Email address"
        self.fields["email"].help_text = "The address you signed up with."

    def get_users(self, email: str) -> Any:
        return (user for user in super().get_users(email) if getattr(user, self.profile, None) is not None)
