"""Forms of the batch pages: the CSV upload, the confirmation, and the changes to a published batch."""

from __future__ import annotations

from typing import Any

from django import forms

#: The largest batch file accepted (bytes).
MAX_FILE_BYTES = 200 * 1024 * 1024


class UploadForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="UTF-8, comma-separated, with a header row naming the template's variables; one row per task.",
        error_messages={"required": "Choose a CSV file to upload."},
        allow_empty_file=True,  # the file reader says what an empty file lacks
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )

    def clean_file(self) -> Any:
        uploaded = self.cleaned_data["file"]
        if uploaded.size > MAX_FILE_BYTES:
            raise forms.ValidationError(
                f"The file is {uploaded.size / 1e6:,.0f} MB; batch files may be at most {MAX_FILE_BYTES // 1_000_000} MB. "
                "Split it into several batches."
            )
        return uploaded


class ConfirmForm(forms.Form):
    name = forms.CharField(
        label="Batch name", max_length=200, help_text="For your own lists; workers do not see it.",
        error_messages={"required": "Give the batch a name.",
                        "max_length": "The name may be at most 200 characters."},
    )


class AddAssignmentsForm(forms.Form):
    count = forms.IntegerField(
        label="Assignments to add to every task", min_value=1, max_value=1_000_000, initial=1,
        error_messages={"required": "Say how many assignments to add.", "invalid": "Enter a whole number.",
                        "min_value": "Add at least 1 assignment.",
                        "max_value": "Add at most 1,000,000 assignments at a time."},
    )


class ExtendForm(forms.Form):
    UNITS = {"hours": 3600, "days": 86400}
    amount = forms.IntegerField(
        label="Extend the tasks' lifetime by", min_value=1, max_value=365 * 24, initial=1,
        error_messages={"required": "Say how long to extend the batch by.", "invalid": "Enter a whole number.",
                        "min_value": "Extend by at least 1 hour.", "max_value": "That is longer than a year."},
    )
    unit = forms.ChoiceField(label="Unit", choices=[("days", "days"), ("hours", "hours")], initial="days")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if "amount" in data and "unit" in data:
            data["seconds"] = data["amount"] * self.UNITS[data["unit"]]
            if data["seconds"] > 365 * 86400:
                raise forms.ValidationError("Tasks can live at most 365 days; choose a shorter extension.")
        return data
