"""The profile page: the WorkerId, and the details that feed the Locale and Adult qualifications."""

from __future__ import annotations

import html

import pytest
from django.urls import reverse

from kempelen.core.actors import Actor
from kempelen.core.errors import NotQualified
from kempelen.core.models import AuditEvent
from kempelen.marketplace.actions import create_hit, create_hit_type
from kempelen.marketplace.actions.work import check_may
from kempelen.marketplace.queries import discoverable_groups
from kempelen.qualifications import system
from tests.conftest import make_requester

pytestmark = pytest.mark.django_db
PROFILE = reverse("worker:profile")
QUESTION = """<HTMLQuestion xmlns="http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2011-11-11/HTMLQuestion.xsd">
<HTMLContent><![CDATA[<form><input name="x"></form>]]></HTMLContent><FrameHeight>0</FrameHeight></HTMLQuestion>"""


def _text(response) -> str:  # type: ignore[no-untyped-def]
    return html.unescape(response.content.decode())


def _form(**overrides: str | None) -> dict[str, str]:
    data: dict[str, str | None] = {"display_name": "Ada", "country": "US", "subdivision": "", "is_adult": None}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _group_requiring(*requirements: dict):  # type: ignore[no-untyped-def]
    requester = make_requester().requester
    actor = Actor.for_requester(requester)
    hit_type = create_hit_type(
        actor=actor, requester=requester, environment="live", title="Rate US restaurants",
        description="Local knowledge", reward_cents=25, assignment_duration=600,
        qualification_requirements=list(requirements),
    )
    create_hit(actor=actor, requester=requester, environment="live", hit_type=hit_type, lifetime=3600,
               question=QUESTION, max_assignments=1)
    return hit_type


def test_anonymous_visitors_are_sent_to_sign_in_first(client):
    response = client.get(PROFILE)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('worker:login')}?next={PROFILE}"


def test_a_requester_gets_a_clear_refusal(client):
    client.force_login(make_requester().requester.user)
    response = client.get(PROFILE)
    assert response.status_code == 403
    assert "is for workers" in _text(response)


def test_the_profile_shows_the_worker_id_and_the_current_details(client, worker_with_password):
    worker = worker_with_password(country="CA", subdivision="QC", display_name="Ada", is_adult=True)
    client.force_login(worker.user)
    response = client.get(PROFILE)
    assert response.status_code == 200
    page = _text(response)
    assert "Your Worker ID" in page and worker.worker_id in page
    assert worker.user.email in page
    assert "CA-QC (Canada)" in page
    assert "Yes, you may see adult content" in page
    for label in ("Display name (optional)", "Country", "State or region (optional)"):
        assert f">{label}</label>" in page
    assert '<option value="CA" selected>Canada</option>' in page
    assert 'value="QC"' in page
    assert response.context["nav"] == "profile"


def test_saving_the_profile_changes_the_details_and_records_who_changed_what(client, worker_with_password):
    worker = worker_with_password(country="DE", display_name="Ada")
    client.force_login(worker.user)
    response = client.post(PROFILE, _form(display_name="Ada L.", country="US", subdivision="wa", is_adult="on"),
                           follow=True)
    assert "Your profile is saved." in _text(response)
    worker.refresh_from_db()
    assert (worker.display_name, worker.country, worker.subdivision, worker.is_adult) == ("Ada L.", "US", "WA", True)
    event = AuditEvent.objects.get(action="update_worker_profile", target_id=worker.worker_id)
    assert event.actor == f"worker:{worker.worker_id}"
    assert event.data["changes"]["country"] == ["DE", "US"]
    assert "US-WA (United States)" in _text(response)


def test_a_profile_change_refused_keeps_what_was_typed(client, worker_with_password):
    worker = worker_with_password(country="DE")
    client.force_login(worker.user)
    response = client.post(PROFILE, _form(display_name="Typed name", country="FR", subdivision="1X"))
    page = _text(response)
    assert "A subdivision is two letters" in page
    assert 'role="alert"' in page
    assert 'value="Typed name"' in page and '<option value="FR" selected>France</option>' in page
    worker.refresh_from_db()
    assert worker.country == "DE"


def test_an_unknown_country_is_refused(client, worker_with_password):
    worker = worker_with_password()
    client.force_login(worker.user)
    assert "Choose your country from the list." in _text(client.post(PROFILE, _form(country="ZZ")))


def test_moving_to_the_us_makes_a_us_only_hit_acceptable(client, worker_with_password):
    hit_type = _group_requiring({"QualificationTypeId": system.LOCALE, "Comparator": "EqualTo",
                                 "LocaleValues": [{"Country": "US"}]})
    worker = worker_with_password(country="DE")
    with pytest.raises(NotQualified, match="You do not meet the qualification requirements"):
        check_may(worker, hit_type, "Accept")
    assert discoverable_groups(worker, "live", qualified_only=True) == []

    client.force_login(worker.user)
    client.post(PROFILE, _form(country="US"))

    worker.refresh_from_db()
    check_may(worker, hit_type, "Accept")  # no longer refused
    assert [g.hit_type.pk for g in discoverable_groups(worker, "live", qualified_only=True)] == [hit_type.pk]


def test_the_adult_confirmation_is_the_adult_qualification(client, worker_with_password):
    hit_type = _group_requiring({"QualificationTypeId": system.ADULT, "Comparator": "EqualTo",
                                 "IntegerValues": [1]})
    worker = worker_with_password(is_adult=False)
    with pytest.raises(NotQualified):
        check_may(worker, hit_type, "Accept")
    client.force_login(worker.user)
    client.post(PROFILE, _form(country=worker.country, is_adult="on"))
    worker.refresh_from_db()
    check_may(worker, hit_type, "Accept")
    client.post(PROFILE, _form(country=worker.country))  # unticked again
    worker.refresh_from_db()
    with pytest.raises(NotQualified):
        check_may(worker, hit_type, "Accept")
