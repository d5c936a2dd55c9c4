"""A project made on the site is a HIT layout: boto3 creates HITs from it in the same environment, and workers see
the row's values substituted, HTML-escaped, exactly as the layout editor's preview showed them."""

import html
import re

import pytest
from botocore.exceptions import ClientError
from django.test import Client

from kempelen.marketplace.models import HITLayout
from kempelen.qualifications import system
from kempelen.worker_site import views_task
from tests.conftest import make_worker
from tests.requester_site.conftest import signed_in
from tests.requester_site.projects.conftest import properties_data
from tests.requester_site.templates_kit import CHECKBOXES, CLASSIC

pytestmark = pytest.mark.django_db(transaction=True)


def _make_on_site(browser: Client, layout: str, sample: dict[str, str], **requirements: str) -> HITLayout:
    response = browser.post("/requester/projects/new", properties_data(template="blank", **requirements))
    assert response.status_code == 302, response.content.decode()
    project_id = response["Location"].split("/")[3]
    response = browser.post(f"/requester/projects/{project_id}/layout", {
        "html": layout, "frame_height": "500", "action": "save", **{f"sample-{k}": v for k, v in sample.items()}})
    assert response.status_code == 302
    return HITLayout.objects.get(pk=project_id)


def _create_hit(client, project: HITLayout, parameters: list[dict[str, str]]) -> dict:
    return client.create_hit(
        HITLayoutId=project.pk, HITLayoutParameters=parameters, Title=project.title,
        Description=project.description, Keywords=project.keywords, Reward="0.50",
        AssignmentDurationInSeconds=project.assignment_duration, LifetimeInSeconds=project.lifetime,
        AutoApprovalDelayInSeconds=project.auto_approval_delay, MaxAssignments=project.max_assignments,
        QualificationRequirements=project.qualification_requirements,
    )["HIT"]


def test_a_live_project_made_on_the_site_creates_hits_through_boto3_that_workers_see_escaped(api):
    handle = api()
    browser = signed_in(handle.requester, "live")
    row = CLASSIC.rows()[0]
    project = _make_on_site(browser, CLASSIC.html, row, **{
        "req-approval_rate": "90", "req-location": "in", "req-location_values": "US, CA",
        "req-location_visibility": "DiscoverPreviewAndAccept"})
    assert project.environment == "live"
    client = handle.client("live")

    hit = _create_hit(client, project, CLASSIC.parameters(0))
    assert hit["HITLayoutId"] == project.pk
    assert hit["QualificationRequirements"] == project.qualification_requirements
    assert client.get_hit(HITId=hit["HITId"])["HIT"]["HITLayoutId"] == project.pk

    # A worker previews the group: the task frame holds the row's values, escaped, and Kempelen's script.
    worker = Client()
    worker.force_login(make_worker(country="US").user)
    group_page = worker.get(f"/worker/projects/{hit['HITGroupId']}/tasks").content.decode()
    src = html.unescape(re.search(r'<iframe class="task"[^>]* src="([^"]+)"', group_page).group(1))
    content = worker.get(src.replace("http://testserver", ""))
    body = content.content.decode()
    assert "<strong>Kettle</strong>" in body
    assert "Boils fast, &lt;b&gt;loud&lt;/b&gt; though &amp; the lid sticks" in body
    assert "<b>loud</b>" not in body
    assert "Sentiment of the review of Kettle" in body
    assert "s3.amazonaws.com" not in body and "/static/kempelen/externalHIT_v1.js" in body

    # The requester's preview of the same row is the very document the worker's frame got.
    preview = browser.get(f"/requester/projects/{project.pk}/preview").content.decode()
    assert preview == body


def test_a_sandbox_project_is_a_layout_in_the_sandbox_only(api):
    handle = api()
    browser = signed_in(handle.requester, "sandbox")
    project = _make_on_site(browser, CHECKBOXES.html, CHECKBOXES.rows()[1], **{"req-masters": "on"})
    assert project.qualification_requirements == [
        {"QualificationTypeId": system.MASTERS_SANDBOX, "Comparator": "Exists", "ActionsGuarded": "Accept"}]

    hit = _create_hit(handle.client("sandbox"), project, CHECKBOXES.parameters(1))
    assert hit["HITLayoutId"] == project.pk
    body = Client().get(f"/task-content/{views_task.content_token(hit['HITId'], None)}").content.decode()
    assert 'src="https://images.example.org/photos/002.jpg?caption=&quot;park&quot;"' in body
    assert 'value="img-002"' in body

    # The live environment has no such layout.
    with pytest.raises(ClientError) as refused:
        _create_hit(handle.client("live"), project, CHECKBOXES.parameters(1))
    assert "does not exist" in refused.value.response["Error"]["Message"]


def test_parameters_must_match_the_projects_variables(api):
    handle = api()
    project = _make_on_site(signed_in(handle.requester, "live"), CLASSIC.html, {})
    with pytest.raises(ClientError) as refused:
        _create_hit(handle.client("live"), project, [{"Name": "product", "Value": "Kettle"}])
    assert "'review_text' is missing" in refused.value.response["Error"]["Message"]
    assert handle.client("live").list_hits()["HITs"] == []
