"""Reading a batch's input CSV file: a header naming the project's ``${variables}``, then one HIT per row.

The rules (also in docs/requester-site/batches.md):

- Encoding: UTF-8, any character (emoji included), with or without a byte-order mark. Anything else is refused
  with the line of the first byte that is not UTF-8.
- Format: RFC 4180 as spreadsheets write it: fields separated by commas; a field may be quoted with ``"``, and
  then holds commas, line breaks and doubled ``""`` quotes; lines end with CRLF, LF or CR. A quoted field must
  end right after its closing quote.
- The first record is the header. Its column names must be exactly the template's variables as a set: every
  variable once, nothing else, no empty or duplicate name. Columns may come in any order; that order is kept
  (it is the order of the ``Input.*`` columns of the results file).
- Every further record is one row, with exactly as many fields as the header. Blank lines are skipped (a row
  whose single value is empty must be written as ``""``). A file needs at least one row.
- Line numbers are physical lines of the file, counted from 1; a row spanning several lines (a quoted field
  with line breaks) is reported at the line where it starts.

Nothing here touches the database: callers decide what a valid file leads to.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from kempelen.core.errors import InvalidParameter

#: Most rows a batch may have.
MAX_ROWS = 1_000_000
#: Most problems reported for one file (the count of the rest is given).
MAX_PROBLEMS = 20
#: Python's csv module refuses longer fields; a HIT's question could never hold one anyway.
FIELD_LIMIT = csv.field_size_limit()

#: Checks one row's values (in header order); returns what is wrong with it, or None.
RowCheck = Callable[[Sequence[str]], "str | None"]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a file: where (a physical line, or None for the whole file) and what."""

    line: int | None
    message: str

    def __str__(self) -> str:
        return f"Line {self.line}: {self.message}" if self.line else self.message


class BatchFileInvalid(InvalidParameter):
    """The file cannot be published; ``problems`` says where and why (the first ``MAX_PROBLEMS`` of them)."""

    def __init__(self, problems: Sequence[Problem], *, more: int = 0) -> None:
        self.problems = list(problems)
        self.more = more
        others = len(self.problems) - 1 + more
        summary = str(self.problems[0]) if self.problems else "The file cannot be published."
        if others > 0:
            summary += f" (and {others} more problem{'s' if others != 1 else ''})"
        super().__init__(summary)


@dataclass(frozen=True)
class Row:
    """A data row: its 0-based position among the rows (the HIT's ``batch_row``), the line it starts on, and its
    values in header order."""

    index: int
    line: int
    values: list[str]


class BatchFile:
    """A decoded file whose header has been checked; ``rows()`` reads the rows lazily, in file order."""

    def __init__(self, columns: list[str], header_line: int, records: Iterator[tuple[int, list[str]]]) -> None:
        self.columns = columns
        self.header_line = header_line
        self._records = records
        self._used = False

    def records(self) -> Iterator[tuple[int, list[str]]]:
        """(starting line, fields) of every record after the header, unchecked; readable once."""
        if self._used:
            raise RuntimeError("the rows of a BatchFile can be read once")
        self._used = True
        return self._records

    def rows(self) -> Iterator[Row]:
        """Every row in file order. Raises ``BatchFileInvalid`` at the first malformed record."""
        width = len(self.columns)
        for index, (line, record) in enumerate(self.records()):
            if len(record) != width:
                raise BatchFileInvalid([Problem(line, _width_message(record, self.columns))])
            yield Row(index, line, record)


def open_batch_file(content: bytes, variables: Sequence[str]) -> BatchFile:
    """Check the header of ``content`` against the template's ``variables``; the rows are read (and decoded) as
    they are asked for, so that a large file is never held as text.

    Raises ``BatchFileInvalid`` for an encoding problem, an empty file, a malformed header record, or a header
    that does not name exactly the variables.
    """
    records = _records(content)
    first = next(records, None)
    if first is None or (len(first[1]) == 1 and not first[1][0].strip() and next(records, None) is None):
        raise BatchFileInvalid([Problem(None, "The file is empty. Its first line must be a header naming the "
                                        f"template's variables: {_names(variables)}.")])
    header_line, header = first
    problems = header_problems(header, variables)
    if problems:
        raise BatchFileInvalid([Problem(header_line, message) for message in problems])
    return BatchFile(header, header_line, records)


def check_batch_file(
    content: bytes,
    variables: Sequence[str],
    *,
    check_row: RowCheck | None = None,
    max_rows: int = MAX_ROWS,
) -> tuple[list[str], int]:
    """Read the whole file and report everything wrong with it. Returns (header columns, number of rows).

    Raises ``BatchFileInvalid`` listing up to ``MAX_PROBLEMS`` problems, each with its line. Reading stops at a
    record the CSV reader cannot continue after (an unterminated quote, text after a closing quote).
    """
    batch_file = open_batch_file(content, variables)
    width = len(batch_file.columns)
    problems: list[Problem] = []
    more = 0
    rows = 0

    def add(problem: Problem) -> None:
        nonlocal more
        if len(problems) < MAX_PROBLEMS:
            problems.append(problem)
        else:
            more += 1

    try:
        for line, record in batch_file.records():
            rows += 1
            if len(record) != width:
                add(Problem(line, _width_message(record, batch_file.columns)))
                continue
            if check_row is not None:
                found = check_row(record)
                if found:
                    add(Problem(line, found))
    except BatchFileInvalid as stopped:
        problems += stopped.problems
    if rows == 0 and not problems:
        problems.append(Problem(None, f"The file has a header (line {batch_file.header_line}) but no rows: add one "
                                      "row for each HIT to publish."))
    if rows > max_rows:
        problems.insert(0, Problem(None, f"The file has {rows:,} rows; a batch may have at most {max_rows:,}. "
                                         "Split it into several batches."))
    if problems:
        raise BatchFileInvalid(problems, more=more)
    return batch_file.columns, rows


def _text(content: bytes) -> io.TextIOWrapper:
    """The file as text, decoded as it is read (a UTF-8 byte-order mark is dropped)."""
    if content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise BatchFileInvalid([Problem(None, "The file is encoded as UTF-16 (\"Unicode text\"). Save it as "
                                        "\"CSV UTF-8 (comma delimited)\" and upload it again.")])
    return io.TextIOWrapper(io.BytesIO(content), encoding="utf-8-sig", newline="")


def _not_utf8(content: bytes) -> BatchFileInvalid:
    """Where the file stops being UTF-8: the line, and the position of the bad byte in it."""
    body = content[len(codecs.BOM_UTF8):] if content.startswith(codecs.BOM_UTF8) else content
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as error:
        line_start = max(body.rfind(b"\n", 0, error.start), body.rfind(b"\r", 0, error.start)) + 1
        return BatchFileInvalid([Problem(_line_of(body, error.start), (
            f"this line is not valid UTF-8 (the byte 0x{body[error.start]:02X} at position "
            f"{error.start - line_start + 1} of the line). Save the file as \"CSV UTF-8 (comma delimited)\" and "
            "upload it again."
        ))])
    return BatchFileInvalid([Problem(None, "The file is not valid UTF-8.")])


def header_problems(header: Sequence[str], variables: Sequence[str]) -> list[str]:
    """What is wrong with a header for a template with ``variables`` (empty when it matches exactly)."""
    problems: list[str] = []
    if not variables:
        return ["The project's template has no ${…} variables, so there is nothing for a CSV file to fill in. "
                "Add ${name} placeholders to the template first."]
    seen: dict[str, int] = {}
    for position, name in enumerate(header, start=1):
        if name == "":
            problems.append(f"column {position} of the header has no name; every column needs one of the "
                            f"template's variable names ({_names(variables)}).")
        elif name in seen:
            problems.append(f"the column {name!r} appears twice in the header (columns {seen[name]} and {position}); "
                            "each variable may have only one column.")
        else:
            seen[name] = position
    wanted = set(variables)
    missing = [name for name in variables if name not in seen]
    extra = [name for name in seen if name and name not in wanted]
    hints = _delimiter_hint(header, wanted)
    if hints:
        return [hints]
    for name in extra:
        stripped = name.strip()
        if stripped != name and stripped in wanted:
            problems.append(f"the column {name!r} has spaces around its name; it must be exactly {stripped!r}.")
            missing = [m for m in missing if m != stripped]
        else:
            problems.append(f"the column {name!r} is not a variable of the template (it uses {_names(variables)}); "
                            "remove the column, or add ${" + name + "} to the template.")
    if missing:
        listed = ", ".join(repr(name) for name in missing)
        problems.append(f"the header has no column for {listed}: the template uses "
                        + ", ".join("${" + name + "}" for name in missing) + ", so the file needs "
                        + ("a column with that name." if len(missing) == 1 else "columns with those names."))
    return problems


def _delimiter_hint(header: Sequence[str], wanted: set[str]) -> str:
    """A header read as one column but holding the variables separated by ; or tab: the file uses another
    delimiter (spreadsheets set to some locales write ';')."""
    if len(header) != 1 or len(wanted) < 2:
        return ""
    for delimiter, word in ((";", "semicolons"), ("\t", "tabs")):
        if set(header[0].split(delimiter)) == wanted:
            return (f"the columns of this file are separated by {word}; Kempelen reads commas. Save it as "
                    "\"CSV UTF-8 (comma delimited)\" and upload it again.")
    return ""


def _records(content: bytes) -> Iterator[tuple[int, list[str]]]:
    """(line where the record starts, fields) for each non-blank record; a CSV or encoding error stops with its
    line."""
    reader = csv.reader(_text(content), strict=True)
    while True:
        start = reader.line_num + 1
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise BatchFileInvalid([_csv_problem(str(error), start, reader.line_num)]) from None
        except UnicodeDecodeError:
            raise _not_utf8(content) from None
        if record:
            yield start, record


def _csv_problem(error: str, start: int, current: int) -> Problem:
    if "unexpected end of data" in error:
        return Problem(start, "a quoted field that starts on this line is never closed: its closing \" is missing "
                              "(a \" inside a quoted field must be doubled as \"\").")
    if "expected after" in error:
        return Problem(current, "a quoted field must end right after its closing quote, but more text follows it. "
                                "Put the whole value in quotes and double any \" inside it (\"\").")
    if "field larger than field limit" in error:
        return Problem(current, f"a field is longer than {FIELD_LIMIT:,} characters.")
    return Problem(current, f"this line cannot be read as CSV ({error}).")


def _width_message(record: Sequence[str], columns: Sequence[str]) -> str:
    count = len(record)
    return (f"this row has {count} field{'s' if count != 1 else ''}, but the header has {len(columns)} "
            f"column{'s' if len(columns) != 1 else ''} ({', '.join(columns)}). Quote values that contain commas.")


def _line_of(body: bytes, offset: int) -> int:
    """The physical line (from 1) holding byte ``offset``; CRLF, LF and CR each end a line, as for the reader."""
    before = body[:offset]
    return before.count(b"\n") + before.count(b"\r") - before.count(b"\r\n") + 1


def _names(variables: Sequence[str]) -> str:
    return ", ".join(variables)
