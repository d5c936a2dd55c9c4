"""Downloading a batch's results CSV: MTurk's columns filled from the real batch, row by row."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.urls import reverse

from kempelen.core import clock
from kempelen.core.actors import Actor
from kempelen.marketplace import actions
from kempelen.marketplace.models import Assignment
from kempelen.requester_site import queries_results
from tests.conftest import make_worker
from tests.lifecycle.kit import approve, reject

from .kit import DAY, answer, as_dicts, download, make_batch, utc, work

pytestmark = pytest.mark.django_db


def test_the_download_is_mturk_s_results_file_for_the_batch():
    kit = make_batch(assignments_per_row=2)
    ada, bob = make_worker(), make_worker()
    first = work(kit, kit.hits[0], ada, answer(sentiment="positive", tags=["food", "service"], comment="Tasty"),
                 seconds=42)
    second = work(kit, kit.hits[0], bob, answer(sentiment="negative", comment='He said "no", twice\nreally'))
    third = work(kit, kit.hits[1], ada, answer(sentiment="negative"))
    approve(kit.requester, first, environment="sandbox", feedback="Thanks!")
    reject(kit.requester, third, environment="sandbox", feedback="Wrong label.")

    response = kit.browser().get(reverse("requester:results_download", args=[kit.batch.pk]))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="Batch_{kit.batch.pk}_batch_results.csv"'
    body, table = download(kit.browser(), kit.batch)
    assert table[0][27:] == ["Input.sentence", "Input.image_url", "Answer.comment", "Answer.sentiment",
                             "Answer.tags", "Approve", "Reject"]
    assert body.startswith(b'"HITId","HITTypeId","Title",')
    assert body.count(b"\r\n") >= 4
    rows = as_dicts(table)
    # Row order: the batch's file order, then submission order within a row.
    assert [r["AssignmentId"] for r in rows] == [first.pk, second.pk, third.pk]
    one, two, three = rows
    for a in (first, second, third):
        a.refresh_from_db()
    hit = kit.hits[0]
    assert {k: one[k] for k in list(one)[:14]} == {
        "HITId": hit.pk, "HITTypeId": kit.batch.hit_type_id, "Title": "Rate a review",
        "Description": "Say whether a short review is positive", "Keywords": "sentiment, reviews", "Reward": "$0.50",
        "CreationTime": utc(hit.created_at), "MaxAssignments": "2", "RequesterAnnotation": f"BatchId:{kit.batch.pk};",
        "AssignmentDurationInSeconds": "600", "AutoApprovalDelayInSeconds": str(3 * DAY),
        "Expiration": utc(hit.expiration), "NumberOfSimilarHITs": "", "LifetimeInSeconds": str(7 * DAY),
    }
    assert one["WorkerId"] == ada.worker_id and one["AssignmentStatus"] == "Approved"
    assert one["AcceptTime"] == utc(first.accept_time) and one["SubmitTime"] == utc(first.submit_time)
    assert one["AutoApprovalTime"] == utc(first.auto_approval_time)
    assert one["ApprovalTime"] == utc(first.approval_time) and one["RejectionTime"] == ""
    assert one["RequesterFeedback"] == "Thanks!" and one["WorkTimeInSeconds"] == "42"
    # Ada: one approved, one rejected with this requester.
    assert (one["LifetimeApprovalRate"], one["Last30DaysApprovalRate"], one["Last7DaysApprovalRate"]) == (
        "50% (1/2)", "50% (1/2)", "50% (1/2)")
    assert two["LifetimeApprovalRate"] == "0% (0/0)"
    assert one["Input.sentence"] == "The soup was lovely." and one["Input.image_url"] == "https://img.example/1.png"
    assert (one["Answer.sentiment"], one["Answer.tags"], one["Answer.comment"]) == ("positive", "food|service", "Tasty")
    assert two["Answer.comment"] == 'He said "no", twice\nreally' and two["Answer.tags"] == ""
    assert two["AssignmentStatus"] == "Submitted" and two["ApprovalTime"] == ""
    assert three["Input.sentence"] == 'The waiter was rude, "really".'
    assert three["AssignmentStatus"] == "Rejected" and three["RejectionTime"] == utc(third.rejection_time)
    assert three["RequesterFeedback"] == "Wrong label."
    assert all(r["Approve"] == "" and r["Reject"] == "" for r in rows)


def test_a_crowd_form_batch_has_one_task_answers_column_with_the_json():
    kit = make_batch(template='<crowd-form><crowd-classifier name="sentiment" categories="[\'Good\', \'Bad\']">'
                              '</crowd-classifier><p>${sentence}</p><p>${image_url}</p></crowd-form>')
    task_answers = json.dumps([{"sentiment": {"label": "Good"}, "box": {"boundingBoxes": [
        {"height": 5, "label": "dish", "left": 1, "top": 2, "width": 3}], "inputImageProperties": {
        "height": 100, "width": 200}}}])
    work(kit, kit.hits[0], xml=answer(taskAnswers=task_answers))
    _, table = download(kit.browser(), kit.batch)
    assert table[0][-3:] == ["Answer.taskAnswers", "Approve", "Reject"]
    assert json.loads(as_dicts(table)[0]["Answer.taskAnswers"]) == json.loads(task_answers)


def test_answer_columns_are_the_union_of_every_row_s_fields_and_unknown_cells_are_empty():
    kit = make_batch()
    work(kit, kit.hits[0], xml=answer(Q2="b", Q10="c"))
    work(kit, kit.hits[1], xml=answer(Q1="a", extra="é & <ü>"))
    _, table = download(kit.browser(), kit.batch)
    assert table[0][29:-2] == ["Answer.Q1", "Answer.Q10", "Answer.Q2", "Answer.extra"]
    rows = as_dicts(table)
    assert [rows[0]["Answer.Q1"], rows[0]["Answer.Q10"], rows[0]["Answer.Q2"], rows[0]["Answer.extra"]] == [
        "", "c", "b", ""]
    assert rows[1]["Answer.extra"] == "é & <ü>"


def test_only_submitted_work_is_in_the_file_and_an_elapsed_auto_approval_reads_approved(move_clock):
    kit = make_batch(auto_approval_delay=DAY)
    done = work(kit, kit.hits[0])
    in_progress = make_worker()
    actions.accept_assignment(actor=Actor.for_worker(in_progress), worker=in_progress, environment="sandbox",
                              hit_id=kit.hits[1].pk)
    move_clock(DAY + 60)
    assert Assignment.objects.get(pk=done.pk).status == "Submitted"  # no job runner has run
    _, table = download(kit.browser(), kit.batch)
    rows = as_dicts(table)
    assert [r["AssignmentId"] for r in rows] == [done.pk]
    assert rows[0]["AssignmentStatus"] == "Approved"
    assert rows[0]["ApprovalTime"] == rows[0]["AutoApprovalTime"] != ""
    assert rows[0]["LifetimeApprovalRate"] == "100% (1/1)"


def test_rates_count_only_this_requester_s_reviews_within_their_windows(move_clock):
    kit = make_batch(rows=[{"sentence": str(i), "image_url": ""} for i in range(4)], lifetime=60 * DAY)
    ada = make_worker()
    old = work(kit, kit.hits[0], ada)
    approve(kit.requester, old, environment="sandbox")
    move_clock(10 * DAY)
    middle = work(kit, kit.hits[1], ada)
    reject(kit.requester, middle, environment="sandbox", feedback="No.")
    move_clock(25 * DAY)
    recent = work(kit, kit.hits[2], ada)
    approve(kit.requester, recent, environment="sandbox")
    other = make_batch()  # another requester's review of the same worker does not count
    theirs = work(other, other.hits[0], ada)
    reject(other.requester, theirs, environment="sandbox", feedback="No.")
    row = as_dicts(download(kit.browser(), kit.batch)[1])[0]
    assert (row["LifetimeApprovalRate"], row["Last30DaysApprovalRate"], row["Last7DaysApprovalRate"]) == (
        "66% (2/3)", "50% (1/2)", "100% (1/1)")


def test_large_batches_stream_in_chunks_in_file_order(monkeypatch):
    monkeypatch.setattr(queries_results, "HITS_PER_CHUNK", 3)
    monkeypatch.setattr(queries_results, "SLOTS_PER_CHUNK", 4)
    kit = make_batch(rows=[{"sentence": f"s{i}", "image_url": ""} for i in range(8)], assignments_per_row=2)
    expected = []
    for hit in kit.hits:
        for _ in range(2):
            expected.append((hit.pk, work(kit, hit).pk))
    _, table = download(kit.browser(), kit.batch)
    rows = as_dicts(table)
    assert [(r["HITId"], r["AssignmentId"]) for r in rows] == expected
    assert [r["Input.sentence"] for r in rows] == [f"s{i}" for i in range(8) for _ in range(2)]


def test_work_submitted_after_the_download_started_is_left_for_the_next_download():
    kit = make_batch()
    early = work(kit, kit.hits[0])
    started = clock.now()
    clock.advance(5)
    late = work(kit, kit.hits[1], xml=answer(late_field="x"))
    header, lines = queries_results.results_lines(kit.batch, now=started)
    assert "Answer.late_field" not in header
    assert [row[14] for row in csv.reader(io.StringIO("".join(lines), newline=""))] == [early.pk]
    assert late.submit_time > started


def test_the_download_of_a_batch_without_submissions_is_the_header_alone():
    kit = make_batch()
    body, table = download(kit.browser(), kit.batch)
    assert len(table) == 1 and table[0][-2:] == ["Approve", "Reject"]
    assert table[0][27:29] == ["Input.sentence", "Input.image_url"]
    assert body.endswith(b'"Reject"\r\n')
