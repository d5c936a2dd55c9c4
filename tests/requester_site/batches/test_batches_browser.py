"""Publishing a batch in a real browser (headless Chromium): upload, the sandboxed preview, confirm; and a batch
page that follows the job runner's progress by itself."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from kempelen.marketplace.models import HIT, Batch, BatchStatus
from kempelen.requester_site import batch_publishing
from tests.conftest import make_requester

from .conftest import csv_bytes, make_project, picture_rows

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SNOOP = """<!DOCTYPE html><html><body><p id="text">${text}</p><img src="${image_url}" alt=""><pre id="out">running</pre>
<script>
var out = {origin: String(window.origin)};
try { out.parent = parent.document.title; } catch (e) { out.parent = "blocked"; }
try { out.cookie = document.cookie; } catch (e) { out.cookie = "blocked"; }
document.getElementById("out").textContent = JSON.stringify(out);
</script></body></html>"""


def test_upload_preview_and_publish(page, sign_in_requester, tmp_path):
    requester = make_requester().requester
    project = make_project(requester, html=SNOOP)
    sign_in_requester(requester)
    csv_file = tmp_path / "pictures.csv"
    csv_file.write_bytes(csv_bytes(picture_rows(3)))
    page.goto(f"/requester/projects/{project.pk}/batches/new")
    page.get_by_label("CSV file").set_input_files(str(csv_file))
    page.get_by_role("button", name="Upload and preview").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Preview: row 1 of 3")
    frame = page.frame_locator("iframe.batch-preview-frame")
    expect(frame.locator("#text")).to_have_text("Picture 0 😀")
    # The requester's script runs, but in an opaque origin: no access to the page around it or to cookies.
    expect(frame.locator("#out")).to_contain_text('"origin":"null"')
    expect(frame.locator("#out")).to_contain_text('"parent":"blocked"')
    expect(frame.locator("#out")).to_contain_text('"cookie":"blocked"')
    page.get_by_role("link", name="Row 2 →").click()
    expect(page.locator("iframe.batch-preview-frame").content_frame.locator("#text")).to_have_text("Picture 1 😀")
    page.get_by_role("link", name="Continue to confirm").click()
    expect(page.locator("#cost-total")).to_have_text("$0.72")
    page.get_by_label("Batch name").fill("Three pictures")
    page.get_by_role("button", name="Publish 3 tasks for $0.72").click()
    expect(page.locator(".messages")).to_contain_text("Published “Three pictures”: 3 tasks are open to workers.")
    batch = Batch.objects.get()
    assert batch.status == BatchStatus.PUBLISHED and HIT.objects.filter(batch=batch, published=True).count() == 3


def test_the_batch_page_follows_the_job_runner_and_shows_the_published_batch(page, sign_in_requester, monkeypatch):
    monkeypatch.setattr(batch_publishing, "INLINE_ROWS", 2)
    requester = make_requester().requester
    project = make_project(requester)
    sign_in_requester(requester)
    batch = _start_via_pages(page, project, rows=5)
    expect(page.locator("#publish-status")).to_have_text("0 of 5 tasks written (0%).")
    batch_publishing.publish(batch.pk, actor=batch_publishing.RUNNER, chunk_rows=2, max_chunks=1)
    expect(page.locator("#publish-status")).to_have_text("2 of 5 tasks written (40%).")
    batch_publishing.run_pending()
    expect(page.locator(".batch-head .batch-status")).to_have_text("Published")
    expect(page.locator("#n-waiting")).to_have_text("10")


def _start_via_pages(page, project, *, rows: int) -> Batch:
    """Upload a file and confirm it through the pages; the browser ends on the batch's page."""
    page.goto(f"/requester/projects/{project.pk}/batches/new")
    page.get_by_label("CSV file").set_input_files(files=[{
        "name": "rows.csv", "mimeType": "text/csv", "buffer": csv_bytes(picture_rows(rows))}])
    page.get_by_role("button", name="Upload and preview").click()
    page.get_by_role("link", name="Continue to confirm").click()
    page.get_by_role("button", name=f"Publish {rows} tasks").click()
    expect(page.locator("#publishing")).to_be_visible()
    return Batch.objects.get()
