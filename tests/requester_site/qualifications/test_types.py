"""Creating, listing and editing qualification types on the requester site."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from kempelen.core.actors import Actor
from kempelen.qualifications import actions
from kempelen.qualifications.models import QualificationType
from tests.conftest import make_requester, make_worker
from tests.qualifications.kit import ALL_RIGHT, BIRD_KEY, BIRD_TEST, HTML_TEST, KEY_FOR_ANOTHER_TEST
from tests.requester_site.conftest import signed_in
from tests.requester_site.workers.kit import flashed, grant, main, new_type
from tests.worker_site.qualifications.kit import ask

pytestmark = pytest.mark.django_db

BASE = {"name": "Bird spotter", "description": "Tells garden birds apart", "keywords": "birds, pictures",
        "status": "Active", "granting": "requests", "auto_value": "1", "test_duration_unit": "minutes",
        "retries": "never", "retry_delay_unit": "days"}


def create(browser, **changes):
    return browser.post("/requester/qualifications/new", {**BASE, **changes})


def test_a_type_reviewed_by_hand_is_created_in_the_current_environment():
    owner = make_requester().requester
    response = create(signed_in(owner, "live"))
    qt = QualificationType.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/requester/qualifications/{qt.pk}"
    assert (qt.requester, qt.environment, qt.name, qt.keywords, qt.status) == (owner, "live", "Bird spotter",
                                                                              "birds, pictures", "Active")
    assert not qt.auto_granted and not qt.test and qt.retry_delay is None
    page = main(signed_in(owner, "live").get(response["Location"]))
    assert "How workers get it Requests reviewed by you; one request per worker" in page


def test_an_auto_granted_type_with_a_value_and_retries():
    owner = make_requester().requester
    create(signed_in(owner), granting="auto", auto_value="70", retries="after", retry_delay="2", retry_delay_unit="hours")
    qt = QualificationType.objects.get()
    assert (qt.auto_granted, qt.auto_granted_value, qt.retry_delay) == (True, 70, 7200)


def test_a_type_with_a_test_and_an_answer_key_grants_the_score_to_workers():
    owner = make_requester().requester
    create(signed_in(owner, "live"), granting="test", test=BIRD_TEST, answer_key=BIRD_KEY, test_duration="15")
    qt = QualificationType.objects.get()
    assert (qt.test_duration, bool(qt.answer_key), qt.auto_granted) == (900, True, False)
    # A worker finds it, takes the test and is granted the score.
    worker = make_worker()
    browser = Client()
    browser.force_login(worker.user)
    assert "Bird spotter" in browser.get("/worker/qualifications").content.decode()
    taken = actions.submit_qualification_test(actor=Actor.for_worker(worker), worker=worker,
                                              request_id=ask(worker, qt).pk, posted=ALL_RIGHT)
    assert (taken.state, taken.score) == ("granted", 100)


def test_the_test_fields_are_ignored_for_other_ways_of_granting():
    owner = make_requester().requester
    create(signed_in(owner), granting="requests", test="<not xml", answer_key="junk", test_duration="5")
    assert QualificationType.objects.get().test == ""


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"test": "<QuestionForm>"}, "Test (QuestionForm XML)", "The test is not a valid QuestionForm:"),
    ({"test": HTML_TEST}, "Test (QuestionForm XML)", "The test is not a valid QuestionForm: A qualification test must be a QuestionForm"),
    ({"test": ""}, "Test (QuestionForm XML)", "Paste the test, a QuestionForm document."),
    ({"answer_key": KEY_FOR_ANOTHER_TEST}, "Answer key (AnswerKey XML, optional)",
     "The answer key is not valid for this test:"),
    ({"answer_key": "<AnswerKey"}, "Answer key (AnswerKey XML, optional)", "The answer key is not valid for this test:"),
    ({"test_duration": ""}, "Time allowed for the test", "Give the time workers have to answer the test."),
    ({"test_duration": "400", "test_duration_unit": "days"}, "Time allowed for the test",
     "The time allowed can be at most a year (365 days)."),
    ({"test_duration": "0"}, "Time allowed for the test", "Give a number of at least 1."),
])
def test_a_bad_test_is_refused_with_a_clear_message_and_a_link_to_the_help(changes, field, message):
    owner = make_requester().requester
    posted = {"granting": "test", "test": BIRD_TEST, "answer_key": BIRD_KEY, "test_duration": "10", **changes}
    response = create(signed_in(owner), **posted)
    assert response.status_code == 200
    page = main(response)
    assert f"{field}: {message}" in page
    assert not QualificationType.objects.exists()
    if "test" in changes or "answer_key" in changes:
        assert '<a href="#test-help">How to write a test and its answer key</a>' in response.content.decode()
        assert 'id="test-help"' in response.content.decode()


@pytest.mark.parametrize(("changes", "message"), [
    ({"name": ""}, "Name: Give the qualification type a name."),
    ({"description": ""}, "Description: Describe the qualification type."),
    ({"name": "x" * 201}, "Name: The name must be at most 200 characters."),
    ({"granting": "auto", "auto_value": "150"}, "Value granted at once: The value must be at most 100."),
    ({"granting": "auto", "auto_value": ""}, "Value granted at once: Give the value workers get."),
    ({"retries": "after", "retry_delay": ""}, "Delay before a new request: Give the delay"),
    ({"retries": "after", "retry_delay": "-1"}, "Delay before a new request: Give a number of at least 0."),
    ({"granting": "magic"}, "How workers get it: Select a valid choice."),
    ({"description": "bad\x07bell"}, "Description contains control characters that are not allowed."),
])
def test_bad_input_is_refused_and_nothing_is_created(changes, message):
    response = create(signed_in(make_requester().requester), **changes)
    assert response.status_code == 200 and message in main(response)
    assert not QualificationType.objects.exists()


def test_a_name_already_used_here_is_refused_but_free_in_the_other_environment():
    owner = make_requester().requester
    new_type(owner, "Bird spotter")
    response = create(signed_in(owner))
    assert "Name: You already have a qualification type with this name here; choose another." in main(response)
    assert QualificationType.objects.count() == 1
    create(signed_in(owner, "live"))
    assert QualificationType.objects.count() == 2


def test_the_list_shows_each_type_with_holders_and_pending_requests():
    owner = make_requester().requester
    reviewed = new_type(owner, "Reviewed", environment="live")
    auto = new_type(owner, "Automatic", environment="live", auto_granted=True, auto_granted_value=3)
    new_type(owner, "Sandbox only", environment="sandbox")
    new_type(make_requester().requester, "Not mine", environment="live")
    ask(make_worker(), reviewed)
    ask(make_worker(), reviewed)
    ask(make_worker(), auto)
    grant(owner, reviewed, make_worker(), 9)
    response = signed_in(owner, "live").get("/requester/qualifications")
    rows = [main_row for main_row in re.findall(r"<tr>\s*<th scope=\"row\">.*?</tr>", response.content.decode(), re.S)]
    from tests.requester_site.workers.kit import text

    assert [text(r).split(" Active ")[0] for r in rows] == ["Automatic", "Reviewed"]
    assert f"Automatic Active Granted at once with the value 3; one request per worker 1 0 {auto.pk}" == text(rows[0])
    assert text(rows[1]).startswith("Reviewed Active Requests reviewed by you; one request per worker 1 2 to review")


def test_the_list_explains_when_there_is_nothing_yet():
    page = main(signed_in(make_requester().requester).get("/requester/qualifications"))
    assert "You have no qualification types here yet." in page


# --- edit -------------------------------------------------------------------------------------------------------------


def edit(browser, qt, **changes):
    posted = {"description": qt.description, "status": qt.status, "retries": "never", "retry_delay_unit": "days",
              **changes}
    return browser.post(f"/requester/qualifications/{qt.pk}/edit", posted)


def test_description_status_and_retry_delay_can_be_changed():
    owner = make_requester().requester
    qt = new_type(owner, environment="live")
    browser = signed_in(owner, "live")
    response = edit(browser, qt, description="Now with owls", status="Inactive", retries="after", retry_delay="3")
    assert response.status_code == 302 and flashed(response) == ["\u201cGood tagger\u201d was saved."]
    qt.refresh_from_db()
    assert (qt.description, qt.status, qt.retry_delay) == ("Now with owls", "Inactive", 3 * 86400)
    # An inactive type is hidden from workers.
    worker = Client()
    worker.force_login(make_worker().user)
    assert "Good tagger" not in worker.get("/worker/qualifications").content.decode()
    page = signed_in(owner, "live").get(f"/requester/qualifications/{qt.pk}").content.decode()
    assert re.search(r'name="retry_delay" value="3"', page) and re.search(r'<option value="days" selected>', page)


def test_retries_once_on_cannot_be_switched_off_and_nothing_changes():
    owner = make_requester().requester
    qt = new_type(owner, retry_delay=60)
    response = edit(signed_in(owner), qt, description="Changed", retries="never")
    assert response.status_code == 200
    assert "Retries cannot be switched off once they are on." in main(response)
    qt.refresh_from_db()
    assert (qt.description, qt.retry_delay) == ("Workers whose tags were checked and found good", 60)


def test_an_empty_description_is_refused():
    owner = make_requester().requester
    qt = new_type(owner)
    response = edit(signed_in(owner), qt, description="")
    assert "Description: Describe the qualification type." in main(response)
    qt.refresh_from_db()
    assert qt.description == "Workers whose tags were checked and found good"
