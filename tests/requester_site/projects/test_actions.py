"""Project actions: the API's rules for HIT properties, tenancy, atomicity and the audit trail."""

import dataclasses

import pytest

from kempelen.core.actors import Actor
from kempelen.core.errors import HITLayoutDoesNotExist, InvalidParameter
from kempelen.core.models import AuditEvent
from kempelen.marketplace import actions
from kempelen.marketplace.models import HITLayout
from kempelen.qualifications import system
from tests.conftest import make_requester
from tests.requester_site.projects.conftest import PROPERTIES, make_project
from tests.requester_site.templates_kit import CHECKBOXES, CLASSIC

pytestmark = pytest.mark.django_db(transaction=True)

APPROVAL_95 = {"QualificationTypeId": system.PERCENT_APPROVED, "Comparator": "GreaterThanOrEqualTo",
               "IntegerValues": [95], "ActionsGuarded": "DiscoverPreviewAndAccept"}


def _actor(requester):
    return Actor.for_requester(requester)


def test_create_stores_the_properties_the_layout_and_the_sample_of_its_own_variables():
    requester = make_requester().requester
    props = dataclasses.replace(PROPERTIES, qualification_requirements=[APPROVAL_95])
    project = make_project(requester, properties=props, frame_height=450,
                           sample_row={"product": "Kettle", "review_text": "Fine", "unused": "dropped"})
    stored = HITLayout.objects.get(pk=project.pk)
    assert (stored.environment, stored.name, stored.html, stored.frame_height) == ("sandbox", "Reviews", CLASSIC.html, 450)
    assert (stored.title, stored.reward_cents, stored.max_assignments, stored.assignment_duration) == (
        "Rate a review", 12, 3, 600)
    assert stored.qualification_requirements == [APPROVAL_95]
    assert stored.sample_row == {"product": "Kettle", "review_text": "Fine"}
    assert stored.archived_at is None and stored.updated_at is not None
    assert AuditEvent.objects.filter(action="create_project", target_id=project.pk, environment="sandbox").exists()


@pytest.mark.parametrize("change, message", [
    ({"title": ""}, "Title is required"),
    ({"title": "x" * 129}, "Title must be at most 128 characters"),
    ({"description": "d" * 2001}, "Description must be at most 2000 characters"),
    ({"keywords": "k" * 1001}, "Keywords must be at most 1000 characters"),
    ({"max_assignments": 0}, "Number of assignments per task must be between 1 and 1000000000"),
    ({"assignment_duration": 29}, "Time allotted per assignment must be between 30 seconds and 365 days"),
    ({"assignment_duration": 366 * 86400}, "got 366 days"),
    ({"lifetime": 10}, "Task lifetime must be between 30 seconds and 365 days"),
    ({"auto_approval_delay": 31 * 86400}, "Auto-approval delay must be between 0 seconds and 30 days"),
    ({"qualification_requirements": [dict(APPROVAL_95, IntegerValues=[1, 2])]}, "takes exactly one IntegerValue"),
    ({"qualification_requirements": [{"QualificationTypeId": "NOPE", "Comparator": "Exists"}]}, "does not exist"),
    ({"qualification_requirements": [{"Comparator": "Exists"}]}, "needs a QualificationTypeId"),
    ({"qualification_requirements": [APPROVAL_95] * 11}, "at most 10 QualificationRequirements"),
], ids=lambda value: value if isinstance(value, str) else next(iter(value)))
def test_properties_the_api_would_refuse_are_refused_and_nothing_is_created(change, message):
    requester = make_requester().requester
    with pytest.raises(InvalidParameter, match=message):
        make_project(requester, properties=dataclasses.replace(PROPERTIES, **change))
    assert not HITLayout.objects.exists()
    assert not AuditEvent.objects.filter(action="create_project").exists()


def test_the_minimum_reward_setting_applies_as_in_create_hit_type(settings):
    settings.KEMPELEN = {**settings.KEMPELEN, "MINIMUM_REWARD_CENTS": 5}
    requester = make_requester().requester
    with pytest.raises(InvalidParameter, match=r"Reward must be at least 0\.05"):
        make_project(requester, properties=dataclasses.replace(PROPERTIES, reward_cents=4))
    assert make_project(requester, properties=dataclasses.replace(PROPERTIES, reward_cents=5)).reward_cents == 5


def test_masters_of_the_other_environment_is_refused():
    requester = make_requester().requester
    live_masters = {"QualificationTypeId": system.MASTERS_LIVE, "Comparator": "Exists"}
    with pytest.raises(InvalidParameter, match="does not exist in the sandbox environment"):
        make_project(requester, "sandbox", properties=dataclasses.replace(
            PROPERTIES, qualification_requirements=[live_masters]))
    assert make_project(requester, "live", properties=dataclasses.replace(
        PROPERTIES, qualification_requirements=[live_masters])).qualification_requirements == [live_masters]


@pytest.mark.parametrize("html, frame_height, message", [
    ("   ", 0, "layout HTML is required"),
    ("<p>" + "x" * 70_000 + "</p>", 0, "at most 65,535 bytes"),
    ("<p>bell \x07</p>", 0, r"character U\+0007"),
    ("<p>ok</p>", -1, "FrameHeight"),
])
def test_layouts_create_hit_could_not_use_are_refused(html, frame_height, message):
    requester = make_requester().requester
    with pytest.raises(InvalidParameter, match=message):
        make_project(requester, html=html, frame_height=frame_height)
    assert not HITLayout.objects.exists()


def test_update_changes_only_what_is_given_and_keeps_samples_of_variables_still_used():
    requester = make_requester().requester
    project = make_project(requester, sample_row={"product": "Kettle", "review_text": "Fine"})
    actions.update_project(actor=_actor(requester), requester=requester, environment="sandbox",
                           project_id=project.pk, html="<p>${product} ${color}</p>")
    stored = HITLayout.objects.get(pk=project.pk)
    assert stored.html == "<p>${product} ${color}</p>" and stored.title == "Rate a review"
    assert stored.sample_row == {"product": "Kettle"}
    actions.update_project(actor=_actor(requester), requester=requester, environment="sandbox",
                           project_id=project.pk, name="Renamed",
                           properties=dataclasses.replace(PROPERTIES, reward_cents=99))
    stored.refresh_from_db()
    assert (stored.name, stored.reward_cents, stored.html) == ("Renamed", 99, "<p>${product} ${color}</p>")
    assert AuditEvent.objects.filter(action="update_project", target_id=project.pk).count() == 2


def test_a_refused_update_changes_nothing():
    requester = make_requester().requester
    project = make_project(requester)
    with pytest.raises(InvalidParameter):
        actions.update_project(actor=_actor(requester), requester=requester, environment="sandbox",
                               project_id=project.pk, name="New name",
                               properties=dataclasses.replace(PROPERTIES, title=""))
    stored = HITLayout.objects.get(pk=project.pk)
    assert (stored.name, stored.title) == ("Reviews", "Rate a review")
    assert not AuditEvent.objects.filter(action="update_project").exists()


def test_copy_is_a_new_active_project_with_everything_but_the_id_and_name():
    requester = make_requester().requester
    props = dataclasses.replace(PROPERTIES, qualification_requirements=[APPROVAL_95])
    source = make_project(requester, html=CHECKBOXES.html, properties=props, sample_row={"image_id": "7"})
    actions.archive_project(actor=_actor(requester), requester=requester, environment="sandbox", project_id=source.pk)
    copy = actions.copy_project(actor=_actor(requester), requester=requester, environment="sandbox",
                                project_id=source.pk)
    assert copy.pk != source.pk and copy.name == "Copy of Reviews" and copy.archived_at is None
    assert (copy.html, copy.sample_row, copy.qualification_requirements, copy.reward_cents) == (
        CHECKBOXES.html, {"image_id": "7"}, [APPROVAL_95], 12)
    assert AuditEvent.objects.get(action="copy_project").data["source_id"] == source.pk


def test_archive_and_unarchive_are_audited_and_repeating_one_changes_nothing():
    requester = make_requester().requester
    project = make_project(requester)
    for _ in range(2):
        actions.archive_project(actor=_actor(requester), requester=requester, environment="sandbox",
                                project_id=project.pk)
    project.refresh_from_db()
    assert project.archived_at is not None
    actions.unarchive_project(actor=_actor(requester), requester=requester, environment="sandbox",
                              project_id=project.pk)
    project.refresh_from_db()
    assert project.archived_at is None
    assert [e.action for e in AuditEvent.objects.filter(target_id=project.pk).order_by("pk")] == [
        "create_project", "archive_project", "unarchive_project"]


@pytest.mark.parametrize("action", ["update_project", "copy_project", "archive_project", "unarchive_project"])
def test_another_requesters_or_the_other_environments_project_does_not_exist(action):
    owner, other = make_requester().requester, make_requester().requester
    project = make_project(owner, "sandbox")
    extra = {"name": "Taken over"} if action == "update_project" else {}
    for requester, environment in ((other, "sandbox"), (owner, "live")):
        with pytest.raises(HITLayoutDoesNotExist):
            getattr(actions, action)(actor=_actor(requester), requester=requester, environment=environment,
                                     project_id=project.pk, **extra)
    assert HITLayout.objects.count() == 1
    assert HITLayout.objects.get().name == "Reviews"
