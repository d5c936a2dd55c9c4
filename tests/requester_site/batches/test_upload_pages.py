"""Publishing from the pages: upload, preview, confirm. Every malformed file is refused with its line and leaves the
database as it was; previews run the requester's HTML in a sandbox; the balance is checked before publishing."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from kempelen.core.models import AuditEvent
from kempelen.ledger.models import LedgerTransaction
from kempelen.marketplace.models import HIT, Batch, BatchStatus, HITLayout, HITType
from kempelen.requester_site import batch_publishing, views_batches
from kempelen.requester_site.models import PendingUpload
from tests.conftest import make_requester, make_worker
from tests.requester_site.conftest import signed_in

from .conftest import csv_bytes, make_project, picture_rows

pytestmark = pytest.mark.django_db


def _state() -> tuple[int, ...]:
    return (PendingUpload.objects.count(), Batch.objects.count(), HIT.objects.count(), HITType.objects.count(),
            LedgerTransaction.objects.count())


def _upload(browser: Client, project, content: bytes, name: str = "rows.csv"):
    return browser.post(f"/requester/projects/{project.pk}/batches/new",
                        {"file": SimpleUploadedFile(name, content, content_type="text/csv")})


def _uploaded(browser: Client, project, content: bytes) -> str:
    response = _upload(browser, project, content)
    assert response.status_code == 302, response.content.decode()[:2000]
    return response["Location"]


@pytest.fixture
def live():
    requester = make_requester().requester
    return requester, make_project(requester), signed_in(requester, "live")


def test_anonymous_visitors_are_sent_to_sign_in(live):
    _, project, _ = live
    for url in (f"/requester/projects/{project.pk}/batches/new", f"/requester/projects/{project.pk}/batches/new/X",
                f"/requester/projects/{project.pk}/batches/new/X/confirm",
                f"/requester/projects/{project.pk}/batches/new/X/rows/1"):
        response = Client().get(url)
        assert response.status_code == 302 and response["Location"].startswith("/requester/login"), url


def test_a_worker_account_is_refused(live):
    _, project, _ = live
    browser = Client()
    browser.force_login(make_worker().user)
    response = browser.get(f"/requester/projects/{project.pk}/batches/new")
    assert response.status_code == 403 and b"for requesters" in response.content


def test_another_requesters_project_and_the_other_environments_are_not_found(live):
    requester, project, _browser = live
    assert signed_in(make_requester().requester, "live").get(
        f"/requester/projects/{project.pk}/batches/new").status_code == 404
    assert signed_in(requester, "sandbox").get(f"/requester/projects/{project.pk}/batches/new").status_code == 404
    stranger = signed_in(make_requester().requester, "live")
    state = _state()
    assert _upload(stranger, project, csv_bytes(picture_rows(1))).status_code == 404
    assert _state() == state


def test_the_upload_page_names_the_columns_the_file_needs(live):
    _, project, browser = live
    page = browser.get(f"/requester/projects/{project.pk}/batches/new").content.decode()
    assert "<code>image_url</code>" in page and "<code>text</code>" in page and 'enctype="multipart/form-data"' in page


MALFORMED = {
    "an empty file": (b"", None, "The file is empty"),
    "a header without rows": (b"image_url,text\r\n", None, "but no rows"),
    "a missing column": (b"image_url\r\nx\r\n", 1, "no column for &#x27;text&#x27;"),
    "an extra column": (b"image_url,text,notes\r\nx,y,z\r\n", 1, "&#x27;notes&#x27; is not a variable"),
    "a duplicate column": (b"image_url,text,text\r\nx,y,z\r\n", 1, "appears twice"),
    "an empty column name": (b"image_url,text,\r\nx,y,z\r\n", 1, "column 3 of the header has no name"),
    "a row with too few fields": (b"image_url,text\r\nx,y\r\nz\r\n", 3, "has 1 field, but the header has 2"),
    "a row with too many fields": (b"image_url,text\r\nx,y,w\r\n", 2, "has 3 fields"),
    "an unterminated quote": (b'image_url,text\r\nx,y\r\n"z,never closed\r\n', 3, "never closed"),
    "invalid UTF-8": (b"image_url,text\r\nx,y\r\nz,caf\xe9\r\n", 3, "not valid UTF-8"),
    "a value XML cannot carry": (b"image_url,text\r\nx,bell\x07\r\n", 2, "U+0007"),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_a_malformed_file_is_refused_with_its_line_and_nothing_is_stored(live, case):
    _, project, browser = live
    content, line, message = MALFORMED[case]
    state = _state()
    response = _upload(browser, project, content)
    page = response.content.decode()
    assert response.status_code == 400
    assert "This file cannot be published" in page and "Nothing was published" in page
    assert message in page, page[page.find("error-summary"):][:1500]
    if line is not None:
        assert f"<strong>Line {line}:</strong>" in page
    assert _state() == state


def test_a_file_with_many_bad_rows_lists_the_first_twenty_and_counts_the_rest(live):
    _, project, browser = live
    content = b"image_url,text\r\n" + b"".join(b"only-one\r\n" for _ in range(25))
    page = _upload(browser, project, content).content.decode()
    assert page.count("<strong>Line ") == 20 and "and 5 more problems" in page


def test_no_file_at_all_is_a_form_error(live):
    _, project, browser = live
    response = browser.post(f"/requester/projects/{project.pk}/batches/new", {})
    assert response.status_code == 400 and "Choose a CSV file to upload." in response.content.decode()


def test_a_project_that_cannot_be_published_says_why(live):
    requester, _, browser = live
    project = make_project(requester, title="")
    page = browser.get(f"/requester/projects/{project.pk}/batches/new").content.decode()
    assert "This project cannot be published yet" in page and "Title is required" in page
    state = _state()
    assert _upload(browser, project, csv_bytes(picture_rows(1))).status_code == 400
    assert _state() == state


def test_preview_steps_through_the_rows_rendered_in_a_sandboxed_frame(live):
    _, project, browser = live
    preview = _uploaded(browser, project, csv_bytes(picture_rows(3)))
    assert PendingUpload.objects.count() == 1
    page = browser.get(preview).content.decode()
    assert "row 1 of 3" in page and "https://img.example.org/0.jpg" in page and "Picture 0 😀" in page
    frame = re.search(r'<iframe class="batch-preview-frame"[^>]*src="([^"]+)" sandbox="([^"]+)"', page)
    assert frame and frame.group(2) == "allow-scripts allow-forms"
    assert "assignmentId=ASSIGNMENT_ID_NOT_AVAILABLE" in frame.group(1)
    content = browser.get(frame.group(1).replace("&amp;", "&"))
    assert content["Content-Security-Policy"].startswith("sandbox allow-scripts allow-forms;")
    assert "allow-same-origin" not in content["Content-Security-Policy"]
    html = content.content.decode()
    assert 'src="https://img.example.org/0.jpg"' in html and "Picture 0 😀" in html
    assert "/static/kempelen/externalHIT_v1.js" in html  # Amazon's script answered by Kempelen's copy
    second = browser.get(preview + "?row=2").content.decode()
    assert "row 2 of 3" in second and "Picture 1 😀" in second and 'rel="prev"' in second and 'rel="next"' in second
    assert "row 3 of 3" in browser.get(preview + "?row=99").content.decode()  # past the end: the last row


def test_only_the_first_200_rows_can_be_previewed(live):
    _, project, browser = live
    preview = _uploaded(browser, project, csv_bytes(picture_rows(250)))
    page = browser.get(preview + "?row=250").content.decode()
    assert "row 200 of 200 previewed" in page and "the first 200 rows can be previewed" in page
    assert browser.get(preview.replace("/batches/new/", "/batches/new/") + "/rows/201").status_code == 404


def test_an_upload_belongs_to_its_requester_environment_and_project(live):
    requester, project, browser = live
    preview = _uploaded(browser, project, csv_bytes(picture_rows(2)))
    assert signed_in(make_requester().requester, "live").get(preview).status_code == 404
    assert signed_in(requester, "sandbox").get(preview).status_code == 404
    other = make_project(requester)
    assert browser.get(preview.replace(project.pk, other.pk)).status_code == 404


def test_confirm_shows_the_cost_against_the_balance_and_publishes(live):
    _requester, project, browser = live
    confirm = _uploaded(browser, project, csv_bytes(picture_rows(3))) + "/confirm"
    page = browser.get(confirm).content.decode()
    assert "Tasks (rows)" in page and ">3<" in page
    assert "$0.10" in page and "$0.02 (20% of the reward" in page and "$0.72" in page  # 3 x 2 x (10 + 2)
    assert "$1000.00" in page  # the live balance
    response = browser.post(confirm, {"name": "Pictures, first half"})
    batch = Batch.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/requester/batches/{batch.pk}"
    assert batch.name == "Pictures, first half" and batch.status == BatchStatus.PUBLISHED
    assert HIT.objects.filter(batch=batch, published=True).count() == 3
    page = browser.get(response["Location"]).content.decode()
    assert "Published “Pictures, first half”: 3 tasks are open to workers." in page
    assert not PendingUpload.objects.exists()
    assert AuditEvent.objects.filter(action="create_batch", actor__endswith="/site").exists()


def test_the_fee_surcharge_for_ten_or_more_assignments_is_shown(live):
    requester, _, browser = live
    project = make_project(requester, max_assignments=10)
    page = browser.get(_uploaded(browser, project, csv_bytes(picture_rows(1))) + "/confirm").content.decode()
    assert "$0.04 (40% of the reward, including the surcharge for tasks with 10 or more assignments" in page
    assert "$1.40" in page


def test_publishing_is_refused_when_the_balance_is_short_and_nothing_changes():
    requester = make_requester(funds_cents=50).requester
    project = make_project(requester)
    browser = signed_in(requester, "live")
    confirm = _uploaded(browser, project, csv_bytes(picture_rows(3))) + "/confirm"
    page = browser.get(confirm).content.decode()
    assert "does not cover this batch" in page and 'id="publish" disabled' in page
    state = _state()
    response = browser.post(confirm, {"name": "Too expensive"})
    assert response.status_code == 400
    assert "Publishing this batch costs $0.72, but your available balance is $0.50." in response.content.decode()
    assert _state() == state


def test_a_blank_batch_name_is_refused(live):
    _, project, browser = live
    confirm = _uploaded(browser, project, csv_bytes(picture_rows(1))) + "/confirm"
    state = _state()
    response = browser.post(confirm, {"name": "  "})
    assert response.status_code == 400 and "Give the batch a name." in response.content.decode()
    assert _state() == state


def test_the_sandbox_shows_fake_money_and_publishes_without_a_deposit():
    requester = make_requester(funds_cents=0).requester
    project = make_project(requester, environment="sandbox")
    browser = signed_in(requester, "sandbox")
    confirm = _uploaded(browser, project, csv_bytes(picture_rows(2))) + "/confirm"
    assert "Sandbox: fake money" in browser.get(confirm).content.decode()
    assert browser.post(confirm, {"name": "Sandbox run"}).status_code == 302
    assert Batch.objects.get().status == BatchStatus.PUBLISHED


def test_a_large_file_is_published_by_the_job_runner_while_the_page_shows_progress(live, monkeypatch, move_clock):
    _, project, browser = live
    monkeypatch.setattr(batch_publishing, "INLINE_ROWS", 2)
    confirm = _uploaded(browser, project, csv_bytes(picture_rows(5))) + "/confirm"
    response = browser.post(confirm, {"name": "Big one"})
    batch = Batch.objects.get()
    assert batch.status == BatchStatus.PUBLISHING and batch.rows_published == 0
    page = browser.get(response["Location"]).content.decode()
    assert 'id="publishing"' in page and "0 of 5 tasks written" in page
    assert '<noscript><meta http-equiv="refresh" content="3"></noscript>' in page
    assert "/static/kempelen/batch-progress.js" in page
    assert 'id="waiting-for-runner"' not in page
    progress = browser.get(f"/requester/batches/{batch.pk}/progress").json()
    assert progress == {"status": "Publishing", "rows_published": 0, "row_count": 5, "error": ""}
    move_clock(120)  # no job runner for two minutes: the page says what publishing waits for
    assert 'id="waiting-for-runner"' in browser.get(response["Location"]).content.decode()
    batch_publishing.run_pending()
    assert browser.get(f"/requester/batches/{batch.pk}/progress").json()["status"] == "Published"
    assert HIT.objects.filter(batch=batch, published=True).count() == 5


@pytest.mark.parametrize("preview_rows", [3, 200])
def test_previewing_reads_the_head_of_a_large_file_or_all_of_it_when_the_rows_need_it(live, monkeypatch, preview_rows):
    _, project, browser = live
    monkeypatch.setattr(views_batches, "PREVIEW_BYTES", 300)  # about six rows
    monkeypatch.setattr(views_batches, "PREVIEW_ROWS", preview_rows)
    preview = _uploaded(browser, project, csv_bytes(picture_rows(50)))
    last = min(preview_rows, 50)
    page = browser.get(preview + f"?row={last}").content.decode()
    assert f"row {last} of {last}" in page and f"Picture {last - 1} 😀" in page
    assert ("previewed" in page) == (preview_rows < 50)
    frame = re.search(r'<iframe class="batch-preview-frame"[^>]*src="([^"]+)"', page).group(1).replace("&amp;", "&")
    assert f"Picture {last - 1} 😀" in browser.get(frame).content.decode()


def test_a_row_that_no_longer_fits_the_changed_template_is_reported_when_publishing(live):
    _, project, browser = live
    confirm = _uploaded(browser, project, csv_bytes(picture_rows(2))) + "/confirm"
    HITLayout.objects.filter(pk=project.pk).update(html=project.html + "<p>" + "x" * 65_000 + "</p>")
    state = _state()
    response = browser.post(confirm, {"name": "Too big now"})
    page = response.content.decode()
    assert response.status_code == 400 and "This file cannot be published" in page
    assert "<strong>Line 2:</strong> the HIT&#x27;s question for this row would be" in page
    assert _state() == state
