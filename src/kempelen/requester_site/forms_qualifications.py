"""Forms of the qualification pages: create a type, edit one, grant or revoke it, decide a request.

A test and its answer key are checked here with the same parsers the actions use (``questions.formats``,
``questions.answer_key``), so each problem is shown next to the field it is in; the action checks again.
Durations are entered as an amount and a unit and become seconds.
"""

from __future__ import annotations

from typing import Any

from django import forms

from kempelen.core.errors import KempelenError
from kempelen.core.ids import WORKER_ID
from kempelen.qualifications.actions import MAX_DESCRIPTION, MAX_KEYWORDS, MAX_NAME, MAX_TEST_DURATION
from kempelen.questions.answer_key import parse_answer_key
from kempelen.questions.formats import QuestionForm, parse_test

from .forms_workers import reason_field, value_field

UNITS = (("seconds", 1), ("minutes", 60), ("hours", 3600), ("days", 86400))
UNIT_CHOICES = [(name, name) for name, _ in UNITS]
_SECONDS = dict(UNITS)

GRANTING_CHOICES = [
    ("requests", "Workers request it, and I accept or reject each request"),
    ("auto", "Granted at once to every worker who requests it"),
    ("test", "Workers take a test (scored automatically with an answer key, or reviewed by me)"),
]
RETRY_CHOICES = [
    ("never", "Once only: a worker may request it one time"),
    ("after", "Again, after a delay since their last request"),
]
STATUS_CHOICES = [("Active", "Active: workers can find and request it"),
                  ("Inactive", "Inactive: hidden from workers; no new requests")]


def split_seconds(seconds: int | None) -> tuple[int | None, str]:
    """3600 → (1, "hours"): the largest unit that divides the duration exactly."""
    if seconds is None:
        return None, "hours"
    for name, size in reversed(UNITS):
        if seconds and seconds % size == 0:
            return seconds // size, name
    return seconds, "seconds" if seconds else "minutes"


def _amount(label: str, *, minimum: int) -> forms.IntegerField:
    return forms.IntegerField(
        label=label, required=False, min_value=minimum,
        error_messages={"invalid": "Give a whole number.", "min_value": f"Give a number of at least {minimum}."},
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "class": "short"}),
    )


def _unit(label: str, initial: str) -> forms.ChoiceField:
    return forms.ChoiceField(label=label, choices=UNIT_CHOICES, initial=initial)


def _description_field() -> forms.CharField:
    return forms.CharField(
        label="Description", max_length=MAX_DESCRIPTION, widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What the qualification means and how workers get it.",
        error_messages={"required": "Describe the qualification type.",
                        "max_length": f"The description must be at most {MAX_DESCRIPTION} characters."},
    )


def _status_field() -> forms.ChoiceField:
    return forms.ChoiceField(label="Status", choices=STATUS_CHOICES, initial="Active", widget=forms.RadioSelect)


class _RetryMixin(forms.Form):
    retries = forms.ChoiceField(label="Requests", choices=RETRY_CHOICES, initial="never", widget=forms.RadioSelect)
    retry_delay = _amount("Delay before a new request", minimum=0)
    retry_delay_unit = _unit("Unit of the delay", "days")

    def clean_retry(self, data: dict[str, Any]) -> None:
        if data.get("retries") == "after":
            amount = data.get("retry_delay")
            if amount is None:
                self.add_error("retry_delay", "Give the delay (0 lets workers request again at once).")
            else:
                data["retry_delay_seconds"] = amount * _SECONDS[data.get("retry_delay_unit") or "days"]
        else:
            data["retry_delay_seconds"] = None


class QualificationTypeForm(_RetryMixin):
    name = forms.CharField(
        label="Name", max_length=MAX_NAME,
        help_text="Workers see it; it must differ from your other qualification types' names. It cannot change later.",
        error_messages={"required": "Give the qualification type a name.",
                        "max_length": f"The name must be at most {MAX_NAME} characters."},
    )
    description = _description_field()
    keywords = forms.CharField(
        label="Keywords (optional)", required=False, max_length=MAX_KEYWORDS,
        help_text="Words, separated by commas, that help workers find it. They cannot change later.",
        error_messages={"max_length": f"The keywords must be at most {MAX_KEYWORDS} characters."},
    )
    status = _status_field()
    granting = forms.ChoiceField(label="How workers get it", choices=GRANTING_CHOICES, initial="requests",
                                 widget=forms.RadioSelect)
    auto_value = value_field("Value granted at once", initial=1)
    test = forms.CharField(
        label="Test (QuestionForm XML)", required=False, widget=forms.Textarea(attrs={"rows": 10, "spellcheck": "false"}),
        help_text="The questions workers answer, as a QuestionForm document.",
    )
    answer_key = forms.CharField(
        label="Answer key (AnswerKey XML, optional)", required=False,
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false"}),
        help_text="With an answer key, answers are scored at once and the score granted as the value. Without one, "
                  "you read each worker's answers and decide.",
    )
    test_duration = _amount("Time allowed for the test", minimum=1)
    test_duration_unit = _unit("Unit of the time allowed", "minutes")
    field_order = ["name", "description", "keywords", "status", "granting", "auto_value", "test", "answer_key",
                   "test_duration", "test_duration_unit", "retries", "retry_delay", "retry_delay_unit"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["auto_value"].required = False

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        self.clean_retry(data)
        granting = data.get("granting")
        if granting == "auto" and data.get("auto_value") is None and "auto_value" not in self.errors:
            self.add_error("auto_value", "Give the value workers get.")
        if granting == "test":
            self._clean_test(data)
        return data

    def _clean_test(self, data: dict[str, Any]) -> None:
        test = (data.get("test") or "").strip()
        if not test:
            self.add_error("test", "Paste the test, a QuestionForm document.")
            return
        form: QuestionForm | None = None
        try:
            form = parse_test(test)
        except KempelenError as problem:
            self.add_error("test", f"The test is not a valid QuestionForm: {problem.message}")
        key = (data.get("answer_key") or "").strip()
        if key and form is not None:
            try:
                parse_answer_key(key, form=form)
            except KempelenError as problem:
                self.add_error("answer_key", f"The answer key is not valid for this test: {problem.message}")
        amount = data.get("test_duration")
        if amount is None:
            if "test_duration" not in self.errors:
                self.add_error("test_duration", "Give the time workers have to answer the test.")
            return
        seconds = amount * _SECONDS[data.get("test_duration_unit") or "minutes"]
        if seconds > MAX_TEST_DURATION:
            self.add_error("test_duration", "The time allowed can be at most a year (365 days).")
        data["test_duration_seconds"] = seconds


class QualificationTypeEditForm(_RetryMixin):
    description = _description_field()
    status = _status_field()
    field_order = ["description", "status", "retries", "retry_delay", "retry_delay_unit"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        self.clean_retry(data)
        return data


def worker_id_field() -> forms.CharField:
    return forms.CharField(
        label="Worker ID", max_length=64,
        error_messages={"required": "Give the worker's ID."},
        widget=forms.TextInput(attrs={"autocapitalize": "characters", "autocomplete": "off", "spellcheck": "false"}),
    )


class GrantForm(forms.Form):
    worker_id = worker_id_field()
    value = value_field()
    notify = forms.BooleanField(label="Email the worker about it", required=False, initial=True)

    def clean_worker_id(self) -> str:
        worker_id = "".join(self.cleaned_data["worker_id"].split()).upper()
        if not WORKER_ID.match(worker_id):
            raise forms.ValidationError("This is not a Worker ID; Worker IDs look like A1B2C3D4E5F6G7.")
        return worker_id


class RevokeGrantForm(forms.Form):
    worker_id = forms.CharField(widget=forms.HiddenInput, max_length=64)
    reason = reason_field("Reason (optional)", required=False, help_text="Emailed to the worker.")


class AcceptRequestForm(forms.Form):
    value = value_field("Value to grant")


class RejectRequestForm(forms.Form):
    reason = reason_field("Reason (optional)", required=False, help_text="Emailed to the worker.")
