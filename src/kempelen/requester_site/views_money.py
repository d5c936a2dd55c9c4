"""The requester's home page, the account page (balance and statement) and the statement as CSV.

Every page works in the environment chosen in the header (live or sandbox) and says which. Money is integer
cents until the template shows it as dollars. Before reading balances the requester's elapsed timers are
settled (an expired HIT's escrow goes back to available funds even before the job runner gets to it).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from kempelen.core import clock
from kempelen.core.money import format_cents
from kempelen.marketplace import actions as marketplace

from . import queries_money as q
from .decorators import RequesterContext, requester_required

_T = "requester_site/money/"
CSV_COLUMNS = (
    "date", "kind", "description", "amount", "available_change", "escrow_change", "available_balance",
    "escrow_balance", "hit_id", "assignment_id", "worker_id", "transaction_id",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _settled_balances(ctx: RequesterContext) -> q.Balances:
    marketplace.settle_due_for_requester(ctx.requester, ctx.environment)
    return q.balances(ctx.requester, ctx.environment)


def dollars(cents: int) -> str:
    return f"-${format_cents(-cents)}" if cents < 0 else f"${format_cents(cents)}"


def _change(cents: int) -> str:
    """A change to a balance as a person reads it: "+$5.00", a minus sign and "$1.20", or nothing when unchanged."""
    if not cents:
        return ""
    return f"+${format_cents(cents)}" if cents > 0 else f"\u2212${format_cents(-cents)}"


def _row(line: q.StatementLine) -> dict[str, Any]:
    return {
        "line": line, "amount": dollars(line.amount_cents),
        "available": dollars(line.available_after_cents), "available_change": _change(line.available_change_cents),
        "escrow": dollars(line.escrow_after_cents), "escrow_change": _change(line.escrow_change_cents),
    }


def _money(balances: q.Balances) -> dict[str, str]:
    return {"available": dollars(balances.available_cents), "escrow": dollars(balances.escrow_cents),
            "total": dollars(balances.available_cents + balances.escrow_cents)}


def _key(request: HttpRequest, name: str) -> int | None:
    value = request.GET.get(name, "")
    return int(value) if value.isdigit() and len(value) < 19 else None


@never_cache
@require_safe
@requester_required
def home(request: HttpRequest, ctx: RequesterContext) -> HttpResponse:
    return render(request, "requester_site/home.html", {
        "money": _money(_settled_balances(ctx)),
        "batches": q.latest_batches(ctx.requester, ctx.environment),
    })


@never_cache
@require_safe
@requester_required
def account(request: HttpRequest, ctx: RequesterContext) -> HttpResponse:
    balances = _settled_balances(ctx)
    page = q.statement_page(ctx.requester, ctx.environment, before=_key(request, "before"),
                            after=_key(request, "after"))
    paged = "before" in request.GET or "after" in request.GET
    context: dict[str, Any] = {
        "nav": "account", "money": _money(balances), "rows": [_row(line) for line in page.lines], "page": page,
        "paged": paged, "requester": ctx.requester,
    }
    return render(request, _T + "account.html", context)


def _text_cell(value: str) -> str:
    """Text a spreadsheet would take for a formula is prefixed with an apostrophe (amounts are never text)."""
    return "'" + value if value.startswith(_FORMULA_START) else value


class _Line:
    """A file-like object whose write returns the line, so csv.writer can feed a streaming response."""

    def write(self, value: str) -> str:
        return value


def _csv_rows(ctx: RequesterContext) -> Iterator[str]:
    writer = csv.writer(_Line())
    yield writer.writerow(CSV_COLUMNS)
    for line in q.statement_lines(ctx.requester, ctx.environment):
        yield writer.writerow((
            line.at.astimezone(clock.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), line.kind, _text_cell(line.description),
            format_cents(line.amount_cents), format_cents(line.available_change_cents),
            format_cents(line.escrow_change_cents), format_cents(line.available_after_cents),
            format_cents(line.escrow_after_cents), line.hit_id, line.assignment_id, line.worker_id,
            line.transaction_id,
        ))


@never_cache
@require_safe
@requester_required
def statement_csv(request: HttpRequest, ctx: RequesterContext) -> StreamingHttpResponse:
    marketplace.settle_due_for_requester(ctx.requester, ctx.environment)
    name = f"kempelen-statement-{ctx.environment}-{clock.now():%Y-%m-%d}.csv"
    response = StreamingHttpResponse(_csv_rows(ctx), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
