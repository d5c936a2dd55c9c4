"""The worker file's format: reading an upload and planning it against a given state (no database)."""

from __future__ import annotations

import pytest

from kempelen.marketplace.actions.worker_csv import WorkerFileRow
from kempelen.requester_site import worker_csv as wc

W1, W2, W3 = "A1AAAAAAAAAAAA", "A2BBBBBBBBBBBB", "A3CCCCCCCCCCCC"
TYPES = {"Good tagger": "T1", "Bird spotter": "T2"}


def state(*, workers=(W1, W2, W3), values=None, blocked=()):
    return wc.State(types=dict(TYPES), workers=set(workers), values=dict(values or {}), blocked=set(blocked))


def planned(text: str, **kwargs) -> wc.Plan:
    return wc.plan(wc.read(text.encode()), state(**kwargs), environment="sandbox")


def only_errors(plan: wc.Plan) -> list[str]:
    return plan.errors + [f"line {row.line}: {e}" for row in plan.error_rows for e in row.errors]


# --- the download's shape ---------------------------------------------------------------------------------------


def test_the_download_header_pairs_current_and_update_columns_and_ends_with_the_block_status():
    assert wc.header(["Bird spotter", "Good tagger"]) == [
        "Worker ID", "LifetimeApprovalRate", "Last30DaysApprovalRate", "Last7DaysApprovalRate",
        "CURRENT-Bird spotter", "UPDATE-Bird spotter", "CURRENT-Good tagger", "UPDATE-Good tagger",
        "BlockReason", "UPDATE-BlockStatus", "CURRENT BlockStatus",
    ]


@pytest.mark.parametrize(("approved", "reviewed", "shown"), [(4, 5, "80% (4/5)"), (0, 0, "0% (0/0)"),
                                                              (2, 3, "67% (2/3)"), (7, 7, "100% (7/7)")])
def test_rates_are_written_as_percent_and_counts(approved, reviewed, shown):
    assert wc.rate(approved, reviewed) == shown


# --- reading -------------------------------------------------------------------------------------------------------


def test_a_downloaded_file_with_updates_filled_in_is_planned_row_by_row():
    plan = planned(
        "Worker ID,LifetimeApprovalRate,CURRENT-Good tagger,UPDATE-Good tagger,CURRENT-Bird spotter,"
        "UPDATE-Bird spotter,BlockReason,UPDATE-BlockStatus,CURRENT BlockStatus\r\n"
        f"{W1},100% (2/2),40,80,,,,,Unblocked\r\n"
        f"{W2},0% (0/0),,55,90,Revoke,,,Unblocked\r\n"
        f"{W3},50% (1/2),,,,,Copied answers,Block,Unblocked\r\n",
        values={(W1, "T1"): 40, (W2, "T2"): 90},
    )
    assert plan.ok and plan.ignored_columns == []
    assert [(r.line, r.worker_id, r.changes) for r in plan.rows] == [
        (2, W1, ["Change \u201cGood tagger\u201d from 40 to 80"]),
        (3, W2, ["Grant \u201cGood tagger\u201d with the value 55", "Revoke \u201cBird spotter\u201d (value 90)"]),
        (4, W3, ["Block (reason: Copied answers)"]),
    ]
    assert (plan.granted, plan.changed, plan.revoked, plan.blocked, plan.unblocked) == (1, 1, 1, 1, 0)
    assert plan.updates == [
        WorkerFileRow(W1, {"T1": 80}, "", ""),
        WorkerFileRow(W2, {"T1": 55, "T2": None}, "", ""),
        WorkerFileRow(W3, {}, "Block", "Copied answers"),
    ]


def test_what_already_holds_is_listed_as_unchanged_and_not_applied():
    plan = planned(
        "Worker ID,UPDATE-Good tagger,UPDATE-Bird spotter,UPDATE-BlockStatus\n"
        f"{W1},40,revoke,block\n"
        f"{W2},,,UNBLOCK\n",
        values={(W1, "T1"): 40}, blocked={W1},
    )
    assert plan.ok and plan.total == 0 and plan.updates == []
    assert plan.rows[0].unchanged == ["\u201cGood tagger\u201d stays 40",
                                      "\u201cBird spotter\u201d is not held: nothing to revoke", "Already blocked"]
    assert plan.rows[1].unchanged == ["Not blocked: nothing to unblock"]
    assert plan.unchanged_rows == 2


@pytest.mark.parametrize("column", ["UPDATE-BlockStatus", "UPDATE BlockStatus", "update blockstatus"])
def test_both_spellings_of_the_block_column_are_read(column):
    plan = planned(f"Worker ID,{column}\n{W1},Unblock\n", blocked={W1})
    assert plan.ok and plan.unblocked == 1 and plan.updates == [WorkerFileRow(W1, {}, "Unblock", "")]


def test_a_file_with_only_the_columns_it_changes_is_enough():
    # As scripts build them: Worker ID, UPDATE BlockStatus and BlockReason only.
    plan = planned(f'"Worker ID","UPDATE BlockStatus","BlockReason"\n"{W2}","Block","Low accuracy"\n')
    assert plan.ok and plan.updates == [WorkerFileRow(W2, {}, "Block", "Low accuracy")]


def test_a_block_without_a_reason_gets_the_documented_one():
    plan = planned(f"Worker ID,UPDATE-BlockStatus\n{W2},Block\n")
    assert plan.rows[0].changes == ["Block (reason: Blocked by worker file upload)"]


def test_a_byte_order_mark_semicolons_and_blank_lines_are_fine():
    content = f"\ufeffWorker ID;UPDATE-Good tagger\r\n\r\n{W1};7\r\n;;\r\n".encode()
    plan = wc.plan(wc.read(content), state(), environment="sandbox")
    assert plan.ok and plan.updates == [WorkerFileRow(W1, {"T1": 7}, "", "")]


def test_other_columns_are_ignored_and_named():
    plan = planned(f"Worker ID,Notes,UPDATE-Good tagger,CURRENT-Good tagger\n{W1},great,9,\n")
    assert plan.ok and plan.ignored_columns == ["Notes"]


def test_quoted_cells_with_commas_and_line_breaks_keep_line_numbers_right():
    plan = planned(f'Worker ID,BlockReason,UPDATE-BlockStatus\n{W1},"Too fast,\nand careless",Block\n{W2},,Blok\n')
    assert plan.rows[0].changes == ["Block (reason: Too fast,\nand careless)"]
    assert [(row.line, row.errors) for row in plan.error_rows] == [
        (4, ["UPDATE-BlockStatus: \u201cBlok\u201d is not a block status; write Block, Unblock or leave the cell empty."])
    ]


# --- every malformed file gives a clear error ------------------------------------------------------------------


@pytest.mark.parametrize(("cell", "message"), [
    ("high", "UPDATE-Good tagger: \u201chigh\u201d is not a whole number from 0 to 100 or Revoke."),
    ("7.5", "UPDATE-Good tagger: \u201c7.5\u201d is not a whole number from 0 to 100 or Revoke."),
    ("101", "UPDATE-Good tagger: 101 is out of range; values go from 0 to 100."),
    ("-1", "UPDATE-Good tagger: -1 is out of range; values go from 0 to 100."),
])
def test_a_value_that_is_not_a_whole_number_from_0_to_100_is_refused(cell, message):
    plan = planned(f"Worker ID,UPDATE-Good tagger\n{W1},{cell}\n")
    assert not plan.ok and only_errors(plan) == [f"line 2: {message}"] and plan.updates == []


def test_an_unknown_worker_is_refused():
    plan = planned(f"Worker ID,UPDATE-Good tagger\n{W1},5\nA9ZZZZZZZZZZZZ,5\n", workers={W1})
    assert only_errors(plan) == ["line 3: No worker has the ID A9ZZZZZZZZZZZZ."]


def test_something_that_is_not_a_worker_id_is_refused():
    plan = planned("Worker ID,UPDATE-Good tagger\nbob,5\n,6\n")
    assert only_errors(plan) == [
        "line 2: \u201cbob\u201d is not a Worker ID (Worker IDs look like A1B2C3D4E5F6G7).",
        "line 3: The row has updates but no Worker ID.",
    ]


def test_a_column_for_an_unknown_qualification_type_is_refused():
    plan = planned(f"Worker ID,UPDATE-Good Tagger\n{W1},5\n")
    assert not plan.ok
    assert plan.errors == [
        "The column \u201cUPDATE-Good Tagger\u201d names no qualification type of yours in the sandbox environment "
        "(names must match exactly). Your types here: \u201cBird spotter\u201d, \u201cGood tagger\u201d."
    ]


def test_an_unknown_block_status_is_refused():
    plan = planned(f"Worker ID,UPDATE-BlockStatus\n{W1},Ban\n")
    assert only_errors(plan) == [
        "line 2: UPDATE-BlockStatus: \u201cBan\u201d is not a block status; write Block, Unblock or leave the cell empty."
    ]


def test_a_worker_on_two_rows_is_refused():
    plan = planned(f"Worker ID,UPDATE-Good tagger\n{W1},5\n{W2},6\n{W1},7\n")
    assert only_errors(plan) == [f"line 4: Worker {W1} is also on line 2; give each worker one row."]


@pytest.mark.parametrize(("content", "message"), [
    (b"", "The file is empty."),
    (b"\xff\xfeW\x00o\x00", "The file is not UTF-8 text. Save it as \u201cCSV UTF-8\u201d (comma delimited) and upload it again."),
    (f"Name,UPDATE-Good tagger\n{W1},5\n".encode(), "The header has no \u201cWorker ID\u201d column."),
    (f"Worker ID,CURRENT-Good tagger\n{W1},5\n".encode(), "The file has no update column, so it would change nothing."),
    (b"Worker ID,UPDATE-Good tagger,UPDATE-Good tagger\n", "The header has the column \u201cUPDATE-Good tagger\u201d twice"),
    (b"Worker ID,UPDATE-BlockStatus,UPDATE BlockStatus\n", "The header has the column \u201cUPDATE BlockStatus\u201d twice"),
    (b"Worker ID,UPDATE-\n", "an UPDATE- column needs the name of a qualification type"),
    (b"Worker ID,UPDATE-Good tagger\n", "The file has no worker rows under its header."),
])
def test_a_file_that_cannot_be_used_says_why(content, message):
    plan = wc.plan(wc.read(content), state(), environment="sandbox")
    assert not plan.ok and plan.updates == []
    assert any(message in error for error in plan.errors), plan.errors


def test_a_row_with_more_cells_than_the_header_is_refused():
    plan = planned(f"Worker ID,UPDATE-Good tagger\n{W1},5,extra\n{W2},6,,\n")
    assert only_errors(plan) == ["line 2: The row has more cells than the header has columns (3 instead of 2)."]


def test_a_block_reason_with_control_characters_is_refused():
    plan = planned(f"Worker ID,UPDATE-BlockStatus,BlockReason\n{W1},Block,bad\x07bell\n")
    assert only_errors(plan) == ["line 2: BlockReason contains control characters that are not allowed."]


def test_too_many_rows_are_refused(monkeypatch):
    monkeypatch.setattr(wc, "MAX_ROWS", 2)
    plan = planned(f"Worker ID,UPDATE-Good tagger\n{W1},1\n{W2},2\n{W3},3\n")
    assert plan.errors == ["The file has more than 2 worker rows; split it into smaller files."]


def test_every_problem_is_reported_at_once():
    plan = planned(f"Worker ID,UPDATE-Good tagger,UPDATE-BlockStatus\n{W1},x,Ban\nbob,5,\n", workers={W1})
    assert only_errors(plan) == [
        "line 2: UPDATE-Good tagger: \u201cx\u201d is not a whole number from 0 to 100 or Revoke.",
        "line 2: UPDATE-BlockStatus: \u201cBan\u201d is not a block status; write Block, Unblock or leave the cell empty.",
        "line 3: \u201cbob\u201d is not a Worker ID (Worker IDs look like A1B2C3D4E5F6G7).",
    ]
