"""Taking a qualification test through the pages: the form, the deadline, handing in, and what comes of it."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from kempelen.core import clock
from kempelen.qualifications import actions
from kempelen.qualifications.models import Qualification, QualificationRequest
from tests.qualifications.kit import BIRD_TEST
from tests.unit.questions.test_render import Page, fill, post

from .kit import OWNER, ask, bird_test, new_type, owner, signed_in, text

pytestmark = pytest.mark.django_db


def page_of(request) -> str:
    return reverse("worker:qualification_test", args=[request.pk])


def hand_in(client, url: str, answers: dict[str, list[str]]):
    """Fill in the test form's own controls as a worker would, and hand it in."""
    body = client.get(url).content.decode()
    start = body.index('id="test-form"')
    page = Page(body[start:body.index("</form>", start)].partition(">")[2])
    fill(page, answers)
    return client.post(url, post(page))


def test_an_answer_key_test_from_request_to_grant():
    qt = bird_test(owner("Bird Lab"), "Bird spotter", test_duration=900)
    client, worker = signed_in()

    # Request: straight to the test.
    response = client.post(reverse("worker:request_qualification", args=[qt.pk]), follow=True)
    started = QualificationRequest.objects.get(worker=worker, qualification_type=qt)
    url = page_of(started)
    assert response.redirect_chain == [(url, 302)]
    page = text(response)
    assert "Qualification test: Bird spotter" in page
    assert "Bird identification test" in page and "Which bird is in this picture?" in page
    deadline = started.test_deadline
    assert f'<time datetime="{deadline.isoformat()}">' in response.content.decode()
    assert f"Hand in by {deadline:%-d %b %Y, %H:%M} UTC" in page
    seconds = int(re.search(r'data-seconds-left="(\d+)"', response.content.decode()).group(1))
    assert 890 <= seconds <= 900
    assert "kempelen/qualifications.js" in response.content.decode()

    # A first try with a required answer missing and a number that is not one: shown back, answers kept.
    response = hand_in(client, url, {"bird1": ["robin"], "bird3": ["sparrow"], "experience": ["lots"]})
    assert response.status_code == 200
    page = text(response)
    assert "Some answers need changing before the test can be handed in" in page
    assert "2 answers need changing" in page
    assert "Please fix: This question requires an answer." in page
    assert "Please fix: Enter a number from 0 to 99." in page
    again = Page(response.content.decode())
    assert [c.attrs["value"] for c in again.named("bird1") if "checked" in c.attrs] == ["robin"]
    assert [c.attrs["value"] for c in again.named("bird3") if "checked" in c.attrs] == ["sparrow"]
    assert again.named("experience")[0].attrs["value"] == "lots"
    assert re.search(r'<p class="qf-error" id="qf-q2-error" role="alert">', response.content.decode())
    started.refresh_from_db()
    assert started.state == "test" and not Qualification.objects.filter(worker=worker).exists()

    # The right answers: scored at once and granted with the computed value.
    response = client.post(url, {"bird1": "robin", "bird2": "wren", "bird3": "finch", "experience": "4"}, follow=True)
    assert response.redirect_chain == [(url, 302)]
    page = text(response)
    assert "Test handed in and scored: you now have “Bird spotter” with the value 100." in page
    assert "Qualification granted" in page and "with the value 100" in page
    assert Qualification.objects.get(worker=worker, qualification_type=qt).integer_value == 100
    assert 'id="test-form"' not in response.content.decode()


def test_a_partly_right_test_grants_the_percentage_it_scored():
    qt = bird_test(owner())
    client, worker = signed_in()
    started = ask(worker, qt)
    response = hand_in(client, page_of(started), {"bird1": ["robin"], "bird2": ["wren"], "bird3": ["sparrow"]})
    assert response.status_code == 302
    assert "with the value 67" in text(client.get(page_of(started)))
    assert Qualification.objects.get(worker=worker).integer_value == 67


def test_a_test_without_an_answer_key_waits_for_the_requester_and_shows_the_decision():
    lab = owner("Bird Lab")
    qt = new_type(lab, "Bird spotter", test=BIRD_TEST, test_duration=600)
    client, worker = signed_in()
    started = ask(worker, qt)
    url = page_of(started)
    response = client.post(url, {"bird1": "robin", "bird2": "wren", "bird3": "finch"}, follow=True)
    page = text(response)
    assert "Test handed in. Bird Lab will review your answers." in page
    assert "Waiting for the requester" in page
    assert not Qualification.objects.filter(worker=worker).exists()

    actions.reject_qualification_request(actor=OWNER, requester=lab, environment="live", request_id=started.pk,
                                         reason="Bird 3 was a finch.")
    page = text(client.get(url))
    assert "Request rejected" in page and "The reason given: Bird 3 was a finch." in page
    assert "This qualification can be requested only once." in page


def test_a_late_hand_in_is_refused_clearly_and_the_request_lapses(move_clock):
    qt = bird_test(owner(), test_duration=300)
    client, worker = signed_in()
    started = ask(worker, qt)
    url = page_of(started)
    move_clock(301)
    response = client.post(url, {"bird1": "robin", "bird2": "wren", "bird3": "finch"})
    assert response.status_code == 200
    page = text(response)
    assert "The time allowed for this qualification test ended at" in page
    assert "the answers were not accepted" in page
    assert "The time for this test ran out" in page
    assert 'role="alert"' in response.content.decode()
    started.refresh_from_db()
    assert started.state == "lapsed" and started.answer == ""
    assert not Qualification.objects.filter(worker=worker).exists()


def test_a_test_past_its_deadline_shows_as_lapsed_before_anyone_hands_it_in(move_clock):
    qt = bird_test(owner(), test_duration=300, retry_delay=600)
    client, worker = signed_in()
    started = ask(worker, qt)
    move_clock(301)
    page = text(client.get(page_of(started)))
    assert "The time for this test ran out" in page and 'name="bird1"' not in page
    assert "You can request it again after" in page
    move_clock(300)
    response = client.get(page_of(started))
    assert "Request this qualification again" in text(response)
    # Requesting again starts a fresh test.
    response = client.post(reverse("worker:request_qualification", args=[qt.pk]))
    fresh = QualificationRequest.objects.filter(worker=worker).exclude(pk=started.pk).get()
    assert response["Location"] == page_of(fresh)
    assert fresh.test_deadline > clock.now()


def test_handing_in_twice_changes_nothing_and_says_where_the_request_stands():
    qt = bird_test(owner())
    client, worker = signed_in()
    started = ask(worker, qt)
    url = page_of(started)
    client.post(url, {"bird1": "robin", "bird2": "wren", "bird3": "finch"})
    response = client.post(url, {"bird1": "wren", "bird2": "robin", "bird3": "robin"}, follow=True)
    assert "This test can no longer be handed in (it was handed in already, or the request was decided); here is where your request stands." in text(response)
    assert Qualification.objects.get(worker=worker).integer_value == 100


def test_a_tampered_answer_is_sent_back_as_an_error():
    qt = bird_test(owner())
    client, worker = signed_in()
    started = ask(worker, qt)
    response = client.post(page_of(started), {"bird1": "eagle", "bird2": "wren", "bird3": "finch",
                                               "bird1.OtherSelectionText": "<script>alert(1)</script>"})
    assert response.status_code == 200
    page = text(response)
    assert "'eagle' is not one of this question's choices." in page
    assert "<script>alert(1)</script>" not in response.content.decode()
    started.refresh_from_db()
    assert started.state == "test"


def test_the_test_page_escapes_requester_text():
    lab = owner()
    evil = BIRD_TEST.replace("Bird identification test", "&lt;script&gt;alert(1)&lt;/script&gt;")
    qt = new_type(lab, "Sneaky <b>test</b>", test=evil, test_duration=600,
                  description="<img src=x onerror=alert(1)>")
    client, worker = signed_in()
    body = client.get(page_of(ask(worker, qt))).content.decode()
    assert "<script>alert(1)</script>" not in body and "<img src=x" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body and "Sneaky &lt;b&gt;test&lt;/b&gt;" in body
