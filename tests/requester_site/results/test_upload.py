"""Reviewing by uploading the results CSV: a dry run row by row, then applying all or nothing, safely repeatable."""

from __future__ import annotations

import re

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from kempelen.ledger.models import AccountKind
from kempelen.ledger.queries import balance
from kempelen.marketplace.actions import review_upload
from kempelen.marketplace.models import Assignment
from kempelen.requester_site.models import PendingUpload
from tests.conftest import make_worker
from tests.kits import main
from tests.lifecycle.kit import approve, reject

from .kit import DAY, BatchKit, csv_bytes, download, fill, make_batch, work

pytestmark = pytest.mark.django_db


def upload(kit: BatchKit, content: bytes, browser: Client | None = None, name: str = "results.csv"):  # type: ignore[no-untyped-def]
    browser = browser or kit.browser()
    return browser.post(reverse("requester:results_upload", args=[kit.batch.pk]),
                        {"file": SimpleUploadedFile(name, content, content_type="text/csv")})


def plan_url(response) -> str:  # type: ignore[no-untyped-def]
    assert response.status_code == 302, main(response.content)
    return response["Location"]


def statuses(*assignments: Assignment) -> list[str]:
    return [Assignment.objects.get(pk=a.pk).status for a in assignments]


def counts(page: str) -> dict[str, int]:
    found = re.search(r"Approve (\d+) Reverse a rejection \(approve\) (\d+) Reject (\d+) Already in that state "
                      r"\(unchanged\) (\d+) Nothing asked \(Approve and Reject empty\) (\d+) Errors (\d+)", page)
    assert found, page
    keys = ("approve", "override", "reject", "unchanged", "nothing", "error")
    return dict(zip(keys, (int(n) for n in found.groups()), strict=True))


@pytest.fixture
def reviewed(move_clock):  # type: ignore[no-untyped-def]
    """A batch with four submissions: two to review, one rejected 10 days ago, one approved."""
    kit = make_batch(rows=[{"sentence": f"s{i}", "image_url": ""} for i in range(4)], lifetime=60 * DAY)
    rejected = work(kit, kit.hits[2])
    reject(kit.requester, rejected, environment="sandbox", feedback="Wrong.")
    move_clock(10 * DAY)
    a, b = work(kit, kit.hits[0]), work(kit, kit.hits[1])
    approved = work(kit, kit.hits[3])
    approve(kit.requester, approved, environment="sandbox")
    return kit, a, b, rejected, approved


def test_the_dry_run_shows_each_row_and_applying_changes_everything_then_repeating_changes_nothing(reviewed):
    kit, a, b, rejected, approved = reviewed
    browser = kit.browser()
    _, table = download(browser, kit.batch)
    content = csv_bytes(fill(table, {a.pk: ("x", ""), b.pk: ("", "Does not match the picture."),
                                     rejected.pk: ("X", ""), approved.pk: ("yes", "")}))
    url = plan_url(upload(kit, content, browser))
    page = main(browser.get(url).content)
    assert counts(page) == {"approve": 1, "override": 1, "reject": 1, "unchanged": 1, "nothing": 0, "error": 0}
    assert f"2 {a.pk} Approve: will be approved and paid." in page
    assert f"3 {b.pk} Reject: will be rejected; the worker sees the reason. Does not match the picture." in page
    assert f"4 {rejected.pk} Reverse rejection: its rejection will be reversed" in page
    assert f"5 {approved.pk} Unchanged: already approved." in page
    assert "Apply 3 changes" in page
    assert statuses(a, b, rejected, approved) == ["Submitted", "Submitted", "Rejected", "Approved"]

    response = browser.post(url)
    assert response.status_code == 302 and response["Location"] == kit.url
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "Applied results.csv: approved 1 assignment; reversed 1 rejection (now approved and paid); rejected 1 "
        "assignment; 1 already in that state, unchanged."]
    assert statuses(a, b, rejected, approved) == ["Approved", "Rejected", "Approved", "Approved"]
    assert Assignment.objects.get(pk=b.pk).requester_feedback == "Does not match the picture."
    assert not PendingUpload.objects.exists()

    # The same upload again: nothing to apply, and the page says so.
    assert browser.post(url).status_code == 404
    again = plan_url(upload(kit, content, browser))
    page = main(browser.get(again).content)
    assert counts(page) == {"approve": 0, "override": 0, "reject": 0, "unchanged": 4, "nothing": 0, "error": 0}
    assert "Nothing to apply: every row is already in the state it asks for" in page
    assert not re.search(r"Apply \d+ change", page)
    ledger_before = balance(AccountKind.WORKER_EARNINGS, "sandbox", worker=Assignment.objects.get(pk=a.pk).worker)
    response = browser.post(again)
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "Nothing changed: every row of results.csv is already in the state it asks for."]
    assert statuses(a, b, rejected, approved) == ["Approved", "Rejected", "Approved", "Approved"]
    assert balance(AccountKind.WORKER_EARNINGS, "sandbox",
                   worker=Assignment.objects.get(pk=a.pk).worker) == ledger_before


def dry_run(kit: BatchKit, content: bytes) -> tuple[str, str]:
    browser = kit.browser()
    url = plan_url(upload(kit, content, browser))
    return url, main(browser.get(url).content)


def test_every_kind_of_bad_row_is_reported_and_nothing_is_applied(reviewed, move_clock):
    kit, a, b, rejected, approved = reviewed
    mine_elsewhere = make_batch(kit.requester)
    other_batch = work(mine_elsewhere, mine_elsewhere.hits[0])
    stranger_batch = make_batch()
    strangers = work(stranger_batch, stranger_batch.hits[0])
    old_kit = make_batch(kit.requester, lifetime=90 * DAY)
    rows = [
        ["AssignmentId", "WorkerId", "Approve", "Reject"],
        [a.pk, "", "x", "Also a reason"],                  # 2: both filled
        ["NOSUCHASSIGNMENT1", "", "x", ""],                # 3: unknown
        [other_batch.pk, "", "x", ""],                     # 4: another batch of mine
        [strangers.pk, "", "x", ""],                       # 5: another requester's: unknown to me
        [approved.pk, "", "", "Changed my mind"],          # 6: wrong state
        [b.pk, "", "", "bad \x0b char"],                   # 7: feedback invalid
        [b.pk, "", "", "r" * 1025],                        # 8: too long (and b twice)
        ["", "", "x", ""],                                 # 9: no id
        [rejected.pk, "", "x", ""],                        # 10: fine: a reversal within 30 days
    ]
    url, page = dry_run(kit, csv_bytes(rows))
    assert counts(page)["error"] == 8 and counts(page)["override"] == 1
    expected = [
        f"Row 2 (assignment {a.pk}): both Approve and Reject are filled in; fill in one of them.",
        "Row 3 (assignment NOSUCHASSIGNMENT1): no such assignment among your submitted work in this environment.",
        f"Row 4 (assignment {other_batch.pk}): this assignment is not part of this batch.",
        f"Row 5 (assignment {strangers.pk}): no such assignment among your submitted work in this environment.",
        f"Row 6 (assignment {approved.pk}): it is already approved; an approval cannot be undone.",
        f"Row 7 (assignment {b.pk}): The reason for rejecting (RequesterFeedback) contains control characters",
        f"Row 8 (assignment {b.pk}): this assignment appears twice (also row 7).",
        "Row 9: the AssignmentId cell is empty.",
    ]
    for message in expected:
        assert message in page, message
    assert not re.search(r"Apply \d+ change", page)
    response = kit.browser().post(url)
    assert response.status_code == 400
    assert statuses(a, b, rejected, approved, other_batch) == ["Submitted", "Submitted", "Rejected", "Approved",
                                                               "Submitted"]
    # Beyond 30 days, the reversal is refused too.
    old = work(old_kit, old_kit.hits[0])
    reject(kit.requester, old, environment="sandbox", feedback="No.")
    move_clock(31 * DAY)
    _, page = dry_run(old_kit, csv_bytes([["AssignmentId", "Approve", "Reject"], [old.pk, "x", ""]]))
    assert f"its rejection cannot be reversed: it was submitted on {old.submit_time:%Y-%m-%d}, more than 30 days ago." \
        in page
    assert counts(page)["error"] == 1


def test_too_long_feedback_is_an_error_for_its_row(reviewed):
    kit, a, *_ = reviewed
    _, page = dry_run(kit, csv_bytes([["AssignmentId", "Approve", "Reject"], [a.pk, "", "r" * 1025]]))
    assert (f"Row 2 (assignment {a.pk}): The reason for rejecting (RequesterFeedback) must be at most 1024 "
            "characters; got 1025.") in page


@pytest.mark.parametrize(("content", "message"), [
    (b"", "The submitted file is empty."),
    (b"\r\n \r\n", "The file is empty."),
    (b'"HITId","WorkerId","Approve","Reject"\r\n"H1","A1","x",""\r\n', "The file has no AssignmentId column."),
    (b'"AssignmentId","WorkerId"\r\n"A1","W1"\r\n', "The file has neither an Approve nor a Reject column"),
    (b'"AssignmentId","Approve","Approve"\r\n', "The header names the column 'approve' more than once"),
    ("AssignmentId,Approve,Reject\r\nA1,,Très mal\r\n".encode("cp1252"),
     "The file is not UTF-8 text: line 2 has a byte (0xE8) that UTF-8 does not allow."),
    ("AssignmentId\tApprove\r\n".encode("utf-16"), "The file is saved as UTF-16"),
    (b"AssignmentId,Approve\r\nA1\x00,x\r\n", "contains a NUL byte"),
])
def test_a_file_that_is_not_a_results_csv_is_refused_clearly_and_nothing_is_kept(content, message):
    kit = make_batch()
    done = work(kit, kit.hits[0])
    response = upload(kit, content)
    assert response.status_code == 400
    page = main(response.content)
    assert "Nothing was changed" in page and message in page
    assert not PendingUpload.objects.exists()
    assert statuses(done) == ["Submitted"]


def test_a_bad_byte_deep_in_the_file_is_reported_at_the_dry_run_and_nothing_is_applied():
    kit = make_batch()
    done = work(kit, kit.hits[0])
    body = "AssignmentId,Approve,Reject\r\n" + f"{done.pk},x,\r\n" + "".join(
        f"NOTHING{i},,\r\n" for i in range(3000))
    content = body.encode() + "PADDING,,Très\r\n".encode("latin-1")
    url, page = dry_run(kit, content)
    assert "Nothing was changed: this file cannot be used" in page
    assert "The file is not UTF-8 text" in page
    assert kit.browser().post(url).status_code == 400
    assert statuses(done) == ["Submitted"]


@pytest.mark.parametrize("variant", ["excel-utf8", "libreoffice-semicolons", "lf-unquoted", "tabs"])
def test_files_re_saved_by_spreadsheets_are_read(variant):
    kit = make_batch()
    a, b, c = (work(kit, hit) for hit in kit.hits)
    _, table = download(kit.browser(), kit.batch)
    filled = fill(table, {a.pk: ("X", ""), b.pk: ("", "  Not a review at all.  "), c.pk: ("done", "")})
    content = {
        "excel-utf8": csv_bytes(filled, bom=True),
        "libreoffice-semicolons": csv_bytes(filled, delimiter=";"),
        "lf-unquoted": csv_bytes(filled, newline="\n"),
        "tabs": csv_bytes(filled, delimiter="\t", newline="\n"),
    }[variant]
    if variant == "excel-utf8":  # Excel drops the quotes and upper-cases nothing: a blank trailing row is common
        content += b",,,\r\n"
    url, page = dry_run(kit, content)
    assert counts(page) == {"approve": 2, "override": 0, "reject": 1, "unchanged": 0, "nothing": 0, "error": 0}
    kit.browser().post(url)
    assert statuses(a, b, c) == ["Approved", "Rejected", "Approved"]
    assert Assignment.objects.get(pk=b.pk).requester_feedback == "Not a review at all."


def test_rows_with_neither_column_filled_do_nothing():
    kit = make_batch()
    a, b, _ = (work(kit, hit) for hit in kit.hits)
    _, table = download(kit.browser(), kit.batch)
    url, page = dry_run(kit, csv_bytes(fill(table, {a.pk: ("x", "")})))
    assert counts(page) == {"approve": 1, "override": 0, "reject": 0, "unchanged": 0, "nothing": 2, "error": 0}
    kit.browser().post(url)
    assert statuses(a, b) == ["Approved", "Submitted"]


def test_applying_after_the_state_changed_since_the_dry_run_applies_nothing(reviewed):
    kit, a, b, *_ = reviewed
    content = csv_bytes([["AssignmentId", "Approve", "Reject"], [a.pk, "x", ""], [b.pk, "", "Wrong."]])
    url, page = dry_run(kit, content)
    assert counts(page)["reject"] == 1
    approve(kit.requester, b, environment="sandbox")  # through the API, between the dry run and applying
    response = kit.browser().post(url)
    assert response.status_code == 400
    assert f"Row 3 (assignment {b.pk}): it is already approved; an approval cannot be undone." in main(response.content)
    assert statuses(a, b) == ["Submitted", "Approved"]
    assert PendingUpload.objects.exists()


def test_a_file_asking_for_more_than_one_review_may_apply_is_refused(monkeypatch):
    monkeypatch.setattr(review_upload, "MAX_CHANGES", 2)
    monkeypatch.setattr("kempelen.requester_site.views_results.MAX_CHANGES", 2)
    kit = make_batch()
    done = [work(kit, hit) for hit in kit.hits]
    _, table = download(kit.browser(), kit.batch)
    url, page = dry_run(kit, csv_bytes(fill(table, {d.pk: ("x", "") for d in done})))
    assert "This file asks for 3 changes; one upload applies at most 2" in page
    assert kit.browser().post(url).status_code == 400
    assert set(statuses(*done)) == {"Submitted"}


def test_discarding_an_upload_forgets_it():
    kit = make_batch()
    done = work(kit, kit.hits[0])
    url, _ = dry_run(kit, csv_bytes([["AssignmentId", "Approve"], [done.pk, "x"]]))
    response = kit.browser().post(url + "/discard")
    assert response.status_code == 302
    assert not PendingUpload.objects.exists()
    assert kit.browser().get(url).status_code == 404
    assert statuses(done) == ["Submitted"]


def test_another_worker_s_edits_to_other_columns_are_ignored():
    kit = make_batch()
    done = work(kit, kit.hits[0], make_worker())
    _, table = download(kit.browser(), kit.batch)
    edited = fill(table, {done.pk: ("x", "")})
    edited[1][edited[0].index("Answer.sentiment")] = "tampered"
    edited[1][edited[0].index("WorkerId")] = "ASOMEONEELSE"
    url, _ = dry_run(kit, csv_bytes(edited))
    kit.browser().post(url)
    assert statuses(done) == ["Approved"]
    assert "tampered" not in Assignment.objects.get(pk=done.pk).answer
