"""The pages where workers find and do work, without a browser: permissions, errors and what each page shows."""

import re
from urllib.parse import parse_qs, urlparse

import pytest
from django.test import Client

from kempelen.marketplace.models import Assignment
from tests.conftest import make_requester, make_worker

pytestmark = pytest.mark.django_db(transaction=True)

HTML_NS = "http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2011-11-11/HTMLQuestion.xsd"
EXT_NS = "http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2006-07-14/ExternalQuestion.xsd"
LOCALE = "00000000000000000071"
CLASSIC = f"""<HTMLQuestion xmlns="{HTML_NS}"><HTMLContent><![CDATA[<!DOCTYPE html><html><body>
<form name="mturk_form" method="post" id="mturk_form" action="https://www.mturk.com/mturk/externalSubmit">
<input type="hidden" value="" name="assignmentId" id="assignmentId"/><input name="label"><input type="submit" id="submitButton"/></form>
<script src="https://s3.amazonaws.com/mturk-public/externalHIT_v1.js"></script><script>turkSetAssignmentID();</script>
</body></html>]]></HTMLContent><FrameHeight>400</FrameHeight></HTMLQuestion>"""
EXTERNAL = f"""<ExternalQuestion xmlns="{EXT_NS}"><ExternalURL>https://survey.example.org/run?study=7&amp;x=1</ExternalURL>
<FrameHeight>0</FrameHeight></ExternalQuestion>"""


def _hit_type(client, title="Label pictures", reward="0.30", requirements=(), duration=300):
    return client.create_hit_type(Title=title, Description=f"{title}, carefully", Reward=reward,
                                  AssignmentDurationInSeconds=duration, Keywords="image,label",
                                  QualificationRequirements=list(requirements))["HITTypeId"]


def _hit(client, hit_type, question=CLASSIC, assignments=2):
    return client.create_hit_with_hit_type(HITTypeId=hit_type, LifetimeInSeconds=600, Question=question,
                                           MaxAssignments=assignments)["HIT"]


def _signed_in(worker) -> Client:
    browser = Client()
    browser.force_login(worker.user)
    return browser


@pytest.fixture
def requester(live_server):
    return make_requester(live_server.url).client()


def test_anonymous_visitors_are_sent_to_sign_in():
    response = Client().get("/worker/")
    assert response.status_code == 302 and response["Location"].startswith("/worker/login")


def test_a_requester_account_is_told_the_worker_site_is_for_workers(live_server):
    handle = make_requester(live_server.url)
    browser = Client()
    browser.force_login(handle.requester.user)
    response = browser.get("/worker/")
    assert response.status_code == 403
    assert b"for workers" in response.content


def test_the_list_shows_each_group_with_what_a_worker_needs_to_decide(requester):
    us_only = {"QualificationTypeId": LOCALE, "Comparator": "EqualTo", "LocaleValues": [{"Country": "US"}]}
    hit_type = _hit_type(requester, requirements=[us_only])
    group_id = requester.get_hit(HITId=_hit(requester, hit_type)["HITId"])["HIT"]["HITGroupId"]
    page = _signed_in(make_worker(country="DE")).get("/worker/").content.decode()
    assert "Label pictures" in page and f"/worker/projects/{group_id}/tasks" in page
    assert "$0.30" in page and "5 minutes" in page
    assert "Requester 1" in page or "Requester" in page
    assert "You do not meet:" in page and "Worker_Locale equal to US" in page
    assert "no reviewed work yet" in page
    assert _signed_in(make_worker(country="DE")).get("/worker/?qualified=1").content.decode().count("Label pictures") == 0


def test_search_sort_and_minimum_reward_filter_the_list(requester):
    _hit(requester, _hit_type(requester, "Transcribe audio", reward="0.90"))
    _hit(requester, _hit_type(requester, "Label cats", reward="0.05"))
    browser = _signed_in(make_worker())
    by_reward = browser.get("/worker/?sort=reward").content.decode()
    assert by_reward.index("Transcribe audio") < by_reward.index("Label cats")
    assert "Label cats" not in browser.get("/worker/?min_reward=0.50").content.decode()
    assert "Transcribe audio" not in browser.get("/worker/?q=cats").content.decode()
    assert "minimum reward must be" in browser.get("/worker/?min_reward=lots", follow=True).content.decode()


def test_the_group_page_previews_a_hit_in_a_sandboxed_frame_without_a_worker_id(requester):
    hit = _hit(requester, _hit_type(requester))
    page = _signed_in(make_worker()).get(f"/worker/projects/{hit['HITGroupId']}/tasks").content.decode()
    src = re.search(r'<iframe class="task"[^>]* src="([^"]+)"', page).group(1).replace("&amp;", "&")
    sandbox = re.search(r'sandbox="([^"]+)"', page).group(1)
    params = parse_qs(urlparse(src).query)
    assert params["assignmentId"] == ["ASSIGNMENT_ID_NOT_AVAILABLE"] and params["hitId"] == [hit["HITId"]]
    assert "workerId" not in params
    assert "allow-scripts" in sandbox and "allow-same-origin" not in sandbox


def test_the_group_page_answers_to_a_hit_type_id_and_the_legacy_preview_link(requester):
    hit_type = _hit_type(requester)
    _hit(requester, hit_type)
    browser = _signed_in(make_worker())
    assert browser.get(f"/worker/projects/{hit_type}/tasks").status_code == 200
    legacy = browser.get(f"/mturk/preview?groupId={hit_type}")
    assert legacy.status_code == 302 and legacy["Location"] == f"/worker/projects/{hit_type}/tasks"


def test_task_content_is_served_sandboxed_with_mturks_script_and_submit_address_replaced(requester):
    hit = _hit(requester, _hit_type(requester))
    worker = make_worker()
    browser = _signed_in(worker)
    accepted = browser.post(f"/worker/projects/{hit['HITGroupId']}/tasks/accept", {"auto": "0"})
    task_page = browser.get(accepted["Location"]).content.decode()
    src = re.search(r'<iframe class="task"[^>]* src="([^"]+)"', task_page).group(1).replace("&amp;", "&")
    params = parse_qs(urlparse(src).query)
    assignment = Assignment.objects.get(worker=worker)
    assert params["assignmentId"] == [assignment.pk] and params["workerId"] == [worker.worker_id]
    assert "/submit/" in params["turkSubmitTo"][0]
    content = Client().get(urlparse(src).path)
    assert content.status_code == 200
    policy = content["Content-Security-Policy"]
    assert policy.startswith("sandbox ") and "allow-scripts" in policy and "allow-same-origin" not in policy
    body = content.content.decode()
    assert "s3.amazonaws.com" not in body and "/static/kempelen/externalHIT_v1.js" in body
    assert "www.mturk.com" not in body and "/mturk/externalSubmit" in body


def test_a_tampered_content_link_is_refused():
    assert Client().get("/task-content/not-a-token").status_code == 404


def test_an_external_question_is_framed_with_mturks_parameters_appended(requester):
    hit = _hit(requester, _hit_type(requester), question=EXTERNAL)
    worker = make_worker()
    browser = _signed_in(worker)
    task_page = browser.get(browser.post(f"/worker/projects/{hit['HITGroupId']}/tasks/accept")["Location"])
    src = re.search(r'<iframe class="task"[^>]* src="([^"]+)"', task_page.content.decode()).group(1).replace("&amp;", "&")
    assert src.startswith("https://survey.example.org/run?study=7&x=1&assignmentId=")
    assert f"workerId={worker.worker_id}" in src


def test_accepting_leads_to_the_task_with_a_countdown_and_a_return_button(requester):
    hit = _hit(requester, _hit_type(requester))
    browser = _signed_in(make_worker())
    response = browser.post(f"/worker/projects/{hit['HITGroupId']}/tasks/accept", {"auto": "0"})
    assert response.status_code == 302 and response["Location"].startswith("/worker/tasks/")
    page = browser.get(response["Location"]).content.decode()
    assert 'id="countdown"' in page and "datetime=" in page and 'id="return"' in page
    assert requester.get_hit(HITId=hit["HITId"])["HIT"]["NumberOfAssignmentsPending"] == 1


def test_when_the_last_slot_was_just_taken_the_worker_is_told_and_shown_other_work(requester):
    hit = _hit(requester, _hit_type(requester), assignments=1)
    _signed_in(make_worker()).post(f"/worker/projects/{hit['HITGroupId']}/tasks/accept")
    late = _signed_in(make_worker()).post(f"/worker/projects/{hit['HITGroupId']}/tasks/accept", follow=True)
    page = late.content.decode()
    assert late.redirect_chain[-1][0] == "/worker/"
    assert "no more hits" in page.lower() or "no longer available" in page.lower()
    assert "other HITs you can do" in page


def test_returning_gives_the_slot_back(requester):
    hit = _hit(requester, _hit_type(requester), assignments=1)
    browser = _signed_in(make_worker())
    task_url = browser.post(f"/worker/projects/{hit['HITGroupId']}/tasks/accept")["Location"]
    response = browser.post(f"{task_url}/return", follow=True)
    assert "You returned" in response.content.decode()
    assert requester.get_hit(HITId=hit["HITId"])["HIT"]["NumberOfAssignmentsAvailable"] == 1


def test_another_workers_task_is_not_found(requester):
    hit = _hit(requester, _hit_type(requester))
    task_url = _signed_in(make_worker()).post(f"/worker/projects/{hit['HITGroupId']}/tasks/accept")["Location"]
    stranger = _signed_in(make_worker())
    assert stranger.get(task_url).status_code == 404
    assert stranger.post(f"{task_url}/return").status_code == 404


def test_after_the_deadline_the_task_page_says_the_time_ran_out(requester, move_clock):
    hit = _hit(requester, _hit_type(requester, duration=60))
    browser = _signed_in(make_worker())
    task_url = browser.post(f"/worker/projects/{hit['HITGroupId']}/tasks/accept")["Location"]
    move_clock(61)
    response = browser.get(task_url)
    assert response.status_code == 410
    assert "time allotted" in response.content.decode()
    assert requester.get_hit(HITId=hit["HITId"])["HIT"]["NumberOfAssignmentsAvailable"] == 2


def test_accept_and_keep_accepting_moves_to_the_next_hit_of_the_group_after_a_submit(requester):
    hit_type = _hit_type(requester)
    first, _second = _hit(requester, hit_type, assignments=1), _hit(requester, hit_type, assignments=1)
    worker = make_worker()
    browser = _signed_in(worker)
    task_url = browser.post(f"/worker/projects/{first['HITGroupId']}/tasks/accept", {"auto": "1"})["Location"]
    assignment = Assignment.objects.get(worker=worker)
    token_base = parse_qs(urlparse(re.search(r'<iframe class="task"[^>]* src="([^"]+)"',
                                             browser.get(task_url).content.decode()).group(1).replace("&amp;", "&")
                                   ).query)["turkSubmitTo"][0]
    Client().post(urlparse(token_base).path + "/mturk/externalSubmit", {"assignmentId": assignment.pk, "label": "a"})
    following = browser.get(f"/worker/tasks/{assignment.pk}/submitted")
    assert following.status_code == 302 and following["Location"].startswith("/worker/tasks/")
    assert following["Location"] != task_url
    assert Assignment.objects.filter(worker=worker, status="Accepted").count() == 1


def test_without_keep_accepting_the_submitted_page_offers_the_next_hit(requester):
    hit = _hit(requester, _hit_type(requester))
    worker = make_worker()
    browser = _signed_in(worker)
    browser.post(f"/worker/projects/{hit['HITGroupId']}/tasks/accept", {"auto": "0"})
    assignment = Assignment.objects.get(worker=worker)
    browser.post("/mturk/externalSubmit", {"assignmentId": assignment.pk, "label": "b"})
    page = browser.get(f"/worker/tasks/{assignment.pk}/submitted").content.decode()
    assert "was submitted" in page and 'id="accept-next"' in page
