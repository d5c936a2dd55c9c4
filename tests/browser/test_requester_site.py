"""The requester site in a real browser, as a requester uses it in the sandbox: sign in, create a project from the
gallery, publish a batch from a CSV file, let synthetic workers do the work, review it on the page and by
uploading the results file, pay a bonus and block a worker.

The work itself is done by ``kempelen simulate``'s synthetic workers (``run_simulation``, called in-process for a
bounded number of assignments); everything the requester does goes through the pages.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from kempelen.core.actors import Actor
from kempelen.core.errors import Blocked
from kempelen.marketplace import actions, queries
from kempelen.marketplace.models import HIT, Assignment, Batch
from kempelen.questions.answers import answers_as_mapping
from kempelen.requester_site import gallery
from kempelen.requester_site.models import PendingUpload
from kempelen.simulate import run_simulation
from kempelen.worker_site import queries_dashboard
from tests.browser.requester_kit import (
    MTURK_FIXED_COLUMNS,
    csv_bytes,
    csv_file,
    read_csv,
    requester_with_password,
    sign_in,
    table_cells,
    write_csv,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PROJECT = "Sentence sentiment"
BATCH = "Customer sentences, first batch"
REWARD_CENTS = 10
ASSIGNMENTS_PER_TASK = 3
#: The gallery's sentiment layout, with the item's id and source added under the sentence.
ADDED_LINE = '<p id="item">Item ${item_id}, from ${source}</p>'

#: The batch file, columns in an order that is neither the layout's (text, item_id, source) nor alphabetical.
COLUMNS = ["text", "source", "item_id"]
ROWS = [
    ["I love this phone 😍 — best purchase this year", "app review", "r-001"],
    ["Good screen, bad battery,\nand the case cracked after a week", "forum, EU", "r-002"],
    ['She said "fine" and walked out', "support chat", "r-003"],
    ["Das Frühstück war köstlich 🥐🇫🇷", "hotel review", "r-004"],
    ["<b>Meh</b> & whatever", "survey", "r-005"],
    ["🚀 Launch day went great! 🎉", "tweet", "r-006"],
]
REJECT_REASON = "The sentence is plainly negative; “positive” does not fit it."
BONUS_REASON = "Thank you for reading the long review so carefully 🙏"
BLOCK_REASON = "Answers do not match the sentences."


def test_a_requester_publishes_reviews_pays_and_blocks_through_the_site(live_server, page):
    handle = requester_with_password(live_server.url)
    sign_in(page, handle)
    expect(page.locator("#environment")).to_have_text("Sandbox")

    project_id = _create_project_from_the_gallery(page)
    batch = _publish_the_batch(page, project_id)
    hits = {hit.pk: hit for hit in HIT.objects.filter(batch=batch)}
    assert sorted(hit.batch_row for hit in hits.values()) == list(range(len(ROWS)))
    assert [hit.layout_parameters for hit in sorted(hits.values(), key=lambda h: h.batch_row)] == [
        dict(zip(COLUMNS, row, strict=True)) for row in ROWS]

    # Nothing submitted yet. Then two synthetic workers each do every task once (12 assignments); the third
    # assignment of each task stays open.
    page.get_by_role("link", name="Results", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Results of {BATCH}")
    expect(page.get_by_text("No assignment of this batch has been submitted yet.")).to_be_visible()
    report = run_simulation(environment="sandbox", workers=2, max_cycles=2 * len(ROWS), seed=11)
    assert report.submitted == 2 * len(ROWS), str(report)
    submitted = list(Assignment.objects.filter(hit__batch=batch).select_related("worker", "hit")
                     .order_by("hit__batch_row", "worker__worker_id"))
    assert len(submitted) == 2 * len(ROWS)
    worker_a, worker_b = submitted[0].worker, submitted[1].worker
    assert worker_a != worker_b

    page.reload()
    counts = page.get_by_role("list", name="Submitted work")
    expect(counts).to_contain_text("12 to review")
    expect(counts).to_contain_text("12 submitted in all")
    table = page.locator("table.results-table")
    expect(table.locator("tbody tr")).to_have_count(12)
    first_row = table.locator(f"#assignment-{submitted[0].pk}")
    expect(first_row).to_contain_text("Row 1")
    expect(first_row).to_contain_text(worker_a.worker_id)
    expect(first_row).to_contain_text(ROWS[0][0])

    # Review on the page: approve two (row 1, both workers), reject one of row 2 with a reason.
    approved = [submitted[0], submitted[1]]
    rejected = next(a for a in submitted if a.hit.batch_row == 1 and a.worker == worker_b)
    _approve_selected(page, approved)
    _reject_with_a_reason(page, rejected)

    # The results file, then approving the rest by uploading it.
    header, rows = _download_and_check_results(page, batch, hits, submitted, approved, rejected)
    _approve_the_rest_by_upload(page, handle, header, rows, hits, rejected)

    # A bonus from the results page; the worker's earnings show it.
    bonused = submitted[0]
    _give_a_bonus(page, bonused)
    money = queries_dashboard.earnings(worker_a, "sandbox")
    assert money.bonus_cents == 125
    assert money.approved_cents == REWARD_CENTS * len(ROWS)  # all of worker A's work is approved
    assert money.pending_cents == 0
    [paid] = queries_dashboard.bonuses(worker_a, "sandbox")
    assert (paid.amount_cents, paid.reason, paid.assignment_id) == (125, BONUS_REASON, bonused.pk)

    # Blocking worker B: they no longer find (nor can accept) this requester's HITs; worker A still does.
    _block_a_worker(page, worker_b, worker_a, batch)


# --- The steps --------------------------------------------------------------------------------------------------


def _create_project_from_the_gallery(page) -> str:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Projects").click()
    page.get_by_role("link", name="New project").click()
    card = page.get_by_role("listitem").filter(has=page.get_by_role("heading", name="Sentiment of a sentence"))
    card.get_by_role("link", name="Use this template").click()

    # The properties form, filled in with the template's defaults.
    expect(page.get_by_role("heading", level=1)).to_have_text("New project: Sentiment of a sentence")
    expect(page.get_by_label("Title", exact=True)).to_have_value("Choose the sentiment of a sentence")
    expect(page.get_by_label("Number of assignments per task")).to_have_value(str(ASSIGNMENTS_PER_TASK))
    page.get_by_label("Project name").fill(PROJECT)
    page.get_by_label("Reward per assignment (US dollars)").fill("0.10")
    page.get_by_role("button", name="Create project").click()

    # The layout: add the item's id and source under the sentence, with sample values, and save.
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Layout of {PROJECT}")
    expect(page.get_by_role("status")).to_contain_text(f"Project “{PROJECT}” created.")
    source = page.get_by_label("Layout HTML")
    html = source.input_value()
    assert "<blockquote id=\"sentence\">${text}</blockquote>" in html
    source.fill(html.replace("${text}</blockquote>", "${text}</blockquote>\n  " + ADDED_LINE))
    expect(page.locator("#variable-list")).to_have_text(re.compile(r"text\s*item_id\s*source"))
    page.get_by_label("item_id", exact=True).fill("r-000")
    page.get_by_label("source", exact=True).fill("a sample")
    page.get_by_role("button", name="Save layout").click()

    expect(page.get_by_role("status")).to_contain_text("Layout saved.")
    expect(page.get_by_role("heading", level=1)).to_have_text(PROJECT)
    variables = table_cells(page.locator("table.sample-table"))
    assert [name for name, _ in variables] == ["text", "item_id", "source"]
    facts = page.locator("dl.project-facts")
    expect(facts).to_contain_text("Reward per assignment$0.10")
    return page.locator("#layout-id").inner_text()


def _publish_the_batch(page, project_id: str) -> Batch:
    page.get_by_role("link", name="Publish a batch").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Publish a batch of “{PROJECT}”")
    expect(page.locator(".batch-columns")).to_have_text("text, item_id, source")
    page.get_by_label("CSV file").set_input_files(csv_file("sentences.csv", csv_bytes(COLUMNS, ROWS)))
    page.get_by_role("button", name="Upload and preview").click()

    # The preview: each row as workers will see it, with its values and the line it starts on.
    expect(page.get_by_role("heading", level=1)).to_have_text("Preview: row 1 of 6")
    frame = page.frame_locator("iframe.batch-preview-frame")
    expect(frame.locator("#sentence")).to_have_text(ROWS[0][0])
    expect(frame.locator("#item")).to_have_text("Item r-001, from app review")
    page.get_by_role("link", name="Row 2 →").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Preview: row 2 of 6")
    expect(page.get_by_role("heading", name="Values of row 2")).to_contain_text("(line 3 of the file)")
    values = page.locator("section.batch-row-values table")
    expect(values.locator("td").first).to_have_js_property("textContent", ROWS[1][0])  # the line break kept
    expect(frame.locator("#item")).to_have_text("Item r-002, from forum, EU")
    page.get_by_label("Row", exact=True).fill("5")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Preview: row 5 of 6")
    expect(frame.locator("#sentence")).to_have_text("<b>Meh</b> & whatever")  # shown as text, not markup
    expect(frame.locator("#sentence b")).to_have_count(0)
    assert not Batch.objects.exists()

    # Confirm: the cost, a name, publish.
    page.get_by_role("link", name="Continue to confirm").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm and publish")
    expect(page.locator("#cost-rows")).to_have_text("6")
    expect(page.locator("#balance")).to_contain_text("Sandbox")
    page.get_by_label("Batch name").fill(BATCH)
    page.get_by_role("button", name=re.compile(r"^Publish 6 tasks for \$")).click()

    expect(page.get_by_role("heading", level=1)).to_have_text(BATCH)
    expect(page.get_by_role("status")).to_contain_text(f"Published “{BATCH}”: 6 tasks are open to workers.")
    expect(page.locator(".batch-head")).to_contain_text("Published")
    expect(page.locator("#n-total")).to_have_text("18")
    expect(page.locator("#n-waiting")).to_have_text("18")
    batch = Batch.objects.get()
    assert (batch.layout_id, batch.name, batch.status, batch.row_count) == (project_id, BATCH, "Published", 6)
    assert batch.input_columns == COLUMNS
    return batch


def _approve_selected(page, approved: list[Assignment]) -> None:
    for a in approved:
        _pick(page, a).check()
    page.get_by_role("button", name="Approve selected").click()
    expect(page.get_by_role("status")).to_contain_text("Approved 2 assignments.")
    counts = page.get_by_role("list", name="Submitted work")
    expect(counts).to_contain_text("10 to review")
    expect(counts).to_contain_text("2 approved")
    for a in approved:
        expect(page.locator(f"#assignment-{a.pk} .results-status")).to_have_text("Approved")
        a.refresh_from_db()
        assert a.status == "Approved"


def _pick(page, a: Assignment):
    """The results table's checkbox that selects ``a``."""
    return page.get_by_role("checkbox", name=f"Select assignment {a.pk} (row {a.hit.batch_row + 1})")


def _reject_with_a_reason(page, rejected: Assignment) -> None:
    box = _pick(page, rejected)
    box.check()
    page.get_by_role("button", name="Reject selected").click()
    # Without a reason: an error, and nothing changed.
    alert = page.get_by_role("alert").filter(has_text="Nothing was changed")
    expect(alert).to_contain_text("Give a reason for rejecting: the worker sees it.")
    rejected.refresh_from_db()
    assert rejected.status == "Submitted"
    expect(page.get_by_role("list", name="Submitted work")).to_contain_text("10 to review")

    expect(box).to_be_checked()  # the choice survives the error
    page.get_by_label("Feedback for the worker").fill(REJECT_REASON)
    page.get_by_role("button", name="Reject selected").click()
    expect(page.get_by_role("status")).to_contain_text("Rejected 1 assignment.")
    row = page.locator(f"#assignment-{rejected.pk}")
    expect(row.locator(".results-status")).to_have_text("Rejected")
    expect(row).to_contain_text(REJECT_REASON)
    rejected.refresh_from_db()
    assert (rejected.status, rejected.requester_feedback) == ("Rejected", REJECT_REASON)


def _download_and_check_results(page, batch: Batch, hits: dict[str, HIT], submitted: list[Assignment],
                                approved: list[Assignment], rejected: Assignment):
    with page.expect_download() as info:
        page.get_by_role("link", name="Download results (CSV)").click()
    download = info.value
    assert download.suggested_filename == f"Batch_{batch.pk}_batch_results.csv"
    content = Path(download.path()).read_bytes()
    assert content.startswith(b'"HITId","HITTypeId","Title",')
    assert b"\r\n" in content
    header, rows = read_csv(content)

    assert header == [*MTURK_FIXED_COLUMNS, "Input.text", "Input.source", "Input.item_id", "Answer.sentiment",
                      "Approve", "Reject"]
    # One row per submitted assignment, in file order (each row's two assignments together).
    assert sorted(r["AssignmentId"] for r in rows) == sorted(a.pk for a in submitted)
    assert [r["Input.item_id"] for r in rows] == [row[2] for row in ROWS for _ in range(2)]
    by_id = {a.pk: a for a in submitted}
    statuses = {a.pk: "Approved" for a in approved} | {rejected.pk: "Rejected"}
    for r in rows:
        a = by_id[r["AssignmentId"]]
        hit = hits[r["HITId"]]
        assert a.hit_id == hit.pk
        assert [r["Input.text"], r["Input.source"], r["Input.item_id"]] == ROWS[hit.batch_row]
        assert r["WorkerId"] == a.worker.worker_id
        assert r["HITTypeId"] == hit.hit_type_id
        assert (r["Title"], r["Reward"], r["MaxAssignments"]) == (
            "Choose the sentiment of a sentence", "$0.10", str(ASSIGNMENTS_PER_TASK))
        assert r["Answer.sentiment"] == answers_as_mapping(a.answer)["sentiment"]
        assert r["Answer.sentiment"] in {"positive", "neutral", "negative", "mixed"}
        status = statuses.get(a.pk, "Submitted")
        assert r["AssignmentStatus"] == status, a.pk
        assert bool(r["ApprovalTime"]) == (status == "Approved")
        assert bool(r["RejectionTime"]) == (status == "Rejected")
        assert r["RequesterFeedback"] == (REJECT_REASON if status == "Rejected" else "")
        assert re.fullmatch(r"\w{3} \w{3} \d\d \d\d:\d\d:\d\d UTC \d{4}", r["SubmitTime"])
        assert int(r["WorkTimeInSeconds"]) >= 0
        assert (r["Approve"], r["Reject"]) == ("", "")
    # Emoji and the quoted line break arrive as they were uploaded.
    assert "😍" in rows[0]["Input.text"] and "🇫🇷" in rows[6]["Input.text"]
    assert rows[2]["Input.text"] == "Good screen, bad battery,\nand the case cracked after a week"
    assert rows[4]["Input.text"] == 'She said "fine" and walked out'
    return header, rows


def _approve_the_rest_by_upload(page, handle, header: list[str], rows: list[dict[str, str]],
                                hits: dict[str, HIT], rejected: Assignment) -> None:
    to_approve = [r["AssignmentId"] for r in rows if r["AssignmentStatus"] == "Submitted"]
    assert len(to_approve) == 9
    edited = [{**r, "Approve": "x" if r["AssignmentId"] in to_approve else ""} for r in rows]

    page.get_by_role("link", name="Review by uploading the CSV").click()
    page.get_by_label("Results CSV with Approve or Reject filled in").set_input_files(
        csv_file("approvals.csv", write_csv(header, edited)))
    page.get_by_role("button", name="Check the file").click()

    # The dry run: what would happen, row by row; nothing has changed yet.
    expect(page.get_by_role("heading", level=1)).to_have_text("Check approvals.csv before applying it")
    counts = dict(table_cells(page.locator("table.results-plan-counts")))
    assert counts == {"Approve": "9", "Reverse a rejection (approve)": "0", "Reject": "0",
                      "Already in that state (unchanged)": "0", "Nothing asked (Approve and Reject empty)": "3",
                      "Errors": "0"}
    planned = table_cells(page.locator("table.results-plan"))
    assert sorted(cells[1] for cells in planned) == sorted(to_approve)
    assert all(cells[2].startswith("Approve") for cells in planned)
    assert Assignment.objects.filter(pk__in=to_approve, status="Submitted").count() == 9

    page.get_by_role("button", name="Apply 9 changes").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Results of")
    expect(page.get_by_role("status")).to_contain_text("Applied approvals.csv: approved 9 assignments.")
    counts_list = page.get_by_role("list", name="Submitted work")
    expect(counts_list).to_contain_text("0 to review")
    expect(counts_list).to_contain_text("11 approved")
    expect(counts_list).to_contain_text("1 rejected")

    # What the API says, in the sandbox.
    client = handle.client("sandbox")
    found = {}
    for hit_id in hits:
        for a in client.list_assignments_for_hit(HITId=hit_id)["Assignments"]:
            found[a["AssignmentId"]] = a["AssignmentStatus"]
    assert found == {r["AssignmentId"]: ("Rejected" if r["AssignmentId"] == rejected.pk else "Approved")
                     for r in rows}


def _give_a_bonus(page, bonused: Assignment) -> None:
    page.get_by_role("link", name=f"Bonus, details of assignment {bonused.pk}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Assignment {bonused.pk}")
    page.get_by_label("Bonus amount in US dollars").fill("1.25")
    page.get_by_label("Reason (the worker sees it)").fill(BONUS_REASON)
    page.get_by_role("button", name="Send bonus").click()
    expect(page.get_by_role("status")).to_contain_text(
        f"Sent a bonus of $1.25 to worker {bonused.worker.worker_id}.")
    bonus = page.get_by_role("region", name="Bonus", exact=True)
    expect(bonus.get_by_role("listitem")).to_contain_text("$1.25")
    expect(bonus.get_by_role("listitem")).to_contain_text(BONUS_REASON)

    # The worker's page on the requester site counts it too.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Workers").click()
    page.get_by_role("link", name=bonused.worker.worker_id, exact=True).click()
    figures = page.get_by_role("region", name="On your work")
    expect(figures).to_contain_text("Bonuses you paid$1.25")
    expect(figures).to_contain_text("Approved6")


def _block_a_worker(page, blocked, other, batch: Batch) -> None:
    hit_type_id = HIT.objects.filter(batch=batch).values_list("hit_type_id", flat=True).first()

    def discovers(worker) -> bool:
        return hit_type_id in {g.hit_type.pk for g in queries.discoverable_groups(worker, "sandbox", limit=100)}

    assert discovers(blocked) and discovers(other)  # each task has a third assignment nobody took

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Workers").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Workers")
    expect(page.get_by_role("status")).to_contain_text("2 workers")
    page.get_by_role("link", name=blocked.worker_id, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Worker {blocked.worker_id}")

    # A reason is required.
    page.get_by_role("button", name=f"Block {blocked.worker_id}").click()
    expect(page.locator("#block").get_by_role("alert")).to_contain_text("Reason for blocking: Give a reason.")
    assert discovers(blocked)

    page.get_by_label("Reason for blocking").fill(BLOCK_REASON)
    page.get_by_role("button", name=f"Block {blocked.worker_id}").click()
    expect(page.get_by_role("status")).to_contain_text(f"Worker {blocked.worker_id} is blocked")
    expect(page.get_by_role("note").filter(has_text="Blocked.")).to_contain_text(f"Your reason: {BLOCK_REASON}")
    expect(page.get_by_role("button", name=f"Unblock {blocked.worker_id}")).to_be_visible()

    page.get_by_role("link", name="All workers").click()
    table = page.locator("table.wq-table")
    expect(table.get_by_role("row").filter(has_text=blocked.worker_id)).to_contain_text("Blocked")
    expect(table.get_by_role("row").filter(has_text=other.worker_id).locator("td").last).to_have_text("No")

    assert not discovers(blocked)
    assert discovers(other)
    open_hit = HIT.objects.filter(batch=batch).order_by("batch_row").first()
    assert open_hit is not None
    with pytest.raises(Blocked):
        actions.accept_assignment(actor=Actor.for_worker(blocked), worker=blocked, environment="sandbox",
                                  hit_id=open_hit.pk)


# --- A file that cannot be published ----------------------------------------------------------------------------


def test_a_malformed_batch_file_shows_its_problems_with_line_numbers_and_publishes_nothing(live_server, page):
    handle = requester_with_password(live_server.url)
    template = gallery.get("sentiment")
    assert template is not None
    project = actions.create_project(
        actor=Actor.for_requester(handle.requester, via="site"), requester=handle.requester, environment="sandbox",
        name=PROJECT, html=template.html.replace("${text}</blockquote>", "${text}</blockquote>" + ADDED_LINE),
        properties=template.properties, source="sentiment",
    )
    sign_in(page, handle)
    page.goto(f"/requester/projects/{project.pk}")
    page.get_by_role("link", name="Publish a batch").click()

    # A missing column: the header (line 1) says which.
    page.get_by_label("CSV file").set_input_files(
        csv_file("no-source.csv", csv_bytes(["text", "item_id"], [[row[0], row[2]] for row in ROWS])))
    page.get_by_role("button", name="Upload and preview").click()
    problems = page.get_by_role("alert").filter(has_text="This file cannot be published")
    expect(problems).to_contain_text("Nothing was published.")
    expect(problems.get_by_role("listitem")).to_have_text(
        "Line 1: the header has no column for 'source': the template uses ${source}, so the file needs a column "
        "with that name.")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Publish a batch of “{PROJECT}”")

    # A row with a field too few, after a row that spans two lines: its own first line is named.
    broken = csv_bytes(COLUMNS, ROWS[:3]) + b"Just two fields,r-404\r\n"
    page.get_by_label("CSV file").set_input_files(csv_file("short-row.csv", broken))
    page.get_by_role("button", name="Upload and preview").click()
    expect(problems.get_by_role("listitem")).to_have_text(
        "Line 6: this row has 2 fields, but the header has 3 columns (text, source, item_id). Quote values that "
        "contain commas.")

    assert not Batch.objects.exists()
    assert not HIT.objects.exists()
    assert not PendingUpload.objects.exists()
