"""The worker file (MTurk's "Manage Workers" CSV): its columns, reading an upload, and planning what it changes.

Columns of the download, in this order::

    "Worker ID", "LifetimeApprovalRate", "Last30DaysApprovalRate", "Last7DaysApprovalRate",
    "CURRENT-<QualName>", "UPDATE-<QualName>"   (a pair per qualification type of the requester, by name)
    "BlockReason", "UPDATE-BlockStatus", "CURRENT BlockStatus"

- Approval rates are on the requester's own work: approved out of approved-or-rejected, written
  ``"80% (4/5)"`` (``"0% (0/0)"`` when nothing was reviewed), over all time and over the assignments submitted in
  the last 30 and 7 days.
- ``CURRENT-<QualName>`` is the worker's value, blank when the worker does not hold the type (never granted or
  revoked). ``CURRENT BlockStatus`` is ``Blocked`` or ``Unblocked``. The UPDATE columns and BlockReason are
  blank in the download.

Reading an upload:

- UTF-8 (a byte-order mark is fine); the delimiter is a comma, or a semicolon or tab when the header line has
  no comma (spreadsheets in some languages save CSV that way).
- The header must have a ``Worker ID`` column (``WorkerId`` is accepted too) and at least one update column.
  Update columns are ``UPDATE-<QualName>`` and the block status, spelled ``UPDATE-BlockStatus`` or
  ``UPDATE BlockStatus``; ``BlockReason`` is optional. Every other column (CURRENT-…, the rates, anything
  added) is ignored, so a file may hold only the columns it changes.
- ``UPDATE-<QualName>`` names one of the requester's qualification types in this environment exactly (case
  and spaces matter). A cell holds a whole number from 0 to 100 (grant it, or change the value), ``Revoke``
  (any case), or nothing (no change). A type named ``BlockStatus`` cannot be managed by file.
- ``UPDATE-BlockStatus`` holds ``Block``, ``Unblock`` (any case) or nothing. The block reason is the row's
  BlockReason, or "Blocked by worker file upload" when that is empty.
- Blank lines, and rows with neither a Worker ID nor any update, are skipped. A worker may appear once.

Every problem is reported with its line; a file with any problem changes nothing.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from kempelen.accounts.models import Requester, Worker
from kempelen.core.errors import KempelenError
from kempelen.core.ids import WORKER_ID
from kempelen.core.text import check_text
from kempelen.marketplace.actions.worker_csv import (
    BLOCK,
    DEFAULT_BLOCK_REASON,
    MAX_ROWS,
    MAX_VALUE,
    MIN_VALUE,
    UNBLOCK,
    WorkerFileRow,
)
from kempelen.marketplace.models import WorkerBlock
from kempelen.qualifications.models import Qualification

WORKER_COLUMN = "Worker ID"
RATE_COLUMNS = ("LifetimeApprovalRate", "Last30DaysApprovalRate", "Last7DaysApprovalRate")
#: The windows (in days) of the second and third rate columns.
RATE_WINDOWS = (30, 7)
CURRENT_PREFIX = "CURRENT-"
UPDATE_PREFIX = "UPDATE-"
REASON_COLUMN = "BlockReason"
UPDATE_BLOCK_COLUMN = "UPDATE-BlockStatus"
UPDATE_BLOCK_SPELLINGS = ("update-blockstatus", "update blockstatus")
CURRENT_BLOCK_COLUMN = "CURRENT BlockStatus"
BLOCKED, UNBLOCKED = "Blocked", "Unblocked"
REVOKE = "Revoke"
#: The largest worker file accepted, in bytes.
MAX_BYTES = 20 * 1024 * 1024
_INTEGER = re.compile(r"^[+-]?[0-9]+$")
_CHUNK = 500


# --- the download -----------------------------------------------------------------------------------------------


def header(type_names: Sequence[str]) -> list[str]:
    """The download's header for a requester whose qualification types have these names."""
    pairs = [column for name in type_names for column in (CURRENT_PREFIX + name, UPDATE_PREFIX + name)]
    return [WORKER_COLUMN, *RATE_COLUMNS, *pairs, REASON_COLUMN, UPDATE_BLOCK_COLUMN, CURRENT_BLOCK_COLUMN]


def rate(approved: int, reviewed: int) -> str:
    """``"80% (4/5)"``: approved out of reviewed, the percentage rounded to a whole number."""
    percent = round(100 * approved / reviewed) if reviewed else 0
    return f"{percent}% ({approved}/{reviewed})"


# --- reading an upload ------------------------------------------------------------------------------------------


@dataclass
class Row:
    """One data row as the file gives it (nothing checked against the database yet)."""

    line: int
    worker_id: str
    #: Qualification name → a value 0 to 100, or REVOKE. Blank cells are left out.
    qualifications: dict[str, int | str] = field(default_factory=dict)
    block: str = ""  # BLOCK, UNBLOCK or ""
    reason: str = ""
    errors: list[str] = field(default_factory=list)


@dataclass
class ParsedFile:
    #: The qualification names of the UPDATE- columns, in column order.
    qualification_columns: list[str] = field(default_factory=list)
    block_column: bool = False
    ignored_columns: list[str] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    #: Problems with the file as a whole (it could not be read, a column is missing or repeated…).
    errors: list[str] = field(default_factory=list)


def _decode(content: bytes) -> str | None:
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None


def _delimiter(text: str) -> str:
    first = text.split("\n", 1)[0]
    if "," in first:
        return ","
    if "\t" in first:
        return "\t"
    return ";" if ";" in first else ","


def _squashed(cell: str) -> str:
    return cell.casefold().replace(" ", "").replace("_", "")


def _known_read_only(cell: str) -> bool:
    return cell in RATE_COLUMNS or cell == CURRENT_BLOCK_COLUMN or cell.startswith(CURRENT_PREFIX)


@dataclass
class _Columns:
    width: int = 0
    worker: int | None = None
    block: int | None = None
    reason: int | None = None
    qualifications: dict[int, str] = field(default_factory=dict)


def _columns(cells: list[str], parsed: ParsedFile) -> _Columns:
    columns = _Columns(width=len(cells))
    seen: dict[str, int] = {}

    def claim(role: str, index: int, label: str) -> bool:
        if role in seen:
            parsed.errors.append(f"The header has the column \u201c{label}\u201d twice (columns {seen[role] + 1} "
                                 f"and {index + 1}); keep one.")
            return False
        seen[role] = index
        return True

    for index, raw in enumerate(cells):
        cell = raw.strip()
        squashed = _squashed(cell)
        if squashed == "workerid":
            if claim("worker", index, cell):
                columns.worker = index
        elif cell.casefold() in UPDATE_BLOCK_SPELLINGS:
            if claim("block", index, cell):
                columns.block = index
                parsed.block_column = True
        elif squashed == "blockreason":
            if claim("reason", index, cell):
                columns.reason = index
        elif cell[:len(UPDATE_PREFIX)].casefold() == UPDATE_PREFIX.casefold():
            name = cell[len(UPDATE_PREFIX):].strip()
            if not name:
                parsed.errors.append(f"Column {index + 1} is \u201c{cell}\u201d: an UPDATE- column needs the "
                                     "name of a qualification type after the hyphen.")
            elif claim("q:" + name, index, cell):
                columns.qualifications[index] = name
                parsed.qualification_columns.append(name)
        elif cell and not _known_read_only(cell):
            parsed.ignored_columns.append(cell)
    if columns.worker is None:
        parsed.errors.append(f"The header has no \u201c{WORKER_COLUMN}\u201d column. The first line of the file "
                             "must name the columns, as in the file you download from this page.")
    if columns.block is None and not columns.qualifications and not parsed.errors:
        parsed.errors.append(
            f"The file has no update column, so it would change nothing. Fill in \u201c{UPDATE_PREFIX}<name of a "
            f"qualification type>\u201d or \u201c{UPDATE_BLOCK_COLUMN}\u201d columns."
        )
    return columns


def _value(cell: str, name: str) -> int | str:
    """A cell of an UPDATE-<QualName> column: a value, REVOKE, or raises ValueError with the message to show."""
    if cell.casefold() == REVOKE.casefold():
        return REVOKE
    if not _INTEGER.match(cell):
        raise ValueError(f"UPDATE-{name}: \u201c{cell}\u201d is not a whole number from {MIN_VALUE} to "
                         f"{MAX_VALUE} or {REVOKE}.")
    value = int(cell)
    if not MIN_VALUE <= value <= MAX_VALUE:
        raise ValueError(f"UPDATE-{name}: {value} is out of range; values go from {MIN_VALUE} to {MAX_VALUE}.")
    return value


def _row(line: int, cells: list[str], columns: _Columns) -> Row | None:
    def cell(index: int | None) -> str:
        return cells[index].strip() if index is not None and index < len(cells) else ""

    worker_id = cell(columns.worker)
    updates = {name: cell(index) for index, name in columns.qualifications.items()}
    block = cell(columns.block)
    reason = cell(columns.reason)
    if not worker_id and not block and not any(updates.values()):
        return None
    row = Row(line=line, worker_id=worker_id, reason=reason)
    if any(c.strip() for c in cells[columns.width:]):
        row.errors.append(
            f"The row has more cells than the header has columns ({len(cells)} instead of {columns.width})."
        )
    if not worker_id:
        row.errors.append("The row has updates but no Worker ID.")
    elif not WORKER_ID.match(worker_id):
        row.errors.append(f"\u201c{worker_id}\u201d is not a Worker ID (Worker IDs look like A1B2C3D4E5F6G7).")
    for name, text in updates.items():
        if not text:
            continue
        try:
            row.qualifications[name] = _value(text, name)
        except ValueError as problem:
            row.errors.append(str(problem))
    if block:
        if block.casefold() == BLOCK.casefold():
            row.block = BLOCK
        elif block.casefold() == UNBLOCK.casefold():
            row.block = UNBLOCK
        else:
            row.errors.append(f"{UPDATE_BLOCK_COLUMN}: \u201c{block}\u201d is not a block status; write {BLOCK}, "
                              f"{UNBLOCK} or leave the cell empty.")
    if reason:
        try:
            check_text(reason, REASON_COLUMN, max_length=4096)
        except KempelenError as problem:
            row.errors.append(problem.message)
    return row


def read(content: bytes) -> ParsedFile:
    """Read an uploaded worker file. Never raises for bad content: problems are in ``errors`` and rows' errors."""
    parsed = ParsedFile()
    if len(content) > MAX_BYTES:
        parsed.errors.append(f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB; split it into smaller files.")
        return parsed
    text = _decode(content)
    if text is None:
        parsed.errors.append("The file is not UTF-8 text. Save it as \u201cCSV UTF-8\u201d (comma delimited) and "
                             "upload it again.")
        return parsed
    if not text.strip():
        parsed.errors.append("The file is empty.")
        return parsed
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    try:
        cells = next(reader)
        columns = _columns(cells, parsed)
        if parsed.errors:
            return parsed
        seen: dict[str, int] = {}
        start = reader.line_num + 1
        for cells in reader:
            row = _row(start, cells, columns)
            start = reader.line_num + 1
            if row is None:
                continue
            if len(parsed.rows) >= MAX_ROWS:
                parsed.errors.append(f"The file has more than {MAX_ROWS:,} worker rows; split it into smaller files.")
                return parsed
            if row.worker_id:
                if row.worker_id in seen:
                    row.errors.append(f"Worker {row.worker_id} is also on line {seen[row.worker_id]}; give each "
                                      "worker one row.")
                else:
                    seen[row.worker_id] = row.line
            parsed.rows.append(row)
    except csv.Error as problem:
        parsed.errors.append(f"Line {reader.line_num}: the file is not valid CSV ({problem}).")
    return parsed



# --- planning: what the file would change ------------------------------------------------------------------------


@dataclass(frozen=True)
class State:
    """What the plan compares the file with: the requester's types, and the workers' current grants and blocks."""

    types: dict[str, str]  # name → qualification type id (the requester's non-deleted types here)
    workers: set[str]  # the file's Worker IDs that belong to a worker
    values: dict[tuple[str, str], int | None]  # (worker id, type id) → value, for grants currently Granted
    blocked: set[str]  # the file's Worker IDs the requester has blocked


def load_state(requester: Requester, environment: str, parsed: ParsedFile, types: dict[str, str]) -> State:
    """Read the current state for the workers of ``parsed`` (a few queries per 500 workers)."""
    worker_ids = sorted({row.worker_id for row in parsed.rows if row.worker_id})
    type_ids = [types[name] for name in parsed.qualification_columns if name in types]
    workers: set[str] = set()
    values: dict[tuple[str, str], int | None] = {}
    blocked: set[str] = set()
    for start in range(0, len(worker_ids), _CHUNK):
        chunk = worker_ids[start:start + _CHUNK]
        workers.update(Worker.objects.filter(worker_id__in=chunk).values_list("worker_id", flat=True))
        if type_ids:
            for worker_id, type_id, value in Qualification.objects.filter(
                qualification_type_id__in=type_ids, worker__worker_id__in=chunk, status="Granted"
            ).values_list("worker__worker_id", "qualification_type_id", "integer_value"):
                values[(worker_id, type_id)] = value
        blocked.update(WorkerBlock.objects.filter(
            requester=requester, environment=environment, worker_id__in=chunk
        ).values_list("worker_id", flat=True))
    return State(types=types, workers=workers, values=values, blocked=blocked)


@dataclass
class PlannedRow:
    line: int
    worker_id: str
    changes: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@dataclass
class Plan:
    errors: list[str] = field(default_factory=list)
    rows: list[PlannedRow] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    #: What to hand to ``apply_worker_file``: the rows that change something.
    updates: list[WorkerFileRow] = field(default_factory=list)
    granted: int = 0
    changed: int = 0
    revoked: int = 0
    blocked: int = 0
    unblocked: int = 0

    @property
    def error_rows(self) -> list[PlannedRow]:
        return [row for row in self.rows if row.errors]

    @property
    def change_rows(self) -> list[PlannedRow]:
        return [row for row in self.rows if row.changes and not row.errors]

    @property
    def unchanged_rows(self) -> int:
        return sum(1 for row in self.rows if not row.changes and not row.errors)

    @property
    def ok(self) -> bool:
        return not self.errors and not self.error_rows

    @property
    def total(self) -> int:
        return self.granted + self.changed + self.revoked + self.blocked + self.unblocked


def _unknown_types(parsed: ParsedFile, types: dict[str, str], environment: str) -> list[str]:
    errors = []
    yours = ", ".join(f"\u201c{name}\u201d" for name in sorted(types)) or "none yet"
    for name in parsed.qualification_columns:
        if name not in types:
            errors.append(
                f"The column \u201c{UPDATE_PREFIX}{name}\u201d names no qualification type of yours in the "
                f"{environment} environment (names must match exactly). Your types here: {yours}."
            )
    return errors


def _plan_row(row: Row, state: State) -> tuple[PlannedRow, WorkerFileRow | None, dict[str, int]]:
    planned = PlannedRow(line=row.line, worker_id=row.worker_id, errors=list(row.errors))
    counts = {"granted": 0, "changed": 0, "revoked": 0, "blocked": 0, "unblocked": 0}
    if row.worker_id and not planned.errors and row.worker_id not in state.workers:
        planned.errors.append(f"No worker has the ID {row.worker_id}.")
    wanted: dict[str, int | None] = {}
    for name, value in row.qualifications.items():
        type_id = state.types.get(name)
        if type_id is None:
            continue  # reported once for the whole column
        current = state.values.get((row.worker_id, type_id))
        held = (row.worker_id, type_id) in state.values
        if value == REVOKE:
            if held:
                planned.changes.append(f"Revoke \u201c{name}\u201d (value {current})")
                counts["revoked"] += 1
                wanted[type_id] = None
            else:
                planned.unchanged.append(f"\u201c{name}\u201d is not held: nothing to revoke")
        elif held and current == value:
            planned.unchanged.append(f"\u201c{name}\u201d stays {value}")
        elif held:
            planned.changes.append(f"Change \u201c{name}\u201d from {current} to {value}")
            counts["changed"] += 1
            wanted[type_id] = int(value)
        else:
            planned.changes.append(f"Grant \u201c{name}\u201d with the value {value}")
            counts["granted"] += 1
            wanted[type_id] = int(value)
    block = ""
    if row.block == BLOCK:
        if row.worker_id in state.blocked:
            planned.unchanged.append("Already blocked")
        else:
            planned.changes.append(f"Block (reason: {row.reason or DEFAULT_BLOCK_REASON})")
            counts["blocked"] += 1
            block = BLOCK
    elif row.block == UNBLOCK:
        if row.worker_id in state.blocked:
            planned.changes.append("Unblock")
            counts["unblocked"] += 1
            block = UNBLOCK
        else:
            planned.unchanged.append("Not blocked: nothing to unblock")
    if planned.errors or not planned.changes:
        return planned, None, counts
    return planned, WorkerFileRow(row.worker_id, wanted, block, row.reason), counts


def plan(parsed: ParsedFile, state: State, *, environment: str) -> Plan:
    """What applying the file would do, row by row, and every problem that stops it (nothing read from the
    database here: ``state`` holds it)."""
    result = Plan(errors=list(parsed.errors), ignored_columns=list(parsed.ignored_columns))
    if parsed.errors:
        return result
    result.errors.extend(_unknown_types(parsed, state.types, environment))
    for row in parsed.rows:
        planned, update, counts = _plan_row(row, state)
        result.rows.append(planned)
        if update is not None:
            result.updates.append(update)
            for kind, n in counts.items():
                setattr(result, kind, getattr(result, kind) + n)
    if not result.errors and not parsed.rows:
        result.errors.append("The file has no worker rows under its header.")
    return result


def plan_upload(requester: Requester, environment: str, content: bytes, types: dict[str, str]) -> Plan:
    """Read ``content`` and plan it against the current state."""
    parsed = read(content)
    if parsed.errors:
        return plan(parsed, State(types, set(), {}, set()), environment=environment)
    return plan(parsed, load_state(requester, environment, parsed, types), environment=environment)


def type_names(types: Iterable[tuple[str, str]]) -> dict[str, str]:
    """``{name: id}`` from ``(id, name)`` pairs."""
    return {name: type_id for type_id, name in types}
