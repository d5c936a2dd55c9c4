"""The worker's dashboard: a summary, assignments by state, earnings per day and in total, and messages.

All pages only read (after settling the worker's elapsed timers, see ``queries_dashboard``). Money is shown as
dollars with two decimals; it is integer cents everywhere else.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.paginator import Page, Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.views.decorators.http import require_safe

from kempelen.accounts.models import Worker
from kempelen.core.money import format_cents
from kempelen.marketplace.models import Assignment, AssignmentStatus

from . import queries_dashboard as q
from .decorators import worker_required

#: The worker site shows the live environment.
ENVIRONMENT = "live"
ASSIGNMENTS_PER_PAGE = 25
DAYS_PER_PAGE = 31
BONUSES_PER_PAGE = 25
EMAILS_PER_PAGE = 20

WorkerView = Callable[..., HttpResponse]


def dollars(cents: int) -> str:
    return f"${format_cents(cents)}"


def worker_page(view: WorkerView) -> Callable[..., HttpResponseBase]:
    """A read-only page for signed-in workers (GET and HEAD only)."""
    return require_safe(worker_required(view))


def _page(request: HttpRequest, items: Any, per_page: int, param: str = "page") -> Page:
    return Paginator(items, per_page).get_page(request.GET.get(param))


def _pager(request: HttpRequest, page: Page, param: str = "page") -> dict[str, Any]:
    """Links to the previous and next pages that keep the other query parameters (filters, other pagers)."""

    def url(number: int) -> str:
        query = request.GET.copy()
        query[param] = str(number)
        return f"?{query.urlencode()}"

    return {
        "number": page.number,
        "pages": page.paginator.num_pages,
        "previous": url(page.previous_page_number()) if page.has_previous() else "",
        "next": url(page.next_page_number()) if page.has_next() else "",
    }


def _context(section: str, **values: Any) -> dict[str, Any]:
    return {"nav": "dashboard", "section": section, **values}


# --- Presentation ------------------------------------------------------------------------------------------------


def _assignment_row(assignment: Assignment) -> dict[str, Any]:
    state = q.STATE_BY_STATUS.get(assignment.status)
    bonus_list = getattr(assignment, "bonus_list", [])
    reviewed = assignment.status in (AssignmentStatus.APPROVED, AssignmentStatus.REJECTED)
    return {
        "a": assignment,
        "title": assignment.hit.hit_type.title,
        "requester": assignment.requester.display_name,
        "reward": dollars(assignment.hit.hit_type.reward_cents),
        "state": state.label if state else assignment.status,
        "state_slug": state.slug if state else "",
        "in_progress": assignment.status == AssignmentStatus.ACCEPTED,
        "auto_approved": q.was_auto_approved(assignment),
        "feedback": assignment.requester_feedback if reviewed else "",
        "reviewed": reviewed,
        "bonuses": [{"amount": dollars(b.amount_cents), "reason": b.reason, "at": b.grant_time} for b in bonus_list],
        "bonus_total": dollars(sum(b.amount_cents for b in bonus_list)) if bonus_list else "",
    }


def _money(earnings: q.Earnings) -> dict[str, str]:
    return {
        "pending": dollars(earnings.pending_cents),
        "approved": dollars(earnings.approved_cents),
        "bonuses": dollars(earnings.bonus_cents),
        "other": dollars(earnings.other_cents) if earnings.other_cents else "",
        "total": dollars(earnings.paid_cents),
    }


def _email_row(email: Any) -> dict[str, Any]:
    return {
        "e": email,
        "kind": q.email_kind_label(email.kind),
        "sender": email.requester.display_name if email.requester else "Kempelen",
    }


# --- Pages ---------------------------------------------------------------------------------------------------------


@worker_page
def dashboard(request: HttpRequest, worker: Worker) -> HttpResponse:
    s = q.summary(worker, ENVIRONMENT)
    states = [
        {"slug": st.slug, "label": st.label, "count": s.counts[st.slug]} for st in q.STATES
    ]
    return render(request, "worker_site/dashboard/dashboard.html", _context(
        "summary",
        now=s.now,
        states=states,
        in_progress=[_assignment_row(a) for a in s.in_progress],
        money=_money(s.money),
        rate=s.rate,
        emails=[_email_row(e) for e in s.latest_emails],
    ))


@worker_page
def assignments(request: HttpRequest, worker: Worker) -> HttpResponse:
    q.settle_due_for_worker(worker, ENVIRONMENT)
    slug = request.GET.get("state", "all")
    state = q.STATE_BY_SLUG.get(slug)
    if state is None:
        slug = "all"
    counts = q.state_counts(worker, ENVIRONMENT)
    page = _page(request, q.assignments(worker, ENVIRONMENT, state), ASSIGNMENTS_PER_PAGE)
    filters = [{"slug": "all", "label": "All", "count": sum(counts.values())}] + [
        {"slug": st.slug, "label": st.label, "count": counts[st.slug]} for st in q.STATES
    ]
    return render(request, "worker_site/dashboard/assignments.html", _context(
        "assignments",
        filters=filters,
        current=slug,
        current_label=state.label if state else "All assignments",
        page=page,
        pager=_pager(request, page),
        rows=[_assignment_row(a) for a in page.object_list],
    ))


@worker_page
def earnings(request: HttpRequest, worker: Worker) -> HttpResponse:
    q.settle_due_for_worker(worker, ENVIRONMENT)
    money = q.earnings(worker, ENVIRONMENT)
    days = _page(request, q.earnings_by_day(worker, ENVIRONMENT), DAYS_PER_PAGE)
    bonus_page = _page(request, q.bonuses(worker, ENVIRONMENT), BONUSES_PER_PAGE, param="bonus_page")
    day_rows = [
        {
            "day": d.day,
            "approved": dollars(d.approved_cents),
            "approved_count": d.approved_count,
            "bonuses": dollars(d.bonus_cents),
            "bonus_count": d.bonus_count,
            "total": dollars(d.paid_cents),
            "pending": dollars(d.pending_cents),
        }
        for d in days.object_list
    ]
    bonus_rows = [
        {
            "b": b,
            "amount": dollars(b.amount_cents),
            "requester": b.requester.display_name,
            "title": b.assignment.hit.hit_type.title,
        }
        for b in bonus_page.object_list
    ]
    return render(request, "worker_site/dashboard/earnings.html", _context(
        "earnings",
        money=_money(money),
        days=days,
        days_pager=_pager(request, days),
        day_rows=day_rows,
        bonus_page=bonus_page,
        bonus_pager=_pager(request, bonus_page, "bonus_page"),
        bonus_rows=bonus_rows,
    ))


@worker_page
def messages(request: HttpRequest, worker: Worker) -> HttpResponse:
    kind = request.GET.get("kind", "all")
    if kind not in q.EMAIL_FILTERS:
        kind = "all"
    page = _page(request, q.emails(worker, ENVIRONMENT, kind), EMAILS_PER_PAGE)
    return render(request, "worker_site/dashboard/messages.html", _context(
        "messages",
        filters=[{"slug": slug, "label": label} for slug, (label, _) in q.EMAIL_FILTERS.items()],
        current=kind,
        page=page,
        pager=_pager(request, page),
        emails=[_email_row(e) for e in page.object_list],
    ))
