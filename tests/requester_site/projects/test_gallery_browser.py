"""Each gallery template works out of the box: a worker accepts a HIT made from it through the API, fills the
form in headless Chromium and submits, and the requester gets the answers — with no request leaving the machine."""

import re

import pytest
from playwright.sync_api import expect

from kempelen.core.actors import Actor
from kempelen.marketplace import actions
from kempelen.questions.answers import parse_answers
from kempelen.requester_site import gallery
from tests.conftest import make_worker

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LONG_ANSWER = "A calm welcome, a working laptop and a colleague who explains how things are done here."
#: How a worker fills each template, and the answers that must arrive.
FILL = {
    "sentiment": (lambda task: task.get_by_label("Negative", exact=True).check(), {"sentiment": "negative"}),
    "image-category": (lambda task: task.get_by_label("Food").check(), {"category": "food", "other": ""}),
    "audio-transcription": (lambda task: task.get_by_label("Transcript").fill("beep beep beep"),
                            {"transcript": "beep beep beep"}),
    "free-text": (lambda task: task.get_by_label("What makes a first day").fill(LONG_ANSWER), {"answer": LONG_ANSWER}),
    "survey-link": (lambda task: task.get_by_label("Completion code").fill("K7-2231"), {"surveycode": "K7-2231"}),
}


@pytest.mark.parametrize("template", gallery.TEMPLATES, ids=lambda t: t.slug)
def test_a_worker_completes_a_hit_made_from_the_template(template, api, page, sign_in):
    handle = api()
    project = actions.create_project(
        actor=Actor.for_requester(handle.requester), requester=handle.requester, environment="live",
        name=template.name, html=template.html, properties=template.properties, sample_row=template.sample_row)
    client = handle.client()
    props = template.properties
    hit = client.create_hit(
        HITLayoutId=project.pk, HITLayoutParameters=[{"Name": k, "Value": v} for k, v in template.sample_row.items()],
        Title=props.title, Description=props.description, Reward="0.10", MaxAssignments=1,
        AssignmentDurationInSeconds=props.assignment_duration, LifetimeInSeconds=props.lifetime)["HIT"]
    worker = make_worker()
    sign_in(worker)
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))

    page.goto(f"/worker/projects/{hit['HITGroupId']}/tasks")
    expect(page.frame_locator("iframe.task").locator("#submitButton")).to_be_disabled()
    page.get_by_role("button", name="Accept", exact=True).click()
    expect(page).to_have_url(re.compile(r"/worker/tasks/[A-Z0-9]+$"))
    task = page.frame_locator("iframe.task")
    expect(task.locator("#submitButton")).to_be_enabled()
    fill, expected = FILL[template.slug]
    fill(task)
    task.locator("#submitButton").click()
    expect(page).to_have_url(re.compile(r"/submitted$"))

    [assignment] = client.list_assignments_for_hit(HITId=hit["HITId"])["Assignments"]
    answers = {a.identifier: a.free_text for a in parse_answers(assignment["Answer"])}
    assert answers == expected
    assert not [url for url in requested if not url.startswith(("http://localhost", "data:"))], requested
