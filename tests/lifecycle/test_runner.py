"""The job runner: one pass settles everything due, exactly once; one broken HIT holds nothing else up;
queued email is sent once and retried on failure."""

from __future__ import annotations

import pytest

from kempelen.jobs import runner
from kempelen.marketplace import actions
from kempelen.marketplace.models import HIT, AssignmentStatus
from kempelen.notifications.actions import queue_email
from kempelen.notifications.models import OutboxEmail
from tests.conftest import make_requester, make_worker

from .kit import accept, earnings, funds, new_hit, status_of, submit, view

pytestmark = pytest.mark.django_db


def test_run_once_settles_every_due_hit_once(move_clock):
    r = make_requester().requester
    w = make_worker()
    approved = new_hit(r, reward_cents=100, auto_approval_delay=60)
    a = submit(w, accept(w, approved))
    abandoned = new_hit(r, duration=60)
    b = accept(make_worker(), abandoned)
    expired = new_hit(r, lifetime=60, reward_cents=100)
    later = new_hit(r, lifetime=3600)
    move_clock(61)
    tally = runner.run_once()
    assert tally.hits_settled == 3
    assert status_of(a) == AssignmentStatus.APPROVED
    assert status_of(b) == AssignmentStatus.ABANDONED
    assert HIT.objects.get(pk=expired.pk).expiry_settled
    assert HIT.objects.get(pk=later.pk).next_due_at == later.expiration
    assert runner.run_once().hits_settled == 0
    assert earnings(w) == 100


def test_a_broken_hit_does_not_hold_up_the_others(move_clock, monkeypatch, caplog):
    r = make_requester().requester
    broken = new_hit(r, lifetime=60)
    fine = new_hit(r, lifetime=61, reward_cents=100)
    move_clock(62)
    real_settle = runner.settle

    def settle(hit, **kwargs):  # type: ignore[no-untyped-def]
        if hit.pk == broken.pk:
            raise RuntimeError("boom")
        return real_settle(hit, **kwargs)

    monkeypatch.setattr(runner, "settle", settle)
    assert runner.settle_due_hits() == 1
    assert "settling HIT" in caplog.text
    assert HIT.objects.get(pk=fine.pk).expiry_settled
    assert not HIT.objects.get(pk=broken.pk).expiry_settled  # rolled back, retried next pass
    monkeypatch.setattr(runner, "settle", real_settle)
    assert runner.settle_due_hits() == 1
    assert view(broken)["status"] == "Reviewable"


def test_settle_due_for_requester_shows_released_escrow(move_clock):
    r = make_requester().requester
    other = make_requester().requester
    new_hit(r, lifetime=60, reward_cents=100, max_assignments=2)
    new_hit(other, lifetime=60)
    move_clock(61)
    assert funds(r)[1] == 240  # nobody has looked yet
    assert actions.settle_due_for_requester(r, "live") == 1
    assert funds(r) == (100_000, 0)
    assert actions.settle_due_for_requester(r, "live") == 0
    assert HIT.objects.filter(requester=other, expiry_settled=False).count() == 1


def test_emails_are_sent_once_and_failures_retried(mailoutbox, monkeypatch):
    w = make_worker(email="w@example.org")
    queue_email(worker=w, environment="live", kind="message", subject="Hello", body="Hi")
    calls = []
    real_send = runner.send_mail

    def failing(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(args)
        raise OSError("mail server down")

    monkeypatch.setattr(runner, "send_mail", failing)
    assert runner.send_emails() == 0
    email = OutboxEmail.objects.get()
    assert (email.delivered_at, email.attempts, email.last_error) == (None, 1, "mail server down")
    monkeypatch.setattr(runner, "send_mail", real_send)
    assert runner.send_emails() == 1
    assert runner.send_emails() == 0
    assert [m.subject for m in mailoutbox] == ["Hello"]
    assert OutboxEmail.objects.get().attempts == 2
