"""The results page: submitted work with its inputs beside its answers, filters, pages, and one assignment's page."""

from __future__ import annotations

import json
import re

import pytest
from django.urls import reverse

from kempelen.requester_site import views_results
from tests.conftest import make_worker
from tests.kits import main, text
from tests.lifecycle.kit import approve, reject

from .kit import answer, make_batch, work

pytestmark = pytest.mark.django_db


def rows(markup: bytes) -> list[str]:
    """Each assignment row of the results table, as text."""
    body = re.search(r"<tbody>(.*?)</tbody>", markup.decode(), flags=re.S)
    return [text(row) for row in re.findall(r"<tr id=\"assignment-.*?</tr>", body.group(1), flags=re.S)] if body else []


def numbered(row: str) -> tuple[int, str]:
    """(row number, assignment id) of a table row's text."""
    found = re.search(r"\bRow (\d+) (\w+)", row)
    assert found, row
    return int(found.group(1)), found.group(2)


def test_each_row_shows_the_inputs_beside_readable_answers():
    kit = make_batch()
    ada = make_worker()
    done = work(kit, kit.hits[1], ada, answer(sentiment="negative", tags=["food", "service"],
                                              comment="Too <salty> & cold"), seconds=75)
    response = kit.browser().get(kit.url)
    assert response.status_code == 200
    page = main(response.content)
    assert "1 to review 0 approved 0 rejected 1 submitted in all" in page
    [row] = rows(response.content)
    assert f"Row 2 {done.pk} {ada.worker_id} Submitted" in row
    assert "Work time 75 s" in row
    assert "sentence The waiter was rude, \"really\". image_url https://img.example/2.png" in row
    assert "sentiment negative tags food service comment Too <salty> & cold" in row
    markup = response.content.decode()
    # Same-name checkboxes are a list of their values; markup in answers is text, never HTML.
    assert '<ul class="results-values" aria-label="2 values"><li>food</li><li>service</li></ul>' in markup
    assert "Too &lt;salty&gt; &amp; cold" in markup
    assert response["Content-Security-Policy"].startswith("default-src 'self'")


def test_a_pipe_in_a_text_answer_stays_text():
    kit = make_batch()
    work(kit, kit.hits[0], xml=answer(comment="a|b", tags=["food"]))
    markup = kit.browser().get(kit.url).content.decode()
    assert "a|b" in markup and "results-values" not in markup


def test_crowd_form_task_answers_are_shown_as_a_nested_tree():
    kit = make_batch()
    task_answers = [{"sentiment": {"label": "Positive"}, "box": {"boundingBoxes": [
        {"label": "dish", "left": 1, "top": 2, "width": 30, "height": 10}]},
        "image": {"pngImageData": "A" * 1000}, "ok": True, "note": None}]
    work(kit, kit.hits[0], xml=answer(taskAnswers=json.dumps(task_answers)))
    response = kit.browser().get(kit.url)
    [row] = rows(response.content)
    assert ("taskAnswers sentiment label “Positive” box boundingBoxes label “dish” left 1 top 2 width 30 height 10 "
            "image pngImageData") in row
    assert "… and 700 more characters (the CSV has them all)" in row
    assert "ok true note null" in row
    assert '<dl class="results-tree"><dt>sentiment</dt>' in response.content.decode()


def test_filters_by_status_and_worker_and_pages():
    kit = make_batch(rows=[{"sentence": f"s{i}", "image_url": ""} for i in range(30)])
    ada, bob = make_worker(), make_worker()
    done = [work(kit, hit, ada if i % 2 else bob) for i, hit in enumerate(kit.hits)]
    approve(kit.requester, done[0], environment="sandbox")
    reject(kit.requester, done[1], environment="sandbox", feedback="No.")
    browser = kit.browser()
    page = browser.get(kit.url)
    assert "28 to review 1 approved 1 rejected 30 submitted in all" in main(page.content)
    assert len(rows(page.content)) == views_results.PER_PAGE
    assert "Page 1 of 2" in main(page.content)
    second = browser.get(kit.url + "?page=2")
    assert [numbered(r)[0] for r in rows(second.content)] == list(range(26, 31))
    approved = browser.get(kit.url + "?status=Approved")
    assert [numbered(r)[1] for r in rows(approved.content)] == [done[0].pk]
    rejected = browser.get(kit.url + "?status=Rejected")
    assert "Rejected assignments (1)" in main(rejected.content)
    assert "No." in rows(rejected.content)[0]
    adas = browser.get(kit.url + f"?worker={ada.worker_id}")
    assert len(rows(adas.content)) == 15
    assert all(ada.worker_id in r for r in rows(adas.content))
    both = browser.get(kit.url + f"?worker={ada.worker_id}&status=Submitted")
    assert f"Submitted assignments of worker {ada.worker_id} (14)" in main(both.content)
    assert "Approve all 14 to review in this view" in main(both.content)


def test_a_malformed_worker_filter_says_so_and_shows_everything():
    kit = make_batch()
    work(kit, kit.hits[0])
    page = kit.browser().get(kit.url + "?worker=<script>&status=Bogus")
    assert page.status_code == 200
    assert "A worker ID is an A followed by capital letters and digits" in main(page.content)
    assert len(rows(page.content)) == 1
    assert "<script>" not in page.content.decode()


def test_an_empty_batch_says_nothing_was_submitted_yet():
    kit = make_batch()
    page = main(kit.browser().get(kit.url).content)
    assert "No assignment of this batch has been submitted yet." in page


def test_the_assignment_page_shows_everything_about_it():
    kit = make_batch()
    ada = make_worker()
    done = work(kit, kit.hits[0], ada, seconds=12)
    earlier = work(kit, kit.hits[1], ada)
    approve(kit.requester, earlier, environment="sandbox")
    response = kit.browser().get(reverse("requester:results_assignment", args=[kit.batch.pk, done.pk]))
    page = main(response.content)
    assert f"Assignment {done.pk}" in page
    assert f"Worker {ada.worker_id} approval rate with you: 100% (1/1) overall" in page
    assert "Row 1 of the batch's file" in page and "Reward $0.50" in page and "(work time 12 s)" in page
    assert "Inputs sentence The soup was lovely." in page
    assert "Answers sentiment positive tags food service comment ok" in page
    assert "Approve and pay $0.50" in page and "Reason for rejecting (required; the worker sees it)" in page
    assert "Send bonus" in page


def test_work_approved_automatically_counts_and_filters_as_approved(move_clock):
    from .kit import DAY

    kit = make_batch(auto_approval_delay=DAY)
    early = work(kit, kit.hits[0])
    move_clock(DAY + 60)
    late = work(kit, kit.hits[1])
    browser = kit.browser()
    page = browser.get(kit.url)
    assert "1 to review 1 approved 0 rejected 2 submitted in all" in main(page.content)
    approved = rows(browser.get(kit.url + "?status=Approved").content)
    assert [numbered(r)[1] for r in approved] == [early.pk]
    assert "Approved (automatically)" in approved[0]
    assert [numbered(r)[1] for r in rows(browser.get(kit.url + "?status=Submitted").content)] == [late.pk]
