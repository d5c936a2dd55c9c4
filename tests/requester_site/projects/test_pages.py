"""The project pages without a browser: who may see what, the list, creating, editing, copying, archiving."""

import html
import re

import pytest
from django.test import Client

from kempelen.core import clock
from kempelen.core.models import AuditEvent
from kempelen.marketplace.models import HITLayout
from kempelen.qualifications import system
from kempelen.qualifications.models import QualificationType
from kempelen.requester_site import gallery
from tests.conftest import make_requester, make_worker
from tests.requester_site.conftest import signed_in
from tests.requester_site.projects.conftest import make_project, properties_data

pytestmark = pytest.mark.django_db(transaction=True)

OBJECT_PAGES = ["", "/edit", "/layout", "/preview"]
OBJECT_ACTIONS = ["/copy", "/archive", "/unarchive"]


def _project_id(response) -> str:
    match = re.match(r"^/requester/projects/([A-Z0-9]+)(/layout)?$", response["Location"])
    assert match, response["Location"]
    return match.group(1)


def _qualification_type(requester, environment="sandbox", name="Good at reviews", status="Active"):
    return QualificationType.objects.create(
        id=f"QT{QualificationType.objects.count()}XYZ", requester=requester, environment=environment, name=name,
        description="d", status=status, created_at=clock.now())


# --- Who may see what -----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/requester/projects", "/requester/projects/new",
                                  "/requester/projects/new?template=sentiment",
                                  "/requester/projects/gallery/sentiment/preview"])
def test_anonymous_visitors_are_sent_to_sign_in(path):
    response = Client().get(path)
    assert response.status_code == 302 and response["Location"].startswith("/requester/login")


def test_anonymous_visitors_cannot_reach_a_project_or_act_on_it():
    project = make_project(make_requester().requester)
    for suffix in OBJECT_PAGES:
        response = Client().get(f"/requester/projects/{project.pk}{suffix}")
        assert response.status_code == 302 and response["Location"].startswith("/requester/login")
    for suffix in OBJECT_ACTIONS:
        response = Client().post(f"/requester/projects/{project.pk}{suffix}")
        assert response.status_code == 302 and response["Location"].startswith("/requester/login")
    assert HITLayout.objects.count() == 1 and HITLayout.objects.get().archived_at is None


def test_a_worker_account_is_told_the_site_is_for_requesters():
    project = make_project(make_requester().requester)
    browser = Client()
    browser.force_login(make_worker().user)
    for path in ["/requester/projects", "/requester/projects/new", f"/requester/projects/{project.pk}",
                 f"/requester/projects/{project.pk}/preview"]:
        response = browser.get(path)
        assert response.status_code == 403 and b"for requesters" in response.content
    assert browser.post(f"/requester/projects/{project.pk}/archive").status_code == 403
    assert HITLayout.objects.get().archived_at is None


@pytest.mark.parametrize("who", ["another requester", "the owner in the other environment"])
def test_another_requesters_or_the_other_environments_project_is_not_found(who):
    owner = make_requester().requester
    project = make_project(owner, "sandbox")
    browser = signed_in(make_requester().requester, "sandbox") if who == "another requester" else signed_in(owner, "live")
    for suffix in OBJECT_PAGES:
        assert browser.get(f"/requester/projects/{project.pk}{suffix}").status_code == 404
    for suffix in OBJECT_ACTIONS:
        assert browser.post(f"/requester/projects/{project.pk}{suffix}").status_code == 404
    response = browser.post(f"/requester/projects/{project.pk}/edit", properties_data(name="Taken"))
    assert response.status_code == 404
    response = browser.post(f"/requester/projects/{project.pk}/layout", {"html": "<p>x</p>", "frame_height": "0",
                                                                         "action": "save"})
    assert response.status_code == 404
    assert "Reviews" not in browser.get("/requester/projects").content.decode()
    stored = HITLayout.objects.get()
    assert (stored.name, stored.archived_at, HITLayout.objects.count()) == ("Reviews", None, 1)


# --- The list -------------------------------------------------------------------------------------------


def test_the_list_shows_this_environments_active_projects_and_archived_ones_behind_a_filter():
    requester = make_requester().requester
    active = make_project(requester, name="Active one")
    archived = make_project(requester, name="Old one")
    make_project(requester, "live", name="Live one")
    browser = signed_in(requester, "sandbox")
    browser.post(f"/requester/projects/{archived.pk}/archive", follow=True)
    page = browser.get("/requester/projects").content.decode()
    assert "Active one" in page and "Old one" not in page and "Live one" not in page
    assert "Active (1)" in page and "Archived (1)" in page
    assert f"/requester/projects/{active.pk}/batches/new" in page
    assert "$0.12" in page
    archived_page = browser.get("/requester/projects?archived=1").content.decode()
    assert "Old one" in archived_page and "Active one" not in archived_page
    assert "Live one" in signed_in(requester, "live").get("/requester/projects").content.decode()


def test_an_empty_list_says_how_to_start():
    page = signed_in(make_requester().requester).get("/requester/projects").content.decode()
    assert "No projects in the sandbox environment yet" in page and "/requester/projects/new" in page


# --- Creating -------------------------------------------------------------------------------------------


def test_the_new_project_page_offers_every_gallery_template_and_a_blank_page():
    page = signed_in(make_requester().requester).get("/requester/projects/new").content.decode()
    for template in gallery.TEMPLATES:
        assert template.name in page and f"?template={template.slug}" in page
        assert f"/requester/projects/gallery/{template.slug}/preview?assignmentId=ASSIGNMENT_ID_NOT_AVAILABLE" in page
    assert "?template=blank" in page
    assert page.count('sandbox="allow-scripts allow-forms"') == len(gallery.TEMPLATES)


def test_a_template_prefills_its_properties():
    page = signed_in(make_requester().requester).get("/requester/projects/new?template=sentiment").content.decode()
    assert 'value="Choose the sentiment of a sentence"' in page
    assert 'value="0.05"' in page and 'value="Sentiment of a sentence"' in page
    assert '<option value="minutes" selected>' in page


def test_an_unknown_template_is_not_found():
    assert signed_in(make_requester().requester).get("/requester/projects/new?template=nope").status_code == 404


def test_creating_from_a_template_stores_its_layout_sample_and_the_entered_properties():
    requester = make_requester().requester
    browser = signed_in(requester, "live")
    response = browser.post("/requester/projects/new", properties_data(template="image-category", reward="$0.07",
                                                                        **{"lifetime_0": "36", "lifetime_1": "hours"}))
    assert response.status_code == 302 and response["Location"].endswith("/layout")
    project = HITLayout.objects.get(pk=_project_id(response))
    template = gallery.get("image-category")
    assert (project.requester, project.environment, project.name) == (requester, "live", "Product reviews")
    assert project.html == template.html and project.sample_row == template.sample_row
    assert (project.reward_cents, project.max_assignments, project.assignment_duration, project.lifetime,
            project.auto_approval_delay) == (7, 3, 600, 36 * 3600, 3 * 86400)
    assert project.qualification_requirements == []
    assert AuditEvent.objects.get(action="create_project").data["source"] == "image-category"
    assert "created" in browser.get(response["Location"]).content.decode()


def test_creating_a_blank_project():
    browser = signed_in(make_requester().requester)
    response = browser.post("/requester/projects/new", properties_data(template="blank"))
    project = HITLayout.objects.get(pk=_project_id(response))
    assert project.html == gallery.BLANK.html and project.environment == "sandbox"


@pytest.mark.parametrize("field, value, message", [
    ("reward", "0.505", "at most two decimals"),
    ("reward", "free", "amount in US dollars"),
    ("title", "", "This field is required"),
    ("title", "t" * 129, "at most 128 characters"),
    ("max_assignments", "0", "greater than or equal to 1"),
    ("assignment_duration_1", "seconds", "Time allotted per assignment must be between 30 seconds and 365 days; got 10 seconds"),
    ("lifetime_0", "400", "Task lifetime must be between 30 seconds and 365 days; got 400 days"),
    ("auto_approval_delay_0", "31", "between 0 seconds and 30 days"),
    ("assignment_duration_1", "fortnights", "Select a valid choice"),
])
def test_bad_properties_get_a_clear_message_and_nothing_is_created(field, value, message):
    browser = signed_in(make_requester().requester)
    response = browser.post("/requester/projects/new", properties_data(template="sentiment", **{field: value}))
    page = response.content.decode()
    assert response.status_code == 200 and "There is a problem with what you entered" in page
    assert message in page.replace("&#x27;", "'").replace("&quot;", '"')
    assert not HITLayout.objects.exists()


# --- Qualification requirements --------------------------------------------------------------------------


def test_the_requirements_editor_stores_the_apis_shape():
    requester = make_requester().requester
    own = _qualification_type(requester)
    browser = signed_in(requester)
    response = browser.post("/requester/projects/new", properties_data(template="sentiment", **{
        "req-approval_rate": "95", "req-approval_rate_visibility": "DiscoverPreviewAndAccept",
        "req-approved_hits": "500",
        "req-location": "in", "req-location_values": "us, ca, US-NY", "req-location_visibility": "PreviewAndAccept",
        "req-masters": "on", "req-adult": "on",
        "qual-0-qualification_type": own.pk, "qual-0-comparator": "GreaterThan", "qual-0-values": "80",
        "qual-1-qualification_type": system.PERCENT_RETURNED, "qual-1-comparator": "LessThan", "qual-1-values": "10",
    }))
    assert response.status_code == 302, response.content.decode()
    project = HITLayout.objects.get(pk=_project_id(response))
    assert project.qualification_requirements == [
        {"QualificationTypeId": system.PERCENT_APPROVED, "Comparator": "GreaterThanOrEqualTo",
         "IntegerValues": [95], "ActionsGuarded": "DiscoverPreviewAndAccept"},
        {"QualificationTypeId": system.NUMBER_HITS_APPROVED, "Comparator": "GreaterThanOrEqualTo",
         "IntegerValues": [500], "ActionsGuarded": "Accept"},
        {"QualificationTypeId": system.LOCALE, "Comparator": "In", "ActionsGuarded": "PreviewAndAccept",
         "LocaleValues": [{"Country": "US"}, {"Country": "CA"}, {"Country": "US", "Subdivision": "NY"}]},
        {"QualificationTypeId": system.MASTERS_SANDBOX, "Comparator": "Exists", "ActionsGuarded": "Accept"},
        {"QualificationTypeId": system.ADULT, "Comparator": "EqualTo", "IntegerValues": [1], "ActionsGuarded": "Accept"},
        {"QualificationTypeId": own.pk, "Comparator": "GreaterThan", "IntegerValues": [80], "ActionsGuarded": "Accept"},
        {"QualificationTypeId": system.PERCENT_RETURNED, "Comparator": "LessThan", "IntegerValues": [10],
         "ActionsGuarded": "Accept"},
    ]
    # The edit page shows them back as they were entered, and saving without changes keeps them.
    edit = browser.get(f"/requester/projects/{project.pk}/edit").content.decode()
    assert 'value="95"' in edit and 'value="US, CA, US-NY"' in edit and 'value="80"' in edit
    page = html.unescape(browser.get(f"/requester/projects/{project.pk}").content.decode())
    assert "Worker_PercentAssignmentsApproved at least 95 — hidden from workers who do not meet it" in page
    assert "Worker_Locale one of US, CA, US-NY — workers who do not meet it can find the HITs, but not" in page
    assert "Masters: granted — workers who do not meet it can find and preview the HITs" in page
    assert "Good at reviews greater than 80" in page


def test_one_country_is_stored_with_equal_to_and_not_in_with_not_equal_to():
    browser = signed_in(make_requester().requester, "live")
    response = browser.post("/requester/projects/new", properties_data(
        template="blank", **{"req-location": "not_in", "req-location_values": "IN"}))
    project = HITLayout.objects.get(pk=_project_id(response))
    assert project.qualification_requirements == [{
        "QualificationTypeId": system.LOCALE, "Comparator": "NotEqualTo", "LocaleValues": [{"Country": "IN"}],
        "ActionsGuarded": "Accept"}]


@pytest.mark.parametrize("fields, message", [
    ({"req-location": "in", "req-location_values": "XX"}, "is not a country code"),
    ({"req-location": "in", "req-location_values": ""}, "Enter at least one country code"),
    ({"req-location": "", "req-location_values": "US"}, "Only in"),
    ({"req-approval_rate": "101"}, "less than or equal to 100"),
    ({"qual-0-qualification_type": system.NUMBER_HITS_APPROVED, "qual-0-comparator": "Exists",
      "qual-0-values": "3"}, "the Exists comparator takes no values"),
    ({"qual-0-qualification_type": system.NUMBER_HITS_APPROVED, "qual-0-comparator": "GreaterThan",
      "qual-0-values": ""}, "the GreaterThan comparator needs IntegerValues"),
    ({"qual-0-qualification_type": system.NUMBER_HITS_APPROVED, "qual-0-comparator": "EqualTo",
      "qual-0-values": "1, 2"}, "EqualTo takes exactly one IntegerValue"),
    ({"qual-0-qualification_type": system.NUMBER_HITS_APPROVED, "qual-0-comparator": "In",
      "qual-0-values": "one"}, "is not a whole number"),
    ({"req-location": "in", "req-location_values": ", ".join(["US"] + [f"US-{n:02d}" for n in range(30)])},
     "takes at most 30 LocaleValues"),
])
def test_bad_requirements_get_a_clear_message_and_nothing_is_created(fields, message):
    browser = signed_in(make_requester().requester)
    response = browser.post("/requester/projects/new", properties_data(template="blank", **fields))
    page = response.content.decode().replace("&#x27;", "'").replace("&quot;", '"')
    assert response.status_code == 200 and message in page
    assert not HITLayout.objects.exists()


def test_only_the_requesters_own_active_types_of_this_environment_are_offered():
    requester = make_requester().requester
    mine = _qualification_type(requester, name="Mine, active")
    inactive = _qualification_type(requester, name="Mine, inactive", status="Inactive")
    live = _qualification_type(requester, "live", name="Mine, live")
    theirs = _qualification_type(make_requester().requester, name="Someone else's")
    browser = signed_in(requester)
    page = browser.get("/requester/projects/new?template=blank").content.decode()
    assert "Mine, active" in page
    assert "Mine, inactive" not in page and "Mine, live" not in page and "Someone else" not in page
    for other in (inactive, live, theirs):
        response = browser.post("/requester/projects/new", properties_data(
            template="blank", **{"qual-0-qualification_type": other.pk, "qual-0-comparator": "Exists"}))
        assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    response = browser.post("/requester/projects/new", properties_data(
        template="blank", **{"qual-0-qualification_type": mine.pk, "qual-0-comparator": "Exists"}))
    assert response.status_code == 302
    assert HITLayout.objects.count() == 1


# --- Editing, copying, archiving ------------------------------------------------------------------------


def test_editing_properties_saves_them_and_bad_input_changes_nothing():
    requester = make_requester().requester
    project = make_project(requester)
    browser = signed_in(requester)
    page = browser.get(f"/requester/projects/{project.pk}/edit").content.decode()
    assert 'value="Rate a review"' in page and 'value="0.12"' in page and 'value="10"' in page
    response = browser.post(f"/requester/projects/{project.pk}/edit", properties_data(title=""))
    assert response.status_code == 200
    project.refresh_from_db()
    assert project.title == "Rate a review"
    response = browser.post(f"/requester/projects/{project.pk}/edit", properties_data(reward="1.25"))
    assert response.status_code == 302 and response["Location"] == f"/requester/projects/{project.pk}"
    project.refresh_from_db()
    assert (project.name, project.title, project.reward_cents, project.html) == (
        "Product reviews", "Rate a product review", 125, make_project(requester).html)


def test_the_project_page_shows_properties_variables_preview_and_the_batch_link():
    requester = make_requester().requester
    project = make_project(requester, sample_row={"product": "Kettle", "review_text": "<b>Loud</b>"})
    raw = signed_in(requester).get(f"/requester/projects/{project.pk}").content.decode()
    page = html.unescape(raw)
    assert "Rate a review" in page and "$0.12" in page and "10 minutes" in page and "1 day" in page
    assert "<code>product</code>" in page and "<code>review_text</code>" in page
    assert "&lt;b&gt;Loud&lt;/b&gt;" in raw
    assert f'href="/requester/projects/{project.pk}/batches/new"' in page
    assert f'src="/requester/projects/{project.pk}/preview?assignmentId=ASSIGNMENT_ID_NOT_AVAILABLE' in page
    assert 'sandbox="allow-scripts allow-forms"' in page
    assert f'HITLayoutId="{project.pk}"' in page and '{"Name": "review_text", "Value": "…"}' in page


def test_copy_opens_the_new_project():
    requester = make_requester().requester
    project = make_project(requester)
    browser = signed_in(requester)
    response = browser.post(f"/requester/projects/{project.pk}/copy")
    copy = HITLayout.objects.exclude(pk=project.pk).get()
    assert response["Location"] == f"/requester/projects/{copy.pk}"
    assert "Copy of Reviews" in browser.get(response["Location"]).content.decode()


def test_archive_and_unarchive_from_the_project_page():
    requester = make_requester().requester
    project = make_project(requester)
    browser = signed_in(requester)
    assert browser.get(f"/requester/projects/{project.pk}/archive").status_code == 405
    browser.post(f"/requester/projects/{project.pk}/archive")
    page = browser.get(f"/requester/projects/{project.pk}").content.decode()
    assert "This project is archived" in page and "Unarchive" in page and "/batches/new" not in page
    browser.post(f"/requester/projects/{project.pk}/unarchive")
    project.refresh_from_db()
    assert project.archived_at is None
    assert "Reviews" in browser.get("/requester/projects").content.decode()
