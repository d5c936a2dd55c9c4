"""The list of qualifications a worker may request, and requesting one from it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from kempelen.core.actors import Actor
from kempelen.qualifications import actions, system
from kempelen.qualifications.models import Qualification, QualificationRequest

from .kit import OWNER, ask, bird_test, element_text, new_type, owner, signed_in, text

pytestmark = pytest.mark.django_db

LIST = reverse("worker:qualifications")


def request_url(qt) -> str:
    return reverse("worker:request_qualification", args=[qt.pk])


def card(response, qt) -> str:
    """The text of one qualification's card on the list page."""
    return element_text(response, f"type-{qt.pk}", "</li>")


def test_the_list_shows_active_types_with_how_each_is_granted_and_retried():
    lab = owner("Bird Lab")
    tested = bird_test(lab, "Bird spotter", retry_delay=86400)
    auto = new_type(lab, "Newsletter readers", auto_granted=True, auto_granted_value=5, keywords="news, reading")
    manual = new_type(lab, "Trusted labellers", retry_delay=0)
    new_type(lab, "Retired labellers", status="Inactive")
    new_type(lab, "Sandbox only", environment="sandbox")
    gone = new_type(lab, "Deleted one")
    actions.delete_qualification_type(actor=OWNER, requester=lab, environment="live", qualification_type_id=gone.pk)

    client, _ = signed_in()
    response = client.get(LIST)
    assert response.status_code == 200
    page = text(response)
    assert "3 qualifications." in page
    assert "Retired labellers" not in page and "Sandbox only" not in page and "Deleted one" not in page
    assert card(response, tested).startswith("Bird spotter Workers who can tell common garden birds apart By Bird Lab")
    assert "Test: 10 minutes to answer, scored automatically" in card(response, tested)
    assert "May be requested again 1 day after your last request" in card(response, tested)
    assert "Take the test" in card(response, tested)
    assert "Granted at once, with the value 5" in card(response, auto)
    assert "One request only" in card(response, auto)
    assert "news" in card(response, auto) and "reading" in card(response, auto)
    assert "Get this qualification" in card(response, auto)
    assert "The requester reviews each request" in card(response, manual)
    assert "May be requested again at any time" in card(response, manual)
    assert 'aria-current="page"' in response.content.decode()


def test_search_matches_every_word_in_name_description_or_keywords():
    lab = owner()
    new_type(lab, "Bird spotter", keywords="birds, photos")
    new_type(lab, "Audio transcriber", description="Workers who transcribe English speech")
    new_type(lab, "Photo tagger", description="Tag objects in photos", keywords="images")
    client, _ = signed_in()
    found = text(client.get(LIST, {"q": "PHOTOS"}))
    assert "Bird spotter" in found and "Photo tagger" in found and "Audio transcriber" not in found
    assert "2 qualifications matching “PHOTOS”" in found
    assert "Audio transcriber" in text(client.get(LIST, {"q": "english transcribe"}))
    assert "No qualification matches your search." in text(client.get(LIST, {"q": "welding"}))


def test_the_list_is_paginated():
    lab = owner()
    for n in range(25):
        new_type(lab, f"Skill {n:02d}")
    client, _ = signed_in()
    first = text(client.get(LIST))
    assert "Skill 00" in first and "Skill 19" in first and "Skill 20" not in first
    assert "Page 1 of 2" in first and "Next page" in first
    second = text(client.get(LIST, {"page": "2"}))
    assert "Skill 20" in second and "Skill 24" in second and "Skill 00" not in second
    assert "Previous page" in second
    assert "Skill 20" in text(client.get(LIST, {"page": "99"}))  # past the end: the last page
    assert "Skill 00" in text(client.get(LIST, {"page": "nonsense"}))


def test_each_type_shows_where_the_worker_stands():
    lab = owner()
    held = new_type(lab, "Held", auto_granted=True, auto_granted_value=7)
    pending = new_type(lab, "Pending", retry_delay=3600)
    rejected = new_type(lab, "Rejected", retry_delay=3600)
    revoked = new_type(lab, "Revoked", auto_granted=True, retry_delay=60)
    testing = bird_test(lab, "Testing")
    client, worker = signed_in()
    for qt in (held, pending, rejected, revoked, testing):
        ask(worker, qt)
    refused = QualificationRequest.objects.get(worker=worker, qualification_type=rejected)
    actions.reject_qualification_request(actor=OWNER, requester=lab, environment="live", request_id=refused.pk,
                                         reason="Your sample labels were mostly wrong.")
    actions.disassociate_qualification_from_worker(actor=OWNER, requester=lab, environment="live",
                                                   qualification_type_id=revoked.pk, worker_id=worker.worker_id,
                                                   reason="Too many rejected HITs.")
    response = client.get(LIST)
    assert "You have this qualification, with the value 7." in card(response, held)
    assert "This qualification can be requested only once" not in card(response, held)
    assert "Request pending: waiting for the requester's decision" in card(response, pending)
    assert "Request rejected: Your sample labels were mostly wrong." in card(response, rejected)
    assert "You can request it again after" in card(response, rejected)
    assert "Request this qualification" not in card(response, rejected)
    assert "Your qualification was revoked: Too many rejected HITs." in card(response, revoked)
    assert "Test in progress: hand it in by" in card(response, testing)
    started = QualificationRequest.objects.get(worker=worker, qualification_type=testing)
    assert f'href="{reverse("worker:qualification_test", args=[started.pk])}"' in response.content.decode()


# --- requesting -------------------------------------------------------------------------------------------------


def test_an_auto_granted_type_is_granted_at_once_and_the_worker_returns_to_the_list():
    qt = new_type(owner(), "Newsletter readers", auto_granted=True, auto_granted_value=5)
    client, worker = signed_in()
    response = client.post(request_url(qt), {"next": f"{LIST}?q=news"}, follow=True)
    assert response.redirect_chain == [(f"{LIST}?q=news", 302)]
    assert "You now have the qualification “Newsletter readers” with the value 5." in text(response)
    assert Qualification.objects.get(worker=worker, qualification_type=qt).integer_value == 5


def test_a_type_with_a_test_leads_to_the_test():
    qt = bird_test(owner())
    client, worker = signed_in()
    response = client.post(request_url(qt))
    started = QualificationRequest.objects.get(worker=worker, qualification_type=qt)
    assert response.status_code == 302
    assert response["Location"] == reverse("worker:qualification_test", args=[started.pk])


def test_a_type_without_a_test_waits_for_the_requester():
    qt = new_type(owner("Bird Lab"), "Trusted labellers")
    client, worker = signed_in()
    response = client.post(request_url(qt), follow=True)
    assert response.redirect_chain == [(LIST, 302)]
    assert "Your request for “Trusted labellers” was sent to Bird Lab." in text(response)
    assert QualificationRequest.objects.get(worker=worker, qualification_type=qt).state == "pending"
    assert "Request pending" in card(response, qt)


def test_a_second_request_of_a_type_that_allows_one_is_refused_with_the_reason():
    qt = new_type(owner(), "Trusted labellers")
    client, worker = signed_in()
    client.post(request_url(qt))
    response = client.post(request_url(qt), follow=True)
    assert "You already have a request for this qualification that has not been decided yet." in text(response)
    assert QualificationRequest.objects.filter(worker=worker).count() == 1


def test_retrying_before_the_delay_is_refused_and_allowed_after_it(move_clock):
    lab = owner()
    qt = new_type(lab, "Trusted labellers", retry_delay=3600)
    client, worker = signed_in()
    first = ask(worker, qt)
    actions.reject_qualification_request(actor=OWNER, requester=lab, environment="live", request_id=first.pk)
    response = client.post(request_url(qt), follow=True)
    assert "You can request this qualification again 3600 seconds from now" in text(response)
    assert QualificationRequest.objects.filter(worker=worker).count() == 1
    move_clock(3601)
    assert "Request this qualification" in card(client.get(LIST), qt)
    client.post(request_url(qt))
    assert QualificationRequest.objects.filter(worker=worker, state="pending").count() == 1


def test_an_unsafe_return_address_is_ignored():
    qt = new_type(owner(), auto_granted=True)
    client, _ = signed_in()
    response = client.post(request_url(qt), {"next": "https://evil.example.com/phish"})
    assert response["Location"] == LIST


def test_an_inactive_type_is_refused_with_a_message():
    lab = owner()
    qt = new_type(lab, "Paused", status="Inactive")
    client, worker = signed_in()
    response = client.post(request_url(qt), follow=True)
    assert "This qualification is not accepting requests at the moment." in text(response)
    assert not QualificationRequest.objects.filter(worker=worker).exists()


def test_a_system_qualification_cannot_be_requested():
    client, worker = signed_in()
    response = client.post(reverse("worker:request_qualification", args=[system.PERCENT_APPROVED]), follow=True)
    assert "System qualifications cannot be requested" in text(response)
    assert not QualificationRequest.objects.filter(worker=worker).exists()


def test_a_worker_already_holding_a_once_only_type_is_told_so():
    lab = owner()
    qt = new_type(lab, "Invited")
    client, worker = signed_in()
    actions.associate_qualification_with_worker(
        actor=Actor.for_requester(lab), requester=lab, environment="live", qualification_type_id=qt.pk,
        worker_id=worker.worker_id, integer_value=3, send_notification=False)
    response = client.get(LIST)
    assert "You have this qualification, with the value 3." in card(response, qt)
    assert "Request this qualification" not in card(response, qt)
    assert "You already have this qualification." in text(client.post(request_url(qt), follow=True))
