"""A HIT, an email or a step that fails is retried with backoff, parked as dead after the last attempt (listed by
`kempelen jobs`, the rest going on meanwhile), and succeeds when an operator retries it once it can."""

from __future__ import annotations

import datetime as dt
import smtplib

import pytest
from django.db import OperationalError

from kempelen.core import clock, idempotency
from kempelen.core.models import AuditEvent
from kempelen.jobs import runner
from kempelen.jobs.actions import JobNotRetryable, retry_job
from kempelen.jobs.models import Job
from kempelen.marketplace import actions
from kempelen.marketplace.models import HIT
from kempelen.notifications.models import OutboxEmail
from tests.conftest import OPERATOR, make_requester
from tests.lifecycle.kit import funds, new_hit, view

from .kit import emails, jobs

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _three_attempts(settings):
    settings.JOBS_MAX_ATTEMPTS = 3
    settings.JOBS_RETRY_SECONDS = 10
    settings.JOBS_RETRY_MAX_SECONDS = 60


def seconds_until(when: dt.datetime) -> float:
    return (when - clock.now()).total_seconds()


def break_settling(monkeypatch, hit_id: str) -> list[str]:
    """Settling this HIT raises (its data is broken); the others settle. Returns the HITs tried, in order."""
    real = runner.settle
    tried: list[str] = []

    def settle(hit, **kwargs):  # type: ignore[no-untyped-def]
        tried.append(hit.pk)
        if hit.pk == hit_id:
            raise RuntimeError("the HIT's data is broken")
        return real(hit, **kwargs)

    monkeypatch.setattr(runner, "settle", settle)
    return tried


def park_hit_dead(monkeypatch, move_clock) -> tuple[HIT, HIT, list[str]]:
    r = make_requester().requester
    broken = new_hit(r, lifetime=60)
    fine = new_hit(r, lifetime=60, reward_cents=100)
    move_clock(61)
    tried = break_settling(monkeypatch, broken.pk)
    assert runner.settle_due_hits() == 1  # the fine one: the broken one holds nothing up
    assert runner.settle_due_hits() == 0  # the first retry comes on the next pass
    assert runner.settle_due_hits() == 0  # then it waits
    assert tried.count(broken.pk) == 2
    move_clock(10)
    assert runner.settle_due_hits() == 0  # third and last attempt
    return broken, fine, tried


def test_a_hit_that_fails_to_settle_is_retried_with_backoff_then_parked_dead(monkeypatch, move_clock):
    r = make_requester().requester
    broken = new_hit(r, lifetime=60)
    fine = new_hit(r, lifetime=60, reward_cents=100)
    move_clock(61)
    tried = break_settling(monkeypatch, broken.pk)
    assert runner.settle_due_hits() == 1
    assert HIT.objects.get(pk=fine.pk).expiry_settled
    job = Job.objects.get(kind="hit", key=broken.pk)
    assert (job.status, job.attempts, job.last_error) == ("pending", 1, "RuntimeError: the HIT's data is broken")
    assert runner.settle_due_hits() == 0
    job.refresh_from_db()
    assert (job.status, job.attempts) == ("pending", 2)
    assert seconds_until(job.run_at) == pytest.approx(10, abs=1)  # then JOB_RETRY_SECONDS later
    move_clock(9)
    assert runner.settle_due_hits() == 0
    assert tried.count(broken.pk) == 2  # not tried before its time
    move_clock(1)
    runner.settle_due_hits()
    job.refresh_from_db()
    assert (job.status, job.attempts) == ("dead", 3)
    assert job.finished_at is not None and seconds_until(job.finished_at) == pytest.approx(0, abs=1)
    move_clock(3600)
    runner.run_once()
    assert tried.count(broken.pk) == 3  # a dead item waits for an operator
    assert not HIT.objects.get(pk=broken.pk).expiry_settled
    assert funds(r)[1] == broken.unit_cost_cents  # its escrow stays held until it is settled


def test_kempelen_jobs_lists_a_dead_hit_with_its_error(monkeypatch, move_clock):
    broken, _fine, _ = park_hit_dead(monkeypatch, move_clock)
    job = Job.objects.get(kind="hit", key=broken.pk)
    done = jobs()
    assert done.code == 0
    assert "Dead: 1 job" in done.out
    assert "  hit: 1, last error: RuntimeError: the HIT's data is broken" in done.out
    assert f"    #{job.pk} HIT {broken.pk}: 3 attempts, dead since 0 s ago: RuntimeError" in done.out
    assert "kempelen jobs retry ID" in done.out
    # the dead HIT is not counted as due work: nothing would take it
    assert "  HITs with elapsed timers                 0" in done.out


def test_a_dead_hit_retried_by_hand_is_settled(monkeypatch, move_clock):
    broken, _fine, _ = park_hit_dead(monkeypatch, move_clock)
    job = Job.objects.get(kind="hit", key=broken.pk)
    monkeypatch.setattr(runner, "settle", actions.settle)  # the data was repaired
    done = jobs("retry", str(job.pk))
    assert done.code == 0
    assert f"Job {job.pk} (HIT {broken.pk}) will be tried again" in done.out
    retried = AuditEvent.objects.get(action="retry_job")
    assert (retried.target_id, retried.data["key"], retried.data["was"]) == (str(job.pk), broken.pk, "dead")
    assert retried.actor.startswith("operator:")
    assert runner.run_once().hits_settled == 1
    assert view(broken)["status"] == "Reviewable"
    assert not Job.objects.exists()  # success leaves nothing behind
    assert "Dead: none" in jobs().out


def test_a_failed_hit_settled_meanwhile_by_an_action_is_forgotten(monkeypatch, move_clock):
    r = make_requester().requester
    broken = new_hit(r, lifetime=60)
    move_clock(61)
    break_settling(monkeypatch, broken.pk)
    runner.settle_due_hits()
    runner.settle_due_hits()
    assert Job.objects.get(kind="hit").status == "pending"
    monkeypatch.setattr(runner, "settle", actions.settle)
    assert view(broken)["status"] == "Reviewable"  # a reader settles it
    assert runner.settle_due_hits() == 0
    assert not Job.objects.exists()


def test_a_failing_email_is_retried_then_parked_dead_while_the_others_go(monkeypatch, mailoutbox, move_clock):
    queued = emails(3)
    bad = queued[1]
    real = runner.send_mail

    def send_mail(subject, body, sender, to, **kwargs):  # type: ignore[no-untyped-def]
        if to == ["worker1@example.org"]:
            raise smtplib.SMTPRecipientsRefused({"worker1@example.org": (550, b"no such mailbox")})
        return real(subject, body, sender, to, **kwargs)

    monkeypatch.setattr(runner, "send_mail", send_mail)
    assert runner.send_emails() == 2
    assert sorted(m.subject for m in mailoutbox) == ["Message 0", "Message 2"]
    assert runner.send_emails() == 0  # second attempt
    move_clock(10)
    assert runner.send_emails() == 0  # third: dead
    job = Job.objects.get(kind="email")
    assert (job.key, job.status, job.attempts) == (str(bad.pk), "dead", 3)
    assert "SMTPRecipientsRefused" in job.last_error
    email = OutboxEmail.objects.get(pk=bad.pk)
    assert (email.delivered_at, email.attempts) == (None, 3)
    move_clock(3600)
    assert runner.send_emails() == 0
    listed = jobs().out
    assert "  email: 1, last error: SMTPRecipientsRefused" in listed
    assert f"#{job.pk} email {bad.pk}: 3 attempts" in listed

    monkeypatch.setattr(runner, "send_mail", real)  # the mailbox exists now
    done = jobs("retry", "--all-dead")
    assert "1 dead job and 0 dead notification events will be tried again" in done.out
    assert runner.send_emails() == 1
    assert sorted(m.subject for m in mailoutbox) == ["Message 0", "Message 1", "Message 2"]
    assert runner.send_emails() == 0
    assert not Job.objects.exists()


def test_a_step_that_fails_is_retried_then_parked_dead_and_the_others_run(monkeypatch, move_clock):
    def purge_expired(**kwargs):  # type: ignore[no-untyped-def]
        raise OperationalError("disk I/O error")

    monkeypatch.setattr(idempotency, "purge_expired", purge_expired)
    r = make_requester().requester
    hit = new_hit(r, lifetime=60)
    move_clock(61)
    tally = runner.run_once()
    assert tally.failed == ["purge_tokens"]
    assert tally.hits_settled == 1  # the other steps ran
    assert runner.run_once().failed == ["purge_tokens"]
    assert runner.run_once().skipped == ["purge_tokens"]  # waiting for its retry
    move_clock(10)
    assert runner.run_once().failed == ["purge_tokens"]
    job = Job.objects.get(kind="step", key="purge_tokens")
    assert (job.status, job.attempts, job.last_error) == ("dead", 3, "OperationalError: disk I/O error")
    move_clock(3600)
    assert runner.run_once().skipped == ["purge_tokens"]
    assert "  step: 1, last error: OperationalError: disk I/O error" in jobs().out
    assert view(hit)["status"] == "Reviewable"

    monkeypatch.undo()
    retry_job(actor=OPERATOR, job_id=job.pk)
    tally = runner.run_once()
    assert (tally.failed, tally.skipped, tally.extra["tokens_purged"]) == ([], [], 0)
    assert not Job.objects.exists()


def test_kempelen_jobs_run_once_reports_a_failing_step(monkeypatch):
    def purge_expired(**kwargs):  # type: ignore[no-untyped-def]
        raise OperationalError("disk I/O error")

    monkeypatch.setattr(idempotency, "purge_expired", purge_expired)
    done = jobs("run-once")
    assert done.code == 1
    assert "One pass: HITs settled 0, emails sent 0" in done.out
    assert "Failed: purge_tokens" in done.err


def test_retry_refuses_a_job_a_runner_holds_and_one_that_is_gone():
    emails(1)
    claim = runner.claim_emails(10)[0]
    with pytest.raises(JobNotRetryable, match="is being worked on by runner"):
        retry_job(actor=OPERATOR, job_id=claim.job_id)
    done = jobs("retry", "999999")
    assert done.code == 1
    assert "There is no job 999999" in done.err
    assert not AuditEvent.objects.filter(action="retry_job").exists()


def test_the_record_of_an_email_deleted_with_its_worker_is_forgotten(monkeypatch, move_clock):
    queued = emails(1)

    def failing(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise OSError("mail server down")

    monkeypatch.setattr(runner, "send_mail", failing)
    runner.send_emails()
    assert Job.objects.get(kind="email").status == "pending"
    queued[0].worker.user.delete()  # the account is closed; its queued email goes with it
    assert runner.send_emails() == 0
    assert not Job.objects.exists()


def test_with_the_mail_server_down_a_pass_stops_after_three_failures(monkeypatch):
    emails(5)

    def refused(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(runner, "send_mail", refused)
    assert runner.send_emails() == 0
    # the other emails were given back untried: they keep all their attempts for when the server is back
    assert list(OutboxEmail.objects.order_by("pk").values_list("attempts", flat=True)) == [1, 1, 1, 0, 0]
    assert not Job.objects.filter(status="running").exists()
    monkeypatch.undo()
    assert runner.send_emails() == 5
