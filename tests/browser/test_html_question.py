"""A worker finds, previews, accepts, fills and submits a classic HTMLQuestion HIT in a real browser.

The template is MTurk's classic one: it loads Amazon's ``externalHIT_v1.js`` and posts to www.mturk.com. Kempelen
answers both with its own, so the page works offline.
"""

import re

import pytest
from playwright.sync_api import expect

from kempelen.questions.answers import parse_answers
from tests.browser.conftest import CLASSIC_TEMPLATE, create_hit, html_question
from tests.conftest import make_worker

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PREVIEW_BUTTON = "You must ACCEPT the HIT before you can submit the results."


def test_find_preview_accept_fill_and_submit_a_classic_html_question(api, page, sign_in):
    requester = api()
    client = requester.client()
    hit_id = create_hit(client, html_question(CLASSIC_TEMPLATE), title="Name the animal in the photo")
    create_hit(client, html_question("<p>other</p>"), title="Transcribe a receipt")
    worker = make_worker()
    sign_in(worker)
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))

    # Find: search the list by a word of the title.
    page.goto("/worker/")
    page.get_by_label("Search").fill("animal")
    page.get_by_role("button", name="Show").click()
    groups = page.get_by_role("list", name="HIT groups")
    expect(groups.get_by_role("heading")).to_have_count(1)
    expect(groups).to_contain_text("Name the animal in the photo")
    expect(groups).to_contain_text("$0.25")
    groups.get_by_role("link", name="Name the animal in the photo").click()

    # Preview: the template runs in its frame with Kempelen's externalHIT_v1.js; submitting is disabled.
    preview = page.frame_locator("iframe.task")
    button = preview.locator("#submitButton")
    expect(button).to_be_disabled()
    expect(button).to_have_value(PREVIEW_BUTTON)
    expect(preview.locator("#assignmentId")).to_have_value("ASSIGNMENT_ID_NOT_AVAILABLE")
    assert any(url.endswith("/static/kempelen/externalHIT_v1.js") for url in requested)
    assert not [url for url in requested if "amazonaws.com" in url or "mturk.com" in url]

    # Accept, fill, submit.
    page.get_by_role("button", name="Accept", exact=True).click()
    expect(page).to_have_url(re.compile(r"/worker/tasks/[A-Z0-9]+$"))
    expect(page.locator("#countdown")).to_have_text(re.compile(r"\d+m \d+s"))
    task = page.frame_locator("iframe.task")
    expect(task.locator("#submitButton")).to_be_enabled()
    task.get_by_label("Animal").fill("a red fox")
    task.locator("#submitButton").click()

    # The frame tells the page, which moves on to the submitted page.
    expect(page).to_have_url(re.compile(r"/submitted$"))
    expect(page.get_by_role("status")).to_contain_text("was submitted")

    assert not [url for url in requested if "amazonaws.com" in url or "mturk.com" in url]
    [assignment] = client.list_assignments_for_hit(HITId=hit_id)["Assignments"]
    assert assignment["WorkerId"] == worker.worker_id
    assert assignment["AssignmentStatus"] == "Submitted"
    answers = {a.identifier: a.free_text for a in parse_answers(assignment["Answer"])}
    assert answers["animal"] == "a red fox"
