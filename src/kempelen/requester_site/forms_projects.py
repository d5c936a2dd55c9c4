"""Forms of the project pages: a project's name and HIT properties, and its layout with a sample row.

Amounts are entered in dollars ("0.50") and times as a number with a unit; the forms turn them into cents and
seconds. Limits are checked with the project actions' own rules (``layouts.property_problems``, which are the
API's), so a page marks the same problems CreateHITType and CreateHIT would refuse.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings

from kempelen.core.errors import KempelenError
from kempelen.core.money import format_cents, parse_amount
from kempelen.marketplace.actions.layouts import (
    MAX_NAME,
    ProjectProperties,
    check_layout,
    check_sample_row,
    property_problems,
)
from kempelen.questions.layouts import layout_variables

UNITS = (("seconds", 1), ("minutes", 60), ("hours", 3600), ("days", 86400))
UNIT_SECONDS = dict(UNITS)
#: The sample row's inputs are named ``sample-<variable>``.
SAMPLE_PREFIX = "sample-"


def split_seconds(seconds: int) -> tuple[int, str]:
    """3600 → (1, "hours"); 90 → (90, "seconds"): the largest unit that holds the time exactly."""
    for unit, size in reversed(UNITS):
        if seconds and seconds % size == 0:
            return seconds // size, unit
    return seconds, "seconds"


class DurationWidget(forms.MultiWidget):
    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__([
            forms.NumberInput(attrs={"min": 0, "inputmode": "numeric", "class": "duration-amount"}),
            forms.Select(choices=[(unit, unit) for unit, _ in UNITS], attrs={"class": "duration-unit"}),
        ], attrs)

    def decompress(self, value: Any) -> list[Any]:
        if value in (None, ""):
            return [None, "hours"]
        amount, unit = split_seconds(int(value))
        return [amount, unit]


class DurationField(forms.MultiValueField):
    """A time entered as a whole number and a unit (seconds, minutes, hours, days), cleaned to seconds."""

    widget = DurationWidget

    def __init__(self, **kwargs: Any) -> None:
        fields = (
            forms.IntegerField(min_value=0, max_value=10**9,
                               error_messages={"invalid": "Enter a whole number.",
                                               "min_value": "Enter 0 or more.",
                                               "max_value": "That is far too long."}),
            forms.ChoiceField(choices=[(unit, unit) for unit, _ in UNITS]),
        )
        super().__init__(fields, require_all_fields=True, **kwargs)

    def compress(self, data_list: list[Any]) -> int | None:
        if not data_list:
            return None
        amount, unit = data_list
        return int(amount) * UNIT_SECONDS[unit]


class PropertiesForm(forms.Form):
    """A project's name and the HIT properties every batch published from it uses."""

    name = forms.CharField(label="Project name", max_length=MAX_NAME,
                           help_text="For your own list; workers do not see it.")
    title = forms.CharField(label="Title", max_length=128,
                            help_text="What workers see in the list of HITs: describe the task in a few words.")
    description = forms.CharField(label="Description", max_length=2000,
                                  widget=forms.Textarea(attrs={"rows": 3}),
                                  help_text="More detail, shown to workers before they accept.")
    keywords = forms.CharField(label="Keywords", max_length=1000, required=False,
                               help_text="Words workers may search for, separated by commas.")
    reward = forms.CharField(label="Reward per assignment (US dollars)", max_length=16,
                             help_text="What a worker earns for each approved assignment, such as 0.50.",
                             widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}))
    max_assignments = forms.IntegerField(label="Number of assignments per task", min_value=1,
                                         max_value=1_000_000_000, widget=forms.NumberInput(attrs={"min": 1}))
    assignment_duration = DurationField(
        label="Time allotted per assignment",
        help_text="How long a worker has to finish once they accept: 30 seconds to 365 days.")
    lifetime = DurationField(
        label="Task lifetime",
        help_text="How long the HITs stay available to workers after publishing: 30 seconds to 365 days.")
    auto_approval_delay = DurationField(
        label="Auto-approve and pay workers after",
        help_text="Submitted work you have not reviewed by then is approved and paid: 0 seconds to 30 days.")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        surcharge = settings.KEMPELEN["LARGE_HIT_SURCHARGE_PERCENT"]
        self.fields["max_assignments"].help_text = (
            f"How many different workers do each task. Ten or more add a {surcharge:g}% surcharge to the fee.")
        for name in ("assignment_duration", "lifetime", "auto_approval_delay"):
            field = self.fields[name]
            unit = field.widget.widgets[1]  # type: ignore[attr-defined]
            unit.attrs["aria-label"] = f"{field.label}: unit"

    @classmethod
    def initial_for(cls, name: str, props: ProjectProperties) -> dict[str, Any]:
        return {
            "name": name, "title": props.title, "description": props.description, "keywords": props.keywords,
            "reward": format_cents(props.reward_cents), "max_assignments": props.max_assignments,
            "assignment_duration": props.assignment_duration, "lifetime": props.lifetime,
            "auto_approval_delay": props.auto_approval_delay,
        }

    def clean_reward(self) -> int:
        text = self.cleaned_data["reward"].strip().lstrip("$").strip()
        try:
            return parse_amount(text, field="The reward")
        except KempelenError as error:
            raise forms.ValidationError(error.message) from error

    def properties(self, requirements: list[dict]) -> ProjectProperties:
        data = self.cleaned_data
        return ProjectProperties(
            title=data["title"], description=data["description"], keywords=data["keywords"],
            reward_cents=data["reward"], max_assignments=data["max_assignments"],
            assignment_duration=data["assignment_duration"], lifetime=data["lifetime"],
            auto_approval_delay=data["auto_approval_delay"], qualification_requirements=requirements,
        )

    def check_rules(self, props: ProjectProperties, environment: str) -> str | None:
        """Mark every field the API's rules refuse; return the requirements' problem, which has no field here."""
        problems = property_problems(props, environment)
        for key, message in problems.items():
            if key == "qualification_requirements":
                continue
            self.add_error("reward" if key == "reward_cents" else key, message)
        return problems.get("qualification_requirements")


class LayoutForm(forms.Form):
    """The layout's HTML, its frame height, and a sample value for each of its variables."""

    html = forms.CharField(
        label="Layout HTML", strip=False,
        help_text="Write ${name} where a value from a CSV row goes; values are HTML-escaped when substituted.",
        widget=forms.Textarea(attrs={"rows": 22, "spellcheck": "false", "autocapitalize": "off",
                                     "autocomplete": "off", "class": "code"}),
        error_messages={"required": "The layout HTML is required and must not be empty."},
    )
    frame_height = forms.IntegerField(
        label="Frame height (pixels)", min_value=0, max_value=2**31 - 1, initial=0,
        help_text="The height of the task frame workers see; 0 lets it fill the window.",
        widget=forms.NumberInput(attrs={"min": 0, "inputmode": "numeric"}),
    )

    def __init__(self, *args: Any, sample_row: dict[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        html = self.data.get("html") if self.is_bound else self.initial.get("html")
        self.variables = layout_variables(html or "")
        stored = sample_row or {}
        for name in self.variables:
            self.fields[SAMPLE_PREFIX + name] = forms.CharField(
                label=name, required=False, strip=False, initial=stored.get(name, ""),
                widget=forms.TextInput(attrs={"autocomplete": "off", "data-variable": name}),
            )

    def sample_fields(self) -> list[forms.BoundField]:
        return [self[SAMPLE_PREFIX + name] for name in self.variables]

    def clean(self) -> dict[str, Any]:
        data = self.cleaned_data
        if "html" in data and "frame_height" in data:
            try:
                check_layout(data["html"], data["frame_height"])
                check_sample_row(self.sample_row(), data["html"])
            except KempelenError as error:
                self.add_error("html", error.message)
        return data

    def sample_row(self) -> dict[str, str]:
        return {name: self.cleaned_data.get(SAMPLE_PREFIX + name) or "" for name in self.variables}
