"""The qualification requirements editor of a project's properties page.

Common requirements have their own fields (approval rate, number of approved HITs, location, Masters, adult
content); any other requirement — one of the requester's own qualification types, or another system type — is
a row of type, comparator and values. Every requirement has a visibility (``ActionsGuarded``). The editor
produces requirements in the API's JSON shape, checked against botocore's model and with the API's own
``validate_requirements``, so batches hand them to CreateHITType unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from kempelen.accounts import countries
from kempelen.accounts.models import Requester
from kempelen.core.errors import KempelenError
from kempelen.mturk_api.validation import validate_input
from kempelen.qualifications import system
from kempelen.qualifications.models import QualificationType
from kempelen.qualifications.requirements import MAX_REQUIREMENTS, validate_requirements

#: What workers who do not meet a requirement may still do (the help text calls them "others").
VISIBILITY_CHOICES = [
    ("Accept", "Others can find and preview, not accept"),
    ("PreviewAndAccept", "Others can find, not preview or accept"),
    ("DiscoverPreviewAndAccept", "Hidden from others"),
]
COMPARATOR_CHOICES = [
    ("GreaterThanOrEqualTo", "is at least"),
    ("GreaterThan", "is more than"),
    ("LessThanOrEqualTo", "is at most"),
    ("LessThan", "is less than"),
    ("EqualTo", "is equal to"),
    ("NotEqualTo", "is not equal to"),
    ("In", "is one of"),
    ("NotIn", "is none of"),
    ("Exists", "has been granted (any value)"),
    ("DoesNotExist", "has not been granted"),
]
LOCATION_CHOICES = [("", "Anywhere"), ("in", "Only in"), ("not_in", "Not in")]
_LOCALE = re.compile(r"^([A-Za-z]{2})(?:-([A-Za-z0-9]{2}))?$")
_ROW_PREFIX = "QualificationRequirement 1 ("
EMPTY_ROWS = 2


def _visibility_field(label: str) -> forms.ChoiceField:
    return forms.ChoiceField(label=label, choices=VISIBILITY_CHOICES, initial="Accept", required=False)


def _guard(req: Mapping[str, Any]) -> str:
    if req.get("ActionsGuarded"):
        return str(req["ActionsGuarded"])
    return "PreviewAndAccept" if req.get("RequiredToPreview") else "Accept"


def parse_locales(text: str) -> list[dict[str, str]]:
    """``"US, CA, US-NY"`` → ``[{"Country": "US"}, {"Country": "CA"}, {"Country": "US", "Subdivision": "NY"}]``."""
    locales: list[dict[str, str]] = []
    for token in re.split(r"[\s,;]+", text.strip()):
        if not token:
            continue
        match = _LOCALE.match(token)
        if not match or not countries.is_country(match.group(1)):
            raise ValidationError(
                f"{token!r} is not a country code. Use two-letter ISO codes such as US or DE, optionally with a "
                "region such as US-NY."
            )
        locale = {"Country": match.group(1).upper()}
        if match.group(2):
            locale["Subdivision"] = match.group(2).upper()
        if locale not in locales:
            locales.append(locale)
    return locales


def format_locales(locales: Sequence[Mapping[str, str]]) -> str:
    return ", ".join(f"{loc['Country']}-{loc['Subdivision']}" if loc.get("Subdivision") else loc["Country"]
                     for loc in locales)


def parse_integers(text: str) -> list[int]:
    values: list[int] = []
    for token in re.split(r"[\s,;]+", text.strip()):
        if not token:
            continue
        if not re.fullmatch(r"-?[0-9]{1,10}", token) or not -(2**31) <= int(token) < 2**31:
            raise ValidationError(f"{token!r} is not a whole number.")
        values.append(int(token))
    return values


class CommonRequirementsForm(forms.Form):
    """The requirements most projects use, each empty (not required) by default."""

    approval_rate = forms.IntegerField(
        label="Approval rate at least (%)", required=False, min_value=0, max_value=100,
        help_text="Share of a worker's submitted assignments that were approved. Workers with fewer than "
                  f"{system.PERCENT_APPROVED_MIN_SUBMITTED} submitted assignments count as 100%. Empty: no "
                  "requirement.",
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    approval_rate_visibility = _visibility_field("Visibility of the approval-rate requirement")
    approved_hits = forms.IntegerField(
        label="Number of approved HITs at least", required=False, min_value=0, max_value=2**31 - 1,
        help_text="Empty: no requirement.", widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    approved_hits_visibility = _visibility_field("Visibility of the approved-HITs requirement")
    location = forms.ChoiceField(label="Location", choices=LOCATION_CHOICES, required=False)
    location_values = forms.CharField(
        label="Countries and regions", required=False, max_length=400,
        help_text="Two-letter country codes, separated by commas, such as US, CA, GB; add a region after a "
                  "hyphen, such as US-NY. At most 30.",
        widget=forms.TextInput(attrs={"autocapitalize": "characters", "autocomplete": "off",
                                      "spellcheck": "false"}),
    )
    location_visibility = _visibility_field("Visibility of the location requirement")
    masters = forms.BooleanField(label="Masters workers only (adds the Masters fee)", required=False)
    masters_visibility = _visibility_field("Visibility of the Masters requirement")
    adult = forms.BooleanField(
        label="Adult content: only workers who agreed to see potentially offensive content", required=False)
    adult_visibility = _visibility_field("Visibility of the adult-content requirement")

    def clean(self) -> dict[str, Any]:
        data = self.cleaned_data
        mode, text = data.get("location") or "", data.get("location_values") or ""
        try:
            locales = parse_locales(text)
        except ValidationError as error:
            self.add_error("location_values", error)
            return data
        if mode and not locales:
            self.add_error("location_values", "Enter at least one country code.")
        elif locales and not mode:
            self.add_error("location", "Choose “Only in” or “Not in” for the countries you entered.")
        data["locales"] = locales
        return data

    def requirements(self, environment: str) -> list[dict]:
        data = self.cleaned_data
        out: list[dict] = []
        if data.get("approval_rate") is not None:
            out.append({"QualificationTypeId": system.PERCENT_APPROVED, "Comparator": "GreaterThanOrEqualTo",
                        "IntegerValues": [data["approval_rate"]],
                        "ActionsGuarded": data.get("approval_rate_visibility") or "Accept"})
        if data.get("approved_hits") is not None:
            out.append({"QualificationTypeId": system.NUMBER_HITS_APPROVED, "Comparator": "GreaterThanOrEqualTo",
                        "IntegerValues": [data["approved_hits"]],
                        "ActionsGuarded": data.get("approved_hits_visibility") or "Accept"})
        locales = data.get("locales") or []
        if data.get("location") and locales:
            inside = data["location"] == "in"
            comparator = ("EqualTo" if inside else "NotEqualTo") if len(locales) == 1 else ("In" if inside else "NotIn")
            out.append({"QualificationTypeId": system.LOCALE, "Comparator": comparator, "LocaleValues": locales,
                        "ActionsGuarded": data.get("location_visibility") or "Accept"})
        if data.get("masters"):
            out.append({"QualificationTypeId": system.masters_id(environment), "Comparator": "Exists",
                        "ActionsGuarded": data.get("masters_visibility") or "Accept"})
        if data.get("adult"):
            out.append({"QualificationTypeId": system.ADULT, "Comparator": "EqualTo", "IntegerValues": [1],
                        "ActionsGuarded": data.get("adult_visibility") or "Accept"})
        return out


class RequirementRowForm(forms.Form):
    """One other requirement: a qualification type, a comparator, its values and who sees the HITs."""

    qualification_type = forms.ChoiceField(label="Qualification type", required=False)
    comparator = forms.ChoiceField(label="Comparison", choices=COMPARATOR_CHOICES, required=False)
    values = forms.CharField(label="Values", required=False, max_length=400,
                             help_text="Whole numbers separated by commas (none for “has been granted”).")
    visibility = _visibility_field("Visibility")

    def __init__(self, *args: Any, type_choices: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["qualification_type"].choices = type_choices  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = self.cleaned_data
        if not data.get("qualification_type"):
            data["requirement"] = None
            return data
        comparator = data.get("comparator") or "Exists"
        try:
            ints = parse_integers(data.get("values") or "")
        except ValidationError as error:
            self.add_error("values", error)
            return data
        requirement: dict[str, Any] = {"QualificationTypeId": data["qualification_type"], "Comparator": comparator}
        if ints:
            requirement["IntegerValues"] = ints
        requirement["ActionsGuarded"] = data.get("visibility") or "Accept"
        data["requirement"] = requirement
        return data


def type_choices(requester: Requester, environment: str, extra_ids: Sequence[str] = ()) -> list[Any]:
    """The row editor's types: the requester's active types in this environment, then the system types other
    than Locale (which has its own field). Types already used by the project stay selectable."""
    own = list(QualificationType.objects.filter(requester=requester, environment=environment, status="Active",
                                                deleted_at__isnull=True).order_by("name").values_list("id", "name"))
    known = {type_id for type_id, _ in own} | {t.id for t in system.for_environment(environment)}
    others = [(type_id, f"{type_id} (not one of your active types)") for type_id in extra_ids
              if type_id not in known]
    system_types = [(t.id, t.name) for t in system.for_environment(environment) if t.id != system.LOCALE]
    choices: list[Any] = [("", "Choose a qualification type")]
    if own or others:
        choices.append(("Your qualification types", [*own, *others]))
    choices.append(("System qualification types", system_types))
    return choices


class RequirementsEditor:
    """The common-requirements form plus a formset of other requirement rows, read and written together."""

    prefix = "req"
    rows_prefix = "qual"

    def __init__(self, requester: Requester, environment: str, data: Mapping[str, Any] | None = None, *,
                 initial: Sequence[Mapping[str, Any]] | None = None) -> None:
        self.environment = environment
        common_initial, rows_initial = split_requirements(initial or [], environment)
        choices = type_choices(requester, environment, [r["qualification_type"] for r in rows_initial])
        # Two empty rows after the project's own: enough to add requirements without JavaScript; saving adds
        # two more.
        RowFormSet = forms.formset_factory(RequirementRowForm, extra=EMPTY_ROWS, max_num=MAX_REQUIREMENTS,
                                           absolute_max=MAX_REQUIREMENTS + EMPTY_ROWS)
        self.common = CommonRequirementsForm(data, initial=common_initial, prefix=self.prefix)
        self.rows = RowFormSet(data, initial=rows_initial or None, prefix=self.rows_prefix,
                               form_kwargs={"type_choices": choices})
        self.errors: list[str] = []
        self._requirements: list[dict] | None = None

    def is_valid(self) -> bool:
        if not (self.common.is_valid() and self.rows.is_valid()):
            return False
        requirements = self.common.requirements(self.environment)
        for row in self.rows:
            requirement = row.cleaned_data.get("requirement")
            if requirement is None:
                continue
            message = _refusal([requirement], self.environment)
            if message:
                row.add_error(None, message.split("): ", 1)[1] if message.startswith(_ROW_PREFIX) else message)
                continue
            requirements.append(requirement)
        if any(row.errors for row in self.rows):
            return False
        message = _refusal(requirements, self.environment)
        if message:
            self.errors.append(message)
            return False
        self._requirements = requirements
        return True

    @property
    def requirements(self) -> list[dict]:
        assert self._requirements is not None, "call is_valid() first"
        return self._requirements


def _refusal(requirements: list[dict], environment: str) -> str | None:
    """Why the API would refuse these requirements (its model, then its rules), or None."""
    try:
        validate_input("CreateHITType", {"Title": "t", "Description": "d", "Reward": "0.00",
                                         "AssignmentDurationInSeconds": 30,
                                         "QualificationRequirements": requirements})
        validate_requirements(requirements, environment)
    except KempelenError as error:
        return error.message
    return None


def split_requirements(requirements: Sequence[Mapping[str, Any]], environment: str) -> tuple[dict, list[dict]]:
    """Stored requirements as the editor's initial data: common fields, and rows for everything else."""
    common: dict[str, Any] = {}
    rows: list[dict[str, Any]] = []
    masters = system.masters_id(environment)
    for req in requirements:
        type_id, comparator = req.get("QualificationTypeId"), req.get("Comparator")
        ints, locales = req.get("IntegerValues") or [], req.get("LocaleValues") or []
        guard = _guard(req)
        if (type_id == system.PERCENT_APPROVED and comparator == "GreaterThanOrEqualTo" and len(ints) == 1
                and "approval_rate" not in common):
            common.update(approval_rate=ints[0], approval_rate_visibility=guard)
        elif (type_id == system.NUMBER_HITS_APPROVED and comparator == "GreaterThanOrEqualTo" and len(ints) == 1
              and "approved_hits" not in common):
            common.update(approved_hits=ints[0], approved_hits_visibility=guard)
        elif type_id == system.LOCALE and locales and "location" not in common:
            common.update(location="in" if comparator in ("EqualTo", "In") else "not_in",
                          location_values=format_locales(locales), location_visibility=guard)
        elif type_id == masters and comparator == "Exists" and "masters" not in common:
            common.update(masters=True, masters_visibility=guard)
        elif type_id == system.ADULT and comparator == "EqualTo" and ints == [1] and "adult" not in common:
            common.update(adult=True, adult_visibility=guard)
        else:
            rows.append({"qualification_type": type_id, "comparator": comparator,
                         "values": ", ".join(str(v) for v in ints), "visibility": guard})
    return common, rows
