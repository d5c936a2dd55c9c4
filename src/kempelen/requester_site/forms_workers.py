"""Forms of the workers pages: block and unblock, message, bonus, a qualification value or revocation, and the
worker file upload.

Forms check input and word each problem for the field it belongs to; the actions check again when they change
state (and their refusals are shown as they word them).
"""

from __future__ import annotations

from collections.abc import Sequence

from django import forms

from kempelen.core.errors import InvalidParameter
from kempelen.core.money import parse_amount
from kempelen.marketplace.actions.worker_csv import MAX_VALUE, MIN_VALUE

from .worker_csv import MAX_BYTES

MAX_REASON = 4096
MAX_SUBJECT = 200
MAX_MESSAGE = 4096


def value_field(label: str = "Value", initial: int | None = 1) -> forms.IntegerField:
    return forms.IntegerField(
        label=label, min_value=MIN_VALUE, max_value=MAX_VALUE, initial=initial,
        help_text=f"A whole number from {MIN_VALUE} to {MAX_VALUE}; HIT requirements compare it.",
        error_messages={
            "required": f"Give a value from {MIN_VALUE} to {MAX_VALUE}.",
            "invalid": f"The value must be a whole number from {MIN_VALUE} to {MAX_VALUE}.",
            "min_value": f"The value must be at least {MIN_VALUE}.",
            "max_value": f"The value must be at most {MAX_VALUE}.",
        },
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "class": "short"}),
    )


def reason_field(label: str, *, required: bool, help_text: str) -> forms.CharField:
    return forms.CharField(
        label=label, required=required, max_length=MAX_REASON, help_text=help_text,
        error_messages={"required": "Give a reason.",
                        "max_length": f"The reason must be at most {MAX_REASON} characters."},
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class BlockForm(forms.Form):
    reason = reason_field(
        "Reason for blocking", required=True,
        help_text="Kept with the block for your records (and listed by ListWorkerBlocks); the worker is not told.",
    )


class UnblockForm(forms.Form):
    reason = reason_field("Reason for unblocking (optional)", required=False,
                          help_text="Kept in your account's history.")


class MessageForm(forms.Form):
    subject = forms.CharField(
        label="Subject", max_length=MAX_SUBJECT,
        error_messages={"required": "Write a subject.",
                        "max_length": f"The subject must be at most {MAX_SUBJECT} characters."},
    )
    message = forms.CharField(
        label="Message", max_length=MAX_MESSAGE, widget=forms.Textarea(attrs={"rows": 5}),
        error_messages={"required": "Write a message.",
                        "max_length": f"The message must be at most {MAX_MESSAGE} characters."},
    )


class BonusForm(forms.Form):
    """``assignments``: (assignment id, label) pairs the requester may pay a bonus for."""

    assignment = forms.ChoiceField(
        label="For the assignment",
        error_messages={"required": "Choose the assignment the bonus is for.",
                        "invalid_choice": "Choose one of this worker's assignments."},
    )
    amount = forms.CharField(
        label="Amount in US dollars", max_length=20,
        help_text="Such as 0.50 or 2. Paid from your balance at once, plus the fee on bonuses.",
        error_messages={"required": "Give the amount of the bonus."},
        widget=forms.TextInput(attrs={"inputmode": "decimal", "class": "short"}),
    )
    reason = reason_field("Reason", required=True, help_text="The worker reads this with the bonus.")
    token = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(self, *args: object, assignments: Sequence[tuple[str, str]] = (), **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        field = self.fields["assignment"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", "Choose an assignment"), *assignments]

    def clean_amount(self) -> int:
        text = self.cleaned_data["amount"].strip().removeprefix("$").strip()
        try:
            cents = parse_amount(text, field="The amount")
        except InvalidParameter as problem:
            raise forms.ValidationError(problem.message) from None
        if cents <= 0:
            raise forms.ValidationError("The amount must be more than $0.00.")
        return cents


class QualificationValueForm(forms.Form):
    """Grant one of the requester's types to the worker, or change the value it holds."""

    value = value_field()
    notify = forms.BooleanField(label="Email the worker about it", required=False, initial=True)


class RevokeForm(forms.Form):
    reason = reason_field("Reason (optional)", required=False, help_text="Emailed to the worker.")


class WorkerFileForm(forms.Form):
    file = forms.FileField(
        label="Worker file (CSV)",
        help_text="The file downloaded from this page, with UPDATE columns filled in.",
        error_messages={"required": "Choose a CSV file to upload.", "empty": "The file is empty."},
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )

    def clean_file(self) -> object:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_BYTES:
            raise forms.ValidationError(
                f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB; split it into smaller files."
            )
        return upload
