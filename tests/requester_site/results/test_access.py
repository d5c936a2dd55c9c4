"""Who may open the results pages: signed-in requesters, on their own batches, in the batch's environment."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from django.test import Client
from django.urls import reverse

from kempelen.core.actors import Actor
from kempelen.marketplace.models import Assignment, BonusPayment
from kempelen.requester_site.models import PendingUpload, UploadKind
from kempelen.requester_site.uploads import keep_upload
from tests.conftest import make_requester, make_worker
from tests.requester_site.conftest import signed_in

from .kit import csv_bytes, make_batch, work

pytestmark = pytest.mark.django_db


def pages(batch_id: str, assignment_id: str, upload_id: str) -> list[tuple[str, str, dict]]:
    """Every results view: (method, URL, form data)."""
    review = {"do": f"approve:{assignment_id}"}
    return [
        ("get", reverse("requester:results", args=[batch_id]), {}),
        ("post", reverse("requester:results_review", args=[batch_id]), review),
        ("get", reverse("requester:results_download", args=[batch_id]), {}),
        ("get", reverse("requester:results_upload", args=[batch_id]), {}),
        ("post", reverse("requester:results_upload", args=[batch_id]), {}),
        ("get", reverse("requester:results_upload_plan", args=[batch_id, upload_id]), {}),
        ("post", reverse("requester:results_upload_plan", args=[batch_id, upload_id]), {}),
        ("post", reverse("requester:results_upload_discard", args=[batch_id, upload_id]), {}),
        ("get", reverse("requester:results_assignment", args=[batch_id, assignment_id]), {}),
        ("post", reverse("requester:results_bonus", args=[batch_id, assignment_id]),
         {"amount": "1.00", "reason": "Thanks", "token": "t1"}),
    ]


PAGES = range(10)


@pytest.fixture
def setup():
    kit = make_batch()
    done = work(kit, kit.hits[0])
    content = csv_bytes([["AssignmentId", "Approve", "Reject"], [done.pk, "x", ""]])
    upload = keep_upload(actor=Actor.for_requester(kit.requester), requester=kit.requester, environment="sandbox",
                         kind=UploadKind.RESULTS_REVIEW, filename="r.csv", content=content, subject_id=kit.batch.pk)
    return kit, done, upload


def unchanged(done: Assignment, upload: PendingUpload) -> None:
    done.refresh_from_db()
    assert done.status == "Submitted"
    assert PendingUpload.objects.filter(pk=upload.pk).exists()
    assert not BonusPayment.objects.exists()


@pytest.mark.parametrize("index", PAGES)
def test_anonymous_visitors_are_sent_to_the_requester_sign_in(setup, index):
    kit, done, upload = setup
    method, url, data = pages(kit.batch.pk, done.pk, upload.pk)[index]
    response = getattr(Client(), method)(url, data)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('requester:login')}?next={quote(url)}"
    unchanged(done, upload)


@pytest.mark.parametrize("index", PAGES)
def test_a_worker_account_is_refused_with_a_clear_page(setup, index):
    kit, done, upload = setup
    method, url, data = pages(kit.batch.pk, done.pk, upload.pk)[index]
    browser = Client()
    browser.force_login(make_worker().user)
    response = getattr(browser, method)(url, data)
    assert response.status_code == 403
    assert b"This site is for requesters" in response.content or b"not a requester" in response.content.lower()
    unchanged(done, upload)


@pytest.mark.parametrize("index", PAGES)
def test_another_requester_s_batch_is_not_found(setup, index):
    kit, done, upload = setup
    method, url, data = pages(kit.batch.pk, done.pk, upload.pk)[index]
    response = getattr(signed_in(make_requester().requester, "sandbox"), method)(url, data)
    assert response.status_code == 404
    unchanged(done, upload)


@pytest.mark.parametrize("index", PAGES)
def test_the_batch_is_not_found_from_the_other_environment(setup, index):
    kit, done, upload = setup
    method, url, data = pages(kit.batch.pk, done.pk, upload.pk)[index]
    response = getattr(signed_in(kit.requester, "live"), method)(url, data)
    assert response.status_code == 404
    unchanged(done, upload)


@pytest.mark.parametrize("index", PAGES)
def test_an_unknown_batch_is_not_found(setup, index):
    kit, done, upload = setup
    method, url, data = pages("NOSUCHBATCH", done.pk, upload.pk)[index]
    assert getattr(kit.browser(), method)(url, data).status_code == 404
    unchanged(done, upload)


def test_another_batch_s_assignment_is_not_found_through_this_batch(setup):
    kit, done, upload = setup
    mine_too = make_batch(kit.requester)
    theirs = work(mine_too, mine_too.hits[0])
    browser = kit.browser()
    assert browser.get(reverse("requester:results_assignment", args=[kit.batch.pk, theirs.pk])).status_code == 404
    response = browser.post(reverse("requester:results_bonus", args=[kit.batch.pk, theirs.pk]),
                            {"amount": "1.00", "reason": "Thanks", "token": "t2"})
    assert response.status_code == 404
    response = browser.post(reverse("requester:results_review", args=[kit.batch.pk]), {"do": f"approve:{theirs.pk}"})
    assert response.status_code == 400
    assert "this assignment is not part of this batch" in response.content.decode()
    theirs.refresh_from_db()
    assert theirs.status == "Submitted"
    unchanged(done, upload)


def test_an_upload_kept_for_another_batch_or_requester_cannot_be_used_here(setup):
    kit, done, upload = setup
    second = make_batch(kit.requester)
    browser = kit.browser()
    url = reverse("requester:results_upload_plan", args=[second.batch.pk, upload.pk])
    response = browser.post(url)
    assert response.status_code == 404
    assert "This upload is no longer here" in response.content.decode()
    stranger = make_requester().requester
    other = make_batch(stranger)
    theirs = keep_upload(actor=Actor.for_requester(stranger), requester=stranger, environment="sandbox",
                         kind=UploadKind.RESULTS_REVIEW, filename="r.csv", content=upload.content,
                         subject_id=other.batch.pk)
    assert browser.post(reverse("requester:results_upload_plan", args=[kit.batch.pk, theirs.pk])).status_code == 404
    browser.post(reverse("requester:results_upload_discard", args=[kit.batch.pk, theirs.pk]))
    assert PendingUpload.objects.filter(pk=theirs.pk).exists()
    unchanged(done, upload)


def test_pages_only_answer_their_methods(setup):
    kit, done, upload = setup
    browser = kit.browser()
    assert browser.post(reverse("requester:results", args=[kit.batch.pk])).status_code == 405
    assert browser.get(reverse("requester:results_review", args=[kit.batch.pk])).status_code == 405
    assert browser.post(reverse("requester:results_download", args=[kit.batch.pk])).status_code == 405
    assert browser.get(reverse("requester:results_bonus", args=[kit.batch.pk, done.pk])).status_code == 405
    unchanged(done, upload)
