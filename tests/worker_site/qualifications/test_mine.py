"""The worker's own qualifications: grants from requesters, the values Kempelen computes, and requests."""

from __future__ import annotations

import pytest
from django.urls import reverse

from kempelen.core.actors import Actor
from kempelen.qualifications import actions, system
from tests.lifecycle import kit as work

from .kit import OWNER, ask, bird_test, element_text, new_type, owner, signed_in, text

pytestmark = pytest.mark.django_db

MINE = reverse("worker:my_qualifications")


def test_grants_show_their_values_and_revocations_their_reasons():
    lab = owner("Bird Lab")
    held = new_type(lab, "Bird spotter", auto_granted=True, auto_granted_value=85)
    revoked = new_type(lab, "Trusted labeller", auto_granted=True)
    client, worker = signed_in()
    ask(worker, held)
    ask(worker, revoked)
    actions.disassociate_qualification_from_worker(actor=OWNER, requester=lab, environment="live",
                                                   qualification_type_id=revoked.pk, worker_id=worker.worker_id,
                                                   reason="Labels copied from another worker.")
    response = client.get(MINE)
    assert response.status_code == 200
    row = element_text(response, f"grant-{held.pk}", "</tr>")
    assert row.startswith("Bird spotter Bird Lab 85 Granted")
    row = element_text(response, f"grant-{revoked.pk}", "</tr>")
    assert "Revoked: Labels copied from another worker." in row


def test_a_worker_without_grants_is_pointed_to_the_list():
    client, _ = signed_in()
    page = text(client.get(MINE))
    assert "You have no qualifications from requesters yet." in page
    assert "You have no pending requests." in page


def test_system_values_are_computed_from_profile_and_work():
    lab = owner(funds_cents=1_000)
    client, worker = signed_in(country="US", subdivision="CA", is_adult=True)
    hit = work.new_hit(lab)
    assignment = work.accept(worker, hit)
    work.submit(worker, assignment)
    work.approve(lab, assignment)
    response = client.get(MINE)
    assert element_text(response, f"system-{system.LOCALE}", "</tr>").startswith("Location (Worker_Locale) US-CA")
    assert element_text(response, f"system-{system.ADULT}", "</tr>").startswith("Adult content (Worker_Adult) 1")
    assert element_text(response, f"system-{system.NUMBER_HITS_APPROVED}", "</tr>").startswith(
        "Approved HITs (Worker_NumberHITsApproved) 1")
    approval = element_text(response, f"system-{system.PERCENT_APPROVED}", "</tr>")
    assert approval.startswith("Approval rate (Worker_PercentAssignmentsApproved) 100%")
    assert "until you have submitted 100 assignments" in approval
    assert element_text(response, f"system-{system.MASTERS_LIVE}", "</tr>").startswith("Masters No")


def test_a_worker_without_a_country_is_asked_to_set_one():
    client, _ = signed_in(country="")
    locale = element_text(client.get(MINE), f"system-{system.LOCALE}", "</tr>")
    assert locale.startswith("Location (Worker_Locale) Not set")
    assert "Add your country in your profile" in locale


def test_pending_requests_and_running_tests_are_listed_and_decisions_kept(move_clock):
    lab = owner("Bird Lab")
    waiting = new_type(lab, "Trusted labeller")
    testing = bird_test(lab, "Bird spotter")
    refused = new_type(lab, "Expert", retry_delay=60)
    client, worker = signed_in()
    pending = ask(worker, waiting)
    started = ask(worker, testing)
    no = ask(worker, refused)
    actions.reject_qualification_request(actor=Actor.for_requester(lab), requester=lab, environment="live",
                                         request_id=no.pk, reason="Not enough experience yet.")
    response = client.get(MINE)
    card = element_text(response, f"request-{pending.pk}", "</li>")
    assert card.startswith("Trusted labeller By Bird Lab Requested")
    assert "Request pending: waiting for the requester's decision" in card
    card = element_text(response, f"request-{started.pk}", "</li>")
    assert "Test in progress: hand it in by" in card
    assert f'href="{reverse("worker:qualification_test", args=[started.pk])}"' in response.content.decode()
    row = element_text(response, f"request-{no.pk}", "</tr>")
    assert row.startswith("Expert") and row.endswith("Rejected: Not enough experience yet.")

    # A test whose time ran out is no longer pending.
    move_clock(601)
    response = client.get(MINE)
    assert "The test time ran out" in element_text(response, f"request-{started.pk}", "</tr>")
