"""Who may open the workers pages: requesters only, each seeing its own workers in the environment it works in."""

from __future__ import annotations

import pytest
from django.test import Client

from kempelen.core.actors import Actor
from kempelen.marketplace import actions as marketplace
from kempelen.marketplace.models import WorkerBlock
from kempelen.qualifications.models import Qualification
from tests.conftest import make_requester, make_worker
from tests.requester_site.conftest import signed_in

from .kit import grant, new_type, work

pytestmark = pytest.mark.django_db

WORKER_PAGES = [
    ("get", "/requester/workers/{w}"),
    ("post", "/requester/workers/{w}/block"),
    ("post", "/requester/workers/{w}/unblock"),
    ("post", "/requester/workers/{w}/message"),
    ("post", "/requester/workers/{w}/bonus"),
    ("post", "/requester/workers/{w}/qualifications"),
]
SITE_PAGES = [
    ("get", "/requester/workers"),
    ("get", "/requester/workers/download"),
    ("get", "/requester/workers/upload"),
    ("post", "/requester/workers/upload"),
    ("get", "/requester/workers/upload/X1"),
    ("post", "/requester/workers/upload/X1/apply"),
    ("post", "/requester/workers/upload/X1/discard"),
]
ALL_PAGES = WORKER_PAGES + SITE_PAGES


@pytest.fixture
def scene():
    owner = make_requester().requester
    worker = make_worker()
    work(owner, worker, outcome="approved")
    return owner, worker


@pytest.mark.parametrize(("method", "url"), ALL_PAGES)
def test_anonymous_visitors_are_sent_to_the_requester_sign_in(scene, method, url):
    _, worker = scene
    target = url.format(w=worker.worker_id)
    response = getattr(Client(), method)(target)
    assert response.status_code == 302
    assert response["Location"].startswith("/requester/login?next=")


@pytest.mark.parametrize(("method", "url"), ALL_PAGES)
def test_a_worker_account_is_told_the_site_is_for_requesters(scene, method, url):
    _, worker = scene
    browser = Client()
    browser.force_login(worker.user)
    response = getattr(browser, method)(url.format(w=worker.worker_id))
    assert response.status_code == 403 and b"for requesters" in response.content


@pytest.mark.parametrize(("method", "url"), WORKER_PAGES)
def test_another_requesters_worker_does_not_exist(scene, method, url):
    _, worker = scene
    stranger = make_requester().requester
    response = getattr(signed_in(stranger), method)(url.format(w=worker.worker_id), {"block-reason": "x"})
    assert response.status_code == 404
    assert not WorkerBlock.objects.exists()


@pytest.mark.parametrize(("method", "url"), WORKER_PAGES)
def test_the_worker_does_not_exist_in_the_other_environment(scene, method, url):
    owner, worker = scene  # the work was done in the sandbox
    response = getattr(signed_in(owner, "live"), method)(url.format(w=worker.worker_id), {"block-reason": "x"})
    assert response.status_code == 404
    assert not WorkerBlock.objects.exists()


@pytest.mark.parametrize("worker_id", ["A9ZZZZZZZZZZZZ", "nobody", "download2"])
def test_an_unknown_worker_id_is_a_404(scene, worker_id):
    owner, _ = scene
    assert signed_in(owner).get(f"/requester/workers/{worker_id}").status_code == 404


def test_a_worker_who_never_worked_for_the_requester_is_a_404_until_blocked_or_granted(scene):
    owner, _ = scene
    other = make_worker()
    browser = signed_in(owner)
    assert browser.get(f"/requester/workers/{other.worker_id}").status_code == 404
    # The API lets a requester block any worker by id; then the worker's page opens.
    marketplace.create_worker_block(actor=Actor.for_requester(owner), requester=owner, environment="sandbox",
                                    worker_id=other.worker_id, reason="Known spammer")
    assert browser.get(f"/requester/workers/{other.worker_id}").status_code == 200
    third = make_worker()
    grant(owner, new_type(owner), third, 3)
    assert browser.get(f"/requester/workers/{third.worker_id}").status_code == 200
    # ... in that environment only.
    assert signed_in(owner, "live").get(f"/requester/workers/{third.worker_id}").status_code == 404


def test_a_worker_who_only_accepted_work_is_not_shown():
    owner = make_requester().requester
    worker = make_worker()
    from tests.lifecycle.kit import accept, new_hit

    accept(worker, new_hit(owner, environment="sandbox"))
    browser = signed_in(owner)
    assert browser.get(f"/requester/workers/{worker.worker_id}").status_code == 404
    assert worker.worker_id not in browser.get("/requester/workers").content.decode()


@pytest.mark.parametrize("path", ["/requester/workers", "/requester/workers/{w}", "/requester/workers/download"])
def test_pages_that_only_read_refuse_posts(scene, path):
    owner, worker = scene
    assert signed_in(owner).post(path.format(w=worker.worker_id)).status_code == 405


def test_another_requesters_qualification_type_cannot_be_granted_from_a_worker_page(scene):
    owner, worker = scene
    stranger = make_requester().requester
    foreign = new_type(stranger, "Their type")
    response = signed_in(owner).post(f"/requester/workers/{worker.worker_id}/qualifications",
                                     {"type": foreign.pk, "action": "grant", f"q-{foreign.pk}-value": "5"})
    assert response.status_code == 404
    assert not Qualification.objects.exists()


def test_a_qualification_type_of_the_other_environment_cannot_be_granted_from_a_worker_page(scene):
    owner, worker = scene
    live_type = new_type(owner, "Live only", environment="live")
    response = signed_in(owner).post(f"/requester/workers/{worker.worker_id}/qualifications",
                                     {"type": live_type.pk, "action": "grant", f"q-{live_type.pk}-value": "5"})
    assert response.status_code == 404
    assert not Qualification.objects.exists()
