"""The results CSV of a batch (``Batch_<id>_batch_results.csv``), in MTurk's column order, written as a stream.

Columns, in this order: the 27 fixed columns of :data:`FIXED_COLUMNS`, then ``Input.<name>`` for each column of
the batch's input CSV (in file order), then ``Answer.<name>`` for each answer field any row has (sorted by
code point, as MTurk's files were: ``Answer.Q1``, ``Answer.Q10``, ``Answer.Q2``), then ``Approve`` and
``Reject`` (always empty: the requester fills them in to upload the file back). One row per submitted
assignment; every field is quoted; lines end with CRLF; the file is UTF-8 without a byte-order mark.

Cell formats (MTurk left them unrecorded; these are Kempelen's choices):

- **Timestamps** (CreationTime, Expiration, AcceptTime, SubmitTime, AutoApprovalTime, ApprovalTime,
  RejectionTime) in the shape MTurk's files had (Java's ``Date.toString()``), always in UTC:
  ``Tue Jan 16 21:07:16 UTC 2018`` (Python: ``%a %b %d %H:%M:%S %Z %Y``). Empty when there is none.
- **Reward**: dollars with a dollar sign and two decimals, ``$0.50``.
- **WorkTimeInSeconds**: SubmitTime minus AcceptTime in whole seconds (rounded down).
- **Approval rates**: ``<percent>% (<approved>/<reviewed>)``, e.g. ``100% (12/12)``, of this requester's
  reviewed assignments of that worker (approved ÷ approved-or-rejected), over the worker's whole history with
  the requester, the last 30 days and the last 7 days (by submission time); ``0% (0/0)`` before any review.
  Percentages are rounded down, so 99.9% never shows as 100%.
- **AssignmentStatus**: an assignment whose auto-approval time has passed is ``Approved`` (with that time as
  ApprovalTime), even before the job runner has recorded it, as everywhere else in Kempelen (the query that
  reads the rows works this out).
- **LifetimeInSeconds**: the lifetime the batch was published with. **NumberOfSimilarHITs**: always empty
  (MTurk never said what it counted).
- **Answers**: free text as submitted. Several values posted under one name (same-name checkboxes, a
  ``<select multiple>``) are one cell, ``|``-joined, exactly as the API's answer holds them (see
  :mod:`kempelen.questions.answers`). Crowd-form answers are the one ``Answer.taskAnswers`` column holding the
  JSON text. Selections of a QuestionForm are ``|``-joined SelectionIdentifiers (the "other" text last); an
  uploaded file is its key.

Reading answers is the cost of a large download, so the QuestionFormAnswers documents Kempelen writes (free
text only, as every HTML form post is) are read with one regular expression; anything else goes through the
full XML parser, which gives the same result. Lines are written directly rather than through ``csv.writer``
(several times faster; the same output), and the fields a HIT's assignments share are quoted once.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import NamedTuple

from kempelen.core.errors import KempelenError
from kempelen.core.money import format_cents
from kempelen.questions import namespaces
from kempelen.questions.answers import MULTI_VALUE_SEPARATOR, parse_answers

FIXED_COLUMNS: tuple[str, ...] = (
    "HITId", "HITTypeId", "Title", "Description", "Keywords", "Reward", "CreationTime", "MaxAssignments",
    "RequesterAnnotation", "AssignmentDurationInSeconds", "AutoApprovalDelayInSeconds", "Expiration",
    "NumberOfSimilarHITs", "LifetimeInSeconds", "AssignmentId", "WorkerId", "AssignmentStatus", "AcceptTime",
    "SubmitTime", "AutoApprovalTime", "ApprovalTime", "RejectionTime", "RequesterFeedback", "WorkTimeInSeconds",
    "LifetimeApprovalRate", "Last30DaysApprovalRate", "Last7DaysApprovalRate",
)
REVIEW_COLUMNS: tuple[str, ...] = ("Approve", "Reject")
INPUT_PREFIX = "Input."
ANSWER_PREFIX = "Answer."

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def filename(batch_id: str) -> str:
    return f"Batch_{batch_id}_batch_results.csv"


def header(input_columns: Sequence[str], answer_columns: Sequence[str]) -> list[str]:
    return [
        *FIXED_COLUMNS,
        *(INPUT_PREFIX + name for name in input_columns),
        *(ANSWER_PREFIX + name for name in answer_columns),
        *REVIEW_COLUMNS,
    ]


def answer_columns(identifiers: Iterable[str]) -> list[str]:
    """The answer fields as columns go: each once, sorted by code point."""
    return sorted(set(identifiers))


# --- Cells ----------------------------------------------------------------------------------------------------


#: A timestamp as a row gets it: an aware datetime, or its text in UTC as the databases give it
#: (``2018-01-16 21:07:16.123456`` from SQLite, ``2018-01-16 21:07:16.123456+00`` from PostgreSQL). Writing the
#: text directly saves building a datetime for every cell of a large download.
Timestamp = dt.datetime | str

_DATE_PREFIXES: dict[str, str] = {}


def _date_prefix(date: str) -> str:
    """``2018-01-16`` → ``Tue Jan 16`` (kept: a download's timestamps fall on few days)."""
    prefix = _DATE_PREFIXES.get(date)
    if prefix is None:
        day = dt.date.fromisoformat(date)
        if len(_DATE_PREFIXES) > 10_000:
            _DATE_PREFIXES.clear()
        prefix = _DATE_PREFIXES[date] = f"{_DAYS[day.weekday()]} {_MONTHS[day.month - 1]} {date[8:10]}"
    return prefix


def format_time(value: Timestamp | None) -> str:
    """``Tue Jan 16 21:07:16 UTC 2018``; empty for None."""
    if value is None:
        return ""
    if isinstance(value, str):
        text = value
    else:
        if value.tzinfo is not dt.UTC and value.utcoffset():
            value = value.astimezone(dt.UTC)
        text = value.isoformat(" ", "seconds")  # 2018-01-16 21:07:16+00:00, one C call
    return f"{_date_prefix(text[:10])} {text[11:19]} UTC {text[:4]}"


def as_datetime(value: Timestamp) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(value if value.endswith("+00") else value + "+00:00")


def format_reward(cents: int) -> str:
    return "$" + format_cents(cents)


def format_rate(approved: int, reviewed: int) -> str:
    """``100% (12/12)``; ``0% (0/0)`` when nothing was reviewed."""
    percent = approved * 100 // reviewed if reviewed else 0
    return f"{percent}% ({approved}/{reviewed})"


def work_seconds(accept_time: Timestamp, submit_time: Timestamp | None) -> str:
    """SubmitTime minus AcceptTime in whole seconds."""
    if submit_time is None:
        return ""
    return str(max(0, int((as_datetime(submit_time) - as_datetime(accept_time)).total_seconds())))


# --- Answers --------------------------------------------------------------------------------------------------

_PREFIX = (f'<?xml version="1.0" encoding="ASCII"?>\n<QuestionFormAnswers '
           f'xmlns="{namespaces.QUESTION_FORM_ANSWERS}">')
_SUFFIX = "</QuestionFormAnswers>"
_FREE_TEXT_ANSWER = re.compile(
    r"<Answer><QuestionIdentifier>([^<\r]*)</QuestionIdentifier><FreeText>([^<\r]*)</FreeText></Answer>"
)
_FREE_TEXT_ANSWERS = re.compile(
    r"(?:<Answer><QuestionIdentifier>[^<\r]*</QuestionIdentifier><FreeText>[^<\r]*</FreeText></Answer>)*"
)
_QUESTION_IDENTIFIER = re.compile(r"<QuestionIdentifier>([^<]*)</QuestionIdentifier>")
_REFERENCE = re.compile(r"&(?:(amp|lt|gt|quot|apos)|#([0-9]{1,7})|#x([0-9a-fA-F]{1,6}));|&")
_NAMED = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}
_NOT_XML_CHAR = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class _NotCanonical(Exception):
    """The document is not in the form Kempelen writes: read it with the XML parser instead."""


def _reference(match: re.Match[str]) -> str:
    named, decimal, hexadecimal = match.groups()
    if named:
        return _NAMED[named]
    if decimal is None and hexadecimal is None:
        raise _NotCanonical  # a bare "&": not well-formed
    code = int(decimal) if decimal is not None else int(hexadecimal, 16)
    if code > 0x10FFFF or _NOT_XML_CHAR.match(chr(code)):
        raise _NotCanonical  # a reference to a character XML cannot carry: not well-formed
    return chr(code)


def _unescape(text: str) -> str:
    return _REFERENCE.sub(_reference, text) if "&" in text else text


def _fast_answers(xml: str) -> dict[str, str]:
    if not xml.startswith(_PREFIX) or not xml.endswith(_SUFFIX) or "]]>" in xml:
        raise _NotCanonical
    body = xml[len(_PREFIX):-len(_SUFFIX)]
    if not _FREE_TEXT_ANSWERS.fullmatch(body):
        raise _NotCanonical
    found = _FREE_TEXT_ANSWER.findall(body)
    if "&" not in body:
        values = dict(found)
        if len(values) == len(found):
            return values
    values = {}
    for name, text in found:
        identifier = _unescape(name)
        value = _unescape(text)
        previous = values.get(identifier)
        values[identifier] = value if previous is None else previous + MULTI_VALUE_SEPARATOR + value
    return values


def answer_fields(xml: str) -> list[str]:
    """The answer fields of a QuestionFormAnswers document (what :func:`answer_values` would key its cells by),
    cheaply: the document's QuestionIdentifiers, when Kempelen wrote it."""
    if xml.startswith(_PREFIX) and "<![CDATA[" not in xml:
        names = _QUESTION_IDENTIFIER.findall(xml)
        return [_unescape(name) for name in names] if "&" in xml else names
    return list(answer_values(xml))


def answer_values(xml: str) -> dict[str, str]:
    """One cell per answer field of a QuestionFormAnswers document (see the module's notes on formats).

    A document that cannot be read at all (Kempelen never stores one) gives no cells.
    """
    if not xml:
        return {}
    try:
        return _fast_answers(xml)
    except _NotCanonical:
        pass
    try:
        answers = parse_answers(xml)
    except KempelenError:
        return {}
    values: dict[str, str] = {}
    for answer in answers:
        if answer.free_text is not None:
            value = answer.free_text
        elif answer.uploaded_file_key is not None:
            value = answer.uploaded_file_key
        else:
            parts = list(answer.selection_identifiers)
            if answer.other_selection_text is not None:
                parts.append(answer.other_selection_text)
            value = MULTI_VALUE_SEPARATOR.join(parts)
        previous = values.get(answer.identifier)
        values[answer.identifier] = value if previous is None else previous + MULTI_VALUE_SEPARATOR + value
    return values


# --- Rows -----------------------------------------------------------------------------------------------------


class HITFacts(NamedTuple):
    """What a row says about its HIT (shared by the HIT's assignments)."""

    hit_id: str
    hit_type_id: str
    title: str
    description: str
    keywords: str
    reward_cents: int
    created_at: Timestamp
    max_assignments: int
    requester_annotation: str
    assignment_duration: int
    auto_approval_delay: int
    expiration: Timestamp
    lifetime: int | None
    parameters: dict[str, str]


class AssignmentFacts(NamedTuple):
    """What a row says about its assignment. ``status`` and ``approval_time`` are the effective ones: an
    assignment whose auto-approval time has passed is Approved at that time (the reader works that out)."""

    assignment_id: str
    worker_id: str
    status: str
    accept_time: Timestamp
    submit_time: Timestamp | None
    auto_approval_time: Timestamp | None
    approval_time: Timestamp | None
    rejection_time: Timestamp | None
    requester_feedback: str
    answer: str


class Rates(NamedTuple):
    """A worker's approval-rate cells: lifetime, last 30 days, last 7 days."""

    lifetime: str
    last_30_days: str
    last_7_days: str


NO_RATES = Rates(format_rate(0, 0), format_rate(0, 0), format_rate(0, 0))


def quoted(cells: Sequence[str]) -> str:
    """Cells as CSV fields, every one quoted, as ``csv.QUOTE_ALL`` writes them (several times faster)."""
    line = '","'.join(cells)
    if line.count('"') != 2 * (len(cells) - 1):  # a cell holds a quote: double it
        line = '","'.join([cell.replace('"', '""') for cell in cells])
    return f'"{line}"'


class RowWriter:
    """Writes the lines of one results file. The parts of a line that come from the HIT (shared by its
    assignments) and from the worker (the approval rates) are quoted once and reused."""

    def __init__(self, input_columns: Sequence[str], answer_columns: Sequence[str]) -> None:
        self.input_columns = tuple(input_columns)
        self.answer_columns = tuple(answer_columns)
        self._answer_set = frozenset(answer_columns)

    def header(self) -> list[str]:
        return header(self.input_columns, self.answer_columns)

    def header_line(self) -> str:
        return quoted(self.header()) + "\r\n"

    def hit_parts(self, hit: HITFacts) -> tuple[str, str]:
        """The HIT's 14 leading fields, and its Input fields (empty when the batch has no inputs)."""
        leading = quoted([
            hit.hit_id, hit.hit_type_id, hit.title, hit.description, hit.keywords, format_reward(hit.reward_cents),
            format_time(hit.created_at), str(hit.max_assignments), hit.requester_annotation,
            str(hit.assignment_duration), str(hit.auto_approval_delay), format_time(hit.expiration), "",
            "" if hit.lifetime is None else str(hit.lifetime),
        ])
        parameters = hit.parameters or {}
        inputs = quoted([_text(parameters.get(name, "")) for name in self.input_columns]) if self.input_columns else ""
        return leading, inputs

    @staticmethod
    def rates_part(rates: Rates) -> str:
        return quoted(rates)

    def line(self, hit_parts: tuple[str, str], a: AssignmentFacts, rates_part: str) -> str | None:
        """One row, or None when the assignment has an answer field the header lacks (it was submitted while
        the file was being written: it belongs to the next download)."""
        answers = answer_values(a.answer)
        if not self._answer_set.issuperset(answers):
            return None
        leading, inputs = hit_parts
        parts = [leading, quoted([
            a.assignment_id, a.worker_id, a.status, format_time(a.accept_time), format_time(a.submit_time),
            format_time(a.auto_approval_time), format_time(a.approval_time), format_time(a.rejection_time),
            a.requester_feedback, work_seconds(a.accept_time, a.submit_time),
        ]), rates_part]
        if inputs:
            parts.append(inputs)
        if self.answer_columns:
            parts.append(quoted([answers.get(name, "") for name in self.answer_columns]))
        parts.append('"",""\r\n')
        return ",".join(parts)


def _text(value: object) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)


# --- Writing ----------------------------------------------------------------------------------------------------


def encode(header_line: str, lines: Iterable[str], *, lines_per_chunk: int = 500) -> Iterator[bytes]:
    """The file as UTF-8 chunks of about ``lines_per_chunk`` lines, the header first."""
    pending = [header_line]
    for line in lines:
        pending.append(line)
        if len(pending) >= lines_per_chunk:
            yield "".join(pending).encode("utf-8", "replace")
            pending = []
    yield "".join(pending).encode("utf-8", "replace")
