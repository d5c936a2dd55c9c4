"""The worker file through the pages: download, upload, the dry run, applying it (all or nothing, and twice)."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from kempelen.core.actors import Actor
from kempelen.marketplace import actions as marketplace
from kempelen.marketplace.models import WorkerBlock
from kempelen.notifications.models import OutboxEmail
from kempelen.qualifications.models import Qualification
from kempelen.requester_site.models import PendingUpload
from tests.conftest import make_requester, make_worker
from tests.requester_site.conftest import signed_in

from .kit import flashed, grant, main, new_type, work

pytestmark = pytest.mark.django_db


def download(browser) -> list[dict[str, str]]:
    response = browser.get("/requester/workers/download")
    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def upload(browser, content: str | bytes, name: str = "workers.csv"):
    data = content.encode() if isinstance(content, str) else content
    return browser.post("/requester/workers/upload", {"file": SimpleUploadedFile(name, data, "text/csv")})


def state() -> tuple:
    """Everything a worker file can change, and the emails it queues."""
    return (
        sorted(Qualification.objects.values_list("worker__worker_id", "qualification_type__name", "integer_value",
                                                 "status", "grant_time")),
        sorted(WorkerBlock.objects.values_list("worker_id", "environment", "reason")),
        OutboxEmail.objects.count(),
    )


def apply_url(response) -> str:
    found = re.search(r'action="(/requester/workers/upload/[A-Z0-9]+/apply)"', response.content.decode())
    assert found, "the plan page offers no apply button"
    return found.group(1)


@pytest.fixture
def scene():
    owner = make_requester().requester
    ada, bob = make_worker(), make_worker()
    work(owner, ada, outcome="approved")
    work(owner, ada, outcome="rejected")
    work(owner, bob)
    tagger = new_type(owner, "Good tagger")
    new_type(owner, "Bird spotter")
    grant(owner, tagger, ada, 40)
    return owner, ada, bob


# --- download ---------------------------------------------------------------------------------------------------------


def test_the_download_lists_each_worker_with_rates_current_values_and_block_status(scene):
    owner, ada, bob = scene
    marketplace.create_worker_block(actor=Actor.for_requester(owner), requester=owner, environment="sandbox",
                                    worker_id=bob.worker_id, reason="Spam")
    response = signed_in(owner).get("/requester/workers/download")
    assert response["Content-Disposition"].startswith('attachment; filename="Workers_sandbox_')
    header = next(csv.reader(io.StringIO(response.content.decode())))
    assert header == ["Worker ID", "LifetimeApprovalRate", "Last30DaysApprovalRate", "Last7DaysApprovalRate",
                      "CURRENT-Bird spotter", "UPDATE-Bird spotter", "CURRENT-Good tagger", "UPDATE-Good tagger",
                      "BlockReason", "UPDATE-BlockStatus", "CURRENT BlockStatus"]
    rows = {row["Worker ID"]: row for row in download(signed_in(owner))}
    assert rows[ada.worker_id] == {
        "Worker ID": ada.worker_id, "LifetimeApprovalRate": "50% (1/2)", "Last30DaysApprovalRate": "50% (1/2)",
        "Last7DaysApprovalRate": "50% (1/2)", "CURRENT-Bird spotter": "", "UPDATE-Bird spotter": "",
        "CURRENT-Good tagger": "40", "UPDATE-Good tagger": "", "BlockReason": "", "UPDATE-BlockStatus": "",
        "CURRENT BlockStatus": "Unblocked",
    }
    assert rows[bob.worker_id]["LifetimeApprovalRate"] == "0% (0/0)"
    assert rows[bob.worker_id]["CURRENT BlockStatus"] == "Blocked"


def test_the_download_rates_count_only_recent_work_in_the_windows(scene, move_clock):
    owner, ada, _ = scene
    move_clock(10 * 24 * 3600)
    work(owner, ada, outcome="approved")
    row = {r["Worker ID"]: r for r in download(signed_in(owner))}[ada.worker_id]
    assert (row["LifetimeApprovalRate"], row["Last30DaysApprovalRate"], row["Last7DaysApprovalRate"]) == (
        "67% (2/3)", "67% (2/3)", "100% (1/1)")


def test_the_download_holds_only_the_requesters_own_workers_and_types_in_this_environment(scene):
    owner, ada, bob = scene
    other = make_requester().requester
    stranger = make_worker()
    work(other, stranger)
    new_type(other, "Their type")
    new_type(owner, "Live type", environment="live")
    rows = download(signed_in(owner))
    assert sorted(row["Worker ID"] for row in rows) == sorted([ada.worker_id, bob.worker_id])
    assert not any("Their type" in column or "Live type" in column for column in rows[0])


# --- upload, dry run and apply ------------------------------------------------------------------------------------------


def filled_in(browser, updates: dict[str, dict[str, str]]) -> str:
    """The downloaded file with some UPDATE cells filled in, as a requester would save it."""
    rows = download(browser)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    for row in rows:
        row.update(updates.get(row["Worker ID"], {}))
        writer.writerow(row)
    return out.getvalue()


def test_a_dry_run_shows_every_change_and_changes_nothing_until_applied(scene):
    owner, ada, bob = scene
    browser = signed_in(owner)
    content = filled_in(browser, {
        ada.worker_id: {"UPDATE-Good tagger": "90", "UPDATE-Bird spotter": "5"},
        bob.worker_id: {"UPDATE-BlockStatus": "Block", "BlockReason": "Copied answers"},
    })
    before = state()
    response = upload(browser, content)
    assert response.status_code == 302
    plan = browser.get(response["Location"])
    page = main(plan)
    assert "Applying this file will make 3 changes: 1 grant, 1 value change, 0 revocations, 1 block and 0 unblocks" in page
    assert f"{ada.worker_id} Grant \u201cBird spotter\u201d with the value 5 Change \u201cGood tagger\u201d from 40 to 90" in page
    assert f"{bob.worker_id} Block (reason: Copied answers)" in page
    assert state() == before
    applied = browser.post(apply_url(plan), {"notify": "on"})
    assert applied.status_code == 302 and applied["Location"] == "/requester/workers"
    assert flashed(applied) == ["The worker file workers.csv was applied: 1 granted, 1 changed, 1 blocked."]
    assert sorted(Qualification.objects.values_list("worker__worker_id", "qualification_type__name", "integer_value")) \
        == sorted([(ada.worker_id, "Good tagger", 90), (ada.worker_id, "Bird spotter", 5)])
    assert list(WorkerBlock.objects.values_list("worker_id", "reason")) == [(bob.worker_id, "Copied answers")]
    assert OutboxEmail.objects.filter(kind="qualification_granted").count() == 2
    assert not PendingUpload.objects.exists()


def test_applying_the_same_file_again_changes_nothing(scene):
    owner, ada, bob = scene
    browser = signed_in(owner)
    content = filled_in(browser, {
        ada.worker_id: {"UPDATE-Good tagger": "Revoke", "UPDATE-Bird spotter": "70"},
        bob.worker_id: {"UPDATE-BlockStatus": "Block"},
    })
    plan = browser.get(upload(browser, content)["Location"])
    browser.post(apply_url(plan), {"notify": "on"})
    after_first = state()
    assert WorkerBlock.objects.get().reason == "Blocked by worker file upload"
    again = upload(browser, content)
    assert again.status_code == 200
    assert "This file changes nothing: every worker already has what it asks for." in main(again)
    assert "apply" not in again.content.decode()
    assert state() == after_first


def test_submitting_the_apply_form_twice_applies_once(scene):
    owner, ada, _ = scene
    browser = signed_in(owner)
    plan = browser.get(upload(browser, f"Worker ID,UPDATE-Bird spotter\n{ada.worker_id},12\n")["Location"])
    url = apply_url(plan)
    browser.post(url, {"notify": "on"})
    after_first = state()
    second = browser.post(url, {"notify": "on"})
    assert second.status_code == 302 and second["Location"] == "/requester/workers/upload"
    assert "That upload is no longer waiting to be applied" in flashed(second)[-1]
    assert state() == after_first


def test_grants_by_file_email_workers_only_when_asked(scene):
    owner, ada, _ = scene
    browser = signed_in(owner)
    plan = browser.get(upload(browser, f"Worker ID,UPDATE-Bird spotter\n{ada.worker_id},12\n")["Location"])
    browser.post(apply_url(plan), {})
    assert Qualification.objects.filter(qualification_type__name="Bird spotter").exists()
    assert not OutboxEmail.objects.exists()


def test_unblocking_by_file(scene):
    owner, ada, _ = scene
    marketplace.create_worker_block(actor=Actor.for_requester(owner), requester=owner, environment="sandbox",
                                    worker_id=ada.worker_id, reason="Mistake")
    browser = signed_in(owner)
    plan = browser.get(upload(browser, f"Worker ID,UPDATE BlockStatus\n{ada.worker_id},unblock\n")["Location"])
    browser.post(apply_url(plan), {})
    assert not WorkerBlock.objects.exists()


def test_discarding_a_checked_file_changes_nothing(scene):
    owner, ada, _ = scene
    browser = signed_in(owner)
    location = upload(browser, f"Worker ID,UPDATE-Good tagger\n{ada.worker_id},1\n")["Location"]
    before = state()
    upload_id = location.rstrip("/").split("/")[-1]
    response = browser.post(f"/requester/workers/upload/{upload_id}/discard")
    assert response["Location"] == "/requester/workers/upload"
    assert not PendingUpload.objects.exists() and state() == before


@pytest.mark.parametrize(("content", "message"), [
    # A good row beside a bad one: nothing at all is applied.
    ("Worker ID,UPDATE-Good tagger,UPDATE-BlockStatus\n{bob},5,Block\n{ada},eleventy,\n", "UPDATE-Good tagger: \u201celeventy\u201d is not a whole number from 0 to 100 or Revoke."),
    ("Worker ID,UPDATE-Good tagger\n{ada},250\n", "UPDATE-Good tagger: 250 is out of range; values go from 0 to 100."),
    ("Worker ID,UPDATE-Good tagger\nA9ZZZZZZZZZZZZ,5\n", "No worker has the ID A9ZZZZZZZZZZZZ."),
    ("Worker ID,UPDATE-Great tagger\n{ada},5\n", "The column \u201cUPDATE-Great tagger\u201d names no qualification type of yours"),
    ("Worker ID,UPDATE-BlockStatus\n{ada},Suspend\n", "\u201cSuspend\u201d is not a block status"),
    ("Worker ID,UPDATE-Good tagger\n{ada},5\n{ada},6\n", "is also on line 2; give each worker one row."),
    ("Name,UPDATE-Good tagger\n{ada},5\n", "The header has no \u201cWorker ID\u201d column."),
    ("Worker ID,Notes\n{ada},hi\n", "The file has no update column"),
])
def test_every_malformed_upload_gives_a_clear_error_and_changes_nothing(scene, content, message):
    owner, ada, bob = scene
    browser = signed_in(owner)
    before = state()
    response = upload(browser, content.format(ada=ada.worker_id, bob=bob.worker_id))
    assert response.status_code == 200
    page = main(response)
    assert "Nothing was changed: the file has problems" in page and message in page
    assert "/apply" not in response.content.decode()
    assert state() == before and not PendingUpload.objects.exists()


def test_a_file_that_is_not_utf8_text_is_refused(scene):
    owner, _, _ = scene
    response = upload(signed_in(owner), b"\x89PNG\r\n\x1a\n\x00\x00binary")
    assert "The file is not UTF-8 text." in main(response)
    assert not PendingUpload.objects.exists()


def test_no_file_chosen_is_explained(scene):
    owner, _, _ = scene
    response = signed_in(owner).post("/requester/workers/upload", {})
    assert response.status_code == 200 and "Worker file (CSV): Choose a CSV file to upload." in main(response)


def test_a_file_made_invalid_before_applying_is_refused_whole(scene):
    owner, ada, bob = scene
    browser = signed_in(owner)
    lost = new_type(owner, "Short lived")
    plan = browser.get(upload(browser, f"Worker ID,UPDATE-Short lived,UPDATE-Good tagger\n"
                                       f"{ada.worker_id},3,77\n{bob.worker_id},,9\n")["Location"])
    from kempelen.qualifications import actions as quals

    quals.delete_qualification_type(actor=Actor.for_requester(owner), requester=owner, environment="sandbox",
                                    qualification_type_id=lost.pk)
    before = state()
    response = browser.post(apply_url(plan), {})
    assert response.status_code == 200
    assert "The column \u201cUPDATE-Short lived\u201d names no qualification type of yours" in main(response)
    assert state() == before


def test_another_requesters_types_cannot_be_named_in_a_file(scene):
    owner, ada, _ = scene
    other = make_requester().requester
    new_type(other, "Their type")
    response = upload(signed_in(owner), f"Worker ID,UPDATE-Their type\n{ada.worker_id},5\n")
    assert "The column \u201cUPDATE-Their type\u201d names no qualification type of yours" in main(response)
    assert not Qualification.objects.filter(qualification_type__name="Their type").exists()


def test_an_upload_is_only_found_by_its_requester_in_its_environment(scene):
    owner, ada, _ = scene
    browser = signed_in(owner)
    location = upload(browser, f"Worker ID,UPDATE-Good tagger\n{ada.worker_id},1\n")["Location"]
    before = state()
    stranger = signed_in(make_requester().requester)
    assert stranger.get(location)["Location"] == "/requester/workers/upload"
    assert stranger.post(location + "/apply")["Location"] == "/requester/workers/upload"
    assert signed_in(owner, "live").post(location + "/apply")["Location"] == "/requester/workers/upload"
    assert state() == before and PendingUpload.objects.count() == 1


def test_the_upload_page_names_the_requesters_update_columns(scene):
    owner, _, _ = scene
    page = main(signed_in(owner).get("/requester/workers/upload"))
    assert "Your types here: UPDATE-Bird spotter, UPDATE-Good tagger." in page
