"""Reading an uploaded results CSV with ``Approve``/``Reject`` filled in, and the dry run of applying it.

The file is the batch's results CSV (``Batch_<id>_batch_results.csv``), possibly re-saved by a spreadsheet.
What is read from it: the ``AssignmentId``, ``Approve`` and ``Reject`` columns (found by name, in any order and
any letter case; every other column is ignored, so edited answers or added columns change nothing).

Accepted variants: UTF-8 with or without a byte-order mark (Excel's "CSV UTF-8"), CRLF or LF line ends,
quoted or unquoted fields, commas or semicolons or tabs between fields (spreadsheets in some languages save
with semicolons), blank rows (skipped), rows shorter than the header (missing cells are empty).

Rules per row (requester-site.md §5.3):

=========  ==========  ==========================================================================
Approve    Reject      what happens
=========  ==========  ==========================================================================
any text   empty       approve (a Rejected assignment: reverse the rejection, within 30 days of
                       submission and while its HIT exists)
empty      any text    reject, with the Reject text as the feedback the worker sees
any text   any text    error
empty      empty       nothing
=========  ==========  ==========================================================================

Cells holding only spaces count as empty. An assignment already in the state its row asks for is left
unchanged (so uploading the same file again after applying it changes nothing). A row that cannot be applied
(an unknown assignment, another batch's, a state that does not allow it, a reversal older than 30 days,
feedback that breaks RequesterFeedback's rules, the same assignment twice) is an error; a file with any error
is not applied at all.

Rows are numbered as a spreadsheet shows them: the header is row 1.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

from kempelen.core.errors import InvalidParameter
from kempelen.marketplace.actions.review_upload import (
    APPROVE,
    OVERRIDE,
    REJECT,
    UNCHANGED,
    Decision,
    Problem,
    assignment_states,
    duplicate_problems,
    judge,
)
from kempelen.marketplace.models import Batch

ERROR = "error"
#: Plan rows kept for showing (all errors are kept up to this many as well); counts are always complete.
SHOWN_ROWS = 1000
#: Answers can be large (a crowd-form annotation with an image); the csv module's default cell limit is 128 KiB.
_MAX_CELL = 64 * 1024 * 1024
_DELIMITERS = (",", ";", "\t")
_SAVE_AS_UTF8 = ('Save it as UTF-8: in Excel choose "CSV UTF-8 (Comma delimited)"; in LibreOffice tick '
                 '"Edit filter settings" and choose the character set "Unicode (UTF-8)".')


@dataclass(frozen=True)
class UploadRow:
    row: int
    assignment_id: str
    approve: str
    reject: str


@dataclass(frozen=True)
class PlannedRow:
    row: int
    assignment_id: str
    outcome: str  # APPROVE, OVERRIDE, REJECT, UNCHANGED or ERROR
    message: str
    feedback: str = ""


@dataclass
class ReviewPlan:
    """The dry run: what applying the file would do, row by row, with counts."""

    counts: Counter = field(default_factory=Counter)
    #: Rows with something to say (up to SHOWN_ROWS of changes and unchanged, all errors up to SHOWN_ROWS).
    shown: list[PlannedRow] = field(default_factory=list)
    errors: list[PlannedRow] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    empty_rows: int = 0

    @property
    def changes(self) -> int:
        return self.counts[APPROVE] + self.counts[OVERRIDE] + self.counts[REJECT]

    @property
    def can_apply(self) -> bool:
        return not self.counts[ERROR] and self.changes > 0

    def add(self, planned: PlannedRow) -> None:
        self.counts[planned.outcome] += 1
        if planned.outcome == ERROR:
            if len(self.errors) < SHOWN_ROWS:
                self.errors.append(planned)
        elif len(self.shown) < SHOWN_ROWS:
            self.shown.append(planned)


# --- Reading the file -------------------------------------------------------------------------------------------


def _text_lines(content: bytes) -> Iterator[str]:
    """The file as text, line by line (quoted line breaks are left to the csv reader)."""
    if content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise InvalidParameter("The file is saved as UTF-16 (\"Unicode text\"), not as a CSV file. " + _SAVE_AS_UTF8)
    stream = io.TextIOWrapper(io.BytesIO(content), encoding="utf-8-sig", newline="")
    line = 0
    try:
        for text in stream:
            line += 1
            if "\x00" in text:
                raise InvalidParameter(f"Line {line} of the file contains a NUL byte: this is not a CSV text file.")
            yield text
    except UnicodeDecodeError:
        raise InvalidParameter(_not_utf8(content)) from None


def _not_utf8(content: bytes) -> str:
    try:
        content.decode("utf-8")
    except UnicodeDecodeError as error:
        line = content.count(b"\n", 0, error.start) + 1
        return (f"The file is not UTF-8 text: line {line} has a byte (0x{content[error.start]:02X}) that UTF-8 does "
                "not allow. " + _SAVE_AS_UTF8)
    return "The file is not UTF-8 text. " + _SAVE_AS_UTF8


def _header_columns(header: list[str]) -> tuple[int, int | None, int | None]:
    names = [name.strip().lower() for name in header]
    for wanted in ("assignmentid", "approve", "reject"):
        if names.count(wanted) > 1:
            raise InvalidParameter(f"The header names the column {wanted!r} more than once (ignoring letter case).")
    if "assignmentid" not in names:
        raise InvalidParameter(
            "The file has no AssignmentId column. Upload the batch's results CSV as downloaded (its first row "
            "names the columns, among them AssignmentId, Approve and Reject)."
        )
    approve = names.index("approve") if "approve" in names else None
    reject = names.index("reject") if "reject" in names else None
    if approve is None and reject is None:
        raise InvalidParameter("The file has neither an Approve nor a Reject column, so it asks for nothing.")
    return names.index("assignmentid"), approve, reject


def read_rows(content: bytes) -> Iterator[UploadRow]:
    """The file's rows (not the header, not blank rows). Raises InvalidParameter for a file that cannot be read
    as a results CSV at all (empty, not UTF-8, no AssignmentId column…), possibly after some rows were yielded."""
    if not content.strip(b" \t\r\n\xef\xbb\xbf"):
        raise InvalidParameter("The file is empty.")
    csv.field_size_limit(max(csv.field_size_limit(), _MAX_CELL))
    lines = _text_lines(content)
    first = next(lines, "")
    delimiter = ","
    for candidate in _DELIMITERS:
        header = next(csv.reader([first], delimiter=candidate), [])
        if any(name.strip().lower() == "assignmentid" for name in header):
            delimiter = candidate
            break
    else:
        header = next(csv.reader([first], delimiter=delimiter), [])
    id_at, approve_at, reject_at = _header_columns(header)
    reader = csv.reader(lines, delimiter=delimiter)
    row = 1
    try:
        for cells in reader:
            row += 1
            if not any(cell.strip() for cell in cells):
                continue

            def cell(index: int | None, cells: list[str] = cells) -> str:
                return cells[index].strip() if index is not None and index < len(cells) else ""

            yield UploadRow(row, cell(id_at), cell(approve_at), _feedback(cells, reject_at))
    except csv.Error as error:
        raise InvalidParameter(f"Row {row + 1} of the file cannot be read as CSV: {error}.") from None


def _feedback(cells: list[str], index: int | None) -> str:
    """The Reject text as the worker will read it: surrounding spaces dropped, line breaks as ``\\n``."""
    if index is None or index >= len(cells):
        return ""
    return cells[index].replace("\r\n", "\n").replace("\r", "\n").strip()


# --- The dry run --------------------------------------------------------------------------------------------------


def plan_review(content: bytes, *, batch: Batch, now: dt.datetime) -> ReviewPlan:
    """What applying the file to ``batch`` would do. Raises InvalidParameter when the file cannot be read."""
    plan = ReviewPlan()
    asked: list[UploadRow] = []
    for upload_row in read_rows(content):
        has_approve, has_reject = bool(upload_row.approve), bool(upload_row.reject)
        if not upload_row.assignment_id:
            if has_approve or has_reject:
                plan.add(PlannedRow(upload_row.row, "", ERROR, "the AssignmentId cell is empty."))
            else:
                plan.empty_rows += 1
            continue
        if has_approve and has_reject:
            plan.add(PlannedRow(upload_row.row, upload_row.assignment_id, ERROR,
                                "both Approve and Reject are filled in; fill in one of them."))
        elif has_approve or has_reject:
            asked.append(upload_row)
        else:
            plan.empty_rows += 1
    decisions = [Decision(r.assignment_id, approve=bool(r.approve), feedback=r.reject, row=r.row) for r in asked]
    duplicated = {(p.row, p.assignment_id): p for p in duplicate_problems(decisions)}
    states = assignment_states(batch.requester, batch.environment, [d.assignment_id for d in decisions])
    for decision in decisions:
        assert decision.row is not None
        twice: Problem | None = duplicated.get((decision.row, decision.assignment_id))
        if twice is not None:
            plan.add(PlannedRow(decision.row, decision.assignment_id, ERROR, twice.message))
            continue
        outcome, message = judge(decision, states.get(decision.assignment_id), batch_id=batch.pk, now=now)
        plan.add(PlannedRow(decision.row, decision.assignment_id, ERROR if outcome == "error" else outcome, message,
                            decision.feedback if outcome == REJECT else ""))
    plan.decisions = decisions
    plan.shown.sort(key=lambda p: p.row)
    plan.errors.sort(key=lambda p: p.row)
    return plan


__all__ = ["APPROVE", "ERROR", "OVERRIDE", "REJECT", "UNCHANGED", "PlannedRow", "ReviewPlan", "plan_review",
           "read_rows"]
