"""Helpers for the requester-site browser tests: a requester who signs in with a password, the batch files they
upload, reading the files they download, and the page's tables as plain text."""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Sequence
from typing import Any

from playwright.sync_api import expect

from kempelen.accounts import actions as accounts
from tests.conftest import OPERATOR, RequesterHandle

PASSWORD = "a long requester passphrase 42"

#: The first 27 columns of a results file, in MTurk's order (the reference's §3.1, written out here on purpose
#: rather than imported, so that the test checks Kempelen's file against MTurk's and not against itself).
MTURK_FIXED_COLUMNS = [
    "HITId", "HITTypeId", "Title", "Description", "Keywords", "Reward", "CreationTime", "MaxAssignments",
    "RequesterAnnotation", "AssignmentDurationInSeconds", "AutoApprovalDelayInSeconds", "Expiration",
    "NumberOfSimilarHITs", "LifetimeInSeconds", "AssignmentId", "WorkerId", "AssignmentStatus", "AcceptTime",
    "SubmitTime", "AutoApprovalTime", "ApprovalTime", "RejectionTime", "RequesterFeedback", "WorkTimeInSeconds",
    "LifetimeApprovalRate", "Last30DaysApprovalRate", "Last7DaysApprovalRate",
]

_numbers = itertools.count(1)


def requester_with_password(url: str) -> RequesterHandle:
    """A requester who can sign in on the site with ``PASSWORD`` (and has an API key for boto3 checks)."""
    n = next(_numbers)
    requester = accounts.create_requester(actor=OPERATOR, username=f"site-requester{n}",
                                          display_name=f"Sentiment Lab {n}", password=PASSWORD)
    issued = accounts.issue_credential(actor=OPERATOR, requester=requester)
    return RequesterHandle(requester, issued.access_key_id, issued.secret_access_key, url)


def sign_in(page: Any, handle: RequesterHandle) -> None:
    """Sign in through the login page, starting where an unsigned visitor lands: the requester home."""
    page.goto("/requester/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to publish work")
    page.get_by_label("Username").fill(handle.requester.user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"{handle.requester.display_name}, in the sandbox")


def csv_bytes(header: Sequence[str], rows: Sequence[Sequence[str]]) -> bytes:
    """A CSV file as a spreadsheet saves it: UTF-8, CRLF between records, fields quoted only when needed."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def read_csv(content: bytes) -> tuple[list[str], list[dict[str, str]]]:
    """A downloaded CSV file's header and rows (as dicts), read the way a spreadsheet would."""
    text = content.decode("utf-8")
    assert not text.startswith("\ufeff"), "the file starts with a byte-order mark"
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader)
    return header, [dict(zip(header, cells, strict=True)) for cells in reader]


def write_csv(header: Sequence[str], rows: Sequence[dict[str, str]]) -> bytes:
    """Rows read by ``read_csv`` written back, every field quoted, as the results file itself is."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_ALL)
    writer.writerow(header)
    writer.writerows([[row[name] for name in header] for row in rows])
    return out.getvalue().encode("utf-8")


def csv_file(name: str, content: bytes) -> dict[str, Any]:
    """A file for Playwright's ``set_input_files``."""
    return {"name": name, "mimeType": "text/csv", "buffer": content}


def table_cells(table: Any) -> list[list[str]]:
    """The text of every body row's cells (header cells included) of a visible table, top to bottom."""
    expect(table).to_be_visible()
    return table.locator("tbody tr").evaluate_all(
        "rows => rows.map(r => Array.from(r.cells, c => c.innerText.trim()))")
