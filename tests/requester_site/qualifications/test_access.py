"""Who may open the qualification pages: requesters only, each seeing its own types in the environment it works in."""

from __future__ import annotations

import pytest
from django.test import Client

from kempelen.qualifications.models import Qualification, QualificationRequest, QualificationType
from tests.conftest import make_requester, make_worker
from tests.qualifications.kit import BIRD_TEST
from tests.requester_site.conftest import signed_in
from tests.requester_site.workers.kit import new_type
from tests.worker_site.qualifications.kit import ask

pytestmark = pytest.mark.django_db

TYPE_PAGES = [
    ("get", "/requester/qualifications/{t}"),
    ("post", "/requester/qualifications/{t}/edit"),
    ("post", "/requester/qualifications/{t}/grant"),
    ("post", "/requester/qualifications/{t}/revoke"),
    ("get", "/requester/qualifications/{t}/requests"),
    ("post", "/requester/qualifications/{t}/requests/{r}"),
]
SITE_PAGES = [("get", "/requester/qualifications"), ("get", "/requester/qualifications/new"),
              ("post", "/requester/qualifications/new")]
CHANGES = {"description": "Taken over", "status": "Inactive", "retries": "never", "worker_id": "{w}", "value": "9",
           "decision": "reject"}


@pytest.fixture
def scene():
    owner = make_requester().requester
    qt = new_type(owner, "Bird spotter", test=BIRD_TEST, test_duration=600)
    return owner, qt, make_worker()


def urls(url: str, qt: QualificationType, request_id: str = "R1", worker_id: str = "A1") -> str:
    return url.format(t=qt.pk, r=request_id, w=worker_id)


def snapshot() -> tuple:
    return (list(QualificationType.objects.values_list("id", "description", "status", "retry_delay")),
            list(Qualification.objects.values_list("id", "status", "integer_value")),
            list(QualificationRequest.objects.values_list("id", "state")))


@pytest.mark.parametrize(("method", "url"), TYPE_PAGES + SITE_PAGES)
def test_anonymous_visitors_are_sent_to_the_requester_sign_in(scene, method, url):
    _, qt, _ = scene
    response = getattr(Client(), method)(urls(url, qt))
    assert response.status_code == 302 and response["Location"].startswith("/requester/login?next=")


@pytest.mark.parametrize(("method", "url"), TYPE_PAGES + SITE_PAGES)
def test_a_worker_account_is_told_the_site_is_for_requesters(scene, method, url):
    _, qt, worker = scene
    browser = Client()
    browser.force_login(worker.user)
    response = getattr(browser, method)(urls(url, qt))
    assert response.status_code == 403 and b"for requesters" in response.content


@pytest.mark.parametrize(("method", "url"), TYPE_PAGES)
def test_another_requesters_type_does_not_exist_and_does_not_change(scene, method, url):
    _, qt, worker = scene
    before = snapshot()
    posted = {k: v.format(w=worker.worker_id) for k, v in CHANGES.items()}
    response = getattr(signed_in(make_requester().requester), method)(urls(url, qt), posted)
    assert response.status_code == 404
    assert snapshot() == before


@pytest.mark.parametrize(("method", "url"), TYPE_PAGES)
def test_the_type_does_not_exist_in_the_other_environment(scene, method, url):
    owner, qt, worker = scene  # a sandbox type
    before = snapshot()
    posted = {k: v.format(w=worker.worker_id) for k, v in CHANGES.items()}
    response = getattr(signed_in(owner, "live"), method)(urls(url, qt), posted)
    assert response.status_code == 404
    assert snapshot() == before


def test_a_deleted_type_does_not_exist(scene):
    owner, qt, _ = scene
    from kempelen.core.actors import Actor
    from kempelen.qualifications import actions

    actions.delete_qualification_type(actor=Actor.for_requester(owner), requester=owner, environment="sandbox",
                                      qualification_type_id=qt.pk)
    assert signed_in(owner).get(f"/requester/qualifications/{qt.pk}").status_code == 404
    assert "Bird spotter" not in signed_in(owner).get("/requester/qualifications").content.decode()


def test_a_request_for_another_type_cannot_be_decided_through_this_one():
    owner = make_requester().requester
    mine = new_type(owner, "Mine", environment="live")
    other = make_requester().requester
    theirs = new_type(other, "Theirs", environment="live")
    pending = ask(make_worker(), theirs)
    before = snapshot()
    response = signed_in(owner, "live").post(f"/requester/qualifications/{mine.pk}/requests/{pending.pk}",
                                             {"decision": "accept", f"accept-{pending.pk}-value": "5"})
    assert response.status_code == 404
    assert snapshot() == before


@pytest.mark.parametrize("path", ["/requester/qualifications", "/requester/qualifications/{t}",
                                  "/requester/qualifications/{t}/requests"])
def test_pages_that_only_read_refuse_posts(scene, path):
    owner, qt, _ = scene
    assert signed_in(owner).post(urls(path, qt)).status_code == 405
