"""Forms of the worker site's account pages: sign up, sign in, profile, passwords.

Forms check input and give each field a clear message; the account actions (``kempelen.accounts.actions_profile``)
enforce the same rules again when they change state. Password fields are never echoed back into a page.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator

from kempelen.accounts import actions_profile, countries, invitations
from kempelen.core.actors import Actor

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
        help_text="For resetting your password and for messages from requesters.",
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

    def clean_subdivision(self) -> str:
        return str(self.cleaned_data.get("subdivision") or "").upper()

    def clean_invitation(self) -> str:
        code = str(self.cleaned_data.get("invitation") or "").strip()
        try:
            invitations.usable(code)
        except invitations.InvitationInvalid as error:
            raise ValidationError(error.message, code="invitation") from None
        return code

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


class ProfileForm(forms.Form):
    display_name = _display_name_field()
    country = _country_field()
    subdivision = _subdivision_field()
    is_adult = _adult_field()

    def clean_subdivision(self) -> str:
        return str(self.cleaned_data.get("subdivision") or "").upper()


class _PasswordThroughAction:
    """Set the password with the account action (one transaction, an audit row) instead of saving the user."""

    user: Any
    cleaned_data: dict[str, Any]
    reason = ""

    def save(self, commit: bool = True) -> Any:
        worker = getattr(self.user, "worker", None)
        actions_profile.set_password(
            actor=Actor.for_worker(worker) if worker is not None else Actor.system("accounts"),
            user=self.user, password=self.cleaned_data["new_password1"], reason=self.reason,
        )
        return self.user


class PasswordChangeForm(_PasswordThroughAction, auth_forms.PasswordChangeForm):
    reason = "change"
    error_messages = {
        **auth_forms.PasswordChangeForm.error_messages,
        "password_mismatch": "The two new passwords differ. Type the same one twice.",
        "password_incorrect": "Your current password is not right. Type it again.",
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["old_password"].label = "Current password"
        self.fields["new_password2"].label = "New password again"


class SetPasswordForm(_PasswordThroughAction, auth_forms.SetPasswordForm):
    reason = "reset"
    error_messages = {
        **auth_forms.SetPasswordForm.error_messages,
        "password_mismatch": "The two new passwords differ. Type the same one twice.",
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["new_password2"].label = "New password again"


class PasswordResetForm(auth_forms.PasswordResetForm):
    """Reset links go only to workers (this is the worker site) with a usable password."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["email"].label = "Email address"
        self.fields["email"].help_text = "The address you signed up with."

    def get_users(self, email: str) -> Any:
        return (user for user in super().get_users(email) if getattr(user, "worker", None) is not None)
