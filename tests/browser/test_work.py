"""Doing work in a real browser: an ExternalQuestion on the requester's own https site, returning a HIT, and the
assignment's deadline passing before the worker submits.

The requester's site is ``task_site`` (see conftest): an HTTPS server on 127.0.0.1, a different site from Kempelen's
``http://localhost`` live server, with a self-signed certificate made for the test session that the browser is
told to accept. MTurk (and Kempelen) require ExternalURL to be https, so this is the honest stand-in for a
requester's real page.
"""

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from kempelen.core import clock
from kempelen.marketplace.models import Assignment
from kempelen.questions.answers import parse_answers
from tests.browser.conftest import CLASSIC_TEMPLATE, create_hit, external_question, html_question
from tests.conftest import make_worker

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

#: A requester's ExternalQuestion page: it reads MTurk's parameters from its URL and posts its form back to
#: turkSubmitTo + "/mturk/externalSubmit", as requesters' pages did on MTurk (no externalHIT_v1.js).
SENTIMENT_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Sentiment</title></head>
<body>
<h1>How does this sentence feel?</h1>
<p id="who"></p>
<form id="task" method="post">
  <input type="hidden" name="assignmentId" id="assignmentId">
  <input type="hidden" name="item" id="item">
  <fieldset><legend>Sentiment</legend>
    <label><input type="radio" name="sentiment" value="positive"> Positive</label>
    <label><input type="radio" name="sentiment" value="negative"> Negative</label>
  </fieldset>
  <p><label for="comment">Comment</label> <input id="comment" name="comment"></p>
  <p><button type="submit" id="submit">Submit</button></p>
</form>
<script>
  var params = new URLSearchParams(location.search);
  var assignmentId = params.get("assignmentId");
  document.getElementById("assignmentId").value = assignmentId;
  document.getElementById("item").value = params.get("item");
  document.getElementById("who").textContent = "Worker: " + (params.get("workerId") || "(preview)");
  document.getElementById("task").action = params.get("turkSubmitTo") + "/mturk/externalSubmit";
  if (assignmentId === "ASSIGNMENT_ID_NOT_AVAILABLE") {
    var button = document.getElementById("submit");
    button.disabled = true;
    button.textContent = "Accept the HIT to submit";
  }
</script>
</body></html>"""


def _group_id(client, hit_id: str) -> str:
    return str(client.get_hit(HITId=hit_id)["HIT"]["HITGroupId"])


def _available(client, hit_id: str) -> int:
    return int(client.get_hit(HITId=hit_id)["HIT"]["NumberOfAssignmentsAvailable"])


def test_an_external_question_on_the_requesters_site_posts_back_to_turk_submit_to(api, page, sign_in, task_site):
    task_site.pages["/sentiment"] = SENTIMENT_PAGE
    client = api().client()
    hit_id = create_hit(client, external_question(f"{task_site.url}/sentiment?item=42", frame_height=500),
                        title="Judge a sentence")
    worker = make_worker()
    sign_in(worker)

    page.goto(f"/worker/projects/{_group_id(client, hit_id)}/tasks")
    preview = page.frame_locator("iframe.task")
    expect(preview.locator("#who")).to_have_text("Worker: (preview)")
    expect(preview.get_by_role("button", name="Accept the HIT to submit")).to_be_disabled()
    assert page.locator("iframe.task").evaluate("f => f.getBoundingClientRect().height") == 500

    page.get_by_role("button", name="Accept", exact=True).click()
    expect(page).to_have_url(re.compile(r"/worker/tasks/[A-Z0-9]+$"))
    task = page.frame_locator("iframe.task")
    expect(task.locator("#who")).to_have_text(f"Worker: {worker.worker_id}")
    assert page.locator("iframe.task").evaluate("f => f.getBoundingClientRect().height") == 500
    task.get_by_label("Positive").check()
    task.get_by_label("Comment").fill("cheerful")
    task.get_by_role("button", name="Submit").click()
    expect(page).to_have_url(re.compile(r"/submitted$"))
    expect(page.get_by_role("status")).to_contain_text("was submitted")

    # The requester's site got MTurk's parameters added to its own.
    [accepted_url] = [p for p in task_site.requests if "workerId=" in p]
    query = parse_qs(urlsplit(accepted_url).query)
    assignment = Assignment.objects.get(worker=worker)
    assert query["item"] == ["42"]
    assert query["assignmentId"] == [assignment.pk]
    assert query["hitId"] == [hit_id]
    assert query["workerId"] == [worker.worker_id]
    assert query["turkSubmitTo"][0].startswith(page.url.split("/worker/")[0])

    [submitted] = client.list_assignments_for_hit(HITId=hit_id)["Assignments"]
    assert submitted["AssignmentStatus"] == "Submitted"
    answers = {a.identifier: a.free_text for a in parse_answers(submitted["Answer"])}
    assert answers["sentiment"] == "positive"
    assert answers["comment"] == "cheerful"
    assert answers["item"] == "42"


def test_returning_a_hit_makes_it_available_again(api, page, sign_in):
    client = api().client()
    hit_id = create_hit(client, html_question(CLASSIC_TEMPLATE), title="Name the bird")
    worker = make_worker()
    sign_in(worker)

    page.goto(f"/worker/projects/{_group_id(client, hit_id)}/tasks")
    page.get_by_role("button", name="Accept", exact=True).click()
    expect(page).to_have_url(re.compile(r"/worker/tasks/[A-Z0-9]+$"))
    task_url = page.url
    assert _available(client, hit_id) == 0

    page.get_by_role("button", name="Return").click()
    expect(page.get_by_role("status")).to_contain_text("You returned “Name the bird”")
    card = page.get_by_role("list", name="HIT groups").get_by_role("listitem").filter(has_text="Name the bird")
    expect(card).to_contain_text("HITs available1")
    assert _available(client, hit_id) == 1
    assert Assignment.objects.get(worker=worker).status == "Returned"

    # The old task page says so instead of showing the task.
    page.goto(task_url)
    expect(page.get_by_role("alert")).to_contain_text("You returned this assignment.")

    # Someone else can take it now.
    other = make_worker()
    page.context.clear_cookies()
    sign_in(other)
    page.goto(f"/worker/projects/{_group_id(client, hit_id)}/tasks")
    page.get_by_role("button", name="Accept", exact=True).click()
    expect(page).to_have_url(re.compile(r"/worker/tasks/[A-Z0-9]+$"))
    assert Assignment.objects.get(worker=other).status == "Accepted"


def test_after_the_deadline_submitting_is_refused_clearly_and_the_slot_is_back(api, page, sign_in):
    client = api().client()
    hit_id = create_hit(client, html_question(CLASSIC_TEMPLATE), title="Name the fish", duration=60)
    worker = make_worker()
    sign_in(worker)

    page.goto(f"/worker/projects/{_group_id(client, hit_id)}/tasks")
    page.get_by_role("button", name="Accept", exact=True).click()
    expect(page).to_have_url(re.compile(r"/worker/tasks/[A-Z0-9]+$"))
    task_url = page.url
    task = page.frame_locator("iframe.task")
    task.get_by_label("Animal").fill("a trout")

    clock.advance(61)  # the live server runs in this process: its business clock moves too
    task.locator("#submitButton").click()
    refusal = task.get_by_role("alert")
    expect(refusal).to_contain_text("time allotted for this assignment ran out")
    expect(task.get_by_role("heading", level=1)).to_have_text("Your work could not be submitted")
    expect(page).to_have_url(task_url)  # the page stays: nothing was submitted

    assignment = Assignment.objects.get(worker=worker)
    assert assignment.status == "Abandoned" and not assignment.answer
    assert _available(client, hit_id) == 1
    assert client.list_assignments_for_hit(HITId=hit_id)["Assignments"] == []

    page.goto(task_url)
    expect(page.get_by_role("alert")).to_contain_text("The time allotted for this assignment ran out")
    page.goto("/worker/")
    expect(page.get_by_role("list", name="HIT groups").get_by_role("listitem").filter(has_text="Name the fish")).to_contain_text("HITs available1")
