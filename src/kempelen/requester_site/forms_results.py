"""Forms of the results pages: filtering, reviewing (one, selected, all in a filter), bonuses, uploads."""

from __future__ import annotations

import datetime as dt
import secrets

from django import forms

from kempelen.core.errors import InvalidParameter
from kempelen.core.ids import ENTITY_ID, WORKER_ID
from kempelen.core.money import parse_amount
from kempelen.core.text import check_text

from .queries_results import STATUS_FILTERS
from .uploads import MAX_BYTES

FEEDBACK_HELP = ("Sent with whichever review button you press, here or in the table; the worker sees it. Required "
                 "to reject, optional when approving. At most 1,024 characters.")


def _feedback(value: str) -> str:
    return value.replace("\r\n", "\n").replace("\r", "\n").strip()


class FilterForm(forms.Form):
    status = forms.ChoiceField(
        choices=[("", "All")] + [(s, s) for s in STATUS_FILTERS], required=False, label="Status"
    )
    worker = forms.CharField(required=False, max_length=64, label="Worker ID")

    def clean_worker(self) -> str:
        worker = self.cleaned_data["worker"].strip()
        if worker and not WORKER_ID.match(worker):
            raise forms.ValidationError("A worker ID is an A followed by capital letters and digits, like A1B2C3D4E5.")
        return worker

    def filters(self) -> tuple[str, str]:
        """(status, worker ID); an invalid filter shows everything (and the form says why)."""
        if not self.is_valid():
            status = self.data.get("status", "")
            return (status if status in STATUS_FILTERS else ""), ""
        return self.cleaned_data["status"], self.cleaned_data["worker"]


class ReviewForm(forms.Form):
    """The review controls: ``do`` is approve-selected, reject-selected, approve-all, reject-all, or
    ``approve:<AssignmentId>`` / ``reject:<AssignmentId>`` for one assignment."""

    do = forms.CharField(max_length=80)
    feedback = forms.CharField(required=False, strip=False, widget=forms.Textarea(attrs={"rows": 3}),
                               label="Feedback for the worker", help_text=FEEDBACK_HELP)
    status = forms.ChoiceField(choices=[("", "All")] + [(s, s) for s in STATUS_FILTERS], required=False)
    worker = forms.CharField(required=False, max_length=64)
    as_of = forms.CharField(required=False, max_length=40)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.verb = ""
        self.scope = ""
        self.one = ""
        self.selected: list[str] = []

    def clean_do(self) -> str:
        do = self.cleaned_data["do"]
        verb, _, rest = do.partition(":") if ":" in do else do.partition("-")
        if verb not in ("approve", "reject"):
            raise forms.ValidationError("Choose approve or reject.")
        if ":" in do:
            if not ENTITY_ID.match(rest):
                raise forms.ValidationError("That is not an assignment ID.")
            self.scope, self.one = "one", rest
        elif rest in ("selected", "all"):
            self.scope = rest
        else:
            raise forms.ValidationError("Choose what to review.")
        self.verb = verb
        return do

    def clean_feedback(self) -> str:
        return _feedback(self.cleaned_data.get("feedback") or "")

    def clean_worker(self) -> str:
        worker = (self.cleaned_data.get("worker") or "").strip()
        return worker if WORKER_ID.match(worker) else ""

    def clean(self) -> dict:
        cleaned = super().clean() or {}
        if self.verb:
            rejecting = self.verb == "reject"
            label = "The reason for rejecting" if rejecting else "The feedback"
            try:
                check_text(cleaned.get("feedback", ""), label, max_length=1024, required=rejecting)
            except InvalidParameter as error:
                message = error.message
                if rejecting and "required" in message:
                    message = "Give a reason for rejecting: the worker sees it."
                self.add_error("feedback", message)
        if self.scope == "selected":
            getlist = getattr(self.data, "getlist", None)
            chosen = getlist("assignment") if callable(getlist) else []
            self.selected = list(dict.fromkeys(a for a in chosen if ENTITY_ID.match(a)))
            if not self.selected:
                self.add_error(None, "Select at least one assignment (tick its box) first.")
        return cleaned

    def as_of_time(self, now: dt.datetime) -> dt.datetime:
        try:
            value = dt.datetime.fromisoformat(self.cleaned_data.get("as_of") or "")
        except ValueError:
            return now
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return min(value, now)


class BonusForm(forms.Form):
    amount = forms.CharField(max_length=20, label="Bonus amount in US dollars",
                             help_text="For example 0.50 or 2. A fee is charged on top (see your statement).")
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), label="Reason (the worker sees it)",
                             max_length=4096, strip=True)
    token = forms.CharField(widget=forms.HiddenInput, max_length=64)

    @staticmethod
    def new_token() -> str:
        return secrets.token_hex(16)

    def clean_amount(self) -> int:
        text = self.cleaned_data["amount"].strip().removeprefix("$").strip()
        try:
            cents = parse_amount(text, field="The bonus amount")
        except InvalidParameter as error:
            raise forms.ValidationError(error.message) from None
        if cents <= 0:
            raise forms.ValidationError("The bonus amount must be more than $0.00.")
        return cents

    def clean_reason(self) -> str:
        reason = _feedback(self.cleaned_data["reason"])
        try:
            return check_text(reason, "The reason", max_length=4096, required=True)
        except InvalidParameter as error:
            raise forms.ValidationError(error.message) from None


class UploadForm(forms.Form):
    file = forms.FileField(label="Results CSV with Approve or Reject filled in",
                           help_text="The file you downloaded from this page, edited and saved as CSV.")

    def clean_file(self) -> object:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_BYTES:
            raise forms.ValidationError(f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB.")
        return upload
