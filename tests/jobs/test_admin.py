"""Operators see the runner's jobs in the admin (read only) and retry dead ones through the audited action."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from kempelen.accounts import actions as accounts
from kempelen.core.models import AuditEvent
from kempelen.jobs import records
from kempelen.jobs.models import Job
from tests.conftest import OPERATOR
from tests.kits import text

pytestmark = pytest.mark.django_db


def _operator() -> Client:
    user = accounts.create_operator(actor=OPERATOR, username="ops", email="ops@example.org", password="x" * 12)
    browser = Client()
    browser.force_login(user)  # type: ignore[arg-type]
    return browser


def _dead_step(settings) -> Job:  # type: ignore[no-untyped-def]
    settings.JOBS_MAX_ATTEMPTS = 1
    return records.record_failure("step", "purge_tokens", "OperationalError: disk I/O error")


def test_the_jobs_page_lists_dead_items_with_their_error_and_changes_nothing(settings):
    job = _dead_step(settings)
    browser = _operator()
    page = browser.get(reverse("admin:jobs_job_changelist") + "?status__exact=dead")
    assert page.status_code == 200
    shown = text(page.content)
    assert "purge_tokens" in shown and "OperationalError: disk I/O error" in shown
    assert browser.get(reverse("admin:jobs_job_add")).status_code == 403
    change = browser.post(reverse("admin:jobs_job_change", args=[job.pk]), {"status": "pending"})
    assert change.status_code == 403
    assert Job.objects.get(pk=job.pk).status == "dead"


def test_retry_from_the_admin_goes_through_the_audited_action(settings):
    job = _dead_step(settings)
    browser = _operator()
    response = browser.post(reverse("admin:jobs_job_changelist"),
                            {"action": "retry_now", "_selected_action": [str(job.pk)]}, follow=True)
    assert "1 job(s) will be tried again" in text(response.content)
    job.refresh_from_db()
    assert (job.status, job.attempts) == ("pending", 0)
    assert AuditEvent.objects.get(action="retry_job").actor == "operator:ops"
