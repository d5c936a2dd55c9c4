"""Requester actions on projects (HIT layouts): create, update, copy, archive and unarchive.

A project holds an HTML layout with ``${name}`` placeholders and the HIT properties every batch published from
it uses. Those properties are checked with the rules CreateHITType and CreateHIT apply (the same text and
range checks, limits and requirement validation as ``hits.py``), so a batch can hand them to the API actions
unchanged; the layout is checked the way CreateHIT checks a layout's HTMLQuestion (well-formed for XML, at most
65,535 bytes once wrapped).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from kempelen.accounts.models import Requester
from kempelen.core import audit, clock, ids
from kempelen.core.actors import Actor
from kempelen.core.errors import HITLayoutDoesNotExist, InvalidParameter
from kempelen.core.text import check_range, check_text
from kempelen.qualifications.requirements import validate_requirements
from kempelen.questions.layouts import layout_as_html_question, layout_variables

from ..models import HITLayout
from .hits import (
    MAX_ASSIGNMENTS,
    MAX_DESCRIPTION,
    MAX_KEYWORDS,
    MAX_QUESTION_BYTES,
    MAX_SECONDS,
    MAX_TITLE,
    THIRTY_DAYS,
    check_reward,
)

#: Project names are for the requester's own list; the model's column holds 200 characters.
MAX_NAME = 200
#: CreateHIT's MaxAssignments range.
#: The sample row only feeds previews; this bounds what a project stores for it.
MAX_SAMPLE_CHARS = MAX_QUESTION_BYTES


@dataclass(frozen=True)
class ProjectProperties:
    """The HIT properties of a project (CreateHITType + CreateHIT fields), amounts in cents, times in seconds.

    ``qualification_requirements`` is in the API's JSON shape (``QualificationTypeId``, ``Comparator``,
    ``IntegerValues`` / ``LocaleValues``, ``ActionsGuarded``), so it goes to CreateHITType as stored.
    """

    title: str = ""
    description: str = ""
    keywords: str = ""
    reward_cents: int = 0
    max_assignments: int = 1
    assignment_duration: int = 3600
    lifetime: int = 3 * 86400
    auto_approval_delay: int = 3 * 86400
    qualification_requirements: list[dict] = field(default_factory=list)

    @classmethod
    def of(cls, project: HITLayout) -> ProjectProperties:
        return cls(**{f.name: getattr(project, f.name) for f in dataclasses.fields(cls)})


#: The property fields, in the order forms show them.
PROPERTY_FIELDS = tuple(f.name for f in dataclasses.fields(ProjectProperties))


def _words(seconds: int) -> str:
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"


def _seconds_in_range(value: int, label: str, low: int, high: int) -> None:
    """The API's range check, with the range told in days, hours and minutes rather than raw seconds."""
    try:
        check_range(value, label, low, high)
    except InvalidParameter as error:
        raise InvalidParameter(
            f"{label} must be between {_words(low)} and {_words(high)}; got {_words(value)}."
        ) from error


def _check_requirements(requirements: Any, environment: str) -> list[dict]:
    if not isinstance(requirements, list) or not all(isinstance(r, dict) for r in requirements):
        raise InvalidParameter("QualificationRequirements must be a list of requirements.")
    try:
        return validate_requirements(requirements, environment)
    except (KeyError, TypeError, AttributeError) as error:
        raise InvalidParameter(
            "Each QualificationRequirement needs a QualificationTypeId and a Comparator, with IntegerValues or "
            "LocaleValues in the API's shape."
        ) from error


def _property_rules(props: ProjectProperties, environment: str) -> Iterator[tuple[str, Callable[[], object]]]:
    """Each property with its check: CreateHITType's for the HIT type's fields, CreateHIT's for the others."""
    yield "title", lambda: check_text(props.title, "Title", max_length=MAX_TITLE, required=True)
    yield "description", lambda: check_text(props.description, "Description", max_length=MAX_DESCRIPTION,
                                            required=True)
    yield "keywords", lambda: check_text(props.keywords, "Keywords", max_length=MAX_KEYWORDS)
    yield "reward_cents", lambda: check_reward(props.reward_cents)
    yield "max_assignments", lambda: check_range(props.max_assignments, "Number of assignments per task", 1,
                                                 MAX_ASSIGNMENTS)
    yield "assignment_duration", lambda: _seconds_in_range(props.assignment_duration,
                                                           "Time allotted per assignment", 30, MAX_SECONDS)
    yield "lifetime", lambda: _seconds_in_range(props.lifetime, "Task lifetime", 30, MAX_SECONDS)
    yield "auto_approval_delay", lambda: _seconds_in_range(props.auto_approval_delay, "Auto-approval delay", 0,
                                                           THIRTY_DAYS)
    yield "qualification_requirements", lambda: _check_requirements(props.qualification_requirements, environment)


def property_problems(props: ProjectProperties, environment: str) -> dict[str, str]:
    """Every property that would be refused, with the reason (for forms that mark each field)."""
    problems: dict[str, str] = {}
    for name, check in _property_rules(props, environment):
        try:
            check()
        except InvalidParameter as error:
            problems[name] = error.message
    return problems


def check_properties(props: ProjectProperties, environment: str) -> ProjectProperties:
    """Refuse properties CreateHITType or CreateHIT would refuse; return them as they will be stored."""
    checked: dict[str, object] = {name: check() for name, check in _property_rules(props, environment)}
    requirements = checked["qualification_requirements"]
    assert isinstance(requirements, list)
    return dataclasses.replace(props, qualification_requirements=requirements)


def check_name(name: str) -> str:
    return check_text((name or "").strip(), "Project name", max_length=MAX_NAME, required=True)


def check_layout(html: str, frame_height: int) -> str:
    """The layout must be non-empty and, wrapped as CreateHIT wraps it, well-formed and within the size limit.

    Values substituted later add to the size, so a layout that only just fits leaves little room for them.
    """
    if not isinstance(html, str) or not html.strip():
        raise InvalidParameter("The layout HTML is required and must not be empty.")
    size = len(layout_as_html_question(html, frame_height).encode())
    if size > MAX_QUESTION_BYTES:
        raise InvalidParameter(
            f"The layout is {size:,} bytes once wrapped as an HTMLQuestion; a HIT's question may be at most "
            f"{MAX_QUESTION_BYTES:,} bytes, including the values substituted into it."
        )
    return html


def check_sample_row(sample_row: Mapping[str, Any] | None, html: str) -> dict[str, str]:
    """Example values for the layout's placeholders; values of names the layout does not use are dropped."""
    variables = layout_variables(html)
    row: dict[str, str] = {}
    for name, value in (sample_row or {}).items():
        if name not in variables:
            continue
        if not isinstance(value, str):
            raise InvalidParameter(f"The sample value of {name!r} must be text.")
        row[name] = value
    if sum(len(v) for v in row.values()) > MAX_SAMPLE_CHARS:
        raise InvalidParameter(f"The sample row may hold at most {MAX_SAMPLE_CHARS:,} characters in all.")
    return row


def get_project(requester: Requester, environment: str, project_id: str) -> HITLayout:
    """The requester's own project in this environment, or HITLayoutDoesNotExist."""
    project = HITLayout.objects.filter(pk=project_id, requester=requester, environment=environment).first()
    if project is None:
        raise HITLayoutDoesNotExist(project_id)
    return project


def _lock_project(requester: Requester, environment: str, project_id: str) -> HITLayout:
    project = (HITLayout.objects.select_for_update()
               .filter(pk=project_id, requester=requester, environment=environment).first())
    if project is None:
        raise HITLayoutDoesNotExist(project_id)
    return project


def create_project(
    *,
    actor: Actor,
    requester: Requester,
    environment: str,
    name: str,
    html: str,
    properties: ProjectProperties,
    frame_height: int = 0,
    sample_row: Mapping[str, Any] | None = None,
    source: str = "",
) -> HITLayout:
    """A new project; ``source`` says where its layout came from (a gallery template's slug, or "")."""
    name = check_name(name)
    html = check_layout(html, frame_height)
    row = check_sample_row(sample_row, html)
    now = clock.now()
    with transaction.atomic():
        props = check_properties(properties, environment)
        project = HITLayout.objects.create(
            id=ids.entity_id(), requester=requester, environment=environment, name=name, html=html,
            frame_height=frame_height, sample_row=row, created_at=now, updated_at=now,
            **dataclasses.asdict(props),
        )
        audit.record(actor, "create_project", environment=environment, target_type="HITLayout",
                     target_id=project.pk, name=name, source=source)
    return project


def update_project(
    *,
    actor: Actor,
    requester: Requester,
    environment: str,
    project_id: str,
    name: str | None = None,
    properties: ProjectProperties | None = None,
    html: str | None = None,
    frame_height: int | None = None,
    sample_row: Mapping[str, Any] | None = None,
) -> HITLayout:
    """Change a project's name and properties and/or its layout (and sample row). HITs already created from it
    keep the layout and values they were created with."""
    with transaction.atomic():
        project = _lock_project(requester, environment, project_id)
        changed: list[str] = []
        if name is not None:
            project.name = check_name(name)
            changed.append("name")
        if properties is not None:
            for key, value in dataclasses.asdict(check_properties(properties, environment)).items():
                setattr(project, key, value)
            changed.extend(PROPERTY_FIELDS)
        if html is not None or frame_height is not None:
            new_html = project.html if html is None else html
            new_height = project.frame_height if frame_height is None else frame_height
            project.html = check_layout(new_html, new_height)
            project.frame_height = new_height
            changed.extend(["html", "frame_height"])
        if sample_row is not None or "html" in changed:
            project.sample_row = check_sample_row(project.sample_row if sample_row is None else sample_row,
                                                  project.html)
            changed.append("sample_row")
        if not changed:
            return project
        project.updated_at = clock.now()
        project.save(update_fields=[*changed, "updated_at"])
        audit.record(actor, "update_project", environment=environment, target_type="HITLayout",
                     target_id=project.pk, fields=changed)
        return project


def copy_project(
    *, actor: Actor, requester: Requester, environment: str, project_id: str, name: str | None = None
) -> HITLayout:
    """A new, active project with the same layout, sample row and properties (named "Copy of …" by default)."""
    with transaction.atomic():
        source = _lock_project(requester, environment, project_id)
        new_name = check_name(name if name is not None else f"Copy of {source.name}"[:MAX_NAME])
        now = clock.now()
        copy = HITLayout.objects.create(
            id=ids.entity_id(), requester=requester, environment=environment, name=new_name, html=source.html,
            frame_height=source.frame_height, sample_row=dict(source.sample_row or {}), created_at=now,
            updated_at=now, **dataclasses.asdict(ProjectProperties.of(source)),
        )
        audit.record(actor, "copy_project", environment=environment, target_type="HITLayout", target_id=copy.pk,
                     source_id=source.pk, name=new_name)
    return copy


def _set_archived(actor: Actor, requester: Requester, environment: str, project_id: str, archived: bool) -> HITLayout:
    with transaction.atomic():
        project = _lock_project(requester, environment, project_id)
        if (project.archived_at is not None) == archived:
            return project  # already so: submitting the same button twice changes nothing
        project.archived_at = clock.now() if archived else None
        project.save(update_fields=["archived_at"])
        audit.record(actor, "archive_project" if archived else "unarchive_project", environment=environment,
                     target_type="HITLayout", target_id=project.pk)
        return project


def archive_project(*, actor: Actor, requester: Requester, environment: str, project_id: str) -> HITLayout:
    """Hide a project from the project list (its batches, HITs and API use are unaffected)."""
    return _set_archived(actor, requester, environment, project_id, True)


def unarchive_project(*, actor: Actor, requester: Requester, environment: str, project_id: str) -> HITLayout:
    return _set_archived(actor, requester, environment, project_id, False)
