"""POST /mturk/externalSubmit: the form post of HTMLQuestion, ExternalQuestion and layout pages."""

import http.client
from urllib.parse import urlencode

import pytest
from django.test import Client

from kempelen.core.actors import Actor
from kempelen.marketplace import actions
from kempelen.marketplace.models import Assignment
from kempelen.questions.answers import parse_answers
from kempelen.worker_site.submit_tokens import make, turk_submit_to
from tests.conftest import make_requester, make_worker

pytestmark = pytest.mark.django_db(transaction=True)

QUESTION = """<HTMLQuestion xmlns="http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2011-11-11/HTMLQuestion.xsd">
<HTMLContent><![CDATA[<form><input name="label"></form>]]></HTMLContent><FrameHeight>0</FrameHeight></HTMLQuestion>"""


@pytest.fixture
def accepted(live_server):
    """A worker holding an accepted assignment of a live HIT, and the requester's boto3 client."""
    handle = make_requester(live_server.url)
    client = handle.client()
    hit_id = client.create_hit(
        Title="Label", Description="Label it", Reward="0.25", LifetimeInSeconds=600,
        AssignmentDurationInSeconds=120, MaxAssignments=2, Question=QUESTION,
    )["HIT"]["HITId"]
    worker = make_worker()
    assignment = actions.accept_assignment(actor=Actor.for_worker(worker), worker=worker, environment="live",
                                           hit_id=hit_id)
    return client, worker, assignment, hit_id


def _browser(worker=None) -> Client:
    browser = Client()
    if worker is not None:
        browser.force_login(worker.user)
    return browser


def test_a_signed_in_worker_submits_and_the_requester_reads_question_form_answers(accepted):
    client, worker, assignment, hit_id = accepted
    response = _browser(worker).post("/mturk/externalSubmit", {
        "assignmentId": assignment.pk, "hitId": hit_id, "label": "cat", "tags": ["furry", "small"],
    })
    assert response.status_code == 200
    assert b"submitted" in response.content
    [submitted] = client.list_assignments_for_hit(HITId=hit_id)["Assignments"]
    assert submitted["AssignmentStatus"] == "Submitted"
    answers = {a.identifier: a.free_text for a in parse_answers(submitted["Answer"])}
    assert answers == {"label": "cat", "tags": "furry|small"}


def test_the_double_slash_path_of_a_trailing_slash_turk_submit_to_is_served(accepted, live_server):
    # A real request line: test clients would read "//mturk" as a host name.
    _client, worker, assignment, _hit_id = accepted
    session = _browser(worker).cookies["sessionid"].value
    host, port = live_server.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    connection.request("POST", "//mturk/externalSubmit", body=urlencode({"assignmentId": assignment.pk, "label": "dog"}),
                       headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": f"sessionid={session}"})
    assert connection.getresponse().status == 200
    assert Assignment.objects.get(pk=assignment.pk).status == "Submitted"


def test_the_turk_submit_to_token_submits_without_a_session(accepted):
    _client, _worker, assignment, _hit_id = accepted
    base = turk_submit_to("http://testserver", assignment.pk).removeprefix("http://testserver")
    response = _browser().post(f"{base}/mturk/externalSubmit", {"assignmentId": assignment.pk, "label": "owl"})
    assert response.status_code == 200
    assert Assignment.objects.get(pk=assignment.pk).status == "Submitted"


def test_a_token_for_another_assignment_is_refused_and_nothing_changes(accepted):
    _client, _worker, assignment, hit_id = accepted
    other_worker = make_worker()
    other = actions.accept_assignment(actor=Actor.for_worker(other_worker), worker=other_worker,
                                      environment="live", hit_id=hit_id)
    response = _browser().post(f"/submit/{make(other.pk)}/mturk/externalSubmit",
                               {"assignmentId": assignment.pk, "label": "x"})
    assert response.status_code == 403
    assert Assignment.objects.get(pk=assignment.pk).status == "Accepted"
    assert Assignment.objects.get(pk=other.pk).status == "Accepted"


def test_a_tampered_token_is_refused(accepted):
    _client, _worker, assignment, _hit_id = accepted
    token = make(assignment.pk)
    response = _browser().post(f"/submit/{token[:-2]}xx/mturk/externalSubmit",
                               {"assignmentId": assignment.pk, "label": "x"})
    assert response.status_code == 403
    assert Assignment.objects.get(pk=assignment.pk).status == "Accepted"


def test_a_post_from_a_preview_is_refused_with_a_clear_page(accepted):
    _client, worker, assignment, _hit_id = accepted
    response = _browser(worker).post("/mturk/externalSubmit",
                                     {"assignmentId": "ASSIGNMENT_ID_NOT_AVAILABLE", "label": "x"})
    assert response.status_code == 400
    assert b"You must ACCEPT the HIT before you can submit the results." in response.content
    assert Assignment.objects.get(pk=assignment.pk).status == "Accepted"


def test_someone_elses_assignment_is_refused_for_a_signed_in_worker(accepted):
    _client, _worker, assignment, _hit_id = accepted
    response = _browser(make_worker()).post("/mturk/externalSubmit", {"assignmentId": assignment.pk, "label": "x"})
    assert response.status_code in (400, 403)
    assert Assignment.objects.get(pk=assignment.pk).status == "Accepted"


def test_without_a_session_or_token_nothing_is_submitted(accepted):
    _client, _worker, assignment, _hit_id = accepted
    response = _browser().post("/mturk/externalSubmit", {"assignmentId": assignment.pk, "label": "x"})
    assert response.status_code == 403
    assert Assignment.objects.get(pk=assignment.pk).status == "Accepted"


def test_submitting_twice_keeps_the_first_answers(accepted):
    client, worker, assignment, hit_id = accepted
    browser = _browser(worker)
    assert browser.post("/mturk/externalSubmit", {"assignmentId": assignment.pk, "label": "first"}).status_code == 200
    again = browser.post("/mturk/externalSubmit", {"assignmentId": assignment.pk, "label": "second"})
    assert again.status_code == 409
    [submitted] = client.list_assignments_for_hit(HITId=hit_id)["Assignments"]
    assert "first" in submitted["Answer"] and "second" not in submitted["Answer"]


def test_after_the_deadline_the_work_is_refused_and_the_slot_is_back(accepted, move_clock):
    client, worker, assignment, hit_id = accepted
    move_clock(121)
    response = _browser(worker).post("/mturk/externalSubmit", {"assignmentId": assignment.pk, "label": "late"})
    assert response.status_code == 409
    assert b"time allotted" in response.content
    hit = client.get_hit(HITId=hit_id)["HIT"]
    assert hit["NumberOfAssignmentsAvailable"] == 2
    assert client.list_assignments_for_hit(HITId=hit_id)["Assignments"] == []


def test_a_get_explains_that_nothing_is_shown_here(accepted):
    response = _browser().get("/mturk/externalSubmit")
    assert response.status_code == 405
